"""MAP prior by quadrature (models/map_prior.py) against independent computations.

Tolerances are stated next to the assertions with their reason.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import models.map_prior as mp
from models.errors import PriorError

M0, S0 = math.log(1 / 365), 2.0


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("TXBAYES_CACHE", "off")


def quad_log_likelihood(d: float, e: float, mu: float, tau: float) -> float:
    """log of the integral of exp(d theta - e exp(theta)) N(theta; mu, tau) by adaptive scipy quad.

    The integrand is scaled by its maximum (mode by root finding on the derivative, which is
    strictly decreasing) and integrated over the mode +- 40 curvature SDs on the right (where the
    exp term cuts it off) and +- 40 tau on the left (where only the normal does), with break points.
    """
    lf = lambda t: d * t - e * math.exp(t) + stats.norm.logpdf(t, mu, tau)  # noqa: E731
    mode = optimize.brentq(lambda t: d - e * math.exp(t) - (t - mu) / tau**2, mu - 200.0, mu + 60.0, xtol=1e-14)
    top = lf(mode)
    sd = 1 / math.sqrt(e * math.exp(mode) + 1 / tau**2)
    a, b = mode - 40 * max(sd, min(tau, 40 * sd)) - (40 * tau if d == 0 else 0.0), mode + 40 * sd
    pts = [mode + k * sd for k in (-10, -3, -1, 1, 3, 10) if a < mode + k * sd < b]
    v, _ = integrate.quad(lambda t: math.exp(lf(t) - top), a, b, epsabs=0, epsrel=1e-13, limit=2000, points=pts)
    return math.log(v) + top


# ----------------------------------------------------------------------------- (1) source likelihood


@pytest.mark.parametrize("d", [0.0, 0.3, 5.0, 200.0])
@pytest.mark.parametrize("e", [100.0, 5000.0, 50_000.0])
def test_source_likelihood_matches_adaptive_quad(d, e):
    """48-node AGQ vs scipy quad (relative tolerance 1e-13) for tau from 1e-6 to 2.5.

    Tolerance 1e-5 on log L (a relative error of 1e-5 of the likelihood): the integrand is
    log-concave and, after centring and scaling at its mode, close to Gaussian; the worst case in
    this range (d = 0, wide tau, large exposure: a normal cut off by a sharp step) is 3.4e-6.
    tau <= 2.5 is 5 prior SDs at the default tau_scale = 0.5.
    """
    for mu in (-12.0, -6.0, -1.0):
        for tau in (1e-6, 0.01, 0.3, 1.0, 2.5):
            got = float(mp.log_source_likelihood(d, e, mu, tau))
            assert got == pytest.approx(quad_log_likelihood(d, e, mu, tau), abs=1e-5), (d, e, mu, tau)


def test_source_likelihood_limits():
    # tau = 0 is the Poisson kernel at theta = mu, and tau -> 0 tends to it continuously
    k = 7 * -6.0 - 900.0 * math.exp(-6.0)
    assert float(mp.log_source_likelihood(7.0, 900.0, -6.0, 0.0)) == k
    assert float(mp.log_source_likelihood(7.0, 900.0, -6.0, 1e-9)) == pytest.approx(k, abs=1e-12)
    # hardest case, well beyond the default prior (tau = 5 is 10 prior SDs): d = 0, a wide normal
    # cut off by the kernel's step; 48 nodes still give 1e-3 on log L
    for mu in (-12.0, -6.0):
        got = float(mp.log_source_likelihood(0.0, 5000.0, mu, 5.0))
        assert got == pytest.approx(quad_log_likelihood(0.0, 5000.0, mu, 5.0), abs=2e-3)
    # broadcasting over a grid gives the same as element by element
    mu, tau = np.array([[-7.0], [-5.0]]), np.array([[0.2, 1.0]])
    grid = mp.log_source_likelihood(3.0, 2000.0, mu, tau)
    assert grid.shape == (2, 2)
    assert grid[1, 0] == pytest.approx(float(mp.log_source_likelihood(3.0, 2000.0, -5.0, 0.2)), rel=1e-14)


# ----------------------------------------------------------------------------- (2) tau -> 0 limit


def test_one_source_tiny_tau_is_the_single_lognormal_posterior():
    """tau_scale = 1e-3: the predictive is the posterior of lambda under a LogNormal(M0, 2) prior.

    Reference: 1-D quad of prior x Poisson kernel over theta = log lambda. The predictive adds
    tau z with tau ~ 1e-3 (variance 1e-6 against a posterior variance of ~1/d = 0.1: negligible).
    What remains is the grid: mu is uniform within its cell (as the draws are), which widens the
    posterior of mu by h^2/12 (h = 1/128 of a +-8 SD range: +0.13% variance) and moves the 5% and
    95% quantiles by ~5e-4 relative; hence 1e-3 on quantiles and 2e-4 on the mean (7e-5 seen).
    """
    d, e = 9.0, 6000.0
    lf = lambda t: d * t - e * math.exp(t) - 0.5 * ((t - M0) / S0) ** 2  # noqa: E731
    top = lf(math.log(d / e))
    a, b = math.log(d / e) - 6, math.log(d / e) + 4
    f = lambda t: math.exp(lf(t) - top)  # noqa: E731
    z = integrate.quad(f, a, b, epsabs=0, epsrel=1e-12)[0]
    cdf = lambda t: integrate.quad(f, a, t, epsabs=0, epsrel=1e-12)[0] / z  # noqa: E731
    mean = integrate.quad(lambda t: math.exp(t) * f(t), a, b, epsabs=0, epsrel=1e-12)[0] / z
    post = mp.map_posterior(np.array([d]), np.array([e]), 1e-3)
    assert post.mean() == pytest.approx(mean, rel=2e-4)
    for p in (0.05, 0.5, 0.95):
        ref = math.exp(optimize.brentq(lambda t, p=p: cdf(t) - p, a, b, xtol=1e-12))
        assert post.quantile(p) == pytest.approx(ref, rel=1e-3)
    # the seeded draws of the full fit reproduce it within Monte Carlo error of 40,000 draws
    # (the probability scale: 4 SDs of sqrt(p(1-p)/n) ~ 0.0044 at the median)
    fit = mp.fit_map(np.array([[d]]), np.array([[e]]), tau_scale=1e-3, seed=5)
    for p in (0.05, 0.5, 0.95):
        assert cdf(math.log(np.quantile(fit.draws[0], p))) == pytest.approx(p, abs=0.0045)


# ----------------------------------------------------------------------------- (3) brute force


def test_two_source_predictive_matches_importance_sampling():
    """A realistic two-source interval against self-normalised importance sampling from the prior.

    Brute force, sharing nothing with the quadrature: 4 million draws of (mu, tau, z_1, z_2) from
    the prior, weights = the two Poisson kernels, predictive exp(mu + tau z_new). The tolerance is
    4 Monte Carlo SDs from the effective sample size: on the probability scale
    4 sqrt(p (1 - p) / ESS), and for the mean 4 times its delta-method SD.
    """
    d, e = np.array([12.0, 30.0]), np.array([8000.0, 15000.0])
    rng = np.random.default_rng(11)
    lam, lw = [], []
    for _ in range(8):
        n = 500_000
        mu = rng.normal(M0, S0, n)
        tau = np.abs(rng.normal(0, 0.5, n))
        th = mu[:, None] + tau[:, None] * rng.standard_normal((n, 2))
        lw.append((d * th - e * np.exp(th)).sum(axis=1))
        lam.append(np.exp(mu + tau * rng.standard_normal(n)))
    lam, lw = np.concatenate(lam), np.concatenate(lw)
    w = np.exp(lw - lw.max())
    w /= w.sum()
    ess = 1.0 / np.sum(w**2)
    assert ess > 50_000
    post = mp.map_posterior(d, e, 0.5)
    order = np.argsort(lam)
    cw = np.cumsum(w[order])
    for p in (0.05, 0.25, 0.5, 0.75, 0.95):
        q_is = lam[order][np.searchsorted(cw, p)]
        assert float(post.cdf(q_is)[0]) == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / ess))
    m_is = float(np.sum(w * lam))
    sd_m = math.sqrt(float(np.sum(w**2 * (lam - m_is) ** 2)))
    assert post.mean() == pytest.approx(m_is, abs=4 * sd_m)
    assert post.edge_mass < 1e-8 and post.quadrature_tv < 1e-6


# ----------------------------------------------------------------------------- (4) determinism, masks, range


def test_same_seed_same_fit_and_other_seed_other_draws():
    d = np.array([[4.0, 0.0], [11.0, 2.0]])
    e = np.array([[3000.0, 800.0], [9000.0, 1500.0]])
    a = mp.fit_map(d, e, seed=1)
    mp._map_fit_cached.cache_clear()
    b = mp.fit_map(d, e, seed=1)
    assert a is not b
    assert a.mixtures == b.mixtures and a.quality == b.quality
    for x, y in zip(a.draws, b.draws, strict=True):
        np.testing.assert_array_equal(x, y)
    c = mp.fit_map(d, e, seed=2)
    assert not np.array_equal(a.draws[0], c.draws[0])
    # the cell weights themselves do not depend on the seed
    assert a.mixtures[0].mean == pytest.approx(c.mixtures[0].mean, rel=0.02)


def test_masked_sources_and_uninformed_intervals():
    d = np.array([[5.0, 0.0, 3.0], [9.0, 4.0, 0.0]])
    e = np.array([[4000.0, 0.0, 2000.0], [7000.0, 3000.0, 0.0]])
    fit = mp.fit_map(np.vstack([d, [[0.0, 0.0, 0.0]]]), np.vstack([e, [[0.0, 0.0, 0.0]]]))
    assert fit.mixtures[0] is not None and len(fit.mixtures) == 3
    # a source with zero exposure contributes nothing: interval 1 equals the one-source posterior
    one = mp.map_posterior(np.array([4.0]), np.array([3000.0]), 0.5)
    both = mp.map_posterior(np.array([0.0, 4.0]), np.array([0.0, 3000.0]), 0.5)
    np.testing.assert_array_equal(one.weights, both.weights)
    assert mp.fit_map(np.zeros((2, 1)), np.zeros((2, 1))).mixtures == (None,)
    for q in fit.quality:
        assert {"ks", "max_quantile_rel_error", "grid_edge_mass", "quadrature_tv"} <= set(q)
        assert q["grid_edge_mass"] < 1e-8 and q["quadrature_tv"] < 1e-4
    with pytest.raises(PriorError):
        mp.fit_map(d, e[:1])
    with pytest.raises(PriorError):
        mp.fit_map(d, e, tau_scale=0.0)


@pytest.mark.parametrize(
    ("d", "e"),
    [
        ([0.0, 0.0], [500.0, 2000.0]),  # no events: the prior's lower tail
        ([0.0, 0.4], [40.0, 90.0]),  # almost no information
        ([250.0, 400.0], [60_000.0, 100_000.0]),  # hundreds of events: a sharp posterior
        ([300.0, 20.0], [10_000.0, 50_000.0]),  # strong conflict: tau beyond its prior scale
    ],
)
def test_grid_holds_the_mass_for_any_data(d, e):
    post = mp.map_posterior(np.array(d), np.array(e), 0.5)
    assert post.edge_mass < 1e-8 and post.quadrature_tv < 1e-4
    assert math.isclose(post.weights.sum(), 1.0) and np.isfinite(post.mean())
    if sum(d) > 100:  # the predictive median lies between the source rates
        rates = np.array(d) / np.array(e)
        assert rates.min() < post.quantile(0.5) < rates.max()


# ----------------------------------------------------------------------------- against the old MCMC fit


def nuts_map_predictive(d: np.ndarray, e: np.ndarray, tau_scale: float, seed: int) -> list[np.ndarray]:
    """Reference: the former PyMC NUTS fit of the MAP model (non-centred), predictive draws per interval."""
    import pymc as pm
    import pytensor.tensor as pt

    n_s, n_j = d.shape
    mask = (e > 0).astype(float)
    with pm.Model():
        mu = pm.Normal("mu", M0, S0, shape=n_j)
        tau = pm.HalfNormal("tau", tau_scale, shape=n_j)
        z = pm.Normal("z", 0.0, 1.0, shape=(n_s, n_j))
        log_lam = mu[None, :] + tau[None, :] * z
        pm.Potential("poisson_kernel", pt.sum(mask * (d * log_lam - pt.exp(log_lam) * e)))
        idata = pm.sample(
            draws=5000,
            tune=1500,
            chains=4,
            cores=1,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
            target_accept=0.95,
        )
    mu_d = idata.posterior["mu"].values.reshape(-1, n_j)
    tau_d = idata.posterior["tau"].values.reshape(-1, n_j)
    rng = np.random.default_rng(seed)
    return [np.exp(mu_d[:, j] + tau_d[:, j] * rng.standard_normal(mu_d.shape[0])) for j in range(n_j)]


@pytest.mark.slow
def test_quadrature_matches_nuts_on_literature_death_after_relapse(monkeypatch):
    """Predictive 5/50/95% quantiles of the NUTS fit (4 x 5,000 draws) against the quadrature's CDF.

    Tolerance 0.01 on the probability scale: the NUTS quantiles' Monte Carlo SD is
    sqrt(p(1-p)/ESS) <= 0.0035 at ESS >= 2,000 for these predictive quantiles (z_new is drawn
    independently per draw), so 0.01 is about 3 SDs.
    """
    import models.prior_library as pl
    import models.prior_library.named_sets as named_sets  # build_transition looks fit_map up there
    from models.prior_sources import load_sources

    seen = []
    real = pl.fit_map

    def spy(d, e, **kw):
        seen.append((np.asarray(d, float), np.asarray(e, float), kw))
        return real(d, e, **kw)

    monkeypatch.setattr(named_sets, "fit_map", spy)
    ps = pl.load_prior_set("literature", sources=load_sources())
    assert ps.provenance["death_after_relapse"].method == "map"
    (d, e, kw), *_ = seen
    nuts = nuts_map_predictive(d, e, kw["tau_scale"], seed=7)
    for j in range(d.shape[1]):
        post = mp.map_posterior(d[:, j], e[:, j], kw["tau_scale"])
        for p in (0.05, 0.5, 0.95):
            assert float(post.cdf(np.quantile(nuts[j], p))[0]) == pytest.approx(p, abs=0.01), (j, p)


def test_a_cached_fit_has_the_digits_of_a_fresh_one(tmp_path, monkeypatch):
    """Caches never change a result's digits: the fit read back from disk equals the one computed."""
    import models.map_prior as mp

    monkeypatch.setenv("TXBAYES_CACHE", str(tmp_path))
    d, e = np.array([[3.0, 1.0], [5.0, 0.0]]), np.array([[900.0, 400.0], [1500.0, 0.0]])
    mp._map_fit_cached.cache_clear()
    fresh = mp.fit_map(d, e, seed=7)
    assert list((tmp_path / "map").glob("*.npz"))
    mp._map_fit_cached.cache_clear()
    again = mp.fit_map(d, e, seed=7)  # read from disk
    assert again.mixtures == fresh.mixtures and again.quality == fresh.quality
    for a, b in zip(again.draws, fresh.draws, strict=True):
        assert (a is None and b is None) or np.array_equal(a, b)
