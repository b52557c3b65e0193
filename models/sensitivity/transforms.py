r"""Prior variations of a scenario: power prior, robust mixture, centred relapse prior.

Prior centre and weight (grid)
    The relapse hazard of each first-year interval :math:`j` gets
    :math:`\lambda_j \sim \mathrm{Gamma}(a_j + \lambda_c E_j,\; b_j + E_j)` with
    :math:`\lambda_c = -\log(1 - p_c)/365`, :math:`E_j = m\,|I_j \cap [0, 365)|` and
    :math:`\mathrm{Gamma}(a_j, b_j)` the interval's weakly informative baseline
    (:func:`models.priors.weak`): the information of :math:`m` patients followed for one year whose
    1-year relapse incidence (absent competing deaths) is :math:`p_c`, worth :math:`m\,365\,\lambda_c`
    events (:func:`centred_prior`). Other transitions and later intervals keep the base prior.

Power prior (factor ``a0``)
    For a gamma component built from pseudo-data on top of the interval's weakly informative
    baseline, :math:`\mathrm{Gamma}(a_j + d_h,\, b_j + E_h)`, the power prior with weight :math:`a_0` is
    :math:`\mathrm{Gamma}(a_j + a_0 d_h,\, b_j + a_0 E_h)` (Ibrahim & Chen 2000): exact for the
    Poisson–gamma model. :math:`a_0 = 0` is the baseline, :math:`a_0 = 1` full borrowing.

Robust mixture (factor ``w``)
    :math:`w\,\pi_{\text{inf}} + (1 - w)\,\pi_{0}` with the robust component :math:`\pi_0` the
    interval's weakly informative baseline (Schmidli et al. 2014); the exact engine
    updates the weights by the marginal likelihoods; :math:`w = 0` is the baseline.

References
----------
Ibrahim JG, Chen M-H. Power prior distributions for regression models. Stat Sci 2000;15:46–60.
Schmidli H, et al. Robust meta-analytic-predictive priors. Biometrics 2014;70:1023–32.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from models.errors import PriorError
from models.prior_library import LibraryPriorSet, robust_component, robustify, split_robust
from models.priors import GammaMixture, PriorSet, all_gamma, gamma_intervals, weak_interval_priors


def _robust_w(prior: PriorSet, k: str) -> float | None:
    """The robust-mixture weight recorded for transition ``k`` (``None``: not a robust mixture)."""
    prov = getattr(prior, "provenance", {}).get(k)
    return None if prov is None else prov.w


def _is_baseline(g: GammaMixture, base: GammaMixture) -> bool:
    return g.n_components == 1 and all(
        math.isclose(x, y, rel_tol=1e-9) for x, y in ((g.shapes[0], base.shapes[0]), (g.rates[0], base.rates[0]))
    )


def _split(g: GammaMixture, w: float | None) -> GammaMixture:
    """The informative part of ``g`` (all components but the robust last one when ``w`` is set)."""
    parts = split_robust(g, w)
    return g if parts is None else parts[0]


def _map_intervals(
    prior: PriorSet,
    fn: Callable[[GammaMixture, GammaMixture, float | None], GammaMixture],
    cuts: Sequence[float],
    transitions: Sequence[str],
    *,
    new_w: float | None = None,
    name: str,
) -> PriorSet:
    """Apply ``fn(interval prior, baseline of the interval, robust weight)`` to every interval of ``transitions``."""
    base = weak_interval_priors(cuts)
    out = dict(prior.transitions)
    for k in transitions:
        spec = prior.per_interval(k, len(cuts))
        if not all_gamma(spec):
            raise PriorError(
                f"prior set '{prior.name}'",
                where=k,
                found=type(spec).__name__,
                expected="gamma-mixture priors (a0 and w act on conjugate priors)",
            )
        out[k] = [fn(g, base[j], _robust_w(prior, k)) for j, g in enumerate(spec)]
    res = replace(prior, name=name, transitions=out)
    if new_w is not None and isinstance(res, LibraryPriorSet):  # only library prior sets record provenance
        prov = res.provenance
        res = replace(res, provenance={**prov, **{k: replace(prov[k], w=new_w) for k in transitions if k in prov}})
    return res


def power_discount(
    prior: PriorSet, a0: float, cuts: Sequence[float], transitions: Sequence[str] = ("relapse", "nrm")
) -> PriorSet:
    r"""Power prior: each informative component :math:`\mathrm{Gamma}(a_j + d, b_j + E)` built on the interval's
    weakly informative baseline :math:`\mathrm{Gamma}(a_j, b_j)` becomes :math:`\mathrm{Gamma}(a_j + a_0 d,
    b_j + a_0 E)`; the robust component (the baseline, :func:`models.prior_library.robust_component`)
    keeps its weight; baseline intervals are left as they are."""

    def one(g: GammaMixture, base: GammaMixture, w: float | None) -> GammaMixture:
        if _is_baseline(g, base):
            return g
        inf = _split(g, w)
        ab, bb = base.shapes[0], base.rates[0]
        disc = GammaMixture(
            inf.weights,
            tuple(max(ab + a0 * (a - ab), 1e-6) for a in inf.shapes),
            tuple(max(bb + a0 * (b - bb), 1e-6) for b in inf.rates),
        )
        parts = split_robust(g, w)  # (informative part, w) with w set, or None
        return disc if parts is None else robustify(disc, parts[1], robust_component(disc, base))

    return _map_intervals(prior, one, cuts, transitions, name=f"{prior.name}|a0={a0:g}")


def robust_weight(
    prior: PriorSet, w: float, cuts: Sequence[float], transitions: Sequence[str] = ("relapse", "nrm")
) -> PriorSet:
    r"""Robust mixture with weight :math:`w` on the informative components and :math:`1-w` on the robust one
    (:func:`models.prior_library.robustify` of the informative part; ``w = 0`` is the weakly informative
    baseline)."""

    def one(g: GammaMixture, base: GammaMixture, w_old: float | None) -> GammaMixture:
        if _is_baseline(g, base):
            return g
        if w == 0:
            return base
        inf = _split(g, w_old)
        return robustify(inf, w, robust_component(inf, base))

    return _map_intervals(
        prior, one, cuts, transitions, new_w=(None if w in (0, 1) else w), name=f"{prior.name}|w={w:g}"
    )


def centred_prior(prior: PriorSet, centre: float, weight: float, cuts: Sequence[float], day: int = 365) -> PriorSet:
    r"""Relapse prior of a pseudo-cohort of :math:`m` patients followed for ``day`` days at 1-year
    relapse incidence :math:`p_c` (constant hazard :math:`\lambda_c = -\log(1-p_c)/d`).

    Interval :math:`j` receives pseudo-exposure :math:`E_j = m\,|[c_j, c_{j+1}) \cap [0, d)|` and
    pseudo-events :math:`\lambda_c E_j` on top of the interval's weakly informative baseline
    :math:`\mathrm{Gamma}(a_j, b_j)` (:func:`models.priors.weak`):
    :math:`\lambda_j \sim \mathrm{Gamma}(a_j + \lambda_c E_j,\, b_j + E_j)` — the posterior of the baseline
    given the pseudo-cohort, as the power prior is built — so the pseudo-data are worth
    :math:`m` patient-years and :math:`m\,d\,\lambda_c` events, and :math:`m \to 0` gives the baseline.
    Intervals after ``day`` keep the base prior.
    """
    lam = -math.log1p(-centre) / day
    c = np.asarray(cuts, float)
    hi = np.append(c[1:], np.inf)
    base = gamma_intervals(prior.per_interval("relapse", len(c)))  # a per-interval (gamma) relapse prior
    weak_base = weak_interval_priors(c)
    out = []
    for j in range(len(c)):
        e = weight * max(min(hi[j], day) - c[j], 0.0)
        ab, bb = weak_base[j].shapes[0], weak_base[j].rates[0]
        out.append(GammaMixture.single(ab + lam * e, bb + e) if e > 0 else base[j])
    res = replace(
        prior,
        name=f"{prior.name}|relapse centre={centre:g},weight={weight:g}",
        transitions={**prior.transitions, "relapse": out},
    )
    if isinstance(res, LibraryPriorSet) and "relapse" in res.provenance:  # only library sets record provenance
        prov = res.provenance
        res = replace(res, provenance={**prov, "relapse": replace(prov["relapse"], w=None, method="gamma")})
    return res


def grid_position(prior: PriorSet, cuts: Sequence[float], day: int = 365) -> tuple[float, float] | None:
    r"""Where a relapse prior sits on the centre x weight grid: the inverse of :func:`centred_prior`.

    In each interval :math:`j` before ``day`` the informative part of the relapse prior (a robust
    mixture's robust component set aside; components averaged by weight) is read as
    :math:`\mathrm{Gamma}(a_j, b_j)`, i.e. pseudo-events :math:`d_j = a_j - a^{\text{weak}}_j` in
    pseudo-exposure :math:`E_j = b_j - b^{\text{weak}}_j` on top of the weak baseline. Then
    :math:`\lambda_c = \sum_j d_j / \sum_j E_j`, centre :math:`1 - e^{-\lambda_c d}` and weight
    :math:`\sum_j E_j / d` patients followed ``day`` days; :func:`centred_prior` of that centre and
    weight returns the same position. ``None`` when the relapse prior is not a gamma mixture per
    interval (commensurate, log-normal) or adds no information to the baseline.
    """
    c = np.asarray(cuts, float)
    hi = np.append(c[1:], np.inf)
    intervals = prior.per_interval("relapse", len(c))
    if not isinstance(intervals, list) or not all(isinstance(g, GammaMixture) for g in intervals):
        return None  # a whole-transition (commensurate) or log-normal prior is not on this grid
    weak_base = weak_interval_priors(c)
    w = _robust_w(prior, "relapse")
    events, exposure = 0.0, 0.0
    for j, g in enumerate(intervals):
        if min(hi[j], day) - c[j] <= 0:
            continue
        assert isinstance(g, GammaMixture)  # checked above
        inf = _split(g, w)
        wts = np.asarray(inf.weights, float) / float(np.sum(inf.weights))
        events += float(np.sum(wts * np.asarray(inf.shapes))) - weak_base[j].shapes[0]
        exposure += float(np.sum(wts * np.asarray(inf.rates))) - weak_base[j].rates[0]
    if exposure <= 0 or events < 0:
        return None
    return -math.expm1(-events / exposure * day), exposure / day
