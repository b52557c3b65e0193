"""Trial planning: exact decision rules, the simulation law, Schoenfeld's formula, seeding, bad designs.

Known answers and their provenance:
- P(X/Y < m) for independent gammas equals the F(2a1, 2a0) CDF (scipy.stats.f);
- the cause-specific log-rank statistic equals lifelines.statistics.logrank_test;
- simulated log-rank power at a fixed number of events equals Schoenfeld (1983),
  Phi(sqrt(D p (1-p)) |log HR| - z_{1-alpha/2}), within Monte Carlo error;
- the conjugate decision agrees with NUTS (PyMC) on the same model.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from models import design as dz
from models import trial_sim as ts
from models.constants import DATA_DIR
from models.errors import ConfigError, PriorError

BASE = """
[design]
name = "test"
type = "randomised"
entry_day = 90
allocation_ratio = 1.0

[conduct]
accrual_per_month = 10.0
min_followup_days = 365
dropout_per_year = 0.05
analysis = "calendar"
target_events = 50

[analysis]
cuts_days = [0.0]
horizon_days = 365
margin = 1.0
threshold = 0.975
prior_shape = 0.5
prior_rate_days = 182.5
alpha = 0.05

[benchmark]
relapse_cif = 0.23
nrm_cif = 0.11
years = 3
citation = "Chang YJ et al., J Hematol Oncol 2020;13"
quote = "23%, 95% CI, 17–29%"

[scenarios.null]
hr_relapse = 1.0

[scenarios.alternative]
hr_relapse = 0.5

[design_priors.analogue]
kind = "hr_lognormal"
median = 0.491
lower = 0.257
upper = 0.936

[design_priors.current]
kind = "arms"
treatment = "posterior"
discount = 0.5
robust_weight = 0.2

