r"""Literature prior library: discounting, MAP priors, commensurate priors, ESS and conflict checks.

Every informative prior starts from pseudo-data :math:`(d_{sj}, E_{sj})` — events and exposure
(days) that source :math:`s` implies on interval :math:`j` (:mod:`models.prior_sources`) — and the
interval's weakly informative baseline :math:`\pi_{0j} = \mathrm{Gamma}(a_j, b_j)`
(:func:`models.priors.weak`: one pseudo-event per transition spread over the intervals by width,
:math:`b_j = 365\,a_j` days). Intervals no source informs keep :math:`\pi_{0j}`.

Power prior (Ibrahim & Chen 2000)
    :math:`\pi(\lambda_j) \propto \pi_0(\lambda_j)\prod_s L_s(\lambda_j)^{a_{0s}}` with the Poisson
    kernel :math:`L_s = \lambda^{d_{sj}} e^{-\lambda E_{sj}}` gives exactly
    :math:`\mathrm{Gamma}(a_j + \sum_s a_{0s} d_{sj},\ b_j + \sum_s a_{0s} E_{sj})`, :math:`a_{0s}\in[0,1]`.
Robust mixture (Schmidli et al. 2014)
    :math:`\pi_R = w\,\pi_I + (1-w)\,\pi_{0j}` (:func:`robustify`, :func:`robust_component`).
    After :math:`D` events in exposure
    :math:`E` each component :math:`c` updates to :math:`\mathrm{Gamma}(a_c + D, b_c + E)` with weight
    :math:`\propto w_c\, m_c(D)`, :math:`m_c(D) = \frac{\Gamma(a_c + D)}{\Gamma(a_c)\,D!}
    \big(\frac{b_c}{b_c+E}\big)^{a_c}\big(\frac{E}{b_c+E}\big)^{D}` the negative-binomial marginal
    likelihood (:func:`mixture_posterior`); the exact engine does this for any :class:`GammaMixture`.
Meta-analytic-predictive prior (Neuenschwander et al. 2010; Schmidli et al. 2014)
    :math:`d_{sj} \sim \mathrm{Poisson}(\lambda_{sj} E_{sj})` (kernel, pseudo-counts may be fractional),
    :math:`\log\lambda_{sj} = \mu_j + \tau_j z_{sj}`, :math:`z_{sj}\sim\mathcal N(0,1)`,
    :math:`\mu_j \sim \mathcal N(\log(1/365), 2^2)` (one event per patient-year, 95% range ×/÷ 50),
    :math:`\tau_j \sim \mathrm{HalfNormal}(s_\tau)` (default :math:`s_\tau = 0.5`, "moderate"
    between-study heterogeneity). The predictive :math:`\lambda_{\star j} = \exp(\mu_j + \tau_j z_\star)`
    is approximated by a gamma mixture fitted by EM to its draws (:func:`fit_gamma_mixture`) with
    the fewest components (1–4) whose fit quality — KS distance and relative quantile errors
    (:func:`mixture_fit_quality`) — is below :data:`MAP_KS_TOL` and :data:`MAP_QUANTILE_TOL`.
Commensurate prior (Hobbs et al. 2011)
    :class:`CommensuratePrior`: :math:`\lambda_{hj} \sim \mathrm{Gamma}(0.5 + d_{hj}, 182.5 + E_{hj})`
    (the historical posterior from a Jeffreys-type Gamma(0.5, 182.5 days) start, which keeps the
    NUTS geometry of intervals without historical events tame),
    :math:`\log\lambda_j \sim \mathcal N(\log\lambda_{hj}, \sigma^2)`,
    :math:`\sigma \sim \mathrm{HalfNormal}(s_\sigma)` shared by the intervals of the transition: the
    current data decide how much to borrow (exact engine by quadrature, or NUTS).

Effective sample size, prior weight and prior–data conflict live in :mod:`models.prior_weight`
and :mod:`models.prior_conflict`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from models.constants import CI_LEVEL, DEFAULT_CUTS, DEFAULT_SEED
from models.errors import PriorError
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS, TRANSITIONS
from models.map_prior import MAP_CACHE_KIND as MAP_CACHE_KIND
from models.map_prior import MapFit as MapFit
from models.map_prior import MapPosterior as MapPosterior
from models.map_prior import fit_map as fit_map
from models.map_prior import map_posterior as map_posterior
from models.prior_sources import (
    SETS_TOML,
    PseudoData,
    SetSpec,
    Sources,
    TransitionSpec,
    load_sources,
    parse_sets,
    read_toml,
    remission_pseudo_data,
    survival_pseudo_data,
)
from models.priors import (
    HALF_EVENT_RATE_PER_DAY,
    HALF_EVENT_SHAPE,
    GammaMixture,
    LogNormalHazard,
    PriorSet,
    RandomWalkLogHazard,
    half_event_per_interval,
    prior_landmarks,
    weak,
    weak_interval_priors,
)

#: Tolerances the MAP mixture must meet against the hierarchical model's predictive draws.
MAP_KS_TOL: float = 0.03
MAP_QUANTILE_TOL: float = 0.10
MAP_QUANTILES: tuple[float, ...] = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)


def robust_component(informative: GammaMixture, baseline: GammaMixture) -> GammaMixture:
    r"""The robust component of an interval: the interval's weakly informative baseline itself.

    :math:`\mathrm{Gamma}(a_j, a_j/\lambda_0)` (:func:`models.priors.weak`): if the sources do not
    apply, the analysis falls back to what the data alone say. Not re-centred on the informative
    mean (as RBesT's ``robustify`` does by default): a source with no events (Gaballa 2022's NRM 0%)
    has an informative component with the baseline's shape, which the re-centred component would
    merely copy, leaving nothing to fall back to. ``informative`` is accepted so that the rule can
    be read at the call site.
    """
    del informative
    return baseline


# ----------------------------------------------------------------------------- discounting


def power_prior(events: float, exposure: float, a0: float, initial: GammaMixture) -> GammaMixture:
    """Power prior :math:`\\mathrm{Gamma}(a_i + a_0 d, b_i + a_0 E)` on the initial gamma :math:`(a_i, b_i)`.

    Ibrahim & Chen (2000); ``initial`` is the interval's weakly informative baseline.
    """
    if not 0.0 <= a0 <= 1.0:
        raise PriorError("power prior", field="a0", found=a0, expected="a weight in [0, 1]")
    if events < 0 or exposure < 0:
        raise PriorError("power prior", found=(events, exposure), expected="events and exposure >= 0")
    g = initial
    if g.n_components != 1:
        raise PriorError("power prior", field="initial", found=g.n_components, expected="a single gamma")
    return GammaMixture.single(g.shapes[0] + a0 * events, g.rates[0] + a0 * exposure)


def robustify(mixture: GammaMixture, w: float, robust: GammaMixture) -> GammaMixture:
    """Robust mixture :math:`w\\,\\pi_I + (1-w)\\,\\pi_R` (Schmidli et al. 2014); ``w = 1`` returns ``mixture``.

    ``robust`` (one gamma, e.g. :func:`robust_component`) is always the last component.
    """
    if not 0.0 < w <= 1.0:
        raise PriorError("robust mixture", field="w", found=w, expected="a weight in (0, 1]")
    if w == 1.0:
        return mixture
    v = robust
    return GammaMixture(
        tuple(w * x for x in mixture.weights) + tuple((1 - w) * x for x in v.weights),
        mixture.shapes + v.shapes,
        mixture.rates + v.rates,
    )


def log_marginal_nb(shape: np.ndarray, rate: np.ndarray, events: float, exposure: float) -> np.ndarray:
    """Log negative-binomial marginal likelihood of ``events`` in ``exposure`` under Gamma(shape, rate)."""
    a, b = np.asarray(shape, float), np.asarray(rate, float)
    return (
        special.gammaln(a + events)
        - special.gammaln(a)
        - special.gammaln(events + 1.0)
        + a * np.log(b / (b + exposure))
        + events * np.log(exposure / (b + exposure) if exposure > 0 else 1.0)
    )


def mixture_posterior(prior: GammaMixture, events: float, exposure: float) -> GammaMixture:
    """Exact conjugate update of a gamma mixture by Poisson data (:meth:`GammaMixture.posterior`)."""
    return prior.posterior(events, exposure)


# ----------------------------------------------------------------------------- gamma-mixture fitting


def _gamma_mle(x: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    """Weighted gamma MLE (Minka 2002 start + Newton on the shape)."""
    sw = r.sum()
    m = float((r * x).sum() / sw)
    s = math.log(m) - float((r * np.log(x)).sum() / sw)
    s = max(s, 1e-8)
    a = (3 - s + math.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
    for _ in range(20):
        g = math.log(a) - special.digamma(a) - s
        a_new = a - g / (1 / a - special.polygamma(1, a))
        a = a_new if a_new > 0 else a / 2
        if abs(g) < 1e-10:
            break
    return a, a / m


def _gamma_logpdf(x: np.ndarray, lx: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Log densities of draws ``x`` (log ``lx``) under gammas ``(a_k, b_k)``: shape ``(n, K)``."""
    return a * np.log(b) - special.gammaln(a) + (a - 1.0) * lx[:, None] - b * x[:, None]


