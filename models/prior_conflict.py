r"""Prior–data conflict: Box's prior-predictive check, attributed to the prior's parts.

For a transition with :math:`D = \sum_j D_j` observed events in exposures :math:`E_j` (days), the
prior predictive of :math:`D` under independent interval priors :math:`\pi_j` is the sum of
independent negative-binomial mixtures: a gamma component :math:`\mathrm{Gamma}(a, b)` predicts
:math:`D_j \sim \mathrm{NegBin}(a, b/(b + E_j))` (Box 1980; Evans & Moshonov 2006). Reported:
:math:`p_{\le} = P(D^{rep} \le D)`, :math:`p_{\ge} = P(D^{rep} \ge D)` and the two-sided
:math:`p = \min\{1, 2\min(p_\le, p_\ge)\}`, flagged when :math:`p < 0.05`.

Bounded cost
    Both tails need the pmf only on :math:`0, \dots, D`: :math:`p_\le = \sum_{k \le D} f(k)`,
    :math:`p_\ge = 1 - \sum_{k < D} f(k)`. The convolution over intervals is truncated there, so the
    computation is exact, independent of the prior's spread (near-improper priors included) and of
    the cohort's exposure, and costs :math:`O(J D^2)` (FFT beyond a few hundred events). The
    predictive mean is closed form, :math:`\sum_j E_j\,\mathrm{E}_{\pi_j}[\lambda_j]`.

Attribution
    A robust interval prior :math:`w\,\pi_I + (1 - w)\,\pi_R` predicts
    :math:`E_j\{w\,m_I + (1 - w)\,m_R\}` events; an interval that no source informs keeps the
    weakly informative baseline :math:`\pi_0`. The predicted mean is split into the part of the
    informative components (the sources named in the set), of the robust components and of the
    baseline in uninformed intervals, and a second check, the *sources' own* check, compares the
    events observed in the intervals the sources inform with what the informative components alone
    predict there (the figures as published, before robustification).

References
----------
Box GEP. Sampling and Bayes' inference in scientific modelling and robustness. J R Stat Soc A
1980;143:383–430. Evans M, Moshonov H. Checking for prior-data conflict. Bayesian Anal
2006;1:893–914. Schmidli H, et al. Robust meta-analytic-predictive priors. Biometrics
2014;70:1023–32.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal, stats

from models.errors import PriorError
from models.intervals import TRANSITIONS, TransitionData
from models.priors import GammaMixture, PriorSet, all_gamma, gamma_intervals, sample_prior_hazards, weak_interval_priors

#: Two-sided Box p below which the prior and the data are said to disagree.
CONFLICT_ALPHA: float = 0.05
#: Prior-predictive draws for priors that are not gamma mixtures (simulation).
N_SIM: int = 200_000
_FFT_FROM: int = 512


def _nb_mixture_pmf(p: GammaMixture, exposure: float, kmax: int) -> np.ndarray:
    k = np.arange(kmax + 1)
    if exposure <= 0:
        out = np.zeros(kmax + 1)
        out[0] = 1.0
        return out
    return sum(
        w * stats.nbinom.pmf(k, a, b / (b + exposure)) for w, a, b in zip(p.weights, p.shapes, p.rates, strict=True)
    )


def predictive_pmf(priors: Sequence[GammaMixture], exposure: Sequence[float] | np.ndarray, kmax: int) -> np.ndarray:
    """Exact prior-predictive pmf of the total count on ``0..kmax`` (truncated convolution of NB mixtures)."""
    pmf = np.zeros(kmax + 1)
    pmf[0] = 1.0
    for p, e in zip(priors, exposure, strict=True):
        one = _nb_mixture_pmf(p, float(e), kmax)
        conv = signal.fftconvolve(pmf, one) if kmax >= _FFT_FROM else np.convolve(pmf, one)
        pmf = np.clip(conv[: kmax + 1], 0.0, None)
    return pmf


def conflict_pvalue(pmf_or_draws: np.ndarray, observed: float, *, draws: bool = False) -> tuple[float, float, float]:
    """:math:`(p_\\le, p_\\ge, p)` with :math:`p = \\min\\{1, 2\\min(p_\\le, p_\\ge)\\}`.

    ``pmf_or_draws`` is a pmf on ``0..K`` with ``K >= observed`` or, with ``draws``, predictive draws.
    """
    y = round(observed)
    if draws:
        x = np.asarray(pmf_or_draws)
        lo, hi = float(np.mean(x <= y)), float(np.mean(x >= y))
    else:
        pmf = np.asarray(pmf_or_draws)
        if pmf.size < y + 1:
            raise PriorError("conflict check", found=f"a pmf on 0..{pmf.size - 1}", expected=f"0..{y} at least")
        lo = min(1.0, float(pmf[: y + 1].sum()))
        hi = min(1.0, max(0.0, float(1.0 - pmf[:y].sum())))
    return lo, hi, min(1.0, 2.0 * min(lo, hi))


def box_check(
    priors: Sequence[GammaMixture], events: Sequence[float] | np.ndarray, exposure: Sequence[float] | np.ndarray
) -> dict[str, float]:
    """Box's check of gamma-mixture interval priors: observed, predicted mean, :math:`p_\\le, p_\\ge, p`."""
    obs = float(np.sum(events))
    mean = float(sum(p.mean * float(e) for p, e in zip(priors, exposure, strict=True)))
    lo, hi, p = conflict_pvalue(predictive_pmf(priors, exposure, round(obs)), obs)
    return {"observed_events": obs, "prior_predictive_mean": mean, "p_le": lo, "p_ge": hi, "p_value": p}


