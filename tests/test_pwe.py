"""The PWE model's engines: closed forms, agreement of exact and NUTS, recovery and coverage.

Monte Carlo tolerances: a posterior mean from draws with effective size ``ess`` has standard error
``sd / sqrt(ess)``; two estimates agree if they differ by less than 4 combined standard errors.
A quantile is compared through the other engine's distribution function: ``F_exact(q_nuts(p))``
must lie within ``p ± 4 sqrt(p (1 - p) (1/ess_nuts + 1/n_exact))``. With ~60 such checks the chance
of a false alarm is below 1%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.integrate import quad

from models.data import validate_outcomes
from models.derived import curves
from models.endpoints import derive
from models.errors import ConfigError, DataError, PriorError
from models.intervals import TRANSITIONS
from models.nonparametric import aalen_johansen, km_curve
from models.priors import GammaMixture, LogNormalHazard, RandomWalkLogHazard, half_event_per_interval, weak_shapes
from models.pwe import (
    Model,
    diagnostics,
    diagnostics_ok,
    gamma_mixture_posterior,
    hazard_draws,
    hazard_var,
)
from models.simulate import simulate_cohort

CUTS = (0, 100, 180, 365, 730)
RCUTS = (0, 90, 365)
TRUE = {
    "relapse": [1 / 500, 1 / 700, 1 / 1000, 1 / 1800, 1 / 3000],
    "nrm": [1 / 1500, 1 / 2000, 1 / 3000, 1 / 4000, 1 / 5000],
    "gvhd": [1 / 300, 1 / 400, 1 / 800, 1 / 1500, 1 / 2000],
    "death_after_relapse": [1 / 150, 1 / 300, 1 / 700],
}


def _flat(idata, k: str) -> np.ndarray:
    v = idata.posterior[hazard_var(k)].transpose("table", "chain", "draw", ...).to_numpy()
    return v.reshape(v.shape[0], -1, v.shape[-1])


# ----------------------------------------------------------------------------- conjugate algebra


def test_single_gamma_posterior_is_gamma_a_plus_d_b_plus_e():
    post = gamma_mixture_posterior(GammaMixture.single(0.5, 182.5), 3, 1000.0)
    assert post.weights == (1.0,)
    assert post.shapes == (3.5,) and post.rates == (1182.5,)


def test_mixture_posterior_weights_by_hand():
    # Hand computation: the marginal of d ~ Poisson(lambda E), lambda ~ Gamma(a, b) is negative
    # binomial with size a and success probability b / (b + E); weights ∝ w_k NB(d; a_k, b_k/(b_k+E)).
    prior = GammaMixture((0.3, 0.7), (1.0, 10.0), (100.0, 20000.0))
    d, e = 4, 800.0
    comps = zip(prior.weights, prior.shapes, prior.rates, strict=True)
    m = [w * stats.nbinom.pmf(d, a, b / (b + e)) for w, a, b in comps]
    hand = np.array(m) / sum(m)
    post = gamma_mixture_posterior(prior, d, e)
    np.testing.assert_allclose(post.weights, hand, rtol=1e-10)
    assert post.shapes == (5.0, 14.0) and post.rates == (900.0, 20800.0)
    # no events and no exposure leave the prior unchanged
    same = gamma_mixture_posterior(prior, 0, 0.0)
    np.testing.assert_allclose(same.weights, prior.weights)


def _cohort(n: int, seed: int, entry=(42.0, 227.0), follow=(156.0, 775.0)) -> pd.DataFrame:
    return simulate_cohort(n, TRUE, CUTS, RCUTS, entry_range=entry, followup_range=follow, seed=seed)


def test_exact_engine_matches_closed_form_posterior_moments():
    df = _cohort(60, 1)
    model = Model(df)  # default prior: the weakly informative baseline Gamma(a_j, 365 a_j)
    idata = model.fit(engine="exact", draws=2000, chains=4, seed=5)
    n = 8000
    for k in TRANSITIONS:
        x = _flat(idata, k)[0]
        a0 = weak_shapes(RCUTS if k == "death_after_relapse" else CUTS)
        a = a0 + model.stats[0].events[k]
        b = 365.0 * a0 + model.stats[0].exposure[k]
        mean, var = a / b, a / b**2
        np.testing.assert_array_less(np.abs(x.mean(axis=0) - mean), 4 * np.sqrt(var / n))
        # variance of the sample variance of a gamma: (mu4 - sigma^4)/n with mu4 = 3(a+2)sigma^4/a
        se_var = np.sqrt((3 * (a + 2) / a - 1) * var**2 / n)
        np.testing.assert_array_less(np.abs(x.var(axis=0) - var), 4 * se_var)
        for p in (0.025, 0.975):
            f = stats.gamma.cdf(np.quantile(x, p, axis=0), a, scale=1 / b)
            np.testing.assert_array_less(np.abs(f - p), 4 * np.sqrt(p * (1 - p) / n))


def test_exact_engine_mixture_draws_follow_the_posterior_mixture():
    g = GammaMixture((0.5, 0.5), (2.0, 2.0), (200.0, 4000.0))
    model = Model(_cohort(40, 2), priors=half_event_per_interval().with_transition("relapse", g))
    idata = model.fit(engine="exact", draws=5000, chains=4, seed=1)
    x = _flat(idata, "relapse")[0]
    for j in range(len(CUTS)):
        post = gamma_mixture_posterior(g, model.stats[0].events["relapse"][j], model.stats[0].exposure["relapse"][j])
        mean = post.mean
        second = sum(w * a * (a + 1) / b**2 for w, a, b in zip(post.weights, post.shapes, post.rates, strict=True))
        sd = np.sqrt(second - mean**2)
        assert abs(x[:, j].mean() - mean) < 4 * sd / np.sqrt(x.shape[0])


def test_exact_engine_is_reproducible_and_tables_get_their_own_streams():
    a, b = _cohort(30, 3), _cohort(30, 4)
    m = Model([a, b])
    i1 = m.fit(engine="exact", draws=100, chains=2, seed=9)
    i2 = m.fit(engine="exact", draws=100, chains=2, seed=9)
    i3 = m.fit(engine="exact", draws=100, chains=2, seed=10)
    v1, v2, v3 = (i.posterior["hazard_relapse"].to_numpy() for i in (i1, i2, i3))
    assert v1.shape == (2, 100, 2, 5)
    np.testing.assert_array_equal(v1, v2)
    assert not np.array_equal(v1, v3)
    assert not np.array_equal(v1[:, :, 0], v1[:, :, 1])
    assert i1.constant_data["events_relapse"].shape == (2, 5)
    hz, table = hazard_draws(i1, max_draws=100)
    assert hz["relapse"].shape == (100, 5) and (np.bincount(table) == 50).all()


# ----------------------------------------------------------------------------- validation


def test_model_validates_its_inputs():
    df = _cohort(20, 5)
    with pytest.raises(ConfigError, match="cuts"):
        Model(df, cuts=(0, 200, 100))
    with pytest.raises(ConfigError, match="relapse_death_cuts"):
        Model(df, relapse_death_cuts=(5, 10))
    with pytest.raises(PriorError, match="one per interval"):
        Model(df, priors=half_event_per_interval().with_transition("relapse", [GammaMixture.single(1, 100)] * 2))
    bad = df.copy()
    bad.loc[0, "relapse_day"] = bad.loc[0, "entry_day"] - 1
    with pytest.raises(DataError, match="relapse_day"):
        Model(bad)
    m = Model(df)
    with pytest.raises(ConfigError, match="engine"):
        m.fit(engine="gibbs")
    with pytest.raises(ConfigError, match="draws"):
        m.fit(draws=0)
    with pytest.raises(ConfigError, match="nuts"):
        Model(df, priors=half_event_per_interval().with_transition("nrm", LogNormalHazard(-7, 1))).fit(engine="exact")


def test_diagnostics_flag_too_few_draws():
    idata = Model(_cohort(20, 6)).fit(engine="exact", draws=50, chains=2, seed=1)
    diag = diagnostics(idata)
    assert set(diag.columns) >= {"variable", "table", "interval", "r_hat", "ess_bulk", "ess_tail", "divergences", "ok"}
    assert len(diag) == 3 * 5 + 3
    assert not diagnostics_ok(diag)  # ESS < 400 with 100 draws
    big = Model(_cohort(20, 6)).fit(engine="exact", draws=1000, chains=4, seed=1)
    assert diagnostics_ok(diagnostics(big))


# ----------------------------------------------------------------------------- exact vs NUTS


def _agree(x_exact: np.ndarray, x_nuts: np.ndarray, ess_bulk: float, ess_tail: float, what: str) -> None:
    n = x_exact.size
    sd = x_exact.std()
    assert abs(x_nuts.mean() - x_exact.mean()) < 4 * sd * np.sqrt(1 / ess_bulk + 1 / n), what
    for p in (0.025, 0.975):
        f = np.mean(x_exact <= np.quantile(x_nuts, p))
        assert abs(f - p) < 4 * np.sqrt(p * (1 - p) * (1 / ess_tail + 1 / n)), (what, p, f)


def _compare_engines(model: Model, sampler: str) -> None:
    ex = model.fit(engine="exact", draws=1000, chains=4, seed=1)
    nu = model.fit(engine="nuts", sampler=sampler, draws=1000, tune=1000, chains=4, seed=2)
    diag = diagnostics(nu)
    assert diagnostics_ok(diag), diag[~diag["ok"]]
    for k in TRANSITIONS:
        xe, xn = _flat(ex, k)[0], _flat(nu, k)[0]
        for j in range(xe.shape[1]):
            row = diag[(diag["variable"] == hazard_var(k)) & (diag["table"] == 0)].iloc[j]
            _agree(xe[:, j], xn[:, j], row["ess_bulk"], row["ess_tail"], f"{k}[{j}]")
    he, _ = hazard_draws(ex, None)
    hn, _ = hazard_draws(nu, None)
    ce, cn = curves(he, CUTS, RCUTS, 365), curves(hn, CUTS, RCUTS, 365)
    ess = diag["ess_bulk"].min()
    ess_t = diag["ess_tail"].min()
    for q in ("relapse_cif", "nrm_cif", "os"):
        _agree(ce.get(q)[:, 365], cn.get(q)[:, 365], ess, ess_t, q)


def test_exact_and_pymc_nuts_agree_for_gamma_and_gamma_mixture_priors():
    mix = GammaMixture((0.5, 0.5), (2.0, 2.0), (2000.0, 200.0))
    model = Model(_cohort(50, 11), priors=half_event_per_interval().with_transition("relapse", mix))
    _compare_engines(model, "pymc")


@pytest.mark.slow
def test_exact_and_nutpie_agree():
    pytest.importorskip("nutpie")
    # the default weak baseline: shapes 0.07-0.5, and intervals nobody is at risk in (death after
    # relapse beyond day 365 here), which NUTS samples through the exact posterior's quantile map
    _compare_engines(Model(_cohort(50, 12)), "nutpie")


def test_nuts_with_lognormal_and_random_walk_priors():
    # NRM: log-normal prior; the posterior of each interval is one-dimensional, so its mean is
    # checked against quadrature. GvHD: random walk on log hazards (checked to run and converge).
    ln = LogNormalHazard(-7.5, 1.0)
    priors = (
        half_event_per_interval()
        .with_transition("nrm", ln)
        .with_transition("gvhd", RandomWalkLogHazard(-6.5, 1.5, 0.5))
    )
    model = Model(_cohort(50, 13), priors=priors)
    assert not priors.conjugate
    nu = model.fit(engine="nuts", sampler="pymc", draws=1000, tune=1000, chains=4, seed=3)
    diag = diagnostics(nu)
    assert diagnostics_ok(diag), diag[~diag["ok"]]
    xn = _flat(nu, "nrm")[0]
    d, e = model.stats[0].events["nrm"], model.stats[0].exposure["nrm"]
    for j in range(len(CUTS)):

        def dens(x, j=j):
            return np.exp(d[j] * x - np.exp(x) * e[j] - 0.5 * ((x - ln.mu) / ln.sigma) ** 2)

        z = quad(dens, -20, 0, limit=200)[0]
        m1 = quad(lambda x: np.exp(x) * dens(x), -20, 0, limit=200)[0] / z
        m2 = quad(lambda x: np.exp(2 * x) * dens(x), -20, 0, limit=200)[0] / z
        row = diag[(diag["variable"] == "hazard_nrm")].iloc[j]
        assert abs(xn[:, j].mean() - m1) < 4 * np.sqrt((m2 - m1**2) / row["ess_bulk"]), j
    g = _flat(nu, "gvhd")[0]
    assert g.shape[1] == len(CUTS) and np.isfinite(g).all() and (g > 0).all()


# ----------------------------------------------------------------------------- large cohort vs lifelines


def _compare_nonparametric(df: pd.DataFrame, quantities: tuple[str, ...], tol: float = 0.02) -> None:
    idata = Model(df).fit(engine="exact", draws=500, chains=4, seed=1)
    hz, _ = hazard_draws(idata, None)
    cv = curves(hz, CUTS, RCUTS, 800)
    rel = derive(df, "relapse")
    for q in quantities:
        if q in ("relapse_cif", "nrm_cif"):
            cause = 1 if q == "relapse_cif" else 2
            est_curve = aalen_johansen(rel["duration"], rel["event"], cause, entry=rel["entry"])
        else:
            ep = derive(df, q)
            est_curve = km_curve(ep["duration"], ep["event"], ep["entry"])
        for t in (90, 180, 365, 730):
            est = est_curve.loc[est_curve["time"] <= t, "estimate"].iloc[-1]
            assert abs(cv.get(q)[:, t].mean() - est) < tol, (q, t, cv.get(q)[:, t].mean(), est)


def test_vague_posterior_matches_aalen_johansen_and_kaplan_meier_on_a_large_cohort():
    # 2,000 patients followed from transplant. Nonparametric standard errors at days 90-730 are
    # about 0.01; posterior means must lie within 0.02 (2 SE) of the estimates from the same data.
    df = validate_outcomes(_cohort(2000, 21, entry=(0.0, 0.0), follow=(400.0, 1200.0)), "sim")
    _compare_nonparametric(df, ("relapse_cif", "nrm_cif", "efs", "os"))


def test_delayed_entry_matches_nonparametric_out_of_remission_and_recovers_true_os():
    # Entry on days 0-60 and only for patients alive in remission (as in the study). Relapse, NRM
    # and EFS are left-truncated on the remission state, so Aalen-Johansen / Kaplan-Meier with
    # delayed entry are valid comparators. Kaplan-Meier OS with the same entry times is not: the
    # risk set excludes patients alive after an early relapse, and overstates OS (by ~0.02-0.03
    # here); the multi-state posterior recovers the true OS instead.
    df = validate_outcomes(_cohort(2000, 21, entry=(0.0, 60.0), follow=(400.0, 1200.0)), "sim")
    _compare_nonparametric(df, ("relapse_cif", "nrm_cif", "efs"))
    hz, _ = hazard_draws(Model(df).fit(engine="exact", draws=500, chains=4, seed=1), None)
    cv = curves(hz, CUTS, RCUTS, 730)
    truth = curves({k: np.array([v]) for k, v in TRUE.items()}, CUTS, RCUTS, 730)
    for t in (180, 365, 730):
        sd = cv.os[:, t].std()
        assert abs(cv.os[:, t].mean() - truth.os[0, t]) < 3 * sd, t


# ----------------------------------------------------------------------------- recovery and coverage


def _true_landmarks() -> dict[str, float]:
    cv = curves({k: np.array([v]) for k, v in TRUE.items()}, CUTS, RCUTS, 365)
    return {q: float(cv.get(q)[0, 365]) for q in ("relapse_cif", "nrm_cif", "os")}


def _coverage(reps: int, n: int, engine: str, draws: int, chains: int, seed: int) -> tuple[float, dict[str, float]]:
    """Coverage of 95% intervals of the relapse, NRM and post-relapse hazards and 1-year quantities."""
    truth = _true_landmarks()
    hits_h, tot_h = 0, 0
    hits_q = dict.fromkeys(truth, 0)
    rng = np.random.default_rng(seed)
    for r in range(reps):
        df = simulate_cohort(n, TRUE, CUTS, RCUTS, entry_range=(0.0, 120.0), followup_range=(500.0, 1500.0), seed=rng)
        idata = Model(df).fit(engine=engine, draws=draws, chains=chains, tune=draws, seed=seed + r)
        hz, _ = hazard_draws(idata, None)
        for k in ("relapse", "nrm", "death_after_relapse"):
            lo, hi = np.quantile(hz[k], [0.025, 0.975], axis=0)
            t = np.asarray(TRUE[k])
            hits_h += int(((lo <= t) & (t <= hi)).sum())
            tot_h += t.size
        cv = curves(hz, CUTS, RCUTS, 365)
        for q, t in truth.items():
            lo, hi = np.quantile(cv.get(q)[:, 365], [0.025, 0.975])
            hits_q[q] += int(lo <= t <= hi)
    return hits_h / tot_h, {q: h / reps for q, h in hits_q.items()}


def test_exact_engine_recovers_known_hazards_with_nominal_coverage():
    # 200 simulated cohorts of 300 patients: 2,600 hazard intervals. Binomial SD of a 95% coverage
    # over 2,600 is 0.4 points (more with dependence), over 200 cohorts 1.5 points (bounds ≈ 3 SD).
    # GvHD is left out: the simulation cannot record a GvHD before entry (see models.simulate).
    cov_h, cov_q = _coverage(200, 300, "exact", 500, 2, 100)
    assert 0.93 <= cov_h <= 0.97, cov_h
    for q, c in cov_q.items():
        assert 0.90 <= c <= 0.99, (q, c)


@pytest.mark.slow
def test_nuts_engine_coverage():
    # 100 cohorts: binomial SD 0.6 points over 1,300 hazard intervals, 2.2 points over 100 cohorts
    cov_h, cov_q = _coverage(100, 300, "nuts", 500, 2, 200)
    assert 0.92 <= cov_h <= 0.98, cov_h
    for q, c in cov_q.items():
        assert 0.88 <= c <= 1.0, (q, c)


def test_constructor_is_light_and_one_compiled_model_serves_every_dataset():
    from models import pwe

    before = dict(pwe._BACKENDS)
    a = Model(_cohort(20, 31), priors=half_event_per_interval().with_transition("nrm", LogNormalHazard(-7, 1)))
    b = Model(_cohort(25, 32), priors=half_event_per_interval().with_transition("nrm", LogNormalHazard(-6, 2)))
    assert pwe._BACKENDS == before  # nothing built or compiled by the constructor
    key_a = pwe._structure(a.priors, a.n_intervals)
    key_b = pwe._structure(b.priors, b.n_intervals)
    assert key_a == key_b  # same shapes: the same compiled model, only shared data differ
    backend = pwe.nuts_backend(key_a, a.coords)
    assert pwe.nuts_backend(key_b, b.coords) is backend
    model = backend.model
    va, vb = backend._values(a.stats[0], a.priors), backend._values(b.stats[0], b.priors)
    shared = {v.name for v in model.data_vars}
    assert set(va) <= shared and set(vb) <= shared
    assert not np.array_equal(va["exposure_relapse"], vb["exposure_relapse"])
    assert not np.array_equal(va["lognormal_intervals"], vb["lognormal_intervals"])
    assert backend.model is model


def test_nuts_fits_a_commensurate_prior_through_its_own_pymc_variables():
    """A whole-transition prior with ``build_pymc`` (the commensurate prior) is fitted by the NUTS
    engine: with historical data matching the cohort the posterior borrows (narrower than under the
    vague prior); with conflicting historical data it moves less than full pooling would."""
    from models.prior_library import CommensuratePrior

    df = _cohort(40, seed=3)
    model_v = Model(df)
    td = model_v.stats[0]
    d, e = td.events["relapse"], td.exposure["relapse"]
    rate = (d.sum() + 0.5) / (e.sum() + 182.5)
    agree = CommensuratePrior(tuple(np.full(5, 20.0 * rate * 365)), tuple(np.full(5, 20.0 * 365)), 0.2, label="agree")
    conflict = CommensuratePrior(tuple(np.full(5, 200.0 * rate * 365 * 10)), tuple(np.full(5, 200.0 * 365)), 0.2)
    out = {}
    for name, prior in (("agree", agree), ("conflict", conflict)):
        ps = half_event_per_interval().with_transition("relapse", prior)
        assert not ps.conjugate
        model = Model(df, priors=ps)
        # what is borrowed, not convergence (tests/test_nuts_convergence.py): a short run, not extended
        idata = model.fit(
            engine="nuts", sampler="pymc", draws=300, tune=300, chains=2, seed=5, target_accept=0.9, extend=1
        )
        lam = _flat(idata, "relapse")[0]  # (draws, intervals) of the single table
        assert np.isfinite(lam).all() and (lam > 0).all()
        out[name] = lam
    vague_sd = np.std(
        model_v.fit(engine="exact", draws=600, chains=2, seed=1).posterior["hazard_relapse"].values[..., 1]
    )
    assert np.std(out["agree"][:, 1]) < vague_sd
    # conflicting history (10x the cohort's hazard) is not pooled fully: the posterior stays well below it
    assert np.median(out["conflict"][:, 1]) < 5 * rate


def test_exact_engine_fits_a_commensurate_prior_by_quadrature_and_refuses_other_hierarchies():
    """The exact engine accepts commensurate transitions beside gamma mixtures (quadrature, recorded in
    the run attributes) and shows the same borrowing as the NUTS test above; a random walk still needs NUTS."""
    import json

    from models.prior_library import CommensuratePrior
    from models.priors import RandomWalkLogHazard

    df = _cohort(40, seed=3)
    model_v = Model(df)
    td = model_v.stats[0]
    d, e = td.events["relapse"], td.exposure["relapse"]
    rate = (d.sum() + 0.5) / (e.sum() + 182.5)
    agree = CommensuratePrior(tuple(np.full(5, 20.0 * rate * 365)), tuple(np.full(5, 20.0 * 365)), 0.2)
    conflict = CommensuratePrior(tuple(np.full(5, 200.0 * rate * 365 * 10)), tuple(np.full(5, 200.0 * 365)), 0.2)
    vague_sd = np.std(
        model_v.fit(engine="exact", draws=600, chains=2, seed=1).posterior["hazard_relapse"].values[..., 1]
    )
    for name, prior in (("agree", agree), ("conflict", conflict)):
        idata = Model(df, priors=half_event_per_interval().with_transition("relapse", prior)).fit(
            engine="exact", draws=600, chains=2, seed=5
        )
        assert json.loads(idata.posterior.attrs["exact_methods"])["relapse"]["method"].startswith("quadrature")
        lam = _flat(idata, "relapse")[0]
        assert np.isfinite(lam).all() and (lam > 0).all()
        if name == "agree":
            assert np.std(lam[:, 1]) < vague_sd
        else:
            assert np.median(lam[:, 1]) < 5 * rate
    rw = half_event_per_interval().with_transition("relapse", RandomWalkLogHazard(-7.0, 1.0, 0.5))
    with pytest.raises(ConfigError, match="nuts"):
        Model(df, priors=rw).fit(engine="exact")
