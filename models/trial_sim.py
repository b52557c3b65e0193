r"""Vectorised simulation and analysis of maintenance trials with competing non-relapse deaths.

Every function works on a whole chunk of simulated trials at once: arrays are ``(T, n)`` for
``T`` trials of ``n`` patients, hazards are ``(T, J)`` (one hazard vector per trial, so a design
prior gives every trial its own truth).

Simulation (inverse CDF of the piecewise-exponential competing risks)
    On the clock *days since study entry* with cut points :math:`0 = c_0 < \dots < c_{J-1}` (last
    interval open), relapse hazard :math:`\lambda^R_j` and NRM hazard :math:`\lambda^N_j`. The total
    hazard :math:`h_j = \lambda^R_j + \lambda^N_j` has cumulative hazard
    :math:`H(t) = \sum_j h_j |[0, t) \cap [c_j, c_{j+1})|`, so the first event time is
    :math:`T = H^{-1}(E)`, :math:`E = -\log U \sim \mathrm{Exp}(1)`, found by locating the interval
    :math:`k` with :math:`H(c_k) \le E < H(c_{k+1})` and solving linearly inside it. The cause is
    relapse with probability :math:`\lambda^R_k / h_k` (the hazard share in that interval), which is
    exact for constant hazards within intervals (Beyersmann, Allignol & Schumacher 2012, ch. 3).
    Death after relapse is sampled the same way on the clock *days since relapse* (clock reset).

Analysis
    Sufficient statistics per arm and analysis interval: relapse events :math:`D_{gj}` and exposure
    :math:`E_{gj}`. With prior :math:`\lambda_{gj} \sim \mathrm{Gamma}(a, b)` the posterior is
    :math:`\mathrm{Gamma}(a + D_{gj}, b + E_{gj})`, independently across arms and intervals.
    The hazard ratio is that of the cumulative relapse hazards over the horizon :math:`\tau`,
    :math:`\mathrm{HR} = \Lambda_1(\tau)/\Lambda_0(\tau)`, :math:`\Lambda_g = \sum_j w_j \lambda_{gj}`
    (:math:`w_j` the part of interval :math:`j` before :math:`\tau`); with one interval it is
    :math:`\lambda_1/\lambda_0`. For :math:`X \sim \mathrm{Gamma}(A_1, B_1)`,
    :math:`Y \sim \mathrm{Gamma}(A_0, B_0)` independent,

    .. math:: P(X/Y < m) = I_{z}(A_1, A_0),\qquad z = \frac{m B_1/B_0}{1 + m B_1/B_0},

    the regularised incomplete beta function, because :math:`B_1X/(B_1X + B_0Y) \sim
    \mathrm{Beta}(A_1, A_0)`; equivalently :math:`(X B_1/A_1)/(Y B_0/A_0) \sim F(2A_1, 2A_0)`.
    With several intervals each :math:`\Lambda_g` is matched to a gamma by its first two moments
    (Satterthwaite 1946), exact for one interval and checked against Monte Carlo in the tests.

    The frequentist comparison is the log-rank test of the cause-specific relapse hazard (NRM
    and dropout censored), i.e. the score test of a cause-specific Cox model; Gray's (1988) test of
    the subdistribution hazards is not implemented. Schoenfeld (1983): with allocation fraction
    :math:`p` and :math:`D` relapses the log-rank power is
    :math:`\Phi(\sqrt{D p(1-p)}\,|\log\mathrm{HR}| - z_{1-\alpha/2})`.

References
----------
Schoenfeld DA. Sample-size formula for the proportional-hazards regression model. Biometrics
1983;39:499-503.
Gray RJ. A class of K-sample tests for comparing the cumulative incidence of a competing risk.
Ann Stat 1988;16:1141-1154.
Satterthwaite FE. An approximate distribution of estimates of variance components. Biometrics
Bulletin 1946;2:110-114.
Beyersmann J, Allignol A, Schumacher M. Competing Risks and Multistate Models with R. Springer 2012.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from models.constants import DAYS_PER_YEAR
from models.errors import ConfigError
from models.progress import Progress, as_progress


def shift_cuts(cuts: Sequence[float], start: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut points re-expressed on the clock *days since* ``start`` and the intervals they keep.

    Returns ``(new_cuts, kept)``: ``new_cuts[0] = 0`` and ``kept`` indexes the original intervals
    that overlap ``[start, inf)`` (the first one partially).
    """
    c = np.asarray(cuts, float)
    first = int(np.searchsorted(c, start, side="right") - 1)
    kept = np.arange(first, c.size)
    new = np.concatenate([[0.0], c[first + 1 :] - start])
    return new, kept