@dataclass(frozen=True)
class IntervalParts:
    """One interval prior split into informative part (weight ``w``), robust component and baseline."""

    informative: GammaMixture | None
    w: float
    robust: GammaMixture | None
    baseline: GammaMixture | None


def interval_parts(prior_set: PriorSet, transition: str, cuts: Sequence[float] | np.ndarray) -> list[IntervalParts]:
    """Split each interval prior of a conjugate transition by the set's provenance.

    An interval whose prior is the weakly informative baseline of its cut points
    (:func:`models.priors.weak`) is *baseline*. Otherwise it is *informative* when its transition was
    built from sources that inform it (pseudo-exposure > 0), from explicit gamma parameters, or by a
    user (no provenance); a robust mixture's last component is its robust component
    (:func:`models.prior_library.robustify`).
    """
    n_intervals = len(cuts)
    base = weak_interval_priors(cuts)
    spec = gamma_intervals(prior_set.per_interval(transition, n_intervals))  # a conjugate transition
    prov = getattr(prior_set, "provenance", {}).get(transition)
    method = prov.method if prov is not None else "user"
    pseudo = np.asarray(prov.pseudo_exposure, float) if prov is not None and prov.pseudo_exposure else None
    out = []
    for j, p in enumerate(spec):
        is_base = p.n_components == 1 and np.allclose(
            (p.shapes[0], p.rates[0]), (base[j].shapes[0], base[j].rates[0]), rtol=1e-9, atol=0
        )
        informed = (
            not is_base
            and method in ("power", "map", "gamma", "user", "user override")
            and (pseudo is None or pseudo[j] > 0)
        )
        if not informed:
            out.append(IntervalParts(None, 0.0, None, p))
        elif prov is not None and prov.w is not None and prov.w < 1.0 and p.n_components >= 2:
            w = float(sum(p.weights[:-1]))
            inf = GammaMixture(p.weights[:-1], p.shapes[:-1], p.rates[:-1])
            rob = GammaMixture.single(p.shapes[-1], p.rates[-1])
            out.append(IntervalParts(inf, w, rob, None))
        else:
            out.append(IntervalParts(p, 1.0, None, None))
    return out