def fit_gamma_mixture(draws: np.ndarray, n_components: int, *, iters: int = 200, tol: float = 1e-6) -> GammaMixture:
    r"""EM for a ``n_components`` gamma mixture to positive draws (components started at quantile bands).

    E-step: responsibilities :math:`r_{ik} \propto w_k\,\mathrm{Gamma}(x_i; a_k, b_k)`; M-step: weights
    :math:`\bar r_k` and the weighted gamma MLE of each component (exact, Newton on the shape).
    """
    x = np.asarray(draws, float)
    lx = np.log(x)
    edges = np.quantile(lx, np.linspace(0, 1, n_components + 1))
    lab = np.clip(np.searchsorted(edges, lx, side="right") - 1, 0, n_components - 1)
    resp = np.eye(n_components)[lab] * 0.9 + 0.1 / n_components
    prev = -np.inf
    for _ in range(iters):
        w = resp.mean(axis=0)
        ab = np.array([_gamma_mle(x, resp[:, k]) for k in range(n_components)])
        logp = np.log(w) + _gamma_logpdf(x, lx, ab[:, 0], ab[:, 1])
        top = logp.max(axis=1, keepdims=True)  # log-sum-exp by hand: scipy's is 5x slower at this size
        dens = np.exp(logp - top)
        tot = dens.sum(axis=1, keepdims=True)
        ll = (top + np.log(tot))[:, 0]
        resp = dens / tot
        total = float(ll.sum())
        if total - prev < tol * abs(total):
            break
        prev = total
    w = resp.mean(axis=0)
    fits = [_gamma_mle(x, resp[:, k]) for k in range(n_components)]
    return GammaMixture(tuple(w), tuple(a for a, _ in fits), tuple(b for _, b in fits))


