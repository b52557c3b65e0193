r"""Sample size by root search on simulated power or assurance, and the closed-form log-rank answers.

Root search
    For a design, a scenario (fixed alternative or design prior) and an analysis (Bayesian rule or
    frequentist test), the simulated probability of success :math:`p(N)` is estimated on one fixed
    set of :math:`T` trials at several sample sizes with **common random numbers**: trial
    :math:`t` has the same truth (one draw of a design prior), and its :math:`i`-th patient the same
    uniform and exponential draws, at every :math:`N` (patients are drawn in blocks of 64 from
    ``SeedSequence(seed, spawn_key=(0, scenario, chunk, block))``; the first :math:`N` patients of a
    trial of :math:`N + 1` are those of the trial of :math:`N`, arms assigned in a fixed interleaved
    order). Differences between sample sizes then have little Monte Carlo noise, so the curve is
    nearly monotone in :math:`N` and its slope is estimated precisely.

    A probit model :math:`p(N) = \Phi(a + b\log N)` is fitted by maximum likelihood (iteratively
    reweighted least squares) to the successes of the :math:`T` trials at each :math:`N`, and its
    root :math:`\hat N = \exp\{(\Phi^{-1}(p^*) - a)/b\}` for the target :math:`p^*` is refined by
    adding sample sizes at :math:`\hat N` and :math:`\hat N(1 \pm 0.03)` and refitting on the points
    within 8% of :math:`\hat N` (locally the probit is an interpolation, so its functional form
    hardly matters), until no new point is needed. The Monte Carlo 95% interval of :math:`\hat N` is
    the percentile interval of a trial-level (cluster) bootstrap: trials are resampled with all
    their outcomes across :math:`N`, which keeps the positive correlation that common random numbers
    induce (an independent-binomial variance would be wrong). While that interval is wider than
    :math:`\pm 2\%` of :math:`\hat N` more trials are added (new chunks, the same trials at every
    :math:`N`; the half-width falls as :math:`1/\sqrt T`, so :math:`T` jumps to the count predicted
    to reach the tolerance, times 1.2, at least 1.5-fold), fitting the three points nearest
    :math:`\hat N`, up to a cap. The reported :math:`N` is the smallest admissible sample size
    at or above :math:`\hat N` (a multiple of :math:`a + b` for an :math:`a{:}b` allocation, so the
    arms are exactly in ratio), and the interval's ends are rounded up the same way.

Closed forms (randomised design, log-rank test of the cause-specific relapse hazard, one-sided level
:math:`\alpha/2`, power :math:`1 - \beta`, allocation fraction :math:`p` to maintenance, allocation
ratio :math:`\phi = p/(1-p)`, hazard ratio :math:`\psi`)
    Schoenfeld (1983): :math:`d = (z_{1-\alpha/2} + z_{1-\beta})^2 / \{p(1-p)\log^2\psi\}` relapses.

    Freedman (1982): :math:`d = (z_{1-\alpha/2} + z_{1-\beta})^2 (1 + \phi\psi)^2 / \{\phi(1-\psi)^2\}`
    relapses, i.e. :math:`(z_{1-\alpha/2} + z_{1-\beta})^2 (1+\psi)^2/(1-\psi)^2` for 1:1; it
    assumes the risk sets stay in the allocation ratio, and is known to be conservative (larger
    than needed) for hazard ratios far from 1, while Schoenfeld's asymptotic formula is slightly
    anti-conservative there (Hsieh 1992).

    Events are converted to patients with the probability of *observing* a relapse under the
    design: constant cause-specific hazards :math:`\lambda_R` (relapse), :math:`\lambda_N` (NRM,
    a competing event, i.e. censoring for the cause-specific test), exponential dropout
    :math:`\lambda_D`, uniform accrual over :math:`A` days and analysis :math:`F` days after the
    last entry, so follow-up is uniform on :math:`[F, F + A]` and, with :math:`h = \lambda_R +
    \lambda_N + \lambda_D`,

    .. math:: P(\text{relapse observed}) = \frac{\lambda_R}{h}\Big(1 - \frac{e^{-hF} - e^{-h(F+A)}}{hA}\Big)

    per arm, averaged with weights :math:`p, 1-p`. With accrual at a fixed rate :math:`A` grows with
    :math:`N`, so :math:`N` solves :math:`N\,\bar P(N) = d` (Collett 2015, ch. 10). These apply to
    the frequentist analysis of a calendar-time design without interim (the toolkit's log-rank test
    is always at the final analysis, ignoring the interim).

References
----------
Schoenfeld DA. Sample-size formula for the proportional-hazards regression model. Biometrics
1983;39:499-503.
Freedman LS. Tables of the number of patients required in clinical trials using the logrank test.
Stat Med 1982;1:121-129.
Hsieh FY. Comparing sample size formulae for trials with unbalanced allocation using the logrank
test. Stat Med 1992;11:1091-1098.
Collett D. Modelling Survival Data in Medical Research, 3rd ed. CRC 2015.
Glasserman P, Yao DD. Some guidelines and guarantees for common random numbers. Manag Sci
1992;38:884-908.
Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall 1993.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from models import trial_sim as ts
from models.constants import DAYS_PER_YEAR
from models.progress import Progress, as_progress

#: Patients per block of common random numbers (the first N patients never depend on larger N).
CRN_BLOCK = 64
#: First entry of the root-search spawn keys; grid chunks use N >= 2 there, so the streams never meet.
CRN_TAG = 0
#: Relative offset of the refinement points around the current root, and half-width of the local fit window.
REFINE = 0.03
WINDOW = 0.08
#: Per-trial outputs of a root-search chunk (see :func:`models.trial_sim.decide`).
TRIAL_KEYS = ("success", "success_freq", "n_events", "n_deaths", "duration")
ANALYSIS_KEY = {"bayesian": "success", "frequentist": "success_freq"}
#: Columns of the sample-size table (``sample_size.csv``), documented in docs/trial_planning.md; the
#: first nine are those of the grid reading, in the same order, for readers of earlier files. The
#: closed-form columns are empty for a single-arm design.
COLUMNS = (
    "design",
    "scenario",
    "metric",
    "analysis",
    "target",
    "n_point",
    "n_conservative",
    "max_in_grid",
    "schoenfeld_relapses",
    "grid_n_point",
    "grid_n_conservative",
    "n_root",
    "n_lower",
    "n_upper",
    "n_step",
    "rel_halfwidth",
    "within_tolerance",
    "p_at_n",
    "p_at_n_mcse",
    "n_trials",
    "n_points_fit",
    "trials_simulated",
    "mean_relapses_at_n",
    "mean_deaths_at_n",
    "mean_duration_days_at_n",
    "freedman_relapses",
    "schoenfeld_n",
    "freedman_n",
)


# ------------------------------------------------------------------------------------------- helpers
def allocation_step(design: Any) -> int:
    """Smallest N step keeping the arms exactly in the allocation ratio (``a + b`` for ``a:b``; 1 for one arm)."""
    if design.kind == "single_arm":
        return 1
    frac = Fraction(design.allocation_ratio).limit_denominator(12)
    if not math.isclose(float(frac), design.allocation_ratio, rel_tol=0, abs_tol=1e-9):
        return 1
    return frac.numerator + frac.denominator


def round_up(n: float, step: int) -> int:
    """``n`` rounded up to a multiple of ``step`` (a tiny tolerance absorbs float noise)."""
    return int(step * math.ceil(n / step - 1e-9))


# -------------------------------------------------------------------------------------- closed forms
def freedman_events(hr: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0) -> float:
    r"""Relapses needed by Freedman's (1982) formula, two-sided level ``alpha`` (one-sided :math:`\alpha/2`).

    :math:`d = (z_{1-\alpha/2} + z_{1-\beta})^2 (1 + \phi\psi)^2 / \{\phi (1 - \psi)^2\}`, :math:`\phi`
    the allocation ratio (treatment:control), :math:`\psi` the hazard ratio.
    """
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z**2 * (1 + ratio * hr) ** 2 / (ratio * (1 - hr) ** 2))


def relapse_probability(design: Any, n: float, hr_relapse: float = 1.0, hr_nrm: float = 1.0) -> float:
    r"""Probability that a randomised patient's relapse is observed at the calendar-time final analysis.

    Constant hazards (benchmark, maintenance arm times the hazard ratios), NRM and exponential
    dropout as censoring, uniform accrual: see the module docstring. Averaged over the arms with
    the allocation fraction.
    """
    acc = design.accrual_days(n)
    F = design.min_followup_days
    lam_d = design.dropout_per_year / DAYS_PER_YEAR
    p = design.allocation_ratio / (1 + design.allocation_ratio)
    out = 0.0
    for lam_r, lam_n, w in (
        (design.control_relapse * hr_relapse, design.control_nrm * hr_nrm, p),
        (design.control_relapse, design.control_nrm, 1 - p),
    ):
        h = lam_r + lam_n + lam_d
        seen = 1.0 - (math.exp(-h * F) - math.exp(-h * (F + acc))) / (h * acc)
        out += w * lam_r / h * seen
    return out


def events_to_n(design: Any, events: float, hr_relapse: float = 1.0, hr_nrm: float = 1.0) -> float:
    """Patients (continuous) whose expected number of observed relapses is ``events``: ``N P(N) = d``."""

    def gap(n: float) -> float:
        return n * relapse_probability(design, n, hr_relapse, hr_nrm) - events

    hi = max(4.0, 2.0 * events)
    while gap(hi) < 0:
        hi *= 2.0
    return float(optimize.brentq(gap, 1e-6, hi, xtol=1e-9))


def closed_form_sample_sizes(design: Any, scenario: Any) -> dict[str, float]:
    """Schoenfeld and Freedman relapses and patients for a fixed-HR scenario of a randomised design.

    Patients (rounded up to :func:`allocation_step`) are given only where the formulas apply: an
    alternative scenario (a fixed hazard ratio other than 1), a calendar-time final analysis (the
    log-rank test ignores the interim) and constant hazards, which the toolkit's fixed scenarios have.
    """
    p = design.allocation_ratio / (1 + design.allocation_ratio)
    hr = scenario.hr_relapse
    nan = float("nan")
    out = {"schoenfeld_relapses": nan, "freedman_relapses": nan, "schoenfeld_n": nan, "freedman_n": nan}
    if hr == 1.0:  # no effect on relapse: no finite event count
        return out
    out["schoenfeld_relapses"] = ts.schoenfeld_events(hr, design.alpha, design.target, p)
    out["freedman_relapses"] = freedman_events(hr, design.alpha, design.target, design.allocation_ratio)
    if design.analysis == "calendar" and scenario.role == "alternative":
        step = allocation_step(design)
        for k in ("schoenfeld", "freedman"):
            out[f"{k}_n"] = float(round_up(events_to_n(design, out[f"{k}_relapses"], hr, scenario.hr_nrm), step))
    return out


# ---------------------------------------------------------------------------- common random numbers
@dataclass(frozen=True)
class CrnTask(ts.Task):
    """One chunk of the root search: trials ``chunk`` of scenario ``scenario_index`` at ``n_patients``.

    A :class:`models.trial_sim.Task` whose random stream does not depend on N (common random numbers).
    """

    @property
    def key(self) -> tuple[int, int, int]:
        return (CRN_TAG, self.scenario_index, self.chunk)


def crn_patients(
    design: Any, scenario: Any, n_patients: int, n_trials: int, seed: int, key: tuple[int, ...]
) -> dict[str, Any]:
    """Trials drawn with common random numbers across N, in the layout of :func:`models.trial_sim.draw_patients`.

    Hazards per trial come from ``SeedSequence(seed, spawn_key=(*key, 0))``; patients ``64b`` to
    ``64b + 63`` from ``(*key, b + 1)``: Exp(1) draws for the first event, death after relapse and
    dropout, uniforms for the cause and the entry time (entry = uniform × accrual duration, the same
    law as the grid). Patient ``i`` is in the maintenance arm when ``n_treatment(i + 1) >
    n_treatment(i)``, so the first ``N`` patients hold exactly ``n_treatment(N)`` treated.
    """
    T, N = n_trials, n_patients
    hz = ts.chunk_hazards(design, scenario, T, np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(*key, 0))))
    exps, unis = [], []
    for b in range(math.ceil(N / CRN_BLOCK)):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(*key, b + 1)))
        exps.append(rng.standard_exponential((3, T, CRN_BLOCK)))
        unis.append(rng.random((2, T, CRN_BLOCK)))
    treat = np.diff([design.n_treatment(i) for i in range(N + 1)]) > 0
    order = np.concatenate([np.flatnonzero(treat), np.flatnonzero(~treat)])
    E = np.concatenate(exps, axis=2)[:, :, order]
    U = np.concatenate(unis, axis=2)[:, :, order]
    n1 = int(treat.sum())
    u, cause = ts.competing_from(E[0, :, :n1], U[0, :, :n1], hz["trt_r"], hz["trt_n"], hz["cuts"])
    x = ts.pwe_from(E[1, :, :n1], hz["trt_d"], hz["dcuts"])
    if N > n1:
        u0, c0 = ts.competing_from(E[0, :, n1:], U[0, :, n1:], hz["ctrl_r"], hz["ctrl_n"], hz["cuts"])
        u, cause = np.hstack([u, u0]), np.hstack([cause, c0])
        x = np.hstack([x, ts.pwe_from(E[1, :, n1:], hz["ctrl_d"], hz["dcuts"])])
    x = np.where(cause == 1, x, np.inf)
    acc = design.accrual_days(N)
    drop = E[2] * (DAYS_PER_YEAR / design.dropout_per_year) if design.dropout_per_year > 0 else np.full((T, N), np.inf)
    return {"u": u, "cause": cause, "x": x, "entry": U[1] * acc, "drop": drop, "n1": n1, "acc": acc}


def run_crn_task(task: CrnTask) -> dict[str, np.ndarray]:
    """Simulate and decide one root-search chunk; per-trial :data:`TRIAL_KEYS` (top level, for pools and Dask)."""
    sc = task.design.scenarios[task.scenario_index]
    pts = crn_patients(task.design, sc, task.n_patients, task.n_trials, task.seed, task.key)
    trials = ts.decide(task.design, pts, per_trial=True)["trials"]
    return {k: np.asarray(trials[k]) for k in TRIAL_KEYS}


class CrnSampler:
    """Per-trial results of root-search chunks, simulated on demand (locally or on Dask) and kept.

    Chunk ``c`` of scenario ``s`` holds the same trials at every N, so any set of sample sizes
    evaluated on the first ``k`` chunks shares its random numbers.
    """

    def __init__(
        self, design: Any, *, seed: int, workers: int = 2, dask_address: str | None = None, chunk_trials: int = 0
    ) -> None:
        self.design, self.seed, self.workers, self.dask_address = design, seed, workers, dask_address
        self.chunk = chunk_trials or design.chunk_trials
        self.cells: dict[tuple[int, int, int], dict[str, np.ndarray]] = {}

    def ensure(self, scenario_index: int, ns: Iterable[int], n_trials: int) -> None:
        """Simulate the chunks of the first ``n_trials`` trials at each N not yet simulated (one batch)."""
        tasks = [
            CrnTask(self.design, scenario_index, int(n), self.chunk, self.seed, c)
            for n in sorted(set(ns))
            for c in range(math.ceil(n_trials / self.chunk))
            if (scenario_index, int(n), c) not in self.cells
        ]
        if tasks:
            results = ts.execute(tasks, workers=self.workers, dask_address=self.dask_address, fn=run_crn_task)
            for t, r in zip(tasks, results, strict=True):
                self.cells[(scenario_index, t.n_patients, t.chunk)] = r

    def get(self, scenario_index: int, n: int, n_trials: int, key: str) -> np.ndarray:
        """Per-trial ``key`` of the first ``n_trials`` trials at ``n`` (after :meth:`ensure`)."""
        k = math.ceil(n_trials / self.chunk)
        return np.concatenate([self.cells[(scenario_index, int(n), c)][key] for c in range(k)])


# -------------------------------------------------------------------------------------------- fitting
def _wls(x: np.ndarray, z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sw, sx, sxx = w.sum(-1), (w * x).sum(-1), (w * x * x).sum(-1)
    sz, sxz = (w * z).sum(-1), (w * x * z).sum(-1)
    det = sw * sxx - sx**2
    with np.errstate(invalid="ignore", divide="ignore"):
        b = (sw * sxz - sx * sz) / det
        a = (sz - b * sx) / sw
    return a, b


def probit_fit(x: np.ndarray, y: np.ndarray, n: float, *, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
    r"""Maximum-likelihood probit :math:`\Phi(a + b x)` from ``y`` successes in ``n`` trials at each ``x``.

    Iteratively reweighted least squares (Fisher scoring), vectorised over the leading axes of
    ``y`` (shape ``(..., K)``; ``x`` shape ``(K,)``), started from the empirical probits with a
    0.5 continuity correction.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    p = (y + 0.5) / (n + 1.0)
    eta = special.ndtri(p)
    a, b = _wls(x, eta, n * np.exp(-(eta**2)) / (2 * math.pi * p * (1 - p)))
    for _ in range(iters):
        eta = a[..., None] + b[..., None] * x
        mu = np.clip(special.ndtr(eta), 1e-12, 1 - 1e-12)
        dens = np.maximum(np.exp(-0.5 * eta**2) / math.sqrt(2 * math.pi), 1e-300)
        w = n * dens**2 / (mu * (1 - mu))
        a1, b1 = _wls(x, eta + (y / n - mu) / dens, w)
        step = np.nanmax(np.abs(np.stack([a1 - a, b1 - b]))) if np.size(a) else 0.0
        a, b = a1, b1
        if not step > 1e-11:
            break
    return a, b


