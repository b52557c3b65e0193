"""Exact (quadrature) engine of the commensurate prior (models.commensurate_exact).

Tolerances. Monte Carlo: a sample quantile ``q`` of ``n`` draws is checked through the reference
distribution function, ``|F(q) - p| < Z sqrt(p(1-p)/n)`` with ``Z = 4.5`` (fixed seeds, a false
alarm about once in 10^5 comparisons). Discretisation: the grid's own distribution function is
compared with an independent nested ``scipy.integrate`` computation (absolute 2e-5 in probability,
relative 2e-5 in the mean) and with a refined grid (shift below a tenth of the Monte Carlo standard
error ``sqrt(p(1-p)/4000)`` of 4,000 draws).
"""

from __future__ import annotations

import glob
import json
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from models.commensurate_exact import (
    CommensurateQuadrature,
    commensurate_logratio,
    exact_eligible,
    quadrature,
    theta_step,
)
from models.prior_library import CommensuratePrior
from models.priors import half_event_per_interval
from models.pwe import Model

Z = 4.5
PROBS = (0.025, 0.25, 0.5, 0.75, 0.975)


def _mc_ok(cdf_at_q: np.ndarray, n: int) -> None:
    p = np.asarray(PROBS)[:, None]
    assert (np.abs(cdf_at_q - p) < Z * np.sqrt(p * (1 - p) / n)).all(), cdf_at_q


def test_tiny_scale_is_the_conjugate_gamma_posterior():
    """scale 1e-4: lambda = lambda_h exactly enough, so the posterior is Gamma(a + D, b + E): grid quantiles
    within 1e-3 relative, draws' quantiles within Monte Carlo error of 20,000 draws."""
    cp = CommensuratePrior((3.0, 1.0, 0.0), (1000.0, 2000.0, 0.0), scale=1e-4)
    a, b = cp.historical
    d, e = np.array([5.0, 0.0, 2.0]), np.array([3000.0, 1500.0, 0.0])
    g = CommensurateQuadrature.build(cp, max_events=5)
    ref = np.column_stack([stats.gamma.ppf(PROBS, a[j] + d[j], scale=1 / (b[j] + e[j])) for j in range(3)])
    np.testing.assert_allclose(g.posterior_quantiles(d, e, PROBS), ref, rtol=1e-3)
    x = g.draw(d, e, 20_000, np.random.default_rng(3))
    q = np.quantile(x, PROBS, axis=0)
    _mc_ok(np.column_stack([stats.gamma.cdf(q[:, j], a[j] + d[j], scale=1 / (b[j] + e[j])) for j in range(3)]), 20_000)


def _nested_quad(a: float, b: float, s: float, d: float, e: float, x: float) -> tuple[float, float]:
    """Posterior mean and P(lambda < x) for one interval by nested adaptive quadrature over
    sigma (half-normal), theta = log lambda, and z (theta_h = theta - sigma z) — no grid."""
    lg = a * math.log(b) - special.gammaln(a)
    m_h, m_d = math.log(a / b), math.log(d / e)

    def p_theta(th: float, sg: float) -> float:
        f = lambda z: math.exp(lg + a * (th - sg * z) - b * math.exp(th - sg * z) - 0.5 * z * z)  # noqa: E731
        return integrate.quad(f, -9, 9, epsrel=1e-8, limit=200)[0] / math.sqrt(2 * math.pi)

    def middle(sg: float) -> np.ndarray:
        def f(th: float) -> np.ndarray:
            k = math.exp(d * (th - m_d) - e * math.exp(th) + d)
            return p_theta(th, sg) * k * np.array([1.0, math.exp(th), float(th < math.log(x))])

        return integrate.quad_vec(f, -14, -2, points=sorted([m_h, m_d, math.log(x)]), epsrel=1e-7)[0]

    out = integrate.quad_vec(lambda sg: stats.halfnorm.pdf(sg, scale=s) * middle(sg), 0, 6 * s, epsrel=1e-6)[0]
    return out[1] / out[0], out[2] / out[0]


