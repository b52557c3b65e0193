"""NUTS convergence: the quantile-map parametrisation, the bounded extension, and every shipped prior set.

Fast tests check the parametrisation of :mod:`models.nuts_backend` without sampling: for intervals
with independent gamma-mixture priors the log density NUTS sees is exactly standard normal in its
free coordinates (the model's prior and likelihood terms cancel the exact posterior's Jacobian), the
hazards are the exact posterior's quantiles, and the recorded ``lp`` is the log density on the
log-hazard scale. Stubs exercise the extension of failing runs and the advice in the warning.

Slow tests sample with nutpie: every shipped prior set on the 20 reconstructed tables, and exact vs
NUTS on simulated cohorts of 20-200 patients, where every table must pass R-hat <= 1.01, bulk and
tail ESS >= 400 and no divergences.

Monte Carlo tolerances (as in ``tests/test_pwe.py``): means within ``Z`` combined standard errors,
quantiles through the other engine's distribution function. ``Z = 4.5`` here: with about 1,500
comparisons per test the chance of a false alarm is about 1% (the seeds are fixed).
"""

from __future__ import annotations

import glob
import json
import time
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats
from scipy.special import gammaln, logsumexp

from models import pwe
from models.constants import RECONSTRUCTED_DIR
from models.data import load_outcomes
from models.derived import curves
from models.intervals import TRANSITIONS
from models.priors import GammaMixture, LogNormalHazard, weak
from models.pwe import (
    ESS_BULK_MIN,
    ESS_TAIL_MIN,
    RHAT_MAX,
    ConvergenceWarning,
    Model,
    convergence_advice,
    diagnostics,
    diagnostics_ok,
    gamma_mixture_posterior,
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
Z = 4.5
SHIPPED_SETS = (
    "weak",
    "half_event_per_interval",
    "literature",
    "md_anderson",
    "skeptical",
    "enthusiastic",
    "literature_blast",
    "md_anderson_commensurate",
)


def _cohort(n: int, seed: int) -> pd.DataFrame:
    return simulate_cohort(n, TRUE, CUTS, RCUTS, entry_range=(42.0, 227.0), followup_range=(156.0, 775.0), seed=seed)


def _mixture_priors():
    """Weak baseline, a robust two-component relapse prior and a four-component death-after-relapse prior
    (the shapes of the shipped MAP mixtures), and one log-normal NRM interval."""
    base = weak(CUTS, RCUTS)
    rel = [GammaMixture((0.8, 0.2), (0.64, p.shapes[0]), (489.0, p.rates[0])) for p in base.per_interval("relapse", 5)]
    dar = [
        GammaMixture((0.35, 0.42, 0.03, 0.2), (3.7, 37.2, 0.83, p.shapes[0]), (1202.0, 12893.0, 82.7, p.rates[0]))
        for p in base.per_interval("death_after_relapse", 3)
    ]
    nrm = [*base.per_interval("nrm", 5)[:4], LogNormalHazard(-7.5, 1.0)]
    return base.with_transition("relapse", rel).with_transition("death_after_relapse", dar).with_transition("nrm", nrm)


def _backend_at(model: Model, table: int = 0):
    """The PyMC model of ``model``'s backend with the data of ``table`` set, the values set, and a
    function from a point ``{"z_intervals": ..., "s_intervals": ...}`` to ``[named outputs]``."""
    import pymc as pm

    backend = pwe.nuts_backend(pwe._structure(model.priors, model.n_intervals), model.coords)
    values = backend._values(model.stats[table], model.priors)
    m = backend.model
    pm.set_data(values, model=m)

    def outputs(names: list[str]):
        outs = m.replace_rvs_by_values([m[n] for n in names])
        fn = m.compile_fn(outs, inputs=m.value_vars, on_unused_input="ignore")
        return lambda point: fn(point)

    return m, values, outputs


# ----------------------------------------------------------------------------- the parametrisation (fast)


def test_conjugate_intervals_are_standard_normal_in_the_sampler_coordinates():
    """Weak baseline and robust mixtures, some intervals without exposure: the log density NUTS sees
    is -|x|^2/2 + const in the coordinates of the gamma intervals, and its gradient is -x; the
    hazards are the quantiles of the exact posterior's component chosen by ``s`` (the component
    probabilities are the exact engine's posterior weights)."""
    model = Model(_cohort(30, 7), priors=_mixture_priors())
    td = model.stats[0]
    assert (td.exposure["death_after_relapse"] == 0).sum() == 2 and (td.exposure["relapse"] == 0).any()
    m, values, outputs = _backend_at(model)
    is_g = values["is_gamma_intervals"] > 0.5
    logp = m.compile_logp()
    dlogp = m.compile_dlogp()
    hazards = outputs([hazard_var(k) for k in TRANSITIONS])
    rng = np.random.default_rng(1)
    offsets, n = [], is_g.size
    for _ in range(6):
        pt = {"z_intervals": rng.normal(0, 1.5, n), "s_intervals": rng.normal(0, 1.5, n)}
        x = np.concatenate([pt["z_intervals"], pt["s_intervals"]])
        grad = dlogp(pt)
        order = [v.name for v in m.value_vars]
        g = dict(zip(order, np.split(grad, [n]), strict=True))
        # log-normal interval (the last NRM one): not conjugate, its z is free; the others are N(0, 1)
        np.testing.assert_allclose(g["z_intervals"][is_g], -pt["z_intervals"][is_g], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(g["s_intervals"], -pt["s_intervals"], rtol=1e-6, atol=1e-6)
        gamma_part = logp(pt) + 0.5 * (x**2).sum() - 0.5 * (pt["z_intervals"][~is_g] ** 2).sum()
        lam = dict(zip(TRANSITIONS, hazards(pt), strict=True))
        lam_ln = lam["nrm"][-1]
        d, e = td.events["nrm"][-1], td.exposure["nrm"][-1]
        ln_part = stats.norm.logpdf(np.log(lam_ln), -7.5, 1.0) + d * np.log(lam_ln) - lam_ln * e
        tau = values["lognormal_ref_intervals"][~is_g][0, 1]
        offsets.append(gamma_part - ln_part - np.log(tau))
        # the hazards: quantiles of the exact posterior component picked by s
        i = 0
        for k in TRANSITIONS:
            for j, prior in enumerate(model.priors.per_interval(k, model.n_intervals[k])):
                if isinstance(prior, GammaMixture):
                    post = gamma_mixture_posterior(prior, td.events[k][j], td.exposure[k][j])
                    inner = np.cumsum(post.weights)[:-1]
                    c = int(np.searchsorted(inner, stats.norm.cdf(pt["s_intervals"][i]), side="right"))
                    want = stats.gamma.ppf(
                        stats.norm.cdf(pt["z_intervals"][i]), post.shapes[c], scale=1 / post.rates[c]
                    )
                    np.testing.assert_allclose(lam[k][j], want, rtol=1e-7, err_msg=f"{k}[{j}]")
                i += 1
    # constant = sum of log marginal likelihoods - (n_gamma + n) log sqrt(2 pi): the same at every point
    assert np.ptp(offsets) < 1e-8, offsets


def test_recorded_lp_is_the_log_density_on_the_log_hazard_scale():
    """``lp`` = sampler log density - ``reparam_log_jacobian`` = sum of log prior (marginal mixture,
    per log hazard) and log likelihood, up to a constant: what power-scaling differentiates."""
    model = Model(_cohort(40, 4), priors=_mixture_priors())
    td = model.stats[0]
    m, values, outputs = _backend_at(model)
    logp = m.compile_logp()
    outs = outputs(["reparam_log_jacobian", *(hazard_var(k) for k in TRANSITIONS)])
    rng = np.random.default_rng(2)
    diffs = []
    n = values["shape_intervals"].shape[0]
    for _ in range(5):
        pt = {"z_intervals": rng.normal(0, 1, n), "s_intervals": rng.normal(0, 1, n)}
        jac, *lams = outs(pt)
        natural = 0.0
        for k, lam in zip(TRANSITIONS, lams, strict=True):
            for j, prior in enumerate(model.priors.per_interval(k, model.n_intervals[k])):
                x = lam[j]
                if isinstance(prior, GammaMixture):
                    w, a, b = (np.asarray(v) for v in (prior.weights, prior.shapes, prior.rates))
                    lp_prior = logsumexp(np.log(w) + a * np.log(b) - gammaln(a) + (a - 1) * np.log(x) - b * x)
                else:
                    lp_prior = stats.lognorm.logpdf(x, prior.sigma, scale=np.exp(prior.mu))
                natural += lp_prior + np.log(x) + td.events[k][j] * np.log(x) - x * td.exposure[k][j]
        diffs.append(logp(pt) - jac - natural)
    assert np.ptp(diffs) < 1e-8, diffs


# ----------------------------------------------------------------------------- extension and advice (fast)


class _StubBackend:
    """Returns prepared runs in turn; records the settings it was asked for."""

    def __init__(self, runs):
        self.runs = list(runs)
        self.calls: list[dict] = []
        self._nutpie_compiled = object()

    def sample(self, td, priors, **kw):
        self.calls.append(kw)
        return self.runs.pop(0)(kw["draws"], kw["chains"])


def _run(model: Model, diverge: bool):
    def make(draws: int, chains: int) -> az.InferenceData:
        rng = np.random.default_rng(draws + diverge)
        post = {}
        for k in TRANSITIONS:
            dim = pwe.interval_dim(k)
            x = rng.gamma(2.0, 1 / 1000.0, (chains, draws, model.n_intervals[k]))
            post[hazard_var(k)] = (("chain", "draw", dim), x)
        div = np.zeros((chains, draws), bool)
        if diverge:
            div[0, 5] = True
        coords = {"chain": np.arange(chains), "draw": np.arange(draws), **model.coords}
        return az.InferenceData(
            posterior=xr.Dataset(post, coords=coords),
            sample_stats=xr.Dataset({"diverging": (("chain", "draw"), div), "lp": (("chain", "draw"), div * 1.0)}),
        )

    return make


def test_a_failing_table_is_run_longer_and_thinned_back(monkeypatch):
    model = Model([_cohort(30, 5), _cohort(30, 6)])
    stub = _StubBackend([_run(model, True), _run(model, False), _run(model, False)])
    monkeypatch.setattr(pwe, "nuts_backend", lambda structure, coords: stub)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        idata = model.fit(engine="nuts", sampler="pymc", draws=300, tune=200, chains=2, target_accept=0.9)
    # table 1: diverged, so 2x draws and tuning at target_accept >= 0.95; table 2: passed at once
    assert [(c["draws"], c["tune"], c["target_accept"]) for c in stub.calls] == [
        (300, 200, 0.9),
        (600, 400, 0.95),
        (300, 200, 0.9),
    ]
    assert idata.posterior.sizes["draw"] == 300 and idata.sample_stats["lp"].sizes["draw"] == 300
    assert json.loads(idata.posterior.attrs["sampler"])["extension"] == [2, 1]
    assert diagnostics_ok(diagnostics(idata))


def test_thinning_keeps_every_divergence_block():
    model = Model(_cohort(20, 7))
    run = _run(model, True)(400, 2)  # divergence at draw 5 of chain 0
    thin = pwe._thin(run, 4, 100)
    assert thin.posterior.sizes["draw"] == 100
    assert bool(thin.sample_stats["diverging"][0, 1]) and int(thin.sample_stats["diverging"].sum()) == 1
    np.testing.assert_array_equal(
        thin.posterior["hazard_relapse"].values, run.posterior["hazard_relapse"].values[:, 3::4]
    )


def test_a_run_that_still_fails_warns_with_what_to_try(monkeypatch):
    model = Model(_cohort(30, 8))
    stub = _StubBackend([_run(model, True)] * 3)
    monkeypatch.setattr(pwe, "nuts_backend", lambda structure, coords: stub)
    with pytest.warns(ConvergenceWarning) as rec:
        idata = model.fit(engine="nuts", sampler="pymc", draws=300, tune=100, chains=2)
    assert [c["draws"] for c in stub.calls] == [300, 600, 1200]
    assert [c["target_accept"] for c in stub.calls] == [0.9, 0.95, 0.99]
    assert json.loads(idata.posterior.attrs["sampler"])["extension"] == [4]
    msg = str(rec[0].message)
    assert "\n" not in msg
    assert "divergent transitions in table(s) 1 (1-1 each)" in msg and "up to 4x" in msg
    for tip in ("tune = 4000", "target acceptance", "engine = exact", "more shape"):  # settings; scripts show options
        assert tip in msg, tip
    # too few draws for the thresholds: no extension (thinning cannot reach them), said so
    stub = _StubBackend([_run(model, False)])
    monkeypatch.setattr(pwe, "nuts_backend", lambda structure, coords: stub)
    with pytest.warns(ConvergenceWarning, match="cannot reach ESS"):
        model.fit(engine="nuts", sampler="pymc", draws=50, chains=2)
    assert len(stub.calls) == 1


def test_advice_reads_the_failing_rows():
    model = Model(_cohort(30, 9))
    idata = model.fit(engine="exact", draws=50, chains=2, seed=1)
    diag = diagnostics(idata)
    assert not diagnostics_ok(diag)
    text = convergence_advice(diag, idata, draws=50, chains=2, conjugate=True)
    assert "hazard_relapse[0-100] (table(s) 1: R-hat" in text and "and 10 more" in text
    assert "ESS bulk" in text and "events in" in text and "cannot reach ESS" in text
    assert "divergent" not in text and "\n" not in text


# ----------------------------------------------------------------------------- shipped data (slow)


def _tables() -> list:
    files = sorted(glob.glob(str(RECONSTRUCTED_DIR / "draw_*.csv")))
    assert len(files) == 20
    return [load_outcomes(f) for f in files]


def _summary(diag, name: str, seconds: float) -> str:
    return (
        f"{name}: max R-hat {diag['r_hat'].max():.4f}, min ESS bulk {diag['ess_bulk'].min():.0f}, "
        f"tail {diag['ess_tail'].min():.0f}, divergences {int(diag.groupby('table')['divergences'].first().sum())}, "
        f"{seconds:.0f} s"
    )


def _agree(x_exact: np.ndarray, x_nuts: np.ndarray, ess_bulk: float, ess_tail: float, what: str) -> None:
    n = x_exact.size
    sd = x_exact.std()
    assert abs(x_nuts.mean() - x_exact.mean()) < Z * sd * np.sqrt(1 / ess_bulk + 1 / n), what
    for p in (0.025, 0.975):
        f = np.mean(x_exact <= np.quantile(x_nuts, p))
        assert abs(f - p) < Z * np.sqrt(p * (1 - p) * (1 / ess_tail + 1 / n)), (what, p, f)


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED_SETS)
def test_every_shipped_prior_set_converges_on_every_reconstructed_table(name):
    """nutpie, 4 x 1,000 draws: every table passes. Conjugate sets need no extension, and their pooled
    NUTS posterior (20 tables) agrees with the exact one; the commensurate set (a hierarchical prior,
    target acceptance 0.99 by default) may use the bounded extension."""
    pytest.importorskip("nutpie")
    from models.prior_library import load_prior_set

    priors = load_prior_set(name)
    model = Model(_tables(), priors=priors)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        idata = model.fit(engine="nuts", sampler="nutpie", draws=1000, tune=1000, chains=4, seed=11)
    diag = diagnostics(idata)
    print(_summary(diag, name, time.perf_counter() - started))
    assert diagnostics_ok(diag), diag[~diag["ok"]]
    assert diag["r_hat"].max() <= RHAT_MAX
    assert diag["ess_bulk"].min() >= ESS_BULK_MIN and diag["ess_tail"].min() >= ESS_TAIL_MIN
    assert (diag["divergences"] == 0).all()
    if priors.conjugate:
        # the parametrisation, not the extension, does the work; and the pooled posterior is the exact one
        assert json.loads(idata.posterior.attrs["sampler"])["extension"] == [1] * 20
        ex = model.fit(engine="exact", draws=1000, chains=4, seed=12)
        for k in TRANSITIONS:
            xn = idata.posterior[hazard_var(k)].transpose("table", "chain", "draw", ...).to_numpy()
            xe = ex.posterior[hazard_var(k)].transpose("table", "chain", "draw", ...).to_numpy()
            rows = diag[diag["variable"] == hazard_var(k)]
            for j in range(xn.shape[-1]):
                r = rows[rows["interval"] == rows["interval"].unique()[j]]
                _agree(xe[..., j].ravel(), xn[..., j].ravel(), r["ess_bulk"].sum(), r["ess_tail"].sum(), f"{k}[{j}]")


# ----------------------------------------------------------------------------- simulated cohorts (slow)


@pytest.mark.slow
@pytest.mark.parametrize("prior_name", ["weak", "literature"])
def test_nuts_converges_and_agrees_with_exact_on_simulated_cohorts(prior_name):
    """24 cohorts of 20-200 patients (delayed entry, short follow-up: intervals nobody is at risk in),
    fitted as the tables of one model: every table passes the checks without extension, and each
    hazard's mean and 2.5%/97.5% quantiles agree with the exact engine, as do the 1-year relapse and
    NRM incidences and overall survival."""
    pytest.importorskip("nutpie")
    from models.prior_library import load_prior_set

    sizes = np.linspace(20, 200, 24).round().astype(int)
    cohorts = [_cohort(int(n), seed=100 + i) for i, n in enumerate(sizes)]
    priors = weak(CUTS, RCUTS) if prior_name == "weak" else load_prior_set(prior_name, CUTS, RCUTS)
    model = Model(cohorts, priors=priors, cuts=CUTS, relapse_death_cuts=RCUTS)
    assert any((td.exposure["death_after_relapse"] == 0).any() for td in model.stats)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        nu = model.fit(engine="nuts", sampler="nutpie", draws=1000, tune=1000, chains=4, seed=2)
    diag = diagnostics(nu)
    print(_summary(diag, f"{prior_name}, simulated", time.perf_counter() - started))
    assert diagnostics_ok(diag), diag[~diag["ok"]]
    assert json.loads(nu.posterior.attrs["sampler"])["extension"] == [1] * len(cohorts)
    ex = model.fit(engine="exact", draws=1000, chains=4, seed=1)
    for t in range(len(cohorts)):
        for k in TRANSITIONS:
            xe = ex.posterior[hazard_var(k)].isel(table=t).to_numpy().reshape(4000, -1)
            xn = nu.posterior[hazard_var(k)].isel(table=t).to_numpy().reshape(4000, -1)
            rows = diag[(diag["variable"] == hazard_var(k)) & (diag["table"] == t)]
            for j in range(xe.shape[1]):
                r = rows.iloc[j]
                _agree(xe[:, j], xn[:, j], r["ess_bulk"], r["ess_tail"], f"table {t + 1} {k}[{j}]")
        he = {k: ex.posterior[hazard_var(k)].isel(table=t).to_numpy().reshape(4000, -1) for k in TRANSITIONS}
        hn = {k: nu.posterior[hazard_var(k)].isel(table=t).to_numpy().reshape(4000, -1) for k in TRANSITIONS}
        ce, cn = curves(he, CUTS, RCUTS, 365), curves(hn, CUTS, RCUTS, 365)
        rows = diag[diag["table"] == t]
        for q in ("relapse_cif", "nrm_cif", "os"):
            _agree(ce.get(q)[:, 365], cn.get(q)[:, 365], rows["ess_bulk"].min(), rows["ess_tail"].min(), q)