[grid]
n = [60, 120]
n_sims = 200
chunk_trials = 100
target = 0.8
type1_target = 0.025
"""


@pytest.fixture
def design_file(write):
    def _make(text: str = BASE, name: str = "design.toml") -> Path:
        return write(name, text)

    return _make


# ------------------------------------------------------------------------------- exact decision rules
@pytest.mark.parametrize(
    "a1,b1,a0,b0,m", [(3.5, 900.0, 10.5, 1200.0, 1.0), (0.5, 182.5, 0.5, 182.5, 0.8), (40.5, 5e4, 61.5, 4.8e4, 0.7)]
)
def test_prob_ratio_below_equals_f_distribution(a1, b1, a0, b0, m):
    exact = ts.prob_ratio_below(np.array(a1), np.array(b1), np.array(a0), np.array(b0), m)
    f_cdf = stats.f.cdf(m * (b1 / a1) / (b0 / a0), 2 * a1, 2 * a0)
    assert exact == pytest.approx(f_cdf, abs=1e-10)


def test_moment_matched_hr_with_two_intervals_agrees_with_monte_carlo():
    rng = np.random.default_rng(1)
    cuts = np.array([0.0, 180.0])
    w = ts.horizon_weights(cuts, 365.0)
    D1, E1 = np.array([[4.0, 6.0]]), np.array([[9000.0, 8000.0]])
    D0, E0 = np.array([[9.0, 7.0]]), np.array([[8800.0, 7000.0]])
    p = ts.prob_hr_below(D1, E1, D0, E0, 0.5, 182.5, w, 1.0)[0]
    n = 400_000
    lam = [rng.gamma(0.5 + d, 1 / (182.5 + e), (n, 2)) for d, e in ((D1[0], E1[0]), (D0[0], E0[0]))]
    mc = np.mean((lam[0] * w).sum(1) / (lam[1] * w).sum(1) < 1.0)
    assert abs(p - mc) < 0.01  # Satterthwaite approximation error, MC s.e. ~0.0007


def test_prob_cir_below_agrees_with_monte_carlo():
    rng = np.random.default_rng(2)
    dr, dn, ex = np.array([3.0, 10.0]), np.array([2.0, 4.0]), np.array([20000.0, 30000.0])
    p = ts.prob_cir_below(dr, dn, ex, 0.5, 0.5, 182.5, 365.0, 0.0874)
    for i in range(2):
        lr = rng.gamma(0.5 + dr[i], 1 / (182.5 + ex[i]), 400_000)
        ln = rng.gamma(0.5 + dn[i], 1 / (182.5 + ex[i]), 400_000)
        cir = lr / (lr + ln) * -np.expm1(-(lr + ln) * 365.0)
        assert abs(p[i] - np.mean(cir < 0.0874)) < 0.004


def test_benchmark_hazards_reproduce_the_published_incidences():
    lr, ln = ts.hazards_from_cif(0.23, 0.11, 3)
    t = 3 * ts.DAYS_PER_YEAR
    assert ts.cir_constant(lr, ln, t) == pytest.approx(0.23, rel=1e-12)
    assert ts.cir_constant(ln, lr, t) == pytest.approx(0.11, rel=1e-12)


# --------------------------------------------------------------------------------- simulation law
def test_piecewise_competing_sampling_matches_the_closed_form():
    rng = np.random.default_rng(3)
    cuts = np.array([0.0, 100.0])
    lr, ln = np.array([[0.002, 0.0005]]), np.array([[0.001, 0.0015]])
    t, cause = ts.sample_competing(lr, ln, cuts, 200_000, rng)
    h = lr + ln
    s100 = math.exp(-h[0, 0] * 100)
    assert abs(np.mean(t > 100) - s100) < 4 * math.sqrt(s100 * (1 - s100) / t.size)
    cir100 = lr[0, 0] / h[0, 0] * (1 - s100)
    assert abs(np.mean((t <= 100) & (cause == 1)) - cir100) < 4 * math.sqrt(cir100 / t.size)
    late = t > 100
    share = lr[0, 1] / h[0, 1]
    assert abs(np.mean(cause[late] == 1) - share) < 4 * math.sqrt(share * (1 - share) / late.sum())
    s300 = s100 * math.exp(-h[0, 1] * 200)
    assert abs(np.mean(t > 300) - s300) < 4 * math.sqrt(s300 * (1 - s300) / t.size)


def test_shift_cuts_keeps_the_intervals_after_entry():
    new, kept = ts.shift_cuts((0.0, 100.0, 180.0, 365.0, 730.0), 90.0)
    np.testing.assert_allclose(new, [0, 10, 90, 275, 640])
    assert kept.tolist() == [0, 1, 2, 3, 4]
    new, kept = ts.shift_cuts((0.0, 100.0, 180.0), 100.0)
    np.testing.assert_allclose(new, [0, 80])
    assert kept.tolist() == [1, 2]


def test_logrank_equals_lifelines():
    from lifelines.statistics import logrank_test

    rng = np.random.default_rng(4)
    t = rng.exponential(300.0, (3, 80))
    ev = rng.random((3, 80)) < 0.6
    tr = np.arange(80) < 35
    z = ts.logrank_z(t, ev, tr)
    for i in range(3):
        ref = logrank_test(t[i, tr], t[i, ~tr], ev[i, tr], ev[i, ~tr]).test_statistic
        assert z[i] ** 2 == pytest.approx(ref, rel=1e-9)


# ------------------------------------------------------------------- frequentist operating characteristics
def _schoenfeld_design(design_file, hr: float, events: int) -> dz.Design:
    text = (
        BASE.replace('analysis = "calendar"', 'analysis = "events"')
        .replace("target_events = 50", f"target_events = {events}\nmax_followup_days = 36500")
        .replace("dropout_per_year = 0.05", "dropout_per_year = 0.0")
        .replace("hr_relapse = 0.5", f"hr_relapse = {hr}")
    )
    return dz.load_design(design_file(text))


def test_simulated_logrank_power_matches_schoenfeld(design_file):
    d = _schoenfeld_design(design_file, 0.7, 100)
    raw = dz.run_design(d, workers=1, n_grid=[300], n_sims=4000)
    alt = dz.summarise(raw, d).query("scenario == 'alternative'").iloc[0]
    assert alt["mean_relapses"] == pytest.approx(100.0)  # event-driven: exactly D relapses
    expected = ts.schoenfeld_power(0.7, 100, 0.05, 0.5)
    assert abs(alt["p_success_freq"] - expected) < 3 * alt["p_success_freq_mcse"], (alt["p_success_freq"], expected)


def test_simulated_type1_error_matches_nominal(design_file):
    d = _schoenfeld_design(design_file, 0.7, 100)
    raw = dz.run_design(d, workers=1, n_grid=[300], n_sims=4000)
    null = dz.summarise(raw, d).query("scenario == 'null'").iloc[0]
    se = math.sqrt(0.025 * 0.975 / 4000)
    assert abs(null["p_success_freq"] - 0.025) < 3 * se
    assert abs(null["p_success"] - 0.025) < 4 * se  # Bayesian P(HR<1)>0.975 with a vague prior ~ one-sided 2.5%


def test_schoenfeld_events_formula():
    # (1.95996 + 0.84162)^2 / (0.25 * log(0.7)^2) = 246.79 events (Schoenfeld 1983)
    assert ts.schoenfeld_events(0.7, 0.05, 0.8, 0.5) == pytest.approx(246.79, abs=0.01)
    assert ts.schoenfeld_power(0.7, ts.schoenfeld_events(0.7), 0.05) == pytest.approx(0.8, abs=1e-9)


def test_calibrated_threshold_holds_type1_error(design_file):
    d = dz.load_design(design_file())
    raw = dz.run_design(d, workers=1, n_sims=400)
    cal = dz.calibrate(raw, d)
    null = cal[cal["role"] == "null"]
    assert (null["p_success"] <= d.type1_target).all()
    assert null["threshold_calibrated"].between(0.9, 0.9995).all()


def test_single_arm_design_runs_and_orders_scenarios(design_file):
    text = (
        BASE.replace('type = "randomised"', 'type = "single_arm"')
        .replace("threshold = 0.975", "threshold = 0.9")
        .replace("n = [60, 120]", "n = [150]")
    )
    d = dz.load_design(design_file(text))
    assert d.benchmark_cir == pytest.approx(0.0874, abs=1e-3)
    oc = dz.summarise(dz.run_design(d, workers=1, n_sims=400), d).set_index("scenario")
    assert oc.loc["alternative", "p_success"] > 0.8 > 0.2 > oc.loc["null", "p_success"]


# ---------------------------------------------------------------------------------- seeding / scale
def test_results_do_not_depend_on_the_number_of_workers(design_file):
    d = dz.load_design(design_file())
    one = dz.run_design(d, workers=1)
    two = dz.run_design(d, workers=2)
    assert one.drop(columns="cal_counts").equals(two.drop(columns="cal_counts"))
    assert all(np.array_equal(a, b) for a, b in zip(one["cal_counts"], two["cal_counts"], strict=True))


def test_dask_cluster_gives_identical_numbers(design_file):
    distributed = pytest.importorskip("dask.distributed", reason="dask[distributed] is not installed")
    d = dz.load_design(design_file())
    local = dz.run_design(d, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        remote = dz.run_design(d, dask_address=cl.scheduler_address)
    assert local.drop(columns="cal_counts").equals(remote.drop(columns="cal_counts"))
    assert all(np.array_equal(a, b) for a, b in zip(local["cal_counts"], remote["cal_counts"], strict=True))


def test_benchmark_fast_path_reports_a_rate():
    out = dz.benchmark_fast_path(2000, workers=1)
    assert out["trials_per_second"] > 1000
    assert set(out) >= {"n_trials", "seconds", "trials_per_second"}


# ---------------------------------------------------------------------------------- NUTS agreement
def test_conjugate_decision_agrees_with_nuts_on_a_few_trials(design_file):
    d = dz.load_design(design_file())
    r = dz.nuts_agreement(d, n_trials=5, n_patients=200, draws=400, tune=300, chains=2)
    assert np.max(np.abs(r["p_exact"] - r["p_nuts"])) < 0.05


@pytest.mark.slow
def test_conjugate_decision_agrees_with_nuts_on_200_trials():
    d = dz.load_design(DATA_DIR / "designs" / "randomised.toml", design_priors=False)
    r = dz.nuts_agreement(d, n_trials=200, n_patients=400, draws=5000, tune=1000, chains=4)
    assert r["agreement"] >= 0.99, r["agreement"]
    assert r["max_abs_diff"] < 0.02


# --------------------------------------------------------------------------------- design priors
def test_discount_draws_scales_log_spread_and_robustifies():
    rng = np.random.default_rng(5)
    draws = {"relapse": np.exp(rng.normal(-8, 0.3, (20_000, 2)))}
    same = dz.discount_draws(draws, discount=1.0, robust_weight=0.0, centre={}, rng=rng)
    np.testing.assert_allclose(same["relapse"], draws["relapse"])
    half = dz.discount_draws(draws, discount=0.5, robust_weight=0.0, centre={}, rng=rng)
    assert np.log(half["relapse"]).std() == pytest.approx(0.3 * math.sqrt(2), rel=0.03)
    rob = dz.discount_draws(draws, discount=1.0, robust_weight=0.3, centre={"relapse": math.exp(-6)}, rng=rng)
    assert np.mean(np.log(rob["relapse"][:, 0]) > -7) == pytest.approx(0.3 * 0.84, abs=0.02)


def test_shipped_designs_load_without_the_prior_library(monkeypatch):
    def missing(name, seed):
        raise PriorError("design prior", found=name, expected="an available prior set")

    # the prior-set cache and its builders are looked up in models.design.design_priors
    monkeypatch.setattr(dz.design_priors, "_SET_DRAWS", {})
    monkeypatch.setattr(dz.design_priors, "_build_set_draws", missing)
    monkeypatch.setattr(dz.design_priors, "_resolve_prior_set", lambda *a: None)
    for name in ("single_arm", "randomised"):
        d = dz.load_design(DATA_DIR / "designs" / f"{name}.toml")
        assert {"no_effect", "relapse_halved", "decitabine_analogue", "current_study"} <= {s.name for s in d.scenarios}
        assert [s.role for s in d.scenarios][:2] == ["null", "alternative"]
        assert "skeptical" in d.skipped_priors


# ------------------------------------------------------------------------------------- bad designs
BAD = [
    ("allocation_ratio = 1.0", "allocation_ratio = 0.001", ConfigError, "allocation_ratio"),
    ("dropout_per_year = 0.05", "dropout_per_year = -0.1", ConfigError, "dropout_per_year"),
    ("threshold = 0.975", "threshold = 1.2", ConfigError, "threshold"),
    ("threshold = 0.975", "threshold = 0.0", ConfigError, "threshold"),
    ("accrual_per_month = 10.0", "accrual_per_month = -3", ConfigError, "accrual_per_month"),
    ("min_followup_days = 365", "min_followup_days = 365\nfollowup = 3", ConfigError, "followup"),
    ('kind = "arms"\ntreatment = "posterior"', 'kind = "arms"\ntreatment = "no_such_set"', PriorError, "no_such_set"),
    ('kind = "hr_lognormal"', 'kind = "lognormal_hr"', ConfigError, "kind"),
    ("relapse_cif = 0.23", "relapse_cif = 0.93", ConfigError, "nrm_cif"),
    ("n = [60, 120]", "n = [60, 1.5]", ConfigError, "key 'grid.n.1'"),
    ("[scenarios.alternative]\nhr_relapse = 0.5", "", ConfigError, "scenarios"),
    ('[design]\nname = "test"', '[design\nname = "test"', ConfigError, "valid TOML"),
]


@pytest.mark.parametrize("old,new,err,key", BAD, ids=[b[3] + "-" + b[1][:20] for b in BAD])
def test_bad_design_files_give_one_line_errors_naming_file_and_key(design_file, old, new, err, key):
    assert old in BASE
    path = design_file(BASE.replace(old, new), name="bad.toml")
    with pytest.raises(err) as exc:
        dz.load_design(path)
    msg = str(exc.value)
    assert "\n" not in msg and "bad.toml" in msg and key in msg, msg


def test_missing_design_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        dz.load_design(tmp_path / "nope.toml")


def test_fitted_posterior_file_feeds_the_current_study_design_prior(design_file, tmp_path):
    from models.constants import DEFAULT_CUTS
    from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS
    from models.pwe import Model
    from models.simulate import simulate_cohort

    hz = {"relapse": [3e-4] * 5, "nrm": [2e-4] * 5, "gvhd": [5e-4] * 5, "death_after_relapse": [3e-3] * 3}
    cohort = simulate_cohort(40, hz, DEFAULT_CUTS, DEFAULT_RELAPSE_DEATH_CUTS, seed=1)
    Model(cohort).fit(engine="exact", seed=1).to_netcdf(tmp_path / "posterior.nc")
    draws = dz.load_posterior_draws(tmp_path / "posterior.nc")
    assert draws["relapse"].shape == (dz.DESIGN_PRIOR_DRAWS, len(DEFAULT_CUTS))
    d = dz.load_design(design_file(), posterior=draws)
    current = next(s for s in d.scenarios if s.name == "current")
    assert current.draws["relapse"].shape == draws["relapse"].shape
    with pytest.raises(ConfigError, match="posterior"):
        dz.load_posterior_draws(tmp_path / "missing.nc")
