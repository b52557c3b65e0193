r"""Literature prior library: discounting, MAP priors, commensurate priors and named prior sets.

Every informative prior starts from pseudo-data :math:`(d_{sj}, E_{sj})` — events and exposure
(days) that source :math:`s` implies on interval :math:`j` (:mod:`models.prior_sources`) — and the
interval's weakly informative baseline :math:`\pi_{0j} = \mathrm{Gamma}(a_j, b_j)`
(:func:`models.priors.weak`: one pseudo-event per transition spread over the intervals by width,
:math:`b_j = 365\,a_j` days). Intervals no source informs keep :math:`\pi_{0j}`.

Submodules
----------
discounting
    Power prior (Ibrahim & Chen 2000) and robust mixture (Schmidli et al. 2014): :func:`power_prior`,
    :func:`robustify`, :func:`robust_component`, :func:`split_robust`, :func:`mixture_posterior`.
mixture_fit
    Gamma mixtures fitted by EM to a meta-analytic-predictive (MAP) prior's draws and their fit
    quality (:func:`best_gamma_mixture`, :data:`MAP_KS_TOL`, :data:`MAP_QUANTILE_TOL`). The MAP fit
    itself (:func:`fit_map`, :class:`MapFit`) lives in :mod:`models.map_prior` and is re-exported here.
commensurate
    The commensurate prior (Hobbs et al. 2011), :class:`CommensuratePrior`.
library_set
    :class:`LibraryPriorSet` with its :class:`TransitionProvenance`, and :func:`landmark_summary`.
named_sets
    Named sets from ``data/priors/sets.toml`` or a set file: :func:`load_prior_set`,
    :func:`build_prior_set`, :func:`build_transition`, :func:`read_sets`, :func:`set_names`.

Effective sample size, prior weight and prior–data conflict live in :mod:`models.prior_weight`
and :mod:`models.prior_conflict`.
"""

from __future__ import annotations

# MapFit, fit_map, map_posterior and the on-disk cache live in :mod:`models.map_prior` (deterministic
# quadrature instead of MCMC); they are imported here so ``from models.prior_library import fit_map``
# keeps working.
from models.map_prior import MAP_CACHE_KIND, MapFit, MapPosterior, fit_map, map_posterior
from models.prior_library.commensurate import CommensuratePrior
from models.prior_library.discounting import (
    log_marginal_nb,
    mixture_posterior,
    power_prior,
    robust_component,
    robustify,
    split_robust,
)
from models.prior_library.library_set import LibraryPriorSet, TransitionProvenance, landmark_summary
from models.prior_library.mixture_fit import (
    MAP_KS_TOL,
    MAP_QUANTILE_TOL,
    MAP_QUANTILES,
    best_gamma_mixture,
    fit_gamma_mixture,
    mixture_cdf,
    mixture_fit_quality,
    mixture_quantile,
)
from models.prior_library.named_sets import build_prior_set, build_transition, load_prior_set, read_sets, set_names

__all__ = [
    "MAP_CACHE_KIND",
    "MAP_KS_TOL",
    "MAP_QUANTILES",
    "MAP_QUANTILE_TOL",
    "CommensuratePrior",
    "LibraryPriorSet",
    "MapFit",
    "MapPosterior",
    "TransitionProvenance",
    "best_gamma_mixture",
    "build_prior_set",
    "build_transition",
    "fit_gamma_mixture",
    "fit_map",
    "landmark_summary",
    "load_prior_set",
    "log_marginal_nb",
    "map_posterior",
    "mixture_cdf",
    "mixture_fit_quality",
    "mixture_posterior",
    "mixture_quantile",
    "power_prior",
    "read_sets",
    "robust_component",
    "robustify",
    "set_names",
    "split_robust",
]