def mixture_cdf(mix: GammaMixture, x: np.ndarray) -> np.ndarray:
    """CDF of a gamma mixture (``special.gdtr(rate, shape, x)``: the regularised incomplete gamma)."""
    x = np.asarray(x, float)
    return sum(w * special.gdtr(b, a, x) for w, a, b in zip(mix.weights, mix.shapes, mix.rates, strict=True))


def mixture_quantile(mix: GammaMixture, p: float) -> float:
    from scipy.optimize import brentq

    lo, hi = 1e-14, max(stats.gamma.ppf(1 - 1e-9, a, scale=1 / b) for a, b in zip(mix.shapes, mix.rates, strict=True))
    return float(brentq(lambda v: float(mixture_cdf(mix, np.array([v]))[0]) - p, lo, hi, xtol=1e-14, rtol=1e-10))


def mixture_fit_quality(mix: GammaMixture, draws: np.ndarray) -> dict[str, float]:
    """KS distance and the largest relative quantile error (:data:`MAP_QUANTILES`) of ``mix`` vs ``draws``."""
    x = np.sort(np.asarray(draws, float))
    n = x.size
    cdf = mixture_cdf(mix, x)
    ks = float(max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n)))
    errs = {f"q{p:g}": abs(mixture_quantile(mix, p) / np.quantile(x, p) - 1.0) for p in MAP_QUANTILES}
    return {"ks": ks, "max_quantile_rel_error": float(max(errs.values())), **errs}


