r"""The exact engine of the comparative model: a hazard ratio per transition by quadrature.

Model
-----
For transition :math:`k` (relapse; NRM as the safety check) with intervals :math:`j = 1..J` of the
fit's cut points, the treated cohort (table :math:`m` of the reconstructed draws) has events
:math:`D_{j}` in exposure :math:`E_{j}` and the control's summarised figures give pseudo-events
:math:`d_{j}` in pseudo-exposure :math:`e_{j}` (:mod:`models.comparative.packs`):

.. math::
    D_j \mid \lambda_{T,j} &\sim \mathrm{Poisson}(\lambda_{T,j} E_j),\qquad
    \lambda_{T,j} \sim \textstyle\sum_c w_{jc}\,\mathrm{Gamma}(a_{jc}, b_{jc})
    \quad\text{(the fit's prior)},\\
    \lambda_{C,j} &= \lambda_{T,j} / \mathrm{HR},\qquad \beta = \log \mathrm{HR} \sim N(0, \sigma^2),\\
    p(\lambda, \beta \mid \cdot) &\propto \pi(\beta) \prod_j \pi(\lambda_{T,j})\,
    \lambda_{T,j}^{D_j} e^{-\lambda_{T,j} E_j}\,
    \bigl[(\lambda_{T,j} e^{-\beta})^{d_j} e^{-\lambda_{T,j} e^{-\beta} e_j}\bigr]^{a_0}.

The control's pseudo-likelihood is raised to the power :math:`a_0 \in [0, 1]` (power prior,
Ibrahim & Chen 2000): :math:`a_0 = 0` drops the control, :math:`a_0 = 1` borrows it in full. The
hazard ratio is that of maintenance (treated) against no maintenance (control), proportional over
the intervals.

Integrating the :math:`\lambda_{T,j}` out (gamma–Poisson conjugacy) leaves, with
:math:`A_{jc} = a_{jc} + D_j + a_0 d_j` and :math:`B_{jc}(\beta) = b_{jc} + E_j + a_0 e_j e^{-\beta}`,

.. math::
    p(\beta \mid \cdot) \propto \pi(\beta)\, e^{-\beta a_0 \sum_j d_j}
    \prod_j \sum_c w_{jc} \frac{b_{jc}^{a_{jc}}\,\Gamma(A_{jc})}{\Gamma(a_{jc})\,B_{jc}(\beta)^{A_{jc}}},

a one-dimensional density evaluated on a fine uniform grid of :math:`\beta` (:class:`Grid`; exact
quadrature, the trapezoid rule on 6,001 points). Given :math:`\beta`, each
:math:`\lambda_{T,j}` is the gamma mixture :math:`\sum_c \tilde w_{jc}(\beta)\,\mathrm{Gamma}(A_{jc},
B_{jc}(\beta))`, :math:`\tilde w_{jc} \propto w_{jc} b_{jc}^{a_{jc}}\Gamma(A_{jc})/(\Gamma(a_{jc})
B_{jc}^{A_{jc}})`: independent exact draws of :math:`(\beta, \lambda_T, \lambda_C)`. With
:math:`a_0 = 0` the :math:`\beta`-terms vanish, :math:`p(\beta \mid \cdot) = \pi(\beta)` and the
conditional of :math:`\lambda_T` is the single-arm conjugate posterior
(:func:`models.pwe.gamma_mixture_posterior`) whatever :math:`\beta`: the treated answer is exactly
the single-arm one.

Reconstructed tables are pooled with equal weight, as the fit does: the pooled density of
:math:`\beta` is the average of the per-table normalised densities, and draws are taken in equal
numbers per table.

The prior sd :math:`\sigma` (:data:`HR_PRIOR_SD`, 2) puts 95% of the prior between HR 0.02 and 50
and is centred on no effect: it neither favours nor opposes maintenance and is weak beside any
cohort with a handful of events.

References
----------
Ibrahim JG, Chen MH. Stat Sci 2000;15:46–60. Friedman M. Ann Stat 1982;10:101–13.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp

from models.errors import ConfigError
from models.priors import GammaMixture

#: Prior sd of log HR (weak, centred on no effect).
HR_PRIOR_SD: float = 2.0
#: Grid points of log HR.
GRID_POINTS: int = 6001
#: Largest half-width of the log-HR grid (HR from 3e-7 to 3e6): wider grids only waste points.
GRID_HALF_WIDTH_MAX: float = 15.0


@dataclass(frozen=True)
class Grid:
    """A uniform grid of :math:`\\beta = \\log \\mathrm{HR}` over :math:`\\pm\\min(8\\sigma, 15)`."""

    beta: np.ndarray

    @classmethod
    def for_prior(cls, sd: float, points: int = GRID_POINTS) -> Grid:
        if not (np.isfinite(sd) and sd > 0):
            raise ConfigError("hr_prior_sd", found=sd, expected="a positive, finite sd of log HR")
        half = min(8.0 * sd, GRID_HALF_WIDTH_MAX)
        return cls(np.linspace(-half, half, int(points)))


def _check(priors: Sequence[GammaMixture], *arrays: np.ndarray) -> None:
    for a in arrays:
        if a.shape[-1] != len(priors):
            raise ConfigError(
                "comparative data", found=f"{a.shape[-1]} intervals", expected=f"{len(priors)} (one per prior)"
            )
        if np.any(~np.isfinite(a)) or np.any(a < 0):
            raise ConfigError("comparative data", found="negative or non-finite events/exposure", expected=">= 0")


def _components(priors: Sequence[GammaMixture]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, shapes, rates as ``(J, C)`` arrays (shorter mixtures padded with weight 0)."""
    c = max(p.n_components for p in priors)
    w = np.zeros((len(priors), c))
    a = np.ones((len(priors), c))
    b = np.ones((len(priors), c))
    for j, p in enumerate(priors):
        k = p.n_components
        w[j, :k], a[j, :k], b[j, :k] = p.weights, p.shapes, p.rates
    return w, a, b


