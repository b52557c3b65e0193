r"""How much a gamma-mixture hazard prior weighs: ELIR and moment ESS, posterior weights, ECSS.

Setting. An interval hazard :math:`\lambda` (per day) has the prior
:math:`p(\lambda) = \sum_k w_k\, g_k(\lambda)`, :math:`g_k = \mathrm{Gamma}(a_k, b_k)` (shape
:math:`a_k`, rate :math:`b_k` per day), and the interval's data are :math:`D` events in :math:`E`
days of exposure (Poisson kernel :math:`\lambda^D e^{-\lambda E}`). One day of exposure has Fisher
information :math:`i_F(\lambda) = 1/\lambda`, so every effective sample size (ESS) below is first a
number of **exposure days**; events are days times a hazard.

ELIR ESS (Neuenschwander et al. 2020)
    :math:`\mathrm{ESS} = \mathrm{E}_p[i_p(\lambda)/i_F(\lambda)] = \int \lambda\, i_p(\lambda)\, p(\lambda)\,d\lambda`
    with :math:`i_p = -\frac{d^2}{d\lambda^2}\log p`. One gamma with :math:`a > 1`:
    :math:`i_p = (a-1)/\lambda^2` and :math:`\mathrm{E}[(a-1)/\lambda] = b`, the rate. See
    :func:`elir_ess` for when it exists, and how it is computed.
Moment ESS
    The mixture's mean :math:`m` and variance :math:`v` matched by one gamma:
    :math:`a^* = m^2/v` events in :math:`b^* = m/v` days (:func:`moment_ess`). For a robust mixture
    its vague component dominates :math:`v`, so :math:`(a^*, b^*)` understates how strongly the
    informative component pulls when the data agree with it.
Posterior component weights (Schmidli et al. 2014)
    :math:`\tilde w_k \propto w_k\, m_k(D, E)`, :math:`m_k` the negative-binomial marginal likelihood
    (:func:`models.prior_library.mixture_posterior`): how much of the informative component survives
    the data (:func:`component_weights`).
ECSS (after Wiesenfarth & Calderazzo 2020)
    Days :math:`k` of current data that must be added (:math:`k>0`) or removed (:math:`k<0`) under
    a weakly informative baseline prior so that the baseline posterior is as precise as the posterior
    under the prior analysed (:func:`ecss`).

Relation to RBesT (Weber et al. 2021, ``R/mixess.R``). ``ess(mixgamma(...), "elir")`` with the
default ``likelihood = "poisson"`` integrates :math:`i_p(\lambda)\cdot\lambda` over the prior, each
component in the logit of its own quantile: the same quantity in the same unit (observations of one
unit of exposure; here the rate unit is the day, so RBesT's number is :func:`elir_ess` in days).
``ess(.., "moment")`` returns :math:`b^*` (days). RBesT 1.9-0 does not check the shapes of gamma
components (it does for beta mixtures): for a shape below 1 it returns a large negative number for
the divergent integral, where :func:`elir_ess` returns ``None``; and for shapes just above 1 its
quadrature (R's ``integrate``, relative tolerance :math:`1.2\times 10^{-4}`) of the singular
integrand :math:`(a-1)/\lambda` stops early: 892 days for Gamma(1.05, 200 days) instead of 200.
Elsewhere the two agree to :math:`10^{-6}` (``tests/test_prior_weight.py``). With ``likelihood = "exp"`` RBesT counts
exponential observations (:math:`i_F = 1/\lambda^2`): :math:`a - 1` for one gamma by ELIR,
:math:`a^*` by moments — events, but not the events reported here (ELIR days times the prior mean).

References
----------
Neuenschwander B, Weber S, Schmidli H, O'Hagan A (2020). Predictively consistent prior effective
sample sizes. *Biometrics* 76(2):578–587. doi:10.1111/biom.13252.
Wiesenfarth M, Calderazzo S (2020). Quantification of prior impact in terms of effective current
sample size. *Biometrics* 76(1):326–336. doi:10.1111/biom.13124.
Schmidli H, Gsteiger S, Roychoudhury S, O'Hagan A, Spiegelhalter D, Neuenschwander B (2014). Robust
meta-analytic-predictive priors in clinical trials with historical control information.
*Biometrics* 70(4):1023–1032. doi:10.1111/biom.12242.
Takahasi H, Mori M (1974). Double exponential formulas for numerical integration. *Publ. RIMS Kyoto
Univ.* 9(3):721–741.
Weber S, Li Y, Seaman JW, Kakizume T, Schmidli H (2021). Applying meta-analytic-predictive priors
with the R Bayesian evidence synthesis tools. *J Stat Softw* 100(19). doi:10.18637/jss.v100.i19.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

# Module import, attributes looked up at call time: safe if prior_library imports this module.
import models.prior_library as _pl
from models.errors import PriorError
from models.priors import GammaMixture

#: Relative tolerance of the ELIR quadrature.
ELIR_RTOL: float = 1e-10
_TINY = np.finfo(float).tiny
_TS_HALF_WIDTH = 6.0  # tanh-sinh abscissae reach u and 1 - u of about 1e-275


def _arrays(mix: GammaMixture) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(mix, GammaMixture):
        raise PriorError("prior weight", found=type(mix).__name__, expected="a GammaMixture")
    return np.asarray(mix.weights, float), np.asarray(mix.shapes, float), np.asarray(mix.rates, float)


def _mean_var(mix: GammaMixture) -> tuple[float, float]:
    """Mean and variance of a gamma mixture (within + between components, no cancellation)."""
    w, a, b = _arrays(mix)
    mu = a / b
    m = float(w @ mu)
    return m, float(w @ (a / b**2) + w @ (mu - m) ** 2)


def elir_ess(mix: GammaMixture) -> float | None:
    r"""Expected-local-information-ratio ESS of a gamma mixture for a Poisson rate, in exposure days.

    .. math::
        \mathrm{ESS}_{\mathrm{ELIR}} = \int_0^\infty \lambda\, i_p(\lambda)\, p(\lambda)\, d\lambda,
        \qquad i_p = -(\log p)'' ,

    (Neuenschwander et al. 2020, eq. 6 with :math:`i_F(\lambda) = 1/\lambda`). One gamma with
    :math:`a > 1` gives exactly :math:`b`.

    Existence. Let :math:`s = (\log p)' = \sum_k r_k s_k`, :math:`s_k = (a_k - 1)/\lambda - b_k`,
    :math:`r_k = w_k g_k / p`, and :math:`a_\min = \min_k a_k`. As :math:`\lambda \to 0`,
    :math:`p = c\lambda^{a_\min-1}(1 + \rho)` with :math:`\rho = O(\lambda^\eta)`,
    :math:`\rho'' = O(\lambda^{\eta-2})` for some :math:`\eta > 0`, so
    :math:`\lambda\, i_p\, p = c(a_\min - 1)\lambda^{a_\min-2}(1 + O(\lambda^\eta))`.

    * :math:`a_\min < 1`: the integrand is negative and of order :math:`\lambda^{a_\min-2}`, not
      integrable at 0: the integral is :math:`-\infty`. Returns ``None``.
    * :math:`a_\min \ge 1`: integrating :math:`-\lambda p''` by parts (both boundary terms of
      :math:`\lambda p'` vanish; the tails are exponential),

      .. math::
          \mathrm{ESS}_{\mathrm{ELIR}} = \mathrm{E}_p[\lambda\, s(\lambda)^2] - p(0^+),
          \qquad p(0^+) = \textstyle\sum_{k:\,a_k = 1} w_k b_k .

      If :math:`a_\min > 1`, :math:`p(0^+) = 0`: the ESS is positive, and by Jensen
      (:math:`s^2 \le \sum_k r_k s_k^2`, :math:`\mathrm{E}_{g_k}[\lambda s_k^2] = b_k`) at most
      :math:`\sum_k w_k b_k`, the limit of well-separated components. If :math:`a_\min = 1` it is
      finite but can be :math:`\le 0` (one exponential: :math:`b - b = 0`; any mixture of exponentials
      is log-convex, so negative); ``None`` is returned then, the value when positive.

    Computation. For :math:`a_k > 1`, :math:`\lambda^{-1} g_k = \frac{b_k}{a_k - 1}\mathrm{Gamma}(a_k - 1, b_k)`
    and :math:`\lambda s^2 = (A - B\lambda)^2/\lambda` with :math:`A = \sum_j r_j (a_j - 1)`,
    :math:`B = \sum_j r_j b_j`, so

    .. math::
        \mathrm{E}_p[\lambda s^2] = \sum_k w_k \frac{b_k}{a_k - 1}\,
        \mathrm{E}_{\mathrm{Gamma}(a_k-1,\, b_k)}\big[(A - B\lambda)^2\big],

    a bounded integrand (no cancellation between large terms of opposite sign, unlike the
    definition near :math:`\lambda = 0`), integrated over the quantile :math:`u \in (0, 1)` of
    :math:`\mathrm{Gamma}(a_k - 1, b_k)` (:func:`scipy.special.gammaincinv`, and ``gammainccinv``
    for :math:`u > 1/2`, so both tails are resolved down to probabilities of about :math:`10^{-275}`) by
    the nested tanh-sinh rule (Takahasi & Mori 1974), which is insensitive to endpoint
    singularities; the step is halved until two successive estimates agree to :data:`ELIR_RTOL`.
    The responsibilities :math:`r_j` are computed from log densities. An exponential component
    (:math:`a_k = 1`) is integrated, :math:`(A - B\lambda)^2/\lambda`, over its own quantile.
    Deterministic, vectorised: about a millisecond per component.
    """
    w, a, b = _arrays(mix)
    if a.min() < 1.0:
        return None
    if w.size == 1:
        return float(b[0]) if a[0] > 1.0 else None
    am1 = a - 1.0
    lconst = np.log(w) + a * np.log(b) - special.gammaln(a)

    def resid2(lam: np.ndarray) -> np.ndarray:
        """:math:`(A - B\\lambda)^2` at the hazards ``lam``."""
        lg = lconst + np.outer(np.log(np.maximum(lam, _TINY)), am1) - np.outer(lam, b)
        r = np.exp(lg - lg.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        return (r @ am1 - (r @ b) * lam) ** 2

    total = 0.0
    for k in range(w.size):
        shape = am1[k] if am1[k] > 0 else 1.0  # shifted gamma, or the exponential itself

        def f(
            u: np.ndarray, v: np.ndarray, shape: float = shape, bk: float = b[k], shifted: bool = am1[k] > 0
        ) -> np.ndarray:
            lam = np.where(u <= 0.5, special.gammaincinv(shape, u), special.gammainccinv(shape, v)) / bk
            if shifted:
                return resid2(lam)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(lam > 0, resid2(lam) / lam, 0.0)

        total += w[k] * (b[k] / am1[k] if am1[k] > 0 else 1.0) * _tanh_sinh(f)
    total -= float(w[a == 1.0] @ b[a == 1.0])
    return float(total) if math.isfinite(total) and total > 0 else None


def _tanh_sinh(f: Callable[[np.ndarray, np.ndarray], np.ndarray], rtol: float = ELIR_RTOL) -> float:
    r"""Nested tanh-sinh quadrature of :math:`\int_0^1 f\,du`; ``f(u, v)`` gets ``u`` and ``v = 1 - u``.

    :math:`u = (1 + \tanh(\tfrac\pi2\sinh x))/2`, trapezoid in :math:`x \in [-6, 6]` with step
    :math:`h = 2^{-1}, 2^{-2}, \dots` (each level adds the midpoints), stopping when two successive
    estimates agree to ``rtol`` (at :math:`h \le 1/8`) or at :math:`h = 2^{-9}`.
    """

    def level(x: np.ndarray) -> float:
        y = 0.5 * math.pi * np.sinh(x)
        u, v = special.expit(2.0 * y), special.expit(-2.0 * y)
        return float(np.sum(f(u, v) * (math.pi * np.cosh(x) * u * v)))

    h = 0.5
    acc = level(np.arange(-_TS_HALF_WIDTH, _TS_HALF_WIDTH + h / 2, h))
    est = h * acc
    for _ in range(8):
        acc += level(np.arange(-_TS_HALF_WIDTH + h / 2, _TS_HALF_WIDTH, h))
        h /= 2
        new = h * acc
        if h <= 0.125 and abs(new - est) <= rtol * abs(new):
            return new
        est = new
    return est


def moment_ess(mix: GammaMixture) -> tuple[float, float]:
    """ESS by moment matching to one gamma: (events :math:`a^* = m^2/v`, exposure days :math:`b^* = m/v`)."""
    m, v = _mean_var(mix)
    return m * m / v, m / v


def mixture_ess(mix: GammaMixture) -> tuple[float, float, str]:
    """ESS of the whole mixture: ``(events, days, method)``.

    ELIR where defined (:func:`elir_ess`; events = ELIR days × prior mean hazard, method ``"elir"``),
    else moment matching (:func:`moment_ess`, method ``"moment"``) — e.g. for any mixture with a
    component of shape below 1, such as a robust mixture with the vague Gamma(0.5, 182.5 days).
    """
    days = elir_ess(mix)
    if days is None:
        return (*moment_ess(mix), "moment")
    return days * mix.mean, days, "elir"


def _check_data(events: float, exposure: float) -> tuple[float, float]:
    d, e = float(events), float(exposure)
    if not (math.isfinite(d) and math.isfinite(e) and d >= 0 and e >= 0) or (e == 0 and d > 0):
        raise PriorError(
            "prior weight", field="events/exposure", found=(events, exposure), expected="D >= 0 events in E >= 0 days"
        )
    return d, e


def component_weights(prior: GammaMixture, events: float, exposure: float) -> np.ndarray:
    r"""Posterior mixture weights :math:`\tilde w_k \propto w_k\, m_k(D, E)` given ``events`` in ``exposure`` days.

    Via :func:`models.prior_library.mixture_posterior`; with no data (:math:`D = E = 0`) the prior
    weights.
    """
    _arrays(prior)
    d, e = _check_data(events, exposure)
    return np.asarray(_pl.mixture_posterior(prior, d, e).weights, float)


#: :attr:`IntervalWeight.ecss_note` when no baseline posterior has the target variance (ECSS is nan).
ECSS_UNREACHABLE: str = "unreachable: the baseline posterior cannot be that uncertain"
#: :attr:`IntervalWeight.ecss_note` when the informative posterior mean exceeds twice the baseline's.
ECSS_MEAN_DRIVEN: str = "mean-driven: first pseudo-data raise the baseline variance"


def _ecss_solve(
    prior: GammaMixture, baseline: GammaMixture, events: float, exposure: float
) -> tuple[float, float, str]:
    """``(k days, m_hat, note)`` of :func:`ecss` (``note`` is ``""`` or an ``ECSS_*`` constant)."""
    _arrays(prior)
    if baseline.n_components != 1:
        raise PriorError("ECSS", field="baseline", found=baseline.n_components, expected="a single gamma")
    a0, b0 = float(baseline.shapes[0]), float(baseline.rates[0])
    d, e = _check_data(events, exposure)
    m_hat, v = _mean_var(_pl.mixture_posterior(prior, d, e))
    c0 = b0 + e
    delta = a0 + d - m_hat * c0  # c0 * (baseline posterior mean - m_hat)
    disc = m_hat * m_hat + 4.0 * v * delta
    if disc < 0.0:
        return math.nan, m_hat, ECSS_UNREACHABLE
    c = (m_hat + math.sqrt(disc)) / (2.0 * v)
    return c - c0, m_hat, (ECSS_MEAN_DRIVEN if c0 * m_hat < -2.0 * delta else "")


def ecss(prior: GammaMixture, baseline: GammaMixture, events: float, exposure: float) -> tuple[float, float]:
    r"""Effective current sample size of ``prior`` relative to ``baseline``: ``(events, days)``.

    Let :math:`V` and :math:`\hat m` be the posterior variance and mean under ``prior`` given
    :math:`D` events in :math:`E` days, and ``baseline`` :math:`= \mathrm{Gamma}(a_0, b_0)`. Adding
    :math:`k` days of current data with :math:`k\hat m` events (:math:`k < 0`: removing them) gives
    the baseline posterior :math:`\mathrm{Gamma}(a_0 + D + k\hat m,\ b_0 + E + k)`; the ECSS is the
    :math:`k` at which its variance equals :math:`V`:

    .. math::
        f(c) = \frac{\hat m c + \delta}{c^2} = V,\qquad c = b_0 + E + k,\quad
        \delta = a_0 + D - \hat m (b_0 + E) = (b_0 + E)(\mu_0 - \hat m),

    with :math:`\mu_0` the baseline posterior mean. This is a quadratic in the posterior rate
    :math:`c`, :math:`Vc^2 - \hat m c - \delta = 0`, solved in closed form — more robust than any
    bracketing root finder — by its larger root :math:`c = (\hat m + \sqrt{\hat m^2 + 4V\delta})/(2V)`
    (no cancellation: :math:`\hat m > 0`). Returned: ``(k * m_hat, k)``, events and days.

    * :math:`\delta \ge 0`: :math:`f` decreases from :math:`\infty` to 0 on :math:`c > 0`; one root.
    * :math:`\delta < 0` (baseline posterior mean below :math:`\hat m`): :math:`f` rises from 0 at
      :math:`c = -\delta/\hat m` to its maximum :math:`\hat m^2/(4|\delta|)` at
      :math:`c^* = 2|\delta|/\hat m`, then decreases; the decreasing branch :math:`c \ge c^*` (where
      more data means a more precise posterior, continuous with the case :math:`\delta \ge 0`) is
      taken. If :math:`V > \hat m^2/(4|\delta|)` no baseline posterior of this form is that
      uncertain and ``(nan, nan)`` is returned (note :data:`ECSS_UNREACHABLE`): the bound
      :math:`c^*` would not do, as it can be far above :math:`b_0 + E` for a very diffuse prior.
      If :math:`b_0 + E < c^*` (equivalently :math:`\hat m > 2\mu_0`) the observed data sit on the
      rising branch: the ECSS is then positive whenever it exists, whatever :math:`V` (note
      :data:`ECSS_MEAN_DRIVEN`); read it with the ESS. A measure free of the mean, such as matching
      the shape :math:`\hat m^2/V`, would avoid both cases; it coincides with this one when
      :math:`\delta = 0`.

    Special cases: ``prior`` = ``baseline`` gives 0; one gamma :math:`\mathrm{Gamma}(a, b)` whose
    posterior mean equals the baseline's gives exactly :math:`k = b - b_0`; with no data
    (:math:`D = E = 0`) it is the prior's own information relative to the baseline. The events
    :math:`D + k\hat m` may be negative when :math:`k < 0`; only the shape
    :math:`a_0 + D + k\hat m > 0` matters, and it is.

    Relation to Wiesenfarth & Calderazzo (2020). They define the ECSS as the number of current
    observations to add to or remove from the data so that the baseline posterior matches the
    informative posterior in a chosen measure of information, with the mean squared error of the
    posterior mean at a reference value of the parameter as their main measure, averaged over the
    sampling distribution. Here the measure is the posterior variance, conditional on the observed
    data, with the added pseudo-data at the informative posterior mean: closed-form and free of a
    reference value. It omits the squared bias that a conflicting prior adds to the MSE, so for a
    non-robust prior in conflict it can be far larger than the MSE version; a robust mixture in conflict
    inflates :math:`V` itself, and the ECSS turns negative.
    """
    k, m_hat, _ = _ecss_solve(prior, baseline, events, exposure)
    return k * m_hat, k


def pull(
    prior: GammaMixture, baseline: GammaMixture, events: float, exposure: float, robust: bool
) -> tuple[float, float]:
    r"""The prior's weight given these data, over the weakly informative baseline: ``(events, days)``.

    A robust mixture :math:`w\,\pi_I + (1 - w)\,\pi_R` is, after :math:`D` events in :math:`E` days,
    the informative posterior with probability :math:`\tilde w` (:func:`component_weights`) and the
    robust one otherwise. Each part brings its own ESS (:func:`mixture_ess`: ELIR where defined,
    which is predictively consistent for a MAP mixture, else moment matching; exact for one gamma)
    beyond the baseline :math:`\mathrm{Gamma}(a_0, b_0)`. The pull is the expectation,

    .. math::
        \tilde w\,\{\mathrm{ESS}(\pi_I) - (a_0, b_0)\} + (1 - \tilde w)\,\{\mathrm{ESS}(\pi_R) - (a_0, b_0)\},

    and for a prior that is not robust, :math:`\mathrm{ESS}(\pi) - (a_0, b_0)`. It is what the prior
    actually brings to *this* posterior: an informative component that keeps its weight counts in
    full — moment matching of the whole mixture, and the variance-matching :func:`ecss`, let the
    robust component's heavy tail hide it — and one the data reject counts little. It is 0 for
    ``prior`` = ``baseline``, :math:`(a - a_0, b - b_0)` for one gamma, and with no data
    (:math:`D = E = 0`) the prior-weighted ("robust-weighted") ESS. It plays the role of Wiesenfarth &
    Calderazzo's (2020) effective current sample size — data-dependent, in units of current data —
    read off the mixture's structure instead of a discrepancy measure.
    """
    _arrays(prior)
    if baseline.n_components != 1:
        raise PriorError("prior pull", field="baseline", found=baseline.n_components, expected="a single gamma")
    a0, b0 = float(baseline.shapes[0]), float(baseline.rates[0])
    if not robust:
        ev, days, _ = mixture_ess(prior)
        return ev - a0, days - b0
    inf = informative_part(prior, True)
    w_inf = float(component_weights(prior, events, exposure)[: inf.n_components].sum())
    i_ev, i_days, _ = mixture_ess(inf)
    r_ev, r_days = float(prior.shapes[-1]), float(prior.rates[-1])
    return (
        w_inf * (i_ev - a0) + (1.0 - w_inf) * (r_ev - a0),
        w_inf * (i_days - b0) + (1.0 - w_inf) * (r_days - b0),
    )


@dataclass(frozen=True)
class IntervalWeight:
    """What the prior of one interval weighs, before and after its data (see :func:`interval_weight`).

    Attributes
    ----------
    ess_events, ess_days, ess_method
        Whole-mixture ESS (:func:`mixture_ess`): events, exposure days, ``"elir"`` or ``"moment"``.
    informative_ess_events, informative_ess_days, informative_ess_method
        The same for the informative part (all components but the last when robust, else the whole).
    prior_weight
        Prior weight of the informative part (sum of its weights; 1 when not robust).
    posterior_weight
        Its posterior weight given the interval's events and exposure.
    pull_events, pull_days
        The prior's weight given these data (:func:`pull`), relative to the baseline.
    ecss_events, ecss_days
        Variance-matching effective current sample size (:func:`ecss`) relative to the baseline.
    ecss_note
        ``""``, or what the variance-matching version (:func:`ecss`) says about these data
        (:data:`ECSS_UNREACHABLE`, :data:`ECSS_MEAN_DRIVEN`), for the record.
    """

    ess_events: float
    ess_days: float
    ess_method: str
    informative_ess_events: float
    informative_ess_days: float
    informative_ess_method: str
    prior_weight: float
    posterior_weight: float
    pull_events: float
    pull_days: float
    ecss_events: float
    ecss_days: float
    ecss_note: str


def informative_part(prior: GammaMixture, robust: bool) -> GammaMixture:
    """The informative part: all components but the last (the robust one) when ``robust``, else ``prior``."""
    if not robust:
        return prior
    if prior.n_components < 2:
        raise PriorError(
            "prior weight", field="robust", found="a single gamma", expected="a mixture built by robustify"
        )
    return GammaMixture(prior.weights[:-1], prior.shapes[:-1], prior.rates[:-1])


def interval_weight(
    prior: GammaMixture, baseline: GammaMixture, events: float, exposure: float, robust: bool
) -> IntervalWeight:
    """Bundle the ESS, component weights and ECSS of one interval's prior given its data.

    Parameters
    ----------
    prior
        The interval's gamma-mixture prior (rates per day).
    baseline
        The weakly informative baseline prior of the interval, a single gamma.
    events, exposure
        The interval's events :math:`D` and exposure :math:`E` (days).
    robust
        ``prior`` was built by :func:`models.prior_library.robustify` with :math:`w < 1`: its last
        component is the robust one (with :math:`w = 1` ``robustify`` returns the informative mixture
        itself: pass ``False``).
    """
    ev, days, method = mixture_ess(prior)
    inf = informative_part(prior, robust)
    i_ev, i_days, i_method = mixture_ess(inf)
    n_inf = inf.n_components if robust else prior.n_components
    w_post = component_weights(prior, events, exposure)
    k, m_hat, note = _ecss_solve(prior, baseline, events, exposure)
    pull_ev, pull_days = pull(prior, baseline, events, exposure, robust)
    return IntervalWeight(
        ess_events=ev,
        ess_days=days,
        ess_method=method,
        informative_ess_events=i_ev,
        informative_ess_days=i_days,
        informative_ess_method=i_method,
        prior_weight=float(sum(prior.weights[:n_inf])),
        posterior_weight=float(w_post[:n_inf].sum()),
        pull_events=pull_ev,
        pull_days=pull_days,
        ecss_events=k * m_hat,
        ecss_days=k,
        ecss_note=note,
    )
