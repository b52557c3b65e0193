"""Prior weight of gamma-mixture hazard priors: ELIR / moment ESS, posterior weights, ECSS.

Hand computations are written out next to the assertions. Reference values marked "RBesT" were
computed with RBesT 1.9-0 (github.com/Novartis/RBesT; its R sources, without the Stan models, sourced
into R 4.2.2, as RBesT itself needs a newer rstan), ``ess(mixgamma(...), "elir")`` and
``ess(mixgamma(...), "moment")`` with the default Poisson likelihood; RBesT's rates are ours, per day,
so its ESS is in days of exposure.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, special

from models.errors import PriorError
from models.prior_library import mixture_posterior, robustify
from models.prior_weight import (
    ECSS_MEAN_DRIVEN,
    ECSS_UNREACHABLE,
    IntervalWeight,
    component_weights,
    ecss,
    elir_ess,
    informative_part,
    interval_weight,
    mixture_ess,
    moment_ess,
    pull,
)
from models.priors import GammaMixture

G = GammaMixture


def _elir_by_definition(mix: GammaMixture) -> float:
    """ELIR from its definition, E_p[lambda * i_p(lambda)] with i_p = -(log p)'', by dense quadrature.

    Independent of the module's route (no integration by parts, no shifted gammas, no quantiles):
    in t = log(lambda), lambda * i_p * p dlambda = (lambda^2 i_p) p dt, with
    lambda^2 i_p = sum_k r_k (a_k - 1) - Var_r(a_k - 1 - b_k lambda) (r_k the responsibilities),
    integrated piecewise over t in [-3000, log(50 * largest mean) + 3] (the left tail is below
    exp(0.05 * -3000) relative for shapes >= 1.05).
    """
    w, a, b = (np.asarray(x, float) for x in (mix.weights, mix.shapes, mix.rates))
    lc = np.log(w) + a * np.log(b) - special.gammaln(a)

    def f(t: float) -> float:
        lam = math.exp(t)
        lg = lc + (a - 1) * t - b * lam
        top = lg.max()
        r = np.exp(lg - top)
        tot = r.sum()
        r /= tot
        x = (a - 1) - b * lam
        return float((r @ (a - 1) - (r @ (x * x) - (r @ x) ** 2)) * math.exp(top) * tot)

    edges = np.linspace(-3000.0, math.log(50 * (a / b).max()) + 3, 400)
    return sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0] for lo, hi in itertools.pairwise(edges))


# Mixtures used below: shapes near 1, three and four components, hazards per day of transplant size.
THREE = G((0.5, 0.3, 0.2), (3, 12, 1.2), (1000, 2500, 300))
NEAR1 = G((0.6, 0.4), (1.05, 30), (200, 6000))
FOUR = G((0.4, 0.3, 0.2, 0.1), (5, 9, 2.5, 40), (2000, 2600, 400, 30000))
SHAPE1 = G((0.5, 0.5), (1, 20), (100, 1000))  # one exponential component: ELIR finite
HAZARD2 = G((0.8, 0.2), (7.6, 1.5), (7049.5, 547.5))  # 7.6 events in 19.3 patient-years, plus a wide part
SEPARATED = G((0.5, 0.5), (400, 400), (400, 4000))  # means 1 and 0.1 per day, sd 0.05 and 0.005


# ----------------------------------------------------------------------------- ELIR


@pytest.mark.parametrize(("a", "b"), [(7.6, 7049.5), (50.0, 21.0), (1.5, 547.5), (1.0001, 3.0)])
def test_elir_of_one_gamma_is_its_rate(a: float, b: float) -> None:
    # i_p = (a - 1)/lambda^2, so lambda i_p = (a - 1)/lambda and E[1/lambda] = b/(a - 1): ESS = b.
    assert elir_ess(G.single(a, b)) == b


def test_elir_of_identical_components_is_the_rate() -> None:
    # Two copies of Gamma(a, b) are Gamma(a, b): b days, here through the general mixture route,
    # including a shape just above 1 (the shifted gamma has shape 0.05).
    assert elir_ess(G((0.5, 0.5), (7, 7), (300, 300))) == pytest.approx(300, rel=1e-12)
    assert elir_ess(G((0.3, 0.7), (1.05, 1.05), (200, 200))) == pytest.approx(200, rel=1e-10)


def test_elir_rbest_postmix_example() -> None:
    # RBesT tests/testthat/test-postmix.R: mixgamma(c(1, 10, 1), param = "mn") is Gamma(10, 1); after
    # postmix(n = 20, m = 2) it is Gamma(10 + 20 * 2, 1 + 20) = Gamma(50, 21), and ess() = 21.
    post = mixture_posterior(G.single(10, 1), events=40, exposure=20)
    assert (post.shapes, post.rates) == ((50.0,), (21.0,))
    assert elir_ess(post) == 21.0


@pytest.mark.parametrize(
    "mix",
    [
        G((0.5, 0.5), (0.5, 20), (182.5, 1000)),  # robust mixture with the vague component
        G.single(0.5, 182.5),
        G((0.8, 0.2), (7.6, 0.25), (7049.5, 231.9)),
        G.single(1.0, 100.0),  # ELIR = E[lambda b^2] - p(0) = b - b = 0
        G((0.5, 0.5), (1.0, 1.0), (100.0, 1000.0)),  # mixture of exponentials: log-convex, ELIR < 0
    ],
)
def test_elir_undefined(mix: GammaMixture) -> None:
    assert elir_ess(mix) is None


@pytest.mark.parametrize("mix", [THREE, NEAR1, FOUR, SHAPE1, HAZARD2])
def test_elir_matches_dense_quadrature_of_the_definition(mix: GammaMixture) -> None:
    assert elir_ess(mix) == pytest.approx(_elir_by_definition(mix), rel=1e-8)


def test_elir_matches_monte_carlo() -> None:
    # E_p[lambda s^2] with s the score, 400 000 draws (seed 3): within 5 standard errors.
    rng = np.random.default_rng(3)
    w, a, b = (np.asarray(x) for x in (THREE.weights, THREE.shapes, THREE.rates))
    lam = THREE.sample(rng, 400_000)
    lg = np.log(w) + a * np.log(b) - special.gammaln(a) + np.outer(np.log(lam), a - 1) - np.outer(lam, b)
    r = np.exp(lg - lg.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)
    v = (r @ (a - 1) - (r @ b) * lam) ** 2 / lam
    assert abs(elir_ess(THREE) - v.mean()) < 5 * v.std() / math.sqrt(v.size)


def test_elir_well_separated_limit_and_bounds() -> None:
    # Well separated: each component keeps its own curvature, ELIR = sum_k w_k b_k
    # = 0.5 * 400 + 0.5 * 4000 = 2200 days (moment matching: 2.7 days, the means differ tenfold).
    assert elir_ess(SEPARATED) == pytest.approx(2200, rel=1e-9)
    # 0 < ELIR <= sum_k w_k b_k (Jensen on the score; equality for separated or identical parts).
    for mix in (THREE, NEAR1, FOUR, HAZARD2):
        assert 0 < elir_ess(mix) < float(np.dot(mix.weights, mix.rates))


# RBesT 1.9-0 (see the module docstring): (mixture, elir, moment) in days.
RBEST = [
    (G((0.3, 0.7), (20, 50), (4, 10)), 7.15937758218, 6.89655172414),  # RBesT inst/examples/ess.R gmix
    (G.single(50, 21), 21.0, 21.0),
    (HAZARD2, 4627.53880031, 901.269432104),
    (SHAPE1, 291.569921247, 176.470588235),
    (SEPARATED, 2199.99999849, 2.69922090669),
    (FOUR, 1991.93438829, 534.227656088),
]


@pytest.mark.parametrize(("mix", "elir", "moment"), RBEST)
def test_rbest_reference_values(mix: GammaMixture, elir: float, moment: float) -> None:
    # RBesT integrates with R's integrate(rel.tol = eps^0.25 = 1.2e-4); it agrees to 4e-7 here.
    assert elir_ess(mix) == pytest.approx(elir, rel=1e-6)
    assert moment_ess(mix)[1] == pytest.approx(moment, rel=1e-10)


def test_where_rbest_is_inaccurate_the_definition_decides() -> None:
    # For shapes just above 1 RBesT's integrand (a - 1)/lambda is singular at 0 in its quantile
    # variable and R's integrate() stops early: RBesT gives 724.998 for THREE, 1764.74 for NEAR1,
    # 892.44 for Gamma(1.05, 200) and 355.16 for Gamma(1.2, 300) (exact: 200 and 300). Dense
    # quadrature of the definition gives 713.96999457 and 1349.27079903.
    assert elir_ess(THREE) == pytest.approx(713.96999457, rel=1e-9)
    assert elir_ess(NEAR1) == pytest.approx(1349.27079903, rel=1e-9)


def test_elir_deterministic() -> None:
    # the same mixture gives the same digits on every call (no random quadrature); its speed is
    # a benchmark's concern, not a test's (a timed assertion failed on a loaded machine)
    for mix in (THREE, NEAR1, FOUR, HAZARD2, G((0.5, 0.5), (1.001, 1.002), (10, 10))):
        first = elir_ess(mix)
        for _ in range(3):
            assert elir_ess(mix) == first


# ----------------------------------------------------------------------------- moment and mixture ESS


def test_moment_ess_by_hand() -> None:
    assert moment_ess(G.single(7.6, 7049.5)) == pytest.approx((7.6, 7049.5), rel=1e-12)
    # w = (1/2, 1/2), Gamma(2, 1000) and Gamma(8, 2000): means 0.002 and 0.004, m = 0.003;
    # v = within 0.5 * 2/1000^2 + 0.5 * 8/2000^2 = 2e-6, plus between 0.5 * 0.001^2 * 2 = 1e-6: 3e-6.
    # a* = 0.003^2 / 3e-6 = 3 events, b* = 0.003 / 3e-6 = 1000 days.
    assert moment_ess(G((0.5, 0.5), (2, 8), (1000, 2000))) == pytest.approx((3.0, 1000.0), rel=1e-12)


def test_mixture_ess_methods() -> None:
    # One gamma: ELIR b days, events b * a/b = a.
    assert mixture_ess(G.single(7.6, 7049.5)) == pytest.approx((7.6, 7049.5, "elir"))
    # Two components: events = ELIR days x prior mean.
    ev, days, method = mixture_ess(HAZARD2)
    assert method == "elir" and ev == pytest.approx(days * HAZARD2.mean, rel=1e-14)
    # A vague component (shape 0.5): ELIR undefined, moment matching.
    vague = G((0.8, 0.2), (7.6, 0.5), (7049.5, 182.5))
    assert mixture_ess(vague) == (*moment_ess(vague), "moment")


# ----------------------------------------------------------------------------- posterior weights


def test_component_weights_against_direct_bayes() -> None:
    mix, d, e = THREE, 3.0, 1500.0

    # Direct: w_k * integral of g_k(lambda) lambda^D exp(-lambda E), by quadrature, normalised.
    def joint(x: float, a: float, b: float) -> float:
        return math.exp(a * math.log(b) - special.gammaln(a) + (a + d - 1) * math.log(x) - (b + e) * x)

    raw = [
        wk
        * integrate.quad(joint, 0, 0.1, args=(a, b), points=[(a + d) / (b + e)], epsabs=0, epsrel=1e-12, limit=200)[0]
        for wk, a, b in zip(mix.weights, mix.shapes, mix.rates, strict=True)
    ]
    np.testing.assert_allclose(component_weights(mix, d, e), np.array(raw) / sum(raw), rtol=1e-8)
    # Closed form for two components: w_k b_k^a_k Gamma(a_k + D) / (Gamma(a_k) (b_k + E)^(a_k + D)).
    two = G((0.8, 0.2), (7.6, 0.5), (7049.5, 182.5))
    lk = [
        math.log(w) + a * math.log(b) + math.lgamma(a + 2) - math.lgamma(a) - (a + 2) * math.log(b + 1000)
        for w, a, b in zip(two.weights, two.shapes, two.rates, strict=True)
    ]
    p1 = 1 / (1 + math.exp(lk[1] - lk[0]))
    np.testing.assert_allclose(component_weights(two, 2, 1000), [p1, 1 - p1], rtol=1e-12)
    # No data: the prior weights.
    np.testing.assert_allclose(component_weights(two, 0, 0), [0.8, 0.2], rtol=1e-12)


@pytest.mark.parametrize(("d", "e"), [(-1, 10), (1, 0), (1, -5), (math.nan, 10), (1, math.inf)])
def test_bad_data_is_rejected(d: float, e: float) -> None:
    with pytest.raises(PriorError):
        component_weights(THREE, d, e)
    with pytest.raises(PriorError):
        ecss(THREE, G.single(1, 365), d, e)


# ----------------------------------------------------------------------------- ECSS

BASE = G.single(0.25, 91.25)  # a weak baseline: a quarter event at one event per patient-year
INF = G.single(7.6, 7049.5)
ROBUST = G((0.8, 0.2), (7.6, 0.25), (7049.5, 0.25 * 7049.5 / 7.6))  # robust part centred on INF's mean


def _var(mix: GammaMixture) -> float:
    w, a, b = (np.asarray(x) for x in (mix.weights, mix.shapes, mix.rates))
    return float(w @ (a / b**2 + (a / b) ** 2) - mix.mean**2)


@pytest.mark.parametrize(("d", "e"), [(0, 0), (3, 1000), (0, 400), (40, 2000)])
def test_ecss_of_the_baseline_is_zero(d: float, e: float) -> None:
    ev, days = ecss(BASE, BASE, d, e)
    assert abs(days) < 1e-9 * (BASE.rates[0] + e) and abs(ev) < 1e-12


def test_ecss_single_gamma_equal_means_is_rate_difference() -> None:
    # Gamma(4, 1000) and baseline Gamma(1, 250), D = 3 in E = 750 days: posterior means
    # 7/1750 = 0.004 and 4/1000 = 0.004 agree, variances 7/1750^2 and (4 + 0.004k)/(1000 + k)^2
    # = 0.004/(1000 + k): equal at k = 750 = b - b0 days, 750 * 0.004 = 3 events.
    assert ecss(G.single(4, 1000), G.single(1, 250), 3, 750) == pytest.approx((3.0, 750.0), rel=1e-12)
    # No data: prior means 0.004 both, the prior's own information relative to the baseline.
    assert ecss(G.single(4, 1000), G.single(1, 250), 0, 0) == pytest.approx((3.0, 750.0), rel=1e-12)
    # Means 4% apart (Gamma(8, 2100) vs Gamma(1, 250), D = 2, E = 500: posterior means 10/2600 and
    # 3/750): near b - b0 = 1850 days (the quadratic gives 1879.7).
    assert ecss(G.single(8, 2100), G.single(1, 250), 2, 500)[1] == pytest.approx(1850, rel=0.03)


@pytest.mark.parametrize(("d", "e"), [(0, 0), (2, 2000), (10, 2000), (25, 3000)])
def test_ecss_solves_the_variance_equation(d: float, e: float) -> None:
    post = mixture_posterior(ROBUST, d, e)
    ev, k = ecss(ROBUST, BASE, d, e)
    a0, b0 = BASE.shapes[0], BASE.rates[0]
    assert ev == pytest.approx(k * post.mean, rel=1e-12)
    assert (a0 + d + ev) / (b0 + e + k) ** 2 == pytest.approx(_var(post), rel=1e-9)


def test_ecss_negative_for_robust_mixture_in_conflict() -> None:
    # Agreement: 2 events in 2000 days (prior mean 0.00108/day): the informative part keeps 93%,
    # the prior adds thousands of days.
    assert ecss(ROBUST, BASE, 2, 2000)[1] > 3000
    # Conflict: 10 events in 2000 days (4.6 x the prior mean). The posterior splits 0.2 / 0.8 between
    # the components and is wider than the baseline posterior Gamma(10.25, 2091.25) given the same
    # data: the robust prior is worth less than no prior, ECSS < 0.
    assert component_weights(ROBUST, 10, 2000)[0] == pytest.approx(0.2, abs=0.02)
    assert _var(mixture_posterior(ROBUST, 10, 2000)) > 10.25 / 2091.25**2
    ev, days = ecss(ROBUST, BASE, 10, 2000)
    assert days < 0 and ev < 0
    # The same data under the informative gamma alone: variance shrinks, ECSS stays positive.
    assert ecss(INF, BASE, 10, 2000)[1] > 0


def test_ecss_unreachable_and_mean_driven() -> None:
    # Gamma(0.5, 50) (mean 0.01, variance 2e-4) vs baseline Gamma(1, 10000), no data:
    # delta = 1 - 0.01 * 10000 = -99, the largest baseline variance is 0.01^2/(4 * 99) = 2.5e-7 < 2e-4.
    days = ecss(G.single(0.5, 50), G.single(1, 10000), 0, 0)
    assert all(math.isnan(x) for x in days)
    assert interval_weight(G.single(0.5, 50), G.single(1, 10000), 0, 0, robust=False).ecss_note == ECSS_UNREACHABLE
    # Gamma(50, 5000) (mean 0.01, V = 2e-6) vs Gamma(1, 1000): delta = -9, 2e-6 c^2 - 0.01 c + 9 = 0,
    # c = (0.01 + sqrt(1e-4 - 7.2e-5)) / 4e-6 = 3822.88, k = 2822.88 days; b0 = 1000 < c* = 1800.
    assert ecss(G.single(50, 5000), G.single(1, 1000), 0, 0)[1] == pytest.approx(
        (0.01 + math.sqrt(2.8e-5)) / 4e-6 - 1000, rel=1e-12
    )
    iw = interval_weight(G.single(50, 5000), G.single(1, 1000), 0, 0, robust=False)
    assert iw.ecss_note == ECSS_MEAN_DRIVEN
    # the reported pull is defined here: 50 - 1 = 49 events in 5000 - 1000 = 4000 days
    assert (iw.pull_events, iw.pull_days) == pytest.approx((49.0, 4000.0), rel=1e-12)
    assert interval_weight(INF, BASE, 2, 2000, robust=False).ecss_note == ""


def test_pull_by_hand() -> None:
    # prior = baseline: nothing added
    assert pull(BASE, BASE, 3, 1500, robust=False) == pytest.approx((0.0, 0.0), abs=1e-12)
    # one gamma Gamma(a, b): exactly (a - a0) events in (b - b0) days, whatever the data
    a, b, a0, b0 = 7.6, 7049.5, 0.2, 73.0
    assert pull(G.single(a, b), G.single(a0, b0), 2, 2000, robust=False) == pytest.approx((a - a0, b - b0), rel=1e-12)
    # a robust mixture: each part's excess ESS over the baseline, weighted by its posterior weight
    a0, b0 = BASE.shapes[0], BASE.rates[0]
    w = component_weights(ROBUST, 2, 2000)[0]
    expected = (
        w * (7.6 - a0) + (1 - w) * (ROBUST.shapes[1] - a0),
        w * (7049.5 - b0) + (1 - w) * (ROBUST.rates[1] - b0),
    )
    assert pull(ROBUST, BASE, 2, 2000, robust=True) == pytest.approx(expected, rel=1e-12)
    # data in conflict move the weight to the robust component: the pull falls
    assert pull(ROBUST, BASE, 10, 2000, robust=True)[0] < 0.5 * pull(ROBUST, BASE, 2, 2000, robust=True)[0]
    # no data: the prior weights (the robust-weighted ESS)
    assert pull(ROBUST, BASE, 0, 0, robust=True)[0] == pytest.approx(0.8 * (7.6 - a0) + 0.2 * (0.25 - a0), rel=1e-12)
    # a MAP-like informative part counts by its own (ELIR) ESS, not by its components' shapes
    two = G((0.4, 0.4, 0.2), (30.0, 30.0, 0.25), (3000.0, 30000.0, 91.25))
    inf_days = elir_ess(G((0.5, 0.5), (30.0, 30.0), (3000.0, 30000.0)))
    w2 = component_weights(two, 0, 0)[:2].sum()
    assert pull(two, BASE, 0, 0, robust=True)[1] == pytest.approx(w2 * (inf_days - b0), rel=1e-9)
    assert inf_days < 0.5 * (3000 + 30000)  # well below the components' average rate


def test_ecss_needs_a_single_gamma_baseline() -> None:
    with pytest.raises(PriorError):
        ecss(INF, ROBUST, 1, 100)


# ----------------------------------------------------------------------------- bundle


def test_interval_weight_robust() -> None:
    rob = robustify(INF, 0.8, G.single(0.25, 0.25 * 7049.5 / 7.6))
    assert rob.shapes == ROBUST.shapes and rob.weights == pytest.approx(ROBUST.weights, rel=1e-14)
    iw = interval_weight(rob, BASE, 2, 2000, robust=True)
    assert isinstance(iw, IntervalWeight)
    # Whole mixture: shape 0.25 in the robust part, so moment matching.
    assert (iw.ess_events, iw.ess_days, iw.ess_method) == (*moment_ess(rob), "moment")
    # Informative part Gamma(7.6, 7049.5): 7.6 events, 7049.5 days (19.3 patient-years), by ELIR.
    assert (iw.informative_ess_events, iw.informative_ess_days) == pytest.approx((7.6, 7049.5), rel=1e-12)
    assert iw.informative_ess_method == "elir"
    assert iw.prior_weight == pytest.approx(0.8)
    assert iw.posterior_weight == pytest.approx(component_weights(rob, 2, 2000)[0], rel=1e-14)
    assert iw.posterior_weight > 0.9
    assert (iw.pull_events, iw.pull_days) == pytest.approx(pull(rob, BASE, 2, 2000, robust=True), rel=1e-14)
    assert (iw.ecss_events, iw.ecss_days) == pytest.approx(ecss(rob, BASE, 2, 2000), rel=1e-14)


def test_interval_weight_multi_component_informative_part() -> None:
    # A two-component MAP part plus the robust component: the informative ESS is that of the first two.
    prior = G((0.5, 0.3, 0.2), (7.6, 15, 0.25), (7049.5, 9000, 300))
    inf = informative_part(prior, robust=True)
    assert inf.weights == pytest.approx((0.625, 0.375)) and inf.shapes == (7.6, 15)
    iw = interval_weight(prior, BASE, 1, 500, robust=True)
    assert (iw.informative_ess_events, iw.informative_ess_days, iw.informative_ess_method) == mixture_ess(inf)
    assert iw.prior_weight == pytest.approx(0.8)
    assert iw.posterior_weight == pytest.approx(component_weights(prior, 1, 500)[:2].sum(), rel=1e-14)


def test_interval_weight_not_robust() -> None:
    iw = interval_weight(HAZARD2, BASE, 1, 800, robust=False)
    assert (iw.ess_events, iw.ess_days, iw.ess_method) == mixture_ess(HAZARD2)
    assert (iw.informative_ess_events, iw.informative_ess_days) == (iw.ess_events, iw.ess_days)
    assert iw.prior_weight == pytest.approx(1.0) and iw.posterior_weight == pytest.approx(1.0)
    with pytest.raises(PriorError):
        interval_weight(INF, BASE, 1, 800, robust=True)