def best_gamma_mixture(
    draws: np.ndarray, max_components: int = 4, *, n_fit: int = 6000, seed: int = 0
) -> tuple[GammaMixture, dict[str, float]]:
    """The fewest-component EM fit (1..``max_components``) meeting the MAP tolerances, and its quality.

    EM runs on a random subset of ``n_fit`` draws (speed); the quality (:func:`mixture_fit_quality`)
    is measured on all draws. If no fit meets :data:`MAP_KS_TOL` and :data:`MAP_QUANTILE_TOL`, the
    one with the smallest largest-quantile error is returned (its quality says so).
    """
    full = np.asarray(draws, float)
    x = np.random.default_rng(seed).choice(full, n_fit, replace=False) if full.size > n_fit else full
    best, best_q = None, None
    for k in range(1, max_components + 1):
        mix = fit_gamma_mixture(x, k)
        q = mixture_fit_quality(mix, full)
        if best_q is None or q["max_quantile_rel_error"] < best_q["max_quantile_rel_error"]:
            best, best_q = mix, q
        if q["ks"] < MAP_KS_TOL and q["max_quantile_rel_error"] < MAP_QUANTILE_TOL:
            return mix, q
    assert best is not None and best_q is not None  # max_components >= 1
    return best, best_q


# ----------------------------------------------------------------------------- MAP prior
# MapFit, fit_map, map_posterior and the on-disk cache live in :mod:`models.map_prior` (deterministic
# quadrature instead of MCMC); they are imported above so ``from models.prior_library import fit_map``
# keeps working.


# ----------------------------------------------------------------------------- commensurate prior