def _row(
    prior_set: PriorSet,
    k: str,
    d: np.ndarray,
    e: np.ndarray,
    nint: dict[str, int],
    cuts: np.ndarray,
    n_sim: int,
    rng: np.random.Generator,
) -> dict:
    spec = prior_set.per_interval(k, d.size)
    obs = float(d.sum())
    row: dict[str, Any] = {"transition": k, "observed_events": obs, "exposure_days": float(e.sum())}
    if not all_gamma(spec):
        lam = sample_prior_hazards(prior_set, nint, n_sim, rng)[k]
        counts = rng.poisson(lam @ e)
        lo, hi, p = conflict_pvalue(counts, obs, draws=True)
        return row | {
            "prior_predictive_mean": float((lam @ e).mean()),
            "p_le": lo,
            "p_ge": hi,
            "p_value": p,
            "conflict": bool(p < CONFLICT_ALPHA),
            "method": "simulation",
            "predicted_informative": np.nan,
            "predicted_robust": np.nan,
            "predicted_baseline": np.nan,
            "sources_observed_events": np.nan,
            "sources_predicted_mean": np.nan,
            "sources_p_value": np.nan,
            "sources": _sources(prior_set, k),
        }
    row |= box_check(spec, d, e)
    parts = interval_parts(prior_set, k, cuts)
    row["conflict"] = bool(row["p_value"] < CONFLICT_ALPHA)
    row["method"] = "exact"
    row["predicted_informative"] = float(
        sum(x.w * x.informative.mean * ej for x, ej in zip(parts, e, strict=True) if x.informative)
    )
    row["predicted_robust"] = float(
        sum((1 - x.w) * x.robust.mean * ej for x, ej in zip(parts, e, strict=True) if x.robust)
    )
    row["predicted_baseline"] = float(sum(x.baseline.mean * ej for x, ej in zip(parts, e, strict=True) if x.baseline))
    informed = [j for j, x in enumerate(parts) if x.informative is not None]
    if informed:
        own = box_check([x.informative for x in parts if x.informative is not None], d[informed], e[informed])
        row |= {
            "sources_observed_events": own["observed_events"],
            "sources_predicted_mean": own["prior_predictive_mean"],
            "sources_p_value": own["p_value"],
        }
    else:
        row |= {"sources_observed_events": np.nan, "sources_predicted_mean": np.nan, "sources_p_value": np.nan}
    row["sources"] = _sources(prior_set, k)
    return row


def _sources(prior_set: PriorSet, k: str) -> str:
    prov = getattr(prior_set, "provenance", {}).get(k)
    return "; ".join(prov.sources) if prov is not None and prov.sources else ""


def conflict_table(
    prior_set: PriorSet, transition_data: TransitionData, *, n_sim: int = N_SIM, seed: int = 0
) -> pd.DataFrame:
    """Box's prior-predictive check per transition, with its attribution (see the module docstring).

    Columns: transition, observed_events, exposure_days, prior_predictive_mean, p_le, p_ge, p_value,
    conflict (``p_value < 0.05``), method (``exact`` for gamma mixtures, ``simulation`` otherwise),
    predicted_informative / predicted_robust / predicted_baseline (the predicted mean split by part),
    sources_observed_events, sources_predicted_mean, sources_p_value (the informative components alone
    on the intervals the sources inform), sources.
    """
    rng = np.random.default_rng(seed)
    rows = [
        _row(
            prior_set,
            k,
            np.asarray(transition_data.events[k], float),
            np.asarray(transition_data.exposure[k], float),
            {t: len(transition_data.cuts[t]) for t in TRANSITIONS},
            np.asarray(transition_data.cuts[k], float),
            n_sim,
            rng,
        )
        for k in TRANSITIONS
    ]
    return pd.DataFrame(rows)


_MEDIANS = (
    "observed_events",
    "exposure_days",
    "prior_predictive_mean",
    "p_value",
    "predicted_informative",
    "predicted_robust",
    "predicted_baseline",
    "sources_observed_events",
    "sources_predicted_mean",
    "sources_p_value",
)


def conflict_table_draws(
    prior_set: PriorSet, tables: Sequence[TransitionData], *, n_sim: int = 50_000, seed: int = 0
) -> pd.DataFrame:
    """:func:`conflict_table` over several reconstructed outcome tables: medians and the range of p.

    Columns: the medians over tables of :data:`_MEDIANS`, p_value_min, p_value_max, conflict (median
    p < 0.05), sources, n_tables.
    """
    if not tables:
        raise PriorError("conflict check", found="no outcome tables", expected="at least one")
    all_ = pd.concat([conflict_table(prior_set, td, n_sim=n_sim, seed=seed) for td in tables], ignore_index=True)
    g = all_.groupby("transition", sort=False)
    out = g[list(_MEDIANS)].median()
    out["p_value_min"] = g["p_value"].min()
    out["p_value_max"] = g["p_value"].max()
    out["conflict"] = out["p_value"] < CONFLICT_ALPHA
    out["sources"] = g["sources"].first()
    out["n_tables"] = len(tables)
    return out.reset_index()