def probit_root(a: np.ndarray, b: np.ndarray, target: float) -> np.ndarray:
    """``x`` where the fitted probit equals ``target`` (NaN unless the curve increases)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, (special.ndtri(target) - a) / b, np.nan)


def bootstrap_roots(
    success: np.ndarray, x: np.ndarray, target: float, rng: np.random.Generator, n_boot: int = 2000
) -> np.ndarray:
    """Roots refitted on ``n_boot`` resamples of whole trials (rows of ``success``, ``(T, K)`` booleans).

    A trial enters only through its pattern of outcomes across the ``K`` sample sizes, so the
    resample is a multinomial draw over the distinct patterns (exact and fast).
    """
    T, K = success.shape
    codes = success.astype(np.int64) @ (1 << np.arange(K, dtype=np.int64))
    uniq, counts = np.unique(codes, return_counts=True)
    patterns = ((uniq[:, None] >> np.arange(K)) & 1).astype(float)
    w = rng.multinomial(T, counts / counts.sum(), size=n_boot)
    a, b = probit_fit(x, w @ patterns, float(T))
    return probit_root(a, b, target)


# ----------------------------------------------------------------------------------------- the search
@dataclass(frozen=True)
class SearchSettings:
    """Root-search controls: relative precision, starting and maximum trials per N, bootstrap size."""

    rel_tol: float = 0.02
    n_trials: int = 2000
    max_trials: int = 32000
    n_boot: int = 2000


def _fit(
    sampler: CrnSampler, s: int, key: str, ns: Sequence[int], T: int, target: float
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Probit fit at ``ns`` on the first ``T`` trials: outcomes ``(T, K)``, centred log N, centre, root."""
    ns = sorted(ns)
    S = np.column_stack([sampler.get(s, n, T, key) for n in ns])
    ref = math.log(ns[len(ns) // 2])
    x = np.log(ns) - ref
    a, b = probit_fit(x, S.sum(axis=0), float(T))
    return S, x, ref, float(np.exp(probit_root(a, b, target) + ref))


def find_sample_size(
    sampler: CrnSampler,
    scenario_index: int,
    analysis: str,
    bracket: tuple[int, int],
    *,
    target: float,
    n_cap: int,
    settings: SearchSettings = SearchSettings(),
) -> dict[str, Any]:
    """Smallest N whose simulated success probability reaches ``target``, by probit root search with CRN.

    ``bracket``: sample sizes below and at the first grid N reaching the target (starting points);
    ``n_cap``: the design's largest N. Returns the N (NaN when the curve stays below the target up
    to ``n_cap``), the continuous root, its Monte Carlo 95% interval, the simulated success at N with
    its MC s.e., the trials used and whether the interval is within ``settings.rel_tol``.
    """
    design, key = sampler.design, ANALYSIS_KEY[analysis]
    step = allocation_step(design)
    n_min = round_up(max(2, step), step)
    n_cap = max(n_min, (n_cap // step) * step)
    chunk = sampler.chunk
    T = round_up(settings.n_trials, chunk)
    t_max = max(T, round_up(settings.max_trials, chunk))
    lo, hi = bracket
    pts = {min(n_cap, max(n_min, round_up(v, step))) for v in np.linspace(lo, hi, 5)}
    used: dict[int, int] = {}  # trials simulated at each N (chunks are shared, so the largest count)
    nhat, window, lo_b, hi_b = float("nan"), sorted(pts), float("nan"), float("nan")
    for _ in range(60):
        sampler.ensure(scenario_index, pts, T)
        used.update({n: max(T, used.get(n, 0)) for n in pts})
        _, _, _, nhat = _fit(sampler, scenario_index, key, sorted(pts), T, target)
        if not math.isfinite(nhat):
            break
        off = max(REFINE * nhat, step)
        window = [n for n in sorted(pts) if abs(n - nhat) <= max(WINDOW * nhat, 3 * off)]
        if len(window) >= 3:
            S, x, ref, nhat = _fit(sampler, scenario_index, key, window, T, target)
        else:
            window = sorted(pts)
            S, x, ref, _ = _fit(sampler, scenario_index, key, window, T, target)
        if not math.isfinite(nhat):
            break
        off = max(REFINE * nhat, step)
        new = set()
        for m in (nhat - off, nhat, nhat + off):
            m = min(max(m, n_min), n_cap)
            if min(abs(n - m) for n in pts) > off / 2:
                new.add(min(n_cap, max(n_min, round_up(m, step))))
        new -= pts
        if new:
            pts |= new
            continue
        tag = (CRN_TAG, scenario_index, T, 1 + list(ANALYSIS_KEY).index(analysis))
        rng = np.random.default_rng(np.random.SeedSequence(sampler.seed, spawn_key=tag))
        roots = np.exp(bootstrap_roots(S, x, target, rng, settings.n_boot) + ref)
        if np.mean(~np.isfinite(roots)) > 0.025:
            lo_b, hi_b = float("nan"), float("nan")
        else:
            lo_b, hi_b = (float(v) for v in np.quantile(np.where(np.isfinite(roots), roots, np.inf), [0.025, 0.975]))
        hw = max(nhat - lo_b, hi_b - nhat) / nhat if math.isfinite(hi_b) else float("inf")
        if hw <= settings.rel_tol or T >= t_max or nhat > n_cap:
            break
        # the half-width falls as 1/sqrt(T): jump to the trials that should reach the tolerance (20% margin,
        # at least 1.5 times more), and keep the three points nearest the root (a local fit needs no more)
        grow = 1.2 * (hw / settings.rel_tol) ** 2 if math.isfinite(hw) else 2.0
        T = min(round_up(max(1.5, grow) * T, chunk), t_max)
        pts = set(sorted(window, key=lambda n: (abs(n - nhat), n))[:3])
    if not math.isfinite(nhat):  # no increasing fit (a flat curve): the smallest simulated N reaching the target
        ns = sorted(pts)
        ok = [n for n in ns if sampler.get(scenario_index, n, T, key).mean() >= target]
        nhat, lo_b, hi_b = (float(ok[0]) if ok else float("nan")), float("nan"), float("nan")
    reached = math.isfinite(nhat) and nhat <= n_cap
    n = min(n_cap, max(n_min, round_up(nhat, step))) if reached else n_cap
    sampler.ensure(scenario_index, [n], T)
    used[n] = max(T, used.get(n, 0))
    succ = sampler.get(scenario_index, n, T, key)
    p_at = float(succ.mean())
    halfwidth = max(nhat - lo_b, hi_b - nhat) / nhat if reached and math.isfinite(hi_b) else float("nan")
    return {
        "n_point": float(n) if reached else float("nan"),
        "n_root": nhat if reached else float("nan"),
        "n_lower": float(max(n_min, round_up(lo_b, step))) if reached and math.isfinite(lo_b) else float("nan"),
        "n_upper": float(round_up(hi_b, step)) if reached and math.isfinite(hi_b) else float("nan"),
        "n_step": step,
        "rel_halfwidth": halfwidth,
        "within_tolerance": bool(halfwidth <= settings.rel_tol),
        "p_at_n": p_at,
        "p_at_n_mcse": math.sqrt(p_at * (1 - p_at) / T),
        "n_trials": T,
        "n_points_fit": len(window),
        "trials_simulated": int(sum(used.values())),
        "mean_relapses_at_n": float(sampler.get(scenario_index, n, T, "n_events").mean()),
        "mean_deaths_at_n": float(sampler.get(scenario_index, n, T, "n_deaths").mean()),
        "mean_duration_days_at_n": float(sampler.get(scenario_index, n, T, "duration").mean()),
    }


def _bracket(df: pd.DataFrame, col: str, target: float, n_min: int) -> tuple[int, int] | None:
    df = df.sort_values("N")
    ns, p = df["N"].to_numpy(int), df[col].to_numpy(float)
    ok = np.flatnonzero(p >= target)
    if not ok.size:
        return None
    i = int(ok[0])
    return (int(ns[i - 1]) if i > 0 else max(n_min, int(ns[i]) // 2)), int(ns[i])


def sample_size_table(
    oc: pd.DataFrame,
    design: Any,
    *,
    seed: int,
    workers: int = 2,
    dask_address: str | None = None,
    settings: SearchSettings | None = None,
    progress: bool | Progress = False,
) -> pd.DataFrame:
    """Sample sizes of a design by root search, with the grid reading and the closed forms alongside.

    One row per (scenario, analysis) with a target (power under an alternative: Bayesian and
    frequentist; assurance under a design prior: Bayesian). Columns as documented in
    ``docs/trial_planning.md``: ``n_point`` (the root-searched N), ``n_conservative`` (the upper
    end of its 95% MC interval), ``max_in_grid``, ``grid_n_point``, ``grid_n_conservative``, the
    root-search details and, for the randomised design, the Schoenfeld and Freedman answers.
    """
    from models.design import sample_size as grid_sample_size

    rep = as_progress(progress, "plan")  # one reporter for the whole search

    settings = settings or SearchSettings(n_trials=design.n_sims, max_trials=16 * design.n_sims)
    grid = grid_sample_size(oc, design).rename(
        columns={"n_point": "grid_n_point", "n_conservative": "grid_n_conservative"}
    )
    sampler = CrnSampler(design, seed=seed, workers=workers, dask_address=dask_address)
    index = {s.name: i for i, s in enumerate(design.scenarios)}
    n_cap = int(oc["N"].max())
    step = allocation_step(design)
    alternative = next(sc for sc in design.scenarios if sc.role == "alternative")
    rows = []
    for _, g in grid.iterrows():
        started = time.perf_counter()
        s = index[g["scenario"]]
        col = "p_success" if g["analysis"] == "bayesian" else "p_success_freq"
        br = _bracket(oc[oc["scenario"] == g["scenario"]], col, design.target, round_up(max(2, step), step))
        if br is None:
            res: dict[str, Any] = {"n_point": float("nan"), "n_step": step}
        else:
            res = find_sample_size(sampler, s, g["analysis"], br, target=design.target, n_cap=n_cap, settings=settings)
        row = {**g.to_dict(), **res}
        row["n_conservative"] = res.get("n_upper", float("nan"))
        if design.kind == "randomised":  # relapses at the design alternative on every row, as the grid reading
            sc = design.scenarios[s]
            cf = closed_form_sample_sizes(design, sc if sc.role == "alternative" else alternative)
            if not (g["analysis"] == "frequentist" and sc.role == "alternative"):
                cf["schoenfeld_n"] = cf["freedman_n"] = float("nan")
            row.update(cf)
        rows.append(row)
        n_txt = f"{res['n_point']:.0f}" if math.isfinite(res["n_point"]) else "not reached"
        rep.note(
            f"sample size {design.name}/{g['scenario']} ({g['analysis']}): N = {n_txt}, "
            f"{time.perf_counter() - started:.1f} s"
        )
    return pd.DataFrame(rows).reindex(columns=list(COLUMNS))