def test_one_interval_matches_nested_scipy_quadrature():
    """Historical 2.5 events in 1000 days, current 6 in 1500 (moderate conflict), scale 0.7: the
    grid's posterior mean and P(lambda < 2.5e-3) agree with nested quad within 2e-5."""
    cp = CommensuratePrior((2.5,), (1000.0,), scale=0.7)
    (a,), (b,) = cp.historical
    d, e, x = 6.0, 1500.0, 2.5e-3
    mean_ref, cdf_ref = _nested_quad(a, b, cp.scale, d, e, x)
    g = CommensurateQuadrature.build(cp, max_events=d)
    post, kern = g._posterior(np.array([d]), np.array([e]))
    rows = g.density * kern[None]
    dens = np.einsum("s,sjn->jn", post, rows / rows.sum(axis=-1, keepdims=True))[0]
    assert (dens * np.exp(g.theta)).sum() == pytest.approx(mean_ref, rel=2e-5)
    assert g.posterior_cdf([d], [e], [[x]])[0, 0] == pytest.approx(cdf_ref, abs=2e-5)
    draws = g.draw([d], [e], 40_000, np.random.default_rng(0))[:, 0]
    assert abs(np.mean(draws < x) - cdf_ref) < Z * math.sqrt(cdf_ref * (1 - cdf_ref) / 40_000)


def test_grid_refinement_moves_quantiles_far_less_than_monte_carlo_error():
    """The shipped set's relapse prior with a small cohort's data: halving the bin width and doubling the
    sigma nodes shifts every posterior quantile by < 1/10 of the Monte Carlo sd of 4,000 draws."""
    from models.prior_library import load_prior_set

    cp = load_prior_set("md_anderson_commensurate").transitions["relapse"]
    d, e = np.array([0.0, 3.0, 2.0, 1.0, 0.0]), np.array([0.0, 1400.0, 2600.0, 3100.0, 900.0])
    coarse = quadrature(cp, max_events=d.max())
    fine = CommensurateQuadrature.build(cp, h=coarse.h / 2, n_sigma=2 * coarse.sigma.size)
    q = coarse.posterior_quantiles(d, e, PROBS)
    p = np.asarray(PROBS)[:, None]
    shift = np.abs(np.vstack([fine.posterior_cdf(d, e, q[i : i + 1]) for i in range(len(PROBS))]) - p)
    assert (shift < 0.1 * np.sqrt(p * (1 - p) / 4000)).all(), shift
    assert shift.max() < 1e-3


def test_draws_are_deterministic_and_the_run_records_the_quadrature():
    from tests.test_pwe import _cohort

    cp = CommensuratePrior((2.0, 2.0, 2.0, 1.0, 0.0), (900.0, 900.0, 900.0, 900.0, 0.0), 0.5)
    g = quadrature(cp)
    d, e = np.array([1.0, 2, 0, 1, 0]), np.array([500.0, 900, 1000, 800, 0])
    x1 = g.draw(d, e, 500, np.random.default_rng(7))
    assert np.array_equal(x1, g.draw(d, e, 500, np.random.default_rng(7)))
    assert not np.array_equal(x1, g.draw(d, e, 500, np.random.default_rng(8)))
    priors = half_event_per_interval().with_transition("relapse", cp)
    assert exact_eligible(priors) and not priors.conjugate
    model = Model([_cohort(30, seed=1), _cohort(30, seed=2)], priors=priors)
    a = model.fit(engine="exact", draws=200, chains=2, seed=4)
    b = model.fit(engine="exact", draws=200, chains=2, seed=4)
    assert np.array_equal(a.posterior["hazard_relapse"].values, b.posterior["hazard_relapse"].values)
    methods = json.loads(a.posterior.attrs["exact_methods"])
    assert methods["nrm"] == "conjugate" and methods["relapse"]["method"].startswith("quadrature")
    assert methods["relapse"]["theta_step"] == theta_step(cp, max(td.events["relapse"].max() for td in model.stats))


def test_marginal_prior_integrates_to_one_and_matches_prior_draws():
    """The marginal prior of the log hazards (sigma and lambda_h integrated out) integrates to 1 over
    (theta_1, theta_2), its marginal quantiles and a joint probability (which depends on the shared
    sigma) agree with ``cp.sample`` within Monte Carlo error."""
    cp = CommensuratePrior((2.0, 0.0), (1500.0, 0.0), scale=1.0)
    g = CommensurateQuadrature.build(cp, h=1 / 32)
    step = 8
    th = g.theta[::step]
    t1, t2 = np.meshgrid(th, th, indexing="ij")
    lp = g.prior_logpdf(np.exp(np.column_stack([t1.ravel(), t2.ravel()])))
    assert np.exp(lp).sum() * (step * g.h) ** 2 == pytest.approx(1.0, abs=2e-3)
    n = 40_000
    x = cp.sample(np.random.default_rng(11), n)
    q = np.quantile(x, PROBS, axis=0)
    _mc_ok(np.vstack([g.prior_cdf(q[i : i + 1]) for i in range(len(PROBS))]), n)
    # joint: P(lambda_1 < q1, lambda_2 < q2) = sum_s w_s F1(q1|s) F2(q2|s)
    q1, q2 = np.median(x, axis=0)
    w = np.exp(g.log_w)
    f = np.cumsum(g.density, axis=-1) * g.h  # (S, J, N), at bin upper edges
    i1, i2 = (np.searchsorted(g.theta + g.h / 2, np.log(v)) for v in (q1, q2))
    joint = float(np.sum(w * f[:, 0, i1] * f[:, 1, i2]))
    emp = float(np.mean((x[:, 0] < q1) & (x[:, 1] < q2)))
    assert abs(joint - emp) < Z * math.sqrt(emp * (1 - emp) / n) + 0.002  # + bin rounding of q
    assert joint > 0.252  # the shared sigma couples the intervals (independent: 0.25)