def _cumulative(h: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Cumulative hazard at each cut point, ``(T, J)`` (the last interval is open)."""
    widths = np.diff(cuts)
    H = np.zeros_like(h)
    if widths.size:
        H[:, 1:] = np.cumsum(h[:, :-1] * widths, axis=1)
    return H


def _invert(E: np.ndarray, h: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Times ``H^{-1}(E)`` and the interval index of each, for ``E`` of shape ``(T, n)``."""
    H = _cumulative(h, cuts)
    k = np.zeros(E.shape, dtype=np.intp)
    for j in range(1, cuts.size):
        k += E >= H[:, j : j + 1]
    Hk = np.take_along_axis(H, k, axis=1)
    hk = np.take_along_axis(h, k, axis=1)
    t = cuts[k] + (E - Hk) / hk
    return t, k


def _merge_equal(cuts: np.ndarray, *hazards: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Drop cut points between intervals whose hazards are equal in every trial (fewer passes, same law)."""
    keep = [0] + [j for j in range(1, cuts.size) if not all(np.array_equal(h[:, j], h[:, j - 1]) for h in hazards)]
    if len(keep) == cuts.size:
        return cuts, hazards
    return cuts[keep], tuple(h[:, keep] for h in hazards)


def competing_from(
    E: np.ndarray, u: np.ndarray, lam_r: np.ndarray, lam_n: np.ndarray, cuts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First event time and cause (1 relapse, 2 NRM) from given ``Exp(1)`` draws ``E`` and uniforms ``u``.

    ``E``, ``u`` are ``(T, n)``; ``lam_r``, ``lam_n`` are ``(T, J)`` hazards per day on ``cuts``
    (clock starting at 0, last interval open), all > 0. Inverse CDF as in the module docstring.
    """
    cuts, (lam_r, lam_n) = _merge_equal(cuts, lam_r, lam_n)
    h = lam_r + lam_n
    if cuts.size == 1:
        t = E / h
        share = lam_r / h
    else:
        t, k = _invert(E, h, cuts)
        share = np.take_along_axis(lam_r / h, k, axis=1)
    cause = np.where(u < share, 1, 2).astype(np.int8)
    return t, cause


def sample_competing(
    lam_r: np.ndarray, lam_n: np.ndarray, cuts: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """First event time and cause (1 relapse, 2 NRM) for ``n`` patients in each of ``T`` trials.

    ``lam_r``, ``lam_n`` are ``(T, J)`` hazards per day on ``cuts`` (clock starting at 0, last
    interval open), all > 0.
    """
    E = rng.standard_exponential((lam_r.shape[0], n))
    u = rng.random((lam_r.shape[0], n))
    return competing_from(E, u, lam_r, lam_n, cuts)


def pwe_from(E: np.ndarray, lam: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Event times ``H^{-1}(E)`` from given ``Exp(1)`` draws ``E`` ``(T, n)`` and one PWE hazard ``(T, J)``."""
    cuts, (lam,) = _merge_equal(cuts, lam)
    if cuts.size == 1:
        return E / lam
    t, _ = _invert(E, lam, cuts)
    return t


def sample_pwe(lam: np.ndarray, cuts: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Event times from one piecewise-exponential hazard ``(T, J)``: ``(T, n)``."""
    return pwe_from(rng.standard_exponential((lam.shape[0], n)), lam, cuts)


def sample_pwe_rows(lam: np.ndarray, cuts: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One event time per entry of ``rows`` (trial index) from hazard ``lam[rows]``: ``(len(rows),)``."""
    if rows.size == 0:
        return np.empty(0)
    return sample_pwe(lam[rows], cuts, 1, rng)[:, 0]


def events_exposure(obs: np.ndarray, event: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Events and exposure per trial and analysis interval, summed over patients: ``(T, J)`` each."""
    T, J = obs.shape[0], cuts.size
    D = np.empty((T, J))
    Ex = np.empty((T, J))
    upper = np.append(cuts[1:], np.inf)
    for j in range(J):
        Ex[:, j] = np.clip(obs - cuts[j], 0.0, upper[j] - cuts[j]).sum(axis=1)
        D[:, j] = (event & (obs > cuts[j]) & (obs <= upper[j])).sum(axis=1) if J > 1 else event.sum(axis=1)
    return D, Ex


def horizon_weights(cuts: np.ndarray, horizon: float) -> np.ndarray:
    """Length of each analysis interval before ``horizon`` (weights of the cumulative hazard)."""
    upper = np.append(cuts[1:], np.inf)
    return np.clip(np.minimum(upper, horizon) - cuts, 0.0, None)


def gamma_sum(shape: np.ndarray, rate: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Gamma matched by two moments to :math:`\sum_j w_j \lambda_j`, :math:`\lambda_j \sim \mathrm{Gamma}(a_j, b_j)`.

    Mean :math:`\mu = \sum w_j a_j/b_j`, variance :math:`v = \sum w_j^2 a_j/b_j^2`; returns
    :math:`(\mu^2/v, \mu/v)`. Exact when only one weight is non-zero. Arrays ``(..., J)``.
    """
    w = weights[weights > 0]
    a, b = shape[..., weights > 0], rate[..., weights > 0]
    if w.size == 1:
        return a[..., 0], b[..., 0] / w[0]
    mu = (w * a / b).sum(-1)
    var = (w**2 * a / b**2).sum(-1)
    return mu**2 / var, mu / var


def prob_ratio_below(a1: np.ndarray, b1: np.ndarray, a0: np.ndarray, b0: np.ndarray, m: float) -> np.ndarray:
    r""":math:`P(X/Y < m)`, independent
    :math:`X \sim \mathrm{Gamma}(a_1, b_1)`, :math:`Y \sim \mathrm{Gamma}(a_0, b_0)`.

    Exact: :math:`I_z(a_1, a_0)` with :math:`z = r/(1+r)`, :math:`r = m b_1/b_0`.
    """
    r = m * b1 / b0
    return special.betainc(a1, a0, r / (1.0 + r))


def prob_hr_below(
    D1: np.ndarray,
    E1: np.ndarray,
    D0: np.ndarray,
    E0: np.ndarray,
    prior_shape: float,
    prior_rate: float,
    weights: np.ndarray,
    m: float,
) -> np.ndarray:
    """Posterior :math:`P(\\mathrm{HR} < m)` per trial from ``(T, J)`` events and exposures of each arm."""
    a1, b1 = gamma_sum(prior_shape + D1, prior_rate + E1, weights)
    a0, b0 = gamma_sum(prior_shape + D0, prior_rate + E0, weights)
    return prob_ratio_below(a1, b1, a0, b0, m)


_Q_NODES = 48


def prob_cir_below(
    d_r: np.ndarray,
    d_n: np.ndarray,
    exposure: np.ndarray,
    prior_shape_r: float,
    prior_shape_n: float,
    prior_rate: float,
    horizon: float,
    p0: float,
) -> np.ndarray:
    r"""Posterior :math:`P(\mathrm{CIR}(\tau) < p_0)` for constant relapse and NRM hazards (one interval).

    With common posterior rate :math:`B = b + E`, :math:`\lambda_R \sim \mathrm{Gamma}(A_R, B)` and
    :math:`\lambda_N \sim \mathrm{Gamma}(A_N, B)`, the total :math:`S = \lambda_R + \lambda_N \sim
    \mathrm{Gamma}(A_R + A_N, B)` is independent of the share :math:`\pi = \lambda_R/S \sim
    \mathrm{Beta}(A_R, A_N)`, and :math:`\mathrm{CIR}(\tau) = \pi (1 - e^{-S\tau})`. Hence

    .. math:: P(\mathrm{CIR} < p_0) = E_S\big[I_{\min(1, p_0/(1-e^{-S\tau}))}(A_R, A_N)\big],

    a one-dimensional integral evaluated at 48 equal-probability quantiles of :math:`S` (midpoint
    rule on the probability scale; checked against Monte Carlo in the tests).
    """
    A_r = prior_shape_r + d_r
    A_n = prior_shape_n + d_n
    B = prior_rate + exposure
    u = (np.arange(_Q_NODES) + 0.5) / _Q_NODES
    S = special.gammaincinv((A_r + A_n)[:, None], u[None, :]) / B[:, None]
    x = np.minimum(1.0, p0 / -np.expm1(-S * horizon))
    return special.betainc(A_r[:, None], A_n[:, None], x).mean(axis=1)


def cir_constant(lam_r: float, lam_n: float, horizon: float) -> float:
    """Cumulative incidence of relapse at ``horizon`` for constant cause-specific hazards."""
    h = lam_r + lam_n
    return float(lam_r / h * -np.expm1(-h * horizon))


def hazards_from_cif(cir: float, nrm: float, years: float) -> tuple[float, float]:
    r"""Constant cause-specific hazards (per day) reproducing cumulative incidences at ``years``.

    :math:`\mathrm{CIF}_k(t) = \frac{\lambda_k}{\lambda}(1 - e^{-\lambda t})` with
    :math:`\lambda = -\log(1 - \mathrm{CIR} - \mathrm{NRM})/t`.
    """
    t = years * DAYS_PER_YEAR
    total = -np.log1p(-(cir + nrm)) / t
    return float(total * cir / (cir + nrm)), float(total * nrm / (cir + nrm))


def logrank_z(obs: np.ndarray, event: np.ndarray, treat: np.ndarray) -> np.ndarray:
    r"""Log-rank Z statistic per trial (negative favours treatment), continuous times without ties.

    :math:`U = \sum_{\text{events}} (x_i - n_1/n)`, :math:`V = \sum_{\text{events}} n_1 n_0 / n^2`
    over the risk sets at each event time, :math:`Z = U/\sqrt V` — the score test of a Cox model
    of the cause-specific hazard when ``event`` marks one cause (others censored).
    ``obs``/``event`` are ``(T, n)``, ``treat`` is a ``(n,)`` boolean of treatment membership.
    """
    T, n = obs.shape
    # one int8 code per patient (bit 0: treatment, bit 1: event) so a single gather follows the sort
    code = (treat[None, :].astype(np.int8) | (event.astype(np.int8) << 1)).astype(np.int8)
    order = np.argsort(obs.astype(np.float32), axis=1)
    code = np.take_along_axis(code, order, axis=1)
    x = code & 1
    n1 = np.cumsum(x[:, ::-1], axis=1, dtype=np.int32)[:, ::-1]
    rows, pos = np.nonzero(code >> 1)
    xi = x[rows, pos].astype(np.float64)
    n1i = n1[rows, pos].astype(np.float64)
    ni = (n - pos).astype(np.float64)
    U = np.bincount(rows, weights=xi - n1i / ni, minlength=T)
    V = np.bincount(rows, weights=n1i * (ni - n1i) / ni**2, minlength=T)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(V > 0, U / np.sqrt(V), 0.0)
    return z


def one_sample_logrank_z(events: np.ndarray, expected: np.ndarray) -> np.ndarray:
    r"""One-sample log-rank :math:`Z = (O - E)/\sqrt{E}` against a known hazard (Breslow 1975)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected > 0, (events - expected) / np.sqrt(expected), 0.0)


def schoenfeld_events(hr: float, alpha: float = 0.05, power: float = 0.8, allocation: float = 0.5) -> float:
    r"""Events needed for a two-sided level-:math:`\alpha` log-rank test (Schoenfeld 1983).

    :math:`D = (z_{1-\alpha/2} + z_{1-\beta})^2 / \{p(1-p)\log^2\mathrm{HR}\}`.
    """
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z**2 / (allocation * (1 - allocation) * np.log(hr) ** 2))


def schoenfeld_power(hr: float, events: float, alpha: float = 0.05, allocation: float = 0.5) -> float:
    r"""Power of the log-rank test with ``events`` events (Schoenfeld 1983), one direction."""
    return float(
        stats.norm.cdf(
            np.sqrt(events * allocation * (1 - allocation)) * abs(np.log(hr)) - stats.norm.ppf(1 - alpha / 2)
        )
    )


# --------------------------------------------------------------------------- one chunk of a design
#: Candidate posterior-probability cut-offs for the calibration (step 0.0005).
CAL_THRESHOLDS = np.round(np.arange(0.5, 0.99951, 0.0005), 4)
#: Sums each chunk returns (rates and means are formed after adding chunks in a fixed order).
SUM_KEYS = (
    "n",
    "success",
    "success_freq",
    "success_efs",
    "stop_efficacy",
    "stop_futility",
    "events",
    "events_sq",
    "deaths",
    "deaths_sq",
    "duration",
    "duration_sq",
)


def _kth(x: np.ndarray, k: int) -> np.ndarray:
    """The ``k``-th smallest value per row (1-based), ``inf`` when fewer than ``k`` are finite."""
    if k > x.shape[1]:
        return np.full(x.shape[0], np.inf)
    return np.partition(x, k - 1, axis=1)[:, k - 1]


def chunk_hazards(design, scenario, T: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Hazards per trial on the clock *days since entry*: control and treatment arms, ``(T, J)``."""
    from models.constants import DEFAULT_CUTS

    cuts, kept = shift_cuts(DEFAULT_CUTS, design.entry_day)
    J = cuts.size
    from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS as dcuts

    K = len(dcuts)
    out = {
        "cuts": cuts,
        "dcuts": np.asarray(dcuts, float),
        "ctrl_r": np.full((T, J), design.control_relapse),
        "ctrl_n": np.full((T, J), design.control_nrm),
        "ctrl_d": np.full((T, K), design.control_after_relapse),
    }
    idx = None
    if scenario.control_draws is not None:
        idx = rng.integers(0, scenario.control_draws["relapse"].shape[0], T)
        out["ctrl_r"] = scenario.control_draws["relapse"][idx][:, kept]
        out["ctrl_n"] = scenario.control_draws["nrm"][idx][:, kept]
        out["ctrl_d"] = scenario.control_draws["death_after_relapse"][idx]
    if scenario.draws is not None:
        if not (scenario.shared and idx is not None):
            idx = rng.integers(0, scenario.draws["relapse"].shape[0], T)
        out["trt_r"] = scenario.draws["relapse"][idx][:, kept]
        out["trt_n"] = scenario.draws["nrm"][idx][:, kept]
        out["trt_d"] = scenario.draws["death_after_relapse"][idx]
    else:
        if scenario.hr_lognormal is not None:
            hr = np.exp(rng.normal(scenario.hr_lognormal[0], scenario.hr_lognormal[1], T))[:, None]
        else:
            hr = scenario.hr_relapse
        out["trt_r"] = out["ctrl_r"] * hr
        out["trt_n"] = out["ctrl_n"] * scenario.hr_nrm
        out["trt_d"] = out["ctrl_d"]
    for k in ("trt_r", "trt_n", "trt_d", "ctrl_r", "ctrl_n", "ctrl_d"):
        out[k] = np.maximum(out[k], 1e-12)  # a zero hazard would make the inverse CDF divide by zero
    return out


def draw_patients(design, scenario, n_patients: int, n_trials: int, rng: np.random.Generator) -> dict[str, Any]:
    """Draw ``n_trials`` trials of ``n_patients`` (treatment arm first): what :func:`decide` analyses.

    Returns ``u`` (first event time after entry), ``cause`` (1 relapse, 2 NRM), ``x`` (death after
    relapse, days since relapse; ``inf`` without relapse), ``entry`` (calendar day of entry),
    ``drop`` (time to dropout), all ``(T, N)``, ``n1`` (treatment-arm size) and ``acc`` (accrual days).
    """
    T, N = n_trials, n_patients
    hz = chunk_hazards(design, scenario, T, rng)
    n1 = design.n_treatment(N)
    u, cause = sample_competing(hz["trt_r"], hz["trt_n"], hz["cuts"], n1, rng)
    if N > n1:
        u0, c0 = sample_competing(hz["ctrl_r"], hz["ctrl_n"], hz["cuts"], N - n1, rng)
        u, cause = np.hstack([u, u0]), np.hstack([cause, c0])
    # death after relapse (clock reset at relapse), drawn only for patients who relapse
    x = np.full((T, N), np.inf)
    for cols, lam in ((slice(0, n1), hz["trt_d"]), (slice(n1, N), hz["ctrl_d"])):
        rows, pos = np.nonzero(cause[:, cols] == 1)
        x[rows, pos + cols.start] = sample_pwe_rows(lam, hz["dcuts"], rows, rng)
    acc = design.accrual_days(N)
    entry = rng.uniform(0.0, acc, (T, N))
    drop = (
        rng.standard_exponential((T, N)) * (DAYS_PER_YEAR / design.dropout_per_year)
        if design.dropout_per_year > 0
        else np.full((T, N), np.inf)
    )
    return {"u": u, "cause": cause, "x": x, "entry": entry, "drop": drop, "n1": n1, "acc": acc}


def run_chunk(
    design, scenario, n_patients: int, n_trials: int, seed: int, key: tuple[int, ...], *, per_trial: bool = False
) -> dict[str, Any]:
    """Simulate and analyse ``n_trials`` trials of ``n_patients`` under ``scenario``.

    The generator is ``SeedSequence(seed, spawn_key=key)``, so a chunk's result depends only on
    (seed, key), never on the worker that runs it. Returns the sums of :data:`SUM_KEYS` and
    ``cal_counts`` (successes at each of :data:`CAL_THRESHOLDS`); with ``per_trial`` also the
    results of each trial (``trials``, see :func:`decide`).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
    return decide(design, draw_patients(design, scenario, n_patients, n_trials, rng), per_trial=per_trial)


def decide(design, patients: dict[str, Any], *, per_trial: bool = False) -> dict[str, Any]:
    """Interim and final analyses of drawn trials (:func:`draw_patients`): chunk sums, optionally per trial.

    With ``per_trial`` the result also holds ``trials``: the final-analysis statistics
    (``D1, E1, D0, E0, p, z, events``), the decisions ``success`` (Bayesian rule with the interim)
    and ``success_freq`` (the test at the final analysis), and the realised ``n_events``,
    ``n_deaths`` and ``duration`` (at the interim for trials stopped there).
    """
    u, cause, x, entry, drop = (patients[k] for k in ("u", "cause", "x", "entry", "drop"))
    n1, acc = patients["n1"], patients["acc"]
    T, N = u.shape
    relapse, nrm = cause == 1, cause == 2
    cap = acc + design.max_followup_days
    if design.analysis == "calendar":
        A = np.full(T, acc + design.min_followup_days)
    else:
        cal = np.where(relapse & (u <= drop), entry + u, np.inf)
        # the analysis includes the target event itself (1e-6 day guards the float round trip entry + u - entry)
        A = np.minimum(_kth(cal, design.target_events) + 1e-6, cap)
    cuts = np.asarray(design.cuts_days, float)
    weights = horizon_weights(cuts, design.horizon_days)
    treat = np.arange(N) < n1

    def analyse(at: np.ndarray, logrank: bool) -> dict[str, np.ndarray]:
        cens = np.minimum(drop, at[:, None] - entry)
        obs = np.clip(np.minimum(u, cens), 0.0, None)
        rel = relapse & (u <= cens)
        nr = nrm & (u <= cens)
        dead = (nr | (rel & (u + x <= cens))).sum(axis=1)
        res: dict[str, np.ndarray] = {"events": rel.sum(axis=1).astype(float), "deaths": dead.astype(float)}
        if design.kind == "randomised":
            D1, E1 = events_exposure(obs[:, :n1], rel[:, :n1], cuts)
            D0, E0 = events_exposure(obs[:, n1:], rel[:, n1:], cuts)
            res["p"] = prob_hr_below(D1, E1, D0, E0, design.prior_shape, design.prior_rate_days, weights, design.margin)
            efs = rel | nr
            F1, _ = events_exposure(obs[:, :n1], efs[:, :n1], cuts)
            F0, _ = events_exposure(obs[:, n1:], efs[:, n1:], cuts)
            res["p_efs"] = prob_hr_below(
                F1, E1, F0, E0, design.prior_shape, design.prior_rate_days, weights, design.margin
            )
            res.update(D1=D1, E1=E1, D0=D0, E0=E0)
            if logrank:
                res["z"] = logrank_z(obs, rel, treat)
        else:
            dr, dn, ex = res["events"], nr.sum(axis=1).astype(float), obs.sum(axis=1)
            res["p"] = prob_cir_below(
                dr,
                dn,
                ex,
                design.prior_shape,
                design.nrm_prior_shape,
                design.prior_rate_days,
                design.horizon_days,
                design.benchmark_cir,
            )
            res["p_efs"] = np.full(T, np.nan)
            res.update(D1=dr[:, None], E1=ex[:, None], Dn=dn)
            if logrank:
                res["z"] = one_sample_logrank_z(dr, design.control_relapse * ex)
        return res

    final = analyse(A, True)
    stop_eff = np.zeros(T, bool)
    stop_fut = np.zeros(T, bool)
    duration, events, deaths = A.copy(), final["events"], final["deaths"]
    if design.interim is not None:
        info, fut, eff = design.interim
        if design.analysis == "calendar":
            Ai = info * A
        else:
            Ai = np.minimum(_kth(cal, max(1, math.ceil(info * design.target_events))) + 1e-6, cap)
        inter = analyse(Ai, False)
        stop_eff = inter["p"] > eff
        stop_fut = ~stop_eff & (inter["p"] < fut)
        stopped = stop_eff | stop_fut
        duration = np.where(stopped, Ai, A)
        events = np.where(stopped, inter["events"], events)
        deaths = np.where(stopped, inter["deaths"], deaths)
    go_on = ~(stop_eff | stop_fut)
    success = stop_eff | (go_on & (final["p"] > design.threshold))
    z_crit = stats.norm.ppf(1 - design.alpha / 2)
    success_freq = final["z"] < -z_crit
    cont = np.sort(final["p"][go_on])
    cal_counts = stop_eff.sum() + cont.size - np.searchsorted(cont, CAL_THRESHOLDS, side="right")
    out: dict[str, Any] = {
        "n": float(T),
        "success": float(success.sum()),
        "success_freq": float(success_freq.sum()),
        "success_efs": float(np.nansum(stop_eff | (go_on & (final["p_efs"] > design.threshold)))),
        "stop_efficacy": float(stop_eff.sum()),
        "stop_futility": float(stop_fut.sum()),
        "events": float(events.sum()),
        "events_sq": float((events**2).sum()),
        "deaths": float(deaths.sum()),
        "deaths_sq": float((deaths**2).sum()),
        "duration": float(duration.sum()),
        "duration_sq": float((duration**2).sum()),
        "cal_counts": cal_counts.astype(float),
    }
    if per_trial:
        out["trials"] = {k: final[k] for k in ("D1", "E1", "D0", "E0", "p", "z", "events") if k in final}
        out["trials"].update(
            success=success, success_freq=success_freq, n_events=events, n_deaths=deaths, duration=duration
        )
    return out


# ------------------------------------------------------------------------------------ running a grid
@dataclass(frozen=True)
class Task:
    """One chunk: ``n_trials`` trials of ``n_patients`` under scenario ``scenario_index``."""

    design: Any  # models.design.Design
    scenario_index: int
    n_patients: int
    n_trials: int
    seed: int
    chunk: int

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.n_patients, self.scenario_index, self.chunk)


def run_task(task: Task) -> dict[str, Any]:
    """Run one chunk (top level, so process pools and Dask workers can import it)."""
    sc = task.design.scenarios[task.scenario_index]
    return run_chunk(task.design, sc, task.n_patients, task.n_trials, task.seed, task.key)


def make_tasks(
    design: Any,
    *,
    seed: int,
    n_grid: Sequence[int] | None = None,
    n_sims: int | None = None,
    chunk_trials: int | None = None,
) -> list[Task]:
    """Chunks for every (N, scenario): seeds spawned from ``seed`` with key (N, scenario, chunk)."""
    n_sims = design.n_sims if n_sims is None else n_sims
    size = design.chunk_trials if chunk_trials is None else chunk_trials
    tasks = []
    for n in design.n_grid if n_grid is None else n_grid:
        for s in range(len(design.scenarios)):
            for c, lo in enumerate(range(0, n_sims, size)):
                tasks.append(Task(design, s, int(n), min(size, n_sims - lo), seed, c))
    return tasks


def execute(
    tasks: Sequence[Any],
    *,
    workers: int = 2,
    dask_address: str | None = None,
    progress: bool | Progress = False,
    fn: Callable[[Any], dict[str, Any]] = run_task,
) -> list[dict[str, Any]]:
    """Run chunks locally (``workers`` processes; 1 = in this process) or on a Dask cluster.

    ``fn`` runs one task (a top-level function, so process pools and Dask workers can import it;
    default :func:`run_task`). Results come back in the order of ``tasks`` whatever the scheduler,
    so sums are identical.
    """
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    rep = as_progress(progress, "plan")
    report: Callable[[int], None] = lambda d: rep.advance(f"{len(tasks)} simulation chunks", d, len(tasks))  # noqa: E731
    if dask_address is not None:
        try:
            from dask.distributed import Client
        except ImportError:
            raise ConfigError(
                "--dask", found=dask_address, expected="dask[distributed] installed (pip install 'dask[distributed]')"
            ) from None
        try:
            client = Client(dask_address, timeout="10s", set_as_default=False)
        except OSError as exc:
            raise ConfigError("--dask", found=dask_address, expected=f"a reachable Dask scheduler ({exc})") from None
        try:
            futures = client.map(fn, list(tasks), pure=False)
            for i, fut in enumerate(futures):  # in task order; the cluster computes them concurrently
                results[i] = fut.result()
                report(i + 1)
        finally:
            client.close()
    elif workers <= 1:
        for i, t in enumerate(tasks):
            results[i] = fn(t)
            report(i + 1)
    else:
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            futs = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
            for done, f in enumerate(cf.as_completed(futs), 1):
                results[futs[f]] = f.result()
                report(done)
    return results  # type: ignore[return-value]


def collect(tasks: Sequence[Task], results: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Add chunk sums per (N, scenario) in task order: one row per cell with raw sums and calibration counts."""
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    for t, r in zip(tasks, results, strict=True):
        cell = cells.setdefault((t.n_patients, t.scenario_index), {k: 0.0 for k in SUM_KEYS} | {"cal_counts": 0.0})
        for k in (*SUM_KEYS, "cal_counts"):
            cell[k] = cell[k] + r[k]
    rows = []
    for (n, s), cell in cells.items():
        sc = tasks[0].design.scenarios[s]
        rows.append({"N": n, "scenario": sc.name, "role": sc.role, **cell})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ full-MCMC reference
def nuts_prob_hr(
    D1: np.ndarray,
    E1: np.ndarray,
    D0: np.ndarray,
    E0: np.ndarray,
    prior_shape: float,
    prior_rate: float,
    weights: np.ndarray,
    margin: float,
    *,
    draws: int = 2000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
) -> np.ndarray:
    r""":math:`P(\mathrm{HR} < m)` per trial by NUTS on the same PWE model (the reference for the fast rule).

    Model, for trial :math:`t`, arm :math:`g` and interval :math:`j`:
    :math:`\lambda_{tgj} \sim \mathrm{Gamma}(a, b)`, log-likelihood
    :math:`\sum D_{tgj}\log\lambda_{tgj} - \lambda_{tgj}E_{tgj}` (Poisson kernel). Trials are
    independent blocks of one PyMC model, so one NUTS run gives every trial its own posterior.
    """
    import pymc as pm

    D = np.stack([D0, D1], axis=1)
    E = np.stack([E0, E1], axis=1)
    with pm.Model():
        lam = pm.Gamma("lam", alpha=prior_shape, beta=prior_rate, shape=D.shape)
        pm.Potential("loglik", (D * pm.math.log(lam) - lam * E).sum())
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=1,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
        )
    lam_draws = idata.posterior["lam"].to_numpy()  # (chain, draw, T, 2, J)
    cum = (lam_draws * weights).sum(axis=-1)
    return (cum[..., 1] / cum[..., 0] < margin).mean(axis=(0, 1))