@dataclass(frozen=True)
class CommensuratePrior:
    r"""Commensurate prior on a transition's interval hazards (Hobbs et al. 2011).

    Fitted exactly by quadrature (:mod:`models.commensurate_exact`) or by NUTS (``build_pymc``).

    .. math::
        \lambda_{hj} \sim \mathrm{Gamma}(a_v + d_{hj},\, b_v + E_{hj}),\qquad
        \log\lambda_j = \log\lambda_{hj} + \sigma z_j,\ z_j\sim\mathcal N(0,1),\qquad
        \sigma \sim \mathrm{HalfNormal}(s_\sigma).

    Small :math:`\sigma` (commensurate data) borrows the historical hazards almost fully; a
    conflict between current and historical data pushes :math:`\sigma` up and the borrowing down.

    Parameters
    ----------
    hist_events, hist_exposure
        Historical pseudo-data :math:`d_{hj}`, :math:`E_{hj}` (days) per interval.
    scale
        :math:`s_\sigma`, the half-normal scale of the commensurability sd on the log-hazard scale.
    """

    hist_events: tuple[float, ...]
    hist_exposure: tuple[float, ...]
    scale: float = 1.0
    label: str = ""

    def __post_init__(self) -> None:
        d, e = np.asarray(self.hist_events, float), np.asarray(self.hist_exposure, float)
        if d.shape != e.shape or d.ndim != 1 or d.size == 0:
            raise PriorError("CommensuratePrior", found=(d.shape, e.shape), expected="equal-length 1-D pseudo-data")
        if np.any(~np.isfinite(d)) or np.any(d < 0) or np.any(~np.isfinite(e)) or np.any(e < 0):
            raise PriorError(
                "CommensuratePrior",
                field="hist_events/hist_exposure",
                found=list(d),
                expected="finite counts and exposures >= 0",
            )
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise PriorError("CommensuratePrior", field="scale", found=self.scale, expected="a number > 0")

    @property
    def n_intervals(self) -> int:
        return len(self.hist_events)

    @property
    def historical(self) -> tuple[np.ndarray, np.ndarray]:
        """Shapes and rates of the historical posteriors :math:`\\lambda_{hj}`."""
        return (
            HALF_EVENT_SHAPE + np.asarray(self.hist_events, float),
            HALF_EVENT_RATE_PER_DAY + np.asarray(self.hist_exposure, float),
        )

    def sample(self, rng: np.random.Generator, size: int, n_intervals: int | None = None) -> np.ndarray:
        """Prior draws of the hazards, shape ``(size, n_intervals)``."""
        self._check_n(n_intervals or self.n_intervals)
        a, b = self.historical
        lam_h = rng.gamma(a, 1.0 / b, (size, a.size))
        sigma = np.abs(rng.normal(0.0, self.scale, (size, 1)))
        return lam_h * np.exp(sigma * rng.standard_normal((size, a.size)))

    def build_pymc(self, name: str, n_intervals: int):
        """Inside an active ``pm.Model``: create the prior's variables and return the hazard tensor."""
        import pymc as pm
        import pytensor.tensor as pt

        self._check_n(n_intervals)
        a, b = self.historical
        lam_h = pm.Gamma(f"{name}_historical_hazard", alpha=a, beta=b, shape=a.size)
        sigma = pm.HalfNormal(f"{name}_commensurability_sd", self.scale)
        z = pm.Normal(f"{name}_commensurate_z", 0.0, 1.0, shape=a.size)
        return pt.exp(pt.log(lam_h) + sigma * z)

    def _check_n(self, n: int) -> None:
        if n != self.n_intervals:
            raise PriorError(
                f"commensurate prior {self.label}".strip(),
                found=f"{self.n_intervals} intervals",
                expected=f"{n} (the pseudo-data were built for other cut points)",
            )

    def moments(self, n: int = 40_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        x = self.sample(np.random.default_rng(seed), n)
        return x.mean(axis=0), x.var(axis=0)

    def params(self) -> dict[str, object]:
        return {
            "family": "commensurate",
            "hist_events": list(self.hist_events),
            "hist_exposure_days": list(self.hist_exposure),
            "scale": self.scale,
            "label": self.label,
        }


# ----------------------------------------------------------------------------- prior sets with provenance


@dataclass(frozen=True)
class TransitionProvenance:
    """How a transition's prior was built: method, sources, discounting and reference follow-up."""

    method: str
    sources: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    a0: tuple[float, ...] = ()
    w: float | None = None
    followup_per_patient: tuple[float, ...] = ()
    note: str = ""
    map_quality: tuple[dict[str, float] | None, ...] = ()
    pseudo_events: tuple[float, ...] = ()
    pseudo_exposure: tuple[float, ...] = ()


def _items(p: Any) -> list[Any]:
    return [p] if isinstance(p, GammaMixture | LogNormalHazard | RandomWalkLogHazard | CommensuratePrior) else list(p)


@dataclass(frozen=True)
class LibraryPriorSet(PriorSet):
    """A :class:`PriorSet` that also records provenance and accepts :class:`CommensuratePrior`."""

    provenance: Mapping[str, TransitionProvenance] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        stand_in = GammaMixture.single(1.0, 365.0)
        shadow = {k: (stand_in if isinstance(v, CommensuratePrior) else v) for k, v in self.transitions.items()}
        PriorSet(self.name, shadow)  # the base checks, with commensurate priors standing in as gammas

    def per_interval(self, transition: str, n_intervals: int):
        p = self.transitions[transition]
        if isinstance(p, CommensuratePrior):
            p._check_n(n_intervals)
            return p
        return super().per_interval(transition, n_intervals)

    def with_transition(self, transition: str, prior: Any) -> LibraryPriorSet:
        """The base override rule; the replaced transition's provenance becomes ``user override``."""
        out = super().with_transition(transition, prior)
        prov = {**self.provenance, transition: TransitionProvenance("user override")}
        return replace(out, provenance=prov)

    @property
    def conjugate(self) -> bool:
        return not any(isinstance(p, CommensuratePrior) for p in self.transitions.values()) and super().conjugate

    def params(self) -> dict[str, object]:
        out: dict[str, object] = (
            super().params()
            if not any(isinstance(p, CommensuratePrior) for p in self.transitions.values())
            else {
                "name": self.name,
                "description": self.description,
                "citation": self.citation,
                "transitions": {
                    k: (v.params() if hasattr(v, "params") else [it.params() for it in v])
                    for k, v in self.transitions.items()
                },
            }
        )
        out["provenance"] = {
            k: {"method": v.method, "sources": list(v.sources), "figures": list(v.figures), "a0": list(v.a0), "w": v.w}
            for k, v in self.provenance.items()
        }
        return out


# ----------------------------------------------------------------------------- robust mixtures and prior summaries


def split_robust(p: GammaMixture, w: float | None) -> tuple[GammaMixture, float] | None:
    """``(informative part, w)`` of a mixture built by :func:`robustify` (robust component last), else ``None``."""
    if w is None or w >= 1.0 or p.n_components < 2:
        return None
    return GammaMixture(p.weights[:-1], p.shapes[:-1], p.rates[:-1]), w


def landmark_summary(
    prior_set: PriorSet,
    cuts: Sequence[float] | np.ndarray = DEFAULT_CUTS,
    relapse_death_cuts: Sequence[float] | np.ndarray = DEFAULT_RELAPSE_DEATH_CUTS,
    *,
    day: int = 365,
    n: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Prior median and 95% interval of the 1-year incidences and survivals (via :func:`prior_landmarks`)."""
    lm = prior_landmarks(prior_set, cuts, relapse_death_cuts, day=day, n=n, seed=seed)  # models.priors
    q = (1 - CI_LEVEL) / 2
    return pd.DataFrame(
        [
            {
                "quantity": k,
                "median": float(np.median(v)),
                "lower": float(np.quantile(v, q)),
                "upper": float(np.quantile(v, 1 - q)),
            }
            for k, v in lm.items()
        ]
    )


# ----------------------------------------------------------------------------- building named sets


def _source_pseudo(
    spec: TransitionSpec, sources: Sources, cuts: Sequence[float] | np.ndarray, src: str
) -> list[PseudoData]:
    out = []
    for i, s in enumerate(spec.sources):
        figs = [sources.figures[f] for f in s.figures]
        fu = sources.studies[figs[0].study].followup_months
        where = f"{spec.transition}.sources[{i}]"
        if spec.transition == "death_after_relapse":
            pd_ = survival_pseudo_data(figs, cuts, followup_months=fu, src=src, where=where)
        else:
            pd_ = remission_pseudo_data(
                figs, cuts, followup_months=fu, all_events_relapse=s.all_events_relapse, src=src, where=where
            )
        out.append(pd_.scaled(s.a0) if spec.method == "power" else pd_)
    return out


def build_transition(
    spec: TransitionSpec,
    sources: Sources,
    cuts: Sequence[float] | np.ndarray,
    *,
    src: str = "prior set",
    seed: int = DEFAULT_SEED,
) -> tuple[Any, TransitionProvenance]:
    """The prior of one transition (per interval) and its provenance, from a checked :class:`TransitionSpec`."""
    n = len(cuts)
    base = weak_interval_priors(cuts)
    if spec.method == "weak":
        return base, TransitionProvenance("weak", note=spec.note)
    if spec.method == "gamma":
        if len(spec.shape) not in (1, n):
            raise PriorError(
                src,
                where=spec.transition,
                field="shape",
                found=f"{len(spec.shape)} values",
                expected=f"1 or {n} (one per interval)",
            )
        gs = [GammaMixture.single(a, b) for a, b in zip(spec.shape, spec.rate, strict=True)]
        if spec.robust_weight and len(gs) == 1:
            gs = gs * n
        gs = [
            robustify(g, spec.robust_weight, robust_component(g, base[j])) if spec.robust_weight else g
            for j, g in enumerate(gs)
        ]
        return (gs[0] if len(gs) == 1 else gs), TransitionProvenance(
            "gamma", w=spec.robust_weight, note=f"{spec.provenance} {spec.note}".strip()
        )
    cause = {"relapse": "relapse", "nrm": "nrm", "death_after_relapse": "death"}[spec.transition]
    pseudo = _source_pseudo(spec, sources, cuts, src)
    d = np.array([p.events[cause] for p in pseudo])
    e = np.array([p.exposure for p in pseudo])
    n_pat = sum(p.n for p in pseudo)
    borrowed = [p.exposure / p.a0 for p in pseudo if p.a0 > 0]  # a0 = 0: the source lends nothing
    u = np.sum(borrowed, axis=0) / n_pat if n_pat and borrowed else np.zeros(n)
    prov: dict[str, Any] = dict(
        sources=tuple(p.label for p in pseudo),
        figures=tuple(f for p in pseudo for f in p.figures),
        a0=tuple(s.a0 for s in spec.sources),
        w=spec.robust_weight,
        followup_per_patient=tuple(u),
        note=spec.note,
        pseudo_events=tuple(d.sum(0)),
        pseudo_exposure=tuple(e.sum(0)),
    )
    if spec.method == "commensurate":
        cp = CommensuratePrior(
            tuple(d.sum(0)),
            tuple(e.sum(0)),
            spec.commensurability_scale,
            label=f"{spec.transition}: " + ", ".join(prov["sources"]),
        )
        return cp, TransitionProvenance("commensurate", **prov)
    if spec.method == "power":
        priors = [
            power_prior(float(d[:, j].sum()), float(e[:, j].sum()), 1.0, base[j]) if e[:, j].sum() > 0 else base[j]
            for j in range(n)
        ]
        quality: tuple = ()
    else:
        fit = fit_map(d, e, tau_scale=spec.tau_scale, seed=seed, max_components=spec.max_components)
        priors = [m if m is not None else base[j] for j, m in enumerate(fit.mixtures)]
        quality = fit.quality
    informed = e.sum(0) > 0
    if spec.robust_weight is not None:
        priors = [
            robustify(p, spec.robust_weight, robust_component(p, base[j])) if informed[j] else p
            for j, p in enumerate(priors)
        ]
    return priors, TransitionProvenance(spec.method, map_quality=quality, **prov)


def build_prior_set(
    spec: SetSpec,
    sources: Sources,
    cuts: Sequence[float] | np.ndarray = DEFAULT_CUTS,
    relapse_death_cuts: Sequence[float] | np.ndarray = DEFAULT_RELAPSE_DEATH_CUTS,
    *,
    seed: int = DEFAULT_SEED,
) -> PriorSet:
    """Build a :class:`LibraryPriorSet` (or a built-in set of :mod:`models.priors`) from a set spec.

    A transition the spec leaves out gets the weakly informative baseline (:func:`models.priors.weak`).
    """
    if spec.builtin is not None:
        v = half_event_per_interval() if spec.builtin == "half_event_per_interval" else weak(cuts, relapse_death_cuts)
        return LibraryPriorSet(
            spec.name,
            v.transitions,
            spec.description or v.description,
            v.citation,
            provenance={k: TransitionProvenance(v.name) for k in TRANSITIONS},
        )
    transitions, prov = {}, {}
    for k in TRANSITIONS:
        c = relapse_death_cuts if k == "death_after_relapse" else cuts
        if k in spec.transitions:
            transitions[k], prov[k] = build_transition(spec.transitions[k], sources, c, src=spec.path, seed=seed)
        else:
            transitions[k], prov[k] = (
                weak_interval_priors(c),
                TransitionProvenance("weak", note="not specified: weakly informative baseline"),
            )
    used = sorted({sources.figures[f].study for t in spec.transitions.values() for s in t.sources for f in s.figures})
    citation = spec.citation or "; ".join(sources.studies[s].citation for s in used)
    return LibraryPriorSet(spec.name, transitions, spec.description, citation, source=spec.path, provenance=prov)


def read_sets(path: str | Path = SETS_TOML, sources: Sources | None = None) -> dict[str, SetSpec]:
    """Parse and check a prior-set file against the sources."""
    return parse_sets(read_toml(path), str(path), sources or load_sources())


def set_names(path: str | Path = SETS_TOML) -> list[str]:
    """Names of the shipped prior sets."""
    return list(read_sets(path))


def load_prior_set(
    name_or_path: str | Path,
    cuts: Sequence[float] | np.ndarray = DEFAULT_CUTS,
    relapse_death_cuts: Sequence[float] | np.ndarray = DEFAULT_RELAPSE_DEATH_CUTS,
    *,
    sources: Sources | None = None,
    seed: int = DEFAULT_SEED,
) -> PriorSet:
    """A prior set by name (looked up in ``data/priors/sets.toml``) or from a TOML file with one set.

    The per-interval priors are built for ``cuts`` / ``relapse_death_cuts``: use the same cut points
    for fitting. Any problem is a one-line :class:`~models.errors.PriorError` naming file and key.
    """
    sources = sources or load_sources()
    shipped = read_toml(SETS_TOML).get("set", {})
    if str(name_or_path) in shipped:  # check only the set asked for (a user's sources may lack the others')
        spec = parse_sets({"set": {str(name_or_path): shipped[str(name_or_path)]}}, str(SETS_TOML), sources)
        return build_prior_set(spec[str(name_or_path)], sources, cuts, relapse_death_cuts, seed=seed)
    path = Path(name_or_path)
    if not path.exists():
        raise PriorError(
            "--prior", found=str(name_or_path), expected=f"one of {sorted(shipped)} or a prior-set TOML file"
        )
    specs = read_sets(path, sources)
    if len(specs) != 1:
        raise PriorError(path, found=f"{len(specs)} sets {sorted(specs)}", expected="exactly one [set.<name>] table")
    return build_prior_set(next(iter(specs.values())), sources, cuts, relapse_death_cuts, seed=seed)
