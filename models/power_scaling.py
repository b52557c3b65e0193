r"""Power-scaling sensitivity (Kallioinen et al. 2023, *priorsense*) of posterior quantities.

Posterior draws are importance-reweighted to the power-scaled posteriors
:math:`p_\alpha(\theta\mid y) \propto p(\theta)^\alpha p(y\mid\theta)` (prior scaling) and
:math:`\propto p(\theta) p(y\mid\theta)^\alpha` (likelihood scaling) with Pareto-smoothed weights; the
sensitivity of a quantity is the cumulative Jensen–Shannon distance between the base and the scaled
posterior, divided by :math:`\log_2(1+\epsilon)` and averaged over :math:`\alpha = 1+\epsilon` and
:math:`1/(1+\epsilon)`. A prior sensitivity above 0.05 says the prior *moves* the quantity: the
prior is strong relative to these data. It does not by itself say that prior and data disagree
(in small samples the likelihood is weak too, so priorsense's "potential prior-data conflict", both
sensitivities above 0.05, fires whenever the prior matters); disagreement is judged by Box's
prior-predictive check (:mod:`models.prior_conflict`), and the two are read together by the rule of
:mod:`models.agreement`.

What is scaled. Only the prior's departure from the weakly informative baseline
:math:`p_0` (:func:`models.priors.weak`) is power-scaled, :math:`p_\alpha \propto p_0\,(p/p_0)^\alpha`
(selective power-scaling, Kallioinen et al. 2023, sec. 3): the question is whether the *informative*
prior moves the answer. Scaling the whole prior would flag the baseline itself — with one relapse,
its Jeffreys-type factor :math:`\lambda^{a_j - 1}` (:math:`a_j \approx 0.1`) is a large part of the
posterior's log density, so a local change of its exponent moves the posterior although the baseline
carries one pseudo-event in all — and for the baseline the scaled part is identically zero
(sensitivity 0). The rows of a commensurate prior (:func:`models.commensurate_exact.quadrature_power_scaling`)
scale the whole prior on the sampler's space, where the baseline's density is not available.

References
----------
Kallioinen N, Paananen T, Bürkner P-C, Vehtari A. Detecting and diagnosing prior and likelihood
sensitivity with power-scaling. Stat Comput 2023;34:57.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln, logsumexp

from models.derived import landmark_values
from models.intervals import TRANSITIONS, TransitionData
from models.priors import PriorSet, gamma_intervals, weak

#: Sensitivity above which a quantity is flagged (priorsense's default).
SENSITIVITY_THRESHOLD: float = 0.05
#: Quantities diagnosed at the landmark (1 year unless told otherwise).
REPORTED: tuple[str, ...] = ("relapse_cif", "nrm_cif", "efs", "os")


def prior_logpdf(prior: PriorSet, hz: Mapping[str, np.ndarray], n_intervals: Mapping[str, int]) -> np.ndarray:
    total = 0.0
    for k in TRANSITIONS:
        spec = gamma_intervals(prior.per_interval(k, n_intervals[k]))  # a conjugate prior set
        for j, p in enumerate(spec):
            x = hz[k][:, j]
            w, a, b = (np.asarray(v, float) for v in (p.weights, p.shapes, p.rates))
            lp = (
                np.log(w)[None, :]
                + (a * np.log(b) - gammaln(a))[None, :]
                + (a - 1)[None, :] * np.log(x)[:, None]
                - b[None, :] * x[:, None]
            )
            total = total + logsumexp(lp, axis=1)
    return np.asarray(total)


def loglik(td: TransitionData, hz: Mapping[str, np.ndarray]) -> np.ndarray:
    total = 0.0
    for k in TRANSITIONS:
        total = total + np.log(hz[k]) @ td.events[k] - hz[k] @ td.exposure[k]
    return np.asarray(total)


def _cjs_one_side(x: np.ndarray, w_p: np.ndarray, w_q: np.ndarray) -> float:
    order = np.argsort(x, kind="stable")
    xs = x[order]
    bw = np.diff(xs)
    px = np.cumsum(w_p[order] / w_p.sum())[:-1]
    qx = np.cumsum(w_q[order] / w_q.sum())[:-1]
    px_int, qx_int = float(np.sum(px * bw)), float(np.sum(qx * bw))
    m = 0.5 * (px + qx)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_pq = np.where(px > 0, px * (np.log2(px) - np.log2(m)), 0.0)
        t_qp = np.where(qx > 0, qx * (np.log2(qx) - np.log2(m)), 0.0)
    cjs_pq = float(np.sum(bw * t_pq)) + 0.5 / math.log(2) * (qx_int - px_int)
    cjs_qp = float(np.sum(bw * t_qp)) + 0.5 / math.log(2) * (px_int - qx_int)
    bound = px_int + qx_int
    return math.sqrt(max(cjs_pq + cjs_qp, 0.0) / bound) if bound > 0 else 0.0


def _cjs(x: np.ndarray, w_base: np.ndarray, w_new: np.ndarray) -> float:
    r"""Cumulative Jensen–Shannon distance between two weightings of the same draws.

    As priorsense's ``cjs_dist`` (Nguyen & Vreeken 2015): with weighted ECDFs :math:`P, Q` on the
    sorted draws, :math:`\mathrm{CJS}(P\|Q) = \sum \Delta x\, P \log_2\frac{P}{(P+Q)/2}
    + \frac{1}{2\ln 2}\sum \Delta x (Q - P)`; the distance is
    :math:`\sqrt{(\mathrm{CJS}(P\|Q) + \mathrm{CJS}(Q\|P)) / \sum \Delta x (P + Q)}`, the larger of
    its values for :math:`x` and :math:`-x` (both tails), between 0 and 1.
    """
    return max(_cjs_one_side(x, w_base, w_new), _cjs_one_side(-x, w_base, w_new))


def _psis_weights(log_ratio: np.ndarray) -> tuple[np.ndarray, float]:
    import arviz as az

    lw, k = az.psislw(log_ratio.copy())
    w = np.exp(lw - logsumexp(lw))
    return w, float(np.asarray(k))


def _diagnosis(prior_sens: float, lik_sens: float, threshold: float = SENSITIVITY_THRESHOLD) -> str:
    """priorsense's own reading (kept for reference; the toolkit's verdict is :mod:`models.agreement`)."""
    if prior_sens > threshold:
        return "potential prior-data conflict" if lik_sens > threshold else "strong prior / weak likelihood"
    return "-"


def power_scaling(
    log_prior: np.ndarray,
    log_lik: np.ndarray,
    quantities: Mapping[str, np.ndarray],
    epsilon: float = 0.01,
    threshold: float = SENSITIVITY_THRESHOLD,
) -> pd.DataFrame:
    """Prior and likelihood power-scaling sensitivity of each quantity (priorsense diagnostics).

    Parameters
    ----------
    log_prior, log_lik
        Log prior density and log likelihood at each posterior draw.
    quantities
        ``{name: draws}`` of the quantities to diagnose.
    """
    n = log_prior.size
    base = np.full(n, 1.0 / n)
    rows = []
    alphas = (1.0 + epsilon, 1.0 / (1.0 + epsilon))
    weights: dict[str, list[tuple[np.ndarray, float]]] = {"prior": [], "likelihood": []}
    for comp, lp in (("prior", log_prior), ("likelihood", log_lik)):
        for al in alphas:
            weights[comp].append(_psis_weights((al - 1.0) * lp))
    for name, x in quantities.items():
        row: dict[str, Any] = {"quantity": name}
        for comp in ("prior", "likelihood"):
            d = [_cjs(x, base, w) for w, _ in weights[comp]]
            row[f"{comp}_sensitivity"] = float(np.mean(d) / math.log2(1.0 + epsilon))
            row[f"{comp}_pareto_k"] = max(k for _, k in weights[comp])
        row["priorsense_diagnosis"] = _diagnosis(row["prior_sensitivity"], row["likelihood_sensitivity"], threshold)
        rows.append(row)
    return pd.DataFrame(rows)


def aggregate_power_scaling(frames: list[pd.DataFrame], prior_name: str, engine: str) -> pd.DataFrame:
    df = pd.concat(frames, ignore_index=True)
    agg = (
        df.groupby("quantity", sort=False)
        .agg(
            prior_sensitivity=("prior_sensitivity", "mean"),
            likelihood_sensitivity=("likelihood_sensitivity", "mean"),
            prior_pareto_k=("prior_pareto_k", "max"),
            likelihood_pareto_k=("likelihood_pareto_k", "max"),
        )
        .reset_index()
    )
    agg["priorsense_diagnosis"] = [
        _diagnosis(p, q) for p, q in zip(agg["prior_sensitivity"], agg["likelihood_sensitivity"], strict=True)
    ]
    agg.insert(0, "engine", engine)
    agg.insert(0, "prior", prior_name)
    agg["n_tables"] = df["table"].nunique()
    return agg


def fit_power_scaling(
    prior: PriorSet,
    stats: Sequence[TransitionData],
    hazards: Mapping[str, np.ndarray],
    table_index: np.ndarray,
    cuts: Sequence[float] | np.ndarray,
    relapse_death_cuts: Sequence[float] | np.ndarray,
    day: int = 365,
    landmark: int | None = None,
    *,
    logratio: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None,
    engine: str = "exact",
) -> pd.DataFrame:
    """Power-scaling of a fit's 1-year quantities, per table (its own likelihood), averaged over tables.

    ``hazards`` are the fit's pooled posterior draws ``{transition: (n, J)}`` and ``table_index`` the
    table of each draw (:func:`models.pwe.hazard_draws`). Quantities are named ``<quantity>@<day>``
    (from transplant) and, with ``landmark``, ``<quantity>@<day>|<landmark>`` for relapse, NRM and EFS
    conditional on being alive in remission at ``landmark``. The scaled log prior ratio of each
    draw is ``logratio(hazards)``, by default :func:`informative_logratio` (gamma-mixture priors);
    :func:`models.commensurate_exact.quadrature_power_scaling` passes the commensurate one.
    """
    ratio = logratio or (lambda hz: informative_logratio(prior, hz, cuts, relapse_death_cuts))
    days = [day] if landmark is None else [landmark, day]
    frames = []
    for m, td in enumerate(stats):
        mask = np.asarray(table_index) == m
        hz = {k: np.asarray(v)[mask] for k, v in hazards.items()}
        lm = landmark_values(hz, cuts, relapse_death_cuts, days)
        qs = {f"{q}@{day}": lm[q][day] for q in REPORTED}
        if landmark is not None:
            s0 = lm["efs"][landmark]
            qs[f"relapse_cif@{day}|{landmark}"] = (lm["relapse_cif"][day] - lm["relapse_cif"][landmark]) / s0
            qs[f"nrm_cif@{day}|{landmark}"] = (lm["nrm_cif"][day] - lm["nrm_cif"][landmark]) / s0
            qs[f"efs@{day}|{landmark}"] = lm["efs"][day] / s0
        frames.append(power_scaling(ratio(hz), loglik(td, hz), qs).assign(table=m + 1))
    return aggregate_power_scaling(frames, prior.name, engine)


def informative_logratio(
    prior: PriorSet,
    hz: Mapping[str, np.ndarray],
    cuts: Sequence[float] | np.ndarray,
    relapse_death_cuts: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """:math:`\\log p(\\theta) - \\log p_0(\\theta)` at the draws: the part of the prior that is power-scaled."""
    nint = {k: len(relapse_death_cuts) if k == "death_after_relapse" else len(cuts) for k in TRANSITIONS}
    return prior_logpdf(prior, hz, nint) - prior_logpdf(weak(cuts, relapse_death_cuts), hz, nint)