def test_logratio_of_a_commensurate_set_is_its_marginal_density_over_the_baseline():
    from models.constants import DEFAULT_CUTS
    from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS
    from models.power_scaling import informative_logratio
    from models.priors import sample_prior_hazards, weak

    cp = CommensuratePrior((2.0,) * 5, (900.0,) * 5, 0.5)
    priors = weak().with_transition("relapse", cp)
    hz = sample_prior_hazards(
        priors, {"relapse": 5, "nrm": 5, "gvhd": 5, "death_after_relapse": 3}, 50, np.random.default_rng(1)
    )
    g = quadrature(cp)
    lr = commensurate_logratio(priors, hz, DEFAULT_CUTS, DEFAULT_RELAPSE_DEATH_CUTS, {"relapse": g})
    w = weak().per_interval("relapse", 5)
    base = sum(stats.gamma.logpdf(hz["relapse"][:, j], w[j].shapes[0], scale=1 / w[j].rates[0]) for j in range(5))
    want = g.prior_logpdf(hz["relapse"]) - np.log(hz["relapse"]).sum(axis=1) - base
    np.testing.assert_allclose(lr, want, rtol=1e-10)
    assert np.allclose(informative_logratio(weak(), hz, DEFAULT_CUTS, DEFAULT_RELAPSE_DEATH_CUTS), 0.0)


@pytest.mark.slow
def test_exact_agrees_with_nuts_on_the_shipped_commensurate_set():
    """md_anderson_commensurate on the 20 reconstructed tables: 1-year relapse and NRM incidence, EFS and
    OS — exact (quadrature, 4 x 1,000 draws per table) vs nutpie (4 x 1,000 per table): medians and
    2.5%/97.5% quantiles agree through each other's distribution functions within Z = 4.5 Monte
    Carlo standard errors (effective sizes of the NUTS quantity per table, summed over tables)."""
    pytest.importorskip("nutpie")
    import arviz as az

    from models.constants import RECONSTRUCTED_DIR
    from models.data import load_outcomes
    from models.derived import landmark_values
    from models.prior_library import load_prior_set

    tables = [load_outcomes(f) for f in sorted(glob.glob(str(RECONSTRUCTED_DIR / "draw_*.csv")))]
    model = Model(tables, priors=load_prior_set("md_anderson_commensurate"))
    ex = model.fit(engine="exact", draws=1000, chains=4, seed=1)
    nu = model.fit(engine="nuts", sampler="nutpie", draws=1000, tune=1000, chains=4, seed=2)

    def quantities(idata):
        out: dict[str, list[np.ndarray]] = {}
        for t in range(len(tables)):
            hz = {
                k: idata.posterior[f"hazard_{k}"]
                .isel(table=t)
                .to_numpy()
                .reshape(-1, idata.posterior[f"hazard_{k}"].shape[-1])
                for k in ("relapse", "nrm", "gvhd", "death_after_relapse")
            }
            lm = landmark_values(hz, model.cuts, model.relapse_death_cuts, [365])
            for q in ("relapse_cif", "nrm_cif", "efs", "os"):
                out.setdefault(q, []).append(lm[q][365].reshape(4, 1000))
        return out

    qe, qn = quantities(ex), quantities(nu)
    for q in qe:
        xe = np.concatenate([v.ravel() for v in qe[q]])
        xn = np.concatenate([v.ravel() for v in qn[q]])
        ess_b = sum(float(az.ess(v, method="bulk")) for v in qn[q])
        ess_t = sum(float(az.ess(v, method="tail")) for v in qn[q])
        for p in (0.025, 0.5, 0.975):
            f = np.mean(xe <= np.quantile(xn, p))
            ess = ess_b if p == 0.5 else ess_t
            assert abs(f - p) < Z * math.sqrt(p * (1 - p) * (1 / ess + 1 / xe.size)), (q, p, f, ess)
        print(q, [round(float(np.quantile(x, p)), 4) for x in (xe, xn) for p in (0.025, 0.5, 0.975)])
