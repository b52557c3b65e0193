r"""Discounting the sources' pseudo-data: power priors, robust mixtures and their conjugate update.

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
"""

from __future__ import annotations

import numpy as np
from scipy import special

from models.errors import PriorError
from models.priors import GammaMixture


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


def split_robust(p: GammaMixture, w: float | None) -> tuple[GammaMixture, float] | None:
    """``(informative part, w)`` of a mixture built by :func:`robustify` (robust component last), else ``None``."""
    if w is None or w >= 1.0 or p.n_components < 2:
        return None
    return GammaMixture(p.weights[:-1], p.shapes[:-1], p.rates[:-1]), w