def _log_terms(
    priors: Sequence[GammaMixture], events: np.ndarray, exposure: np.ndarray, d: np.ndarray, e: np.ndarray, a0: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``log w + a log b - lgamma(a) + lgamma(A)`` (J, C), shape ``A`` (J, C) and base rate ``b + E`` (J, C)."""
    w, a, b = _components(priors)
    shape = a + events[:, None] + a0 * d[:, None]
    with np.errstate(divide="ignore"):
        lw = np.where(w > 0, np.log(np.where(w > 0, w, 1.0)), -np.inf)
    const = lw + a * np.log(b) - gammaln(a) + gammaln(shape)
    return const, shape, b + exposure[:, None]


def log_density(
    grid: Grid,
    priors: Sequence[GammaMixture],
    events: np.ndarray,
    exposure: np.ndarray,
    control_events: np.ndarray,
    control_exposure: np.ndarray,
    a0: float,
    sd: float,
) -> np.ndarray:
    r"""Unnormalised :math:`\log p(\beta \mid \cdot)` on the grid for one treated table (module docstring)."""
    beta = grid.beta
    const, shape, base = _log_terms(priors, events, exposure, control_events, control_exposure, a0)
    borrowed = a0 * np.asarray(control_exposure, float)
    out = -0.5 * (beta / sd) ** 2 - beta * a0 * float(control_events.sum())
    shrink = np.exp(-beta)
    for j in range(const.shape[0]):
        used = np.isfinite(const[j])  # padded components (weight 0) drop out
        c, a, b = const[j, used, None], shape[j, used, None], base[j, used, None]
        if borrowed[j] == 0.0:  # no control exposure here: the interval's term does not depend on beta
            out = out + _logsumexp(c - a * np.log(b))
        else:
            out = out + _logsumexp(c - a * np.log(b + borrowed[j] * shrink))
    return out


def _logsumexp(x: np.ndarray) -> np.ndarray:
    """``log sum exp`` over the first axis (the mixture's components), row by row (C is small)."""
    if x.shape[0] == 1:
        return x[0]
    top = np.max(x, axis=0)
    return top + np.log(np.exp(x - top).sum(axis=0))


def _normalise(logp: np.ndarray, beta: np.ndarray) -> np.ndarray:
    p = np.exp(logp - logp.max())
    return p / np.trapezoid(p, beta)


@dataclass(frozen=True)
class HRPosterior:
    r"""The posterior of :math:`\beta = \log \mathrm{HR}` of one transition, per table and pooled.

    Attributes
    ----------
    beta
        The grid.
    density
        ``(M, G)`` normalised densities, one per treated table.
    """

    beta: np.ndarray
    density: np.ndarray

    @property
    def pooled(self) -> np.ndarray:
        """Equal-weight average of the tables' densities."""
        return self.density.mean(axis=0)

    @staticmethod
    def _cdf(beta: np.ndarray, dens: np.ndarray) -> np.ndarray:
        cells = 0.5 * (dens[..., 1:] + dens[..., :-1]) * np.diff(beta)
        cdf = np.concatenate([np.zeros((*dens.shape[:-1], 1)), np.cumsum(cells, axis=-1)], axis=-1)
        return cdf / cdf[..., -1:]

    @property
    def cdf(self) -> np.ndarray:
        """Pooled CDF on the grid (trapezoid rule)."""
        return self._cdf(self.beta, self.pooled)

    def prob_below(self, hr: float) -> float:
        """:math:`P(\\mathrm{HR} < hr)` (pooled)."""
        return float(np.interp(np.log(hr), self.beta, self.cdf))

    def hr_quantile(self, q: float | np.ndarray) -> np.ndarray:
        """Pooled quantiles of HR."""
        cdf = self.cdf
        keep = np.concatenate([[True], np.diff(cdf) > 0])
        return np.exp(np.interp(q, cdf[keep], self.beta[keep]))

    def edge_mass(self) -> float:
        """Pooled posterior mass in the outer 1% of the grid at either end (should be ~0)."""
        cdf = self.cdf
        k = max(1, self.beta.size // 100)
        return float(cdf[k] + 1.0 - cdf[-k - 1])

    def draws(self, n_per_table: int, rng: np.random.Generator) -> np.ndarray:
        """``(M, n)`` exact draws of :math:`\\beta` by inverse CDF per table."""
        cdf = self._cdf(self.beta, self.density)
        out = np.empty((cdf.shape[0], n_per_table))
        for m in range(cdf.shape[0]):
            keep = np.concatenate([[True], np.diff(cdf[m]) > 0])
            out[m] = np.interp(rng.random(n_per_table), cdf[m][keep], self.beta[keep])
        return out


def hr_posterior(
    priors: Sequence[GammaMixture],
    events: np.ndarray,
    exposure: np.ndarray,
    control_events: np.ndarray,
    control_exposure: np.ndarray,
    *,
    a0: float,
    sd: float = HR_PRIOR_SD,
    grid: Grid | None = None,
) -> HRPosterior:
    """The posterior of log HR for one transition, every treated table (``events``, ``exposure``: ``(M, J)``)."""
    if not 0.0 <= a0 <= 1.0:
        raise ConfigError("a0", found=a0, expected="a power-prior weight in [0, 1]")
    ev, ex = np.atleast_2d(np.asarray(events, float)), np.atleast_2d(np.asarray(exposure, float))
    d, e = np.asarray(control_events, float), np.asarray(control_exposure, float)
    _check(priors, ev, ex, d, e)
    g = grid or Grid.for_prior(sd)
    dens = np.stack(
        [_normalise(log_density(g, priors, ev[m], ex[m], d, e, a0, sd), g.beta) for m in range(ev.shape[0])]
    )
    return HRPosterior(g.beta, dens)


def treated_conditional(
    priors: Sequence[GammaMixture],
    events: np.ndarray,
    exposure: np.ndarray,
    control_events: np.ndarray,
    control_exposure: np.ndarray,
    a0: float,
    beta: float,
) -> list[GammaMixture]:
    r"""The posterior of each :math:`\lambda_{T,j}` given :math:`\beta` (one table): a gamma mixture."""
    const, shape, base = _log_terms(
        priors, np.asarray(events, float), np.asarray(exposure, float), control_events, control_exposure, a0
    )
    rate = base + a0 * np.asarray(control_exposure, float)[:, None] * np.exp(-beta)
    out = []
    for j, p in enumerate(priors):
        k = p.n_components
        lw = const[j, :k] - shape[j, :k] * np.log(rate[j, :k])
        w = np.exp(lw - logsumexp(lw))
        out.append(GammaMixture(tuple(np.clip(w, 1e-300, None)), tuple(shape[j, :k]), tuple(rate[j, :k])))
    return out


def hazard_draws(
    post: HRPosterior,
    priors: Sequence[GammaMixture],
    events: np.ndarray,
    exposure: np.ndarray,
    control_events: np.ndarray,
    control_exposure: np.ndarray,
    *,
    a0: float,
    n_per_table: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact joint draws: :math:`\beta` ``(M n,)`` and :math:`\lambda_T` ``(M n, J)``, table by table.

    :math:`\lambda_C = \lambda_T e^{-\beta}`.
    """
    ev, ex = np.atleast_2d(np.asarray(events, float)), np.atleast_2d(np.asarray(exposure, float))
    d, e = np.asarray(control_events, float), np.asarray(control_exposure, float)
    beta = post.draws(n_per_table, rng)  # (M, n)
    lams = []
    for m in range(ev.shape[0]):
        const, shape, base = _log_terms(priors, ev[m], ex[m], d, e, a0)
        rate = base[None] + a0 * e[None, :, None] * np.exp(-beta[m])[:, None, None]  # (n, J, C)
        lw = const[None] - shape[None] * np.log(rate)
        prob = np.exp(lw - logsumexp(lw, axis=2, keepdims=True))
        u = rng.random((n_per_table, len(priors), 1))
        comp = np.minimum((np.cumsum(prob, axis=2) < u).sum(axis=2), prob.shape[2] - 1)  # (n, J)
        a = np.take_along_axis(np.broadcast_to(shape[None], rate.shape), comp[..., None], axis=2)[..., 0]
        r = np.take_along_axis(rate, comp[..., None], axis=2)[..., 0]
        lams.append(rng.gamma(a, 1.0 / r))
    return beta.reshape(-1), np.concatenate(lams, axis=0)
