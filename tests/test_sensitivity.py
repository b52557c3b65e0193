"""Sensitivity analysis: closed-form tipping point, power scaling, grid plumbing, resume, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats

from models.derived import curves, landmark_values
from models.errors import ConfigError
from models.power_scaling import _cjs, power_scaling
from models.priors import GammaMixture, PriorSet, half_event_per_interval, weak
from models.sensitivity import (
    build_scenarios,
    centred_prior,
    load_config,
    power_discount,
    robust_weight,
    run_grid,
    tipping_points,
)

CUTS5 = [0, 100, 180, 365, 730]
#: the weakly informative baseline of the first relapse interval of CUTS5
AV, BV = weak(CUTS5).transitions["relapse"][0].shapes[0], weak(CUTS5).transitions["relapse"][0].rates[0]


def _table(n: int = 10, relapse_at: float = 200.0, last: float = 400.0) -> pd.DataFrame:
    """n patients at risk from day 0 to ``last``; patient 1 relapses at ``relapse_at`` (alive)."""
    rows = [
        {
            "patient": f"P{i + 1}",
            "entry_day": 0.0,
            "relapse_day": np.nan,
            "gvhd_day": np.nan,
            "death_day": np.nan,
            "death_cause": "",
            "last_followup_day": last,
        }
        for i in range(n)
    ]
    rows[0]["relapse_day"] = relapse_at
    return pd.DataFrame(rows)


def _near_zero_nrm_prior() -> PriorSet:
    v = half_event_per_interval()
    tiny = GammaMixture.single(1e4, 1e4 / 1e-12)  # NRM hazard ~1e-12 per day: no competing deaths
    return PriorSet("test", {**v.transitions, "nrm": tiny}, "test prior", "test")


def _write_config(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "grid.toml"
    p.write_text(body)
    return p


SINGLE_INTERVAL = """
[base]
prior = "test"
cuts = [0]
relapse_death_cuts = [0]
draws_per_table = 4000
seed = 11
decision_thresholds = [0.9, 0.95]

[[claims]]
name = "relapse_below_20"
quantity = "relapse_cif"
day = 365
op = "<"
threshold = 0.20
reason = "a test threshold"

[grid]
claim = "relapse_below_20"
centres = [0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.14, 0.16, 0.18, 0.20, 0.22, 0.24]
weights = [5, 20, 60]
"""


def test_tipping_point_matches_closed_form_single_interval(tmp_path):
    """One interval, no competing risk: P(claim) = P(lambda < lambda_b) under
    Gamma(1 + lambda_c E0 + D, 365 + E0 + E) with E0 = 365 m (the weak baseline is Gamma(1, 365) on one
    interval); the tipping centre solves P = threshold exactly (brentq on the gamma CDF)."""
    cfg = load_config(_write_config(tmp_path, SINGLE_INTERVAL))
    table = _table()
    d_obs, e_obs = 1.0, 9 * 400.0 + 200.0
    res = run_grid(cfg, [table], progress=False, priors={"test": _near_zero_nrm_prior()})
    lam_b = -math.log(1 - 0.20) / 365

    def p_exact(centre: float, m: float) -> float:
        lam_c = -math.log1p(-centre) / 365
        e0 = 365 * m
        # one interval [0, inf): the weak baseline is Gamma(1, 365 days) (all of its one pseudo-event)
        return float(special.gammainc(1.0 + lam_c * e0 + d_obs, (365.0 + e0 + e_obs) * lam_b))

    grid = res.table[res.table["kind"] == "grid"]
    for _, r in grid.iterrows():
        p = p_exact(r["centre"], r["weight"])
        se = math.sqrt(max(p * (1 - p), 1e-4) / cfg.draws_per_table)
        assert abs(r["P[relapse_below_20]"] - p) < 4 * se + 1e-3, (r["centre"], r["weight"])
    for _, r in res.tipping.iterrows():
        f = lambda c, w=r["weight"], t=r["threshold"]: p_exact(c, w) - t  # noqa: E731
        if f(0.02) * f(0.24) > 0:
            assert r["side"] != "crosses" or not np.isfinite(r["tipping_centre"])
            continue
        exact = optimize.brentq(f, 0.02, 0.24)
        # tolerance: 4 Monte Carlo standard errors of P turned into centre units by the local slope
        # dP/dc at the root, plus the linear-interpolation error between centres 0.02 apart (0.003)
        slope = abs(f(exact + 1e-4) - f(exact - 1e-4)) / 2e-4
        se = math.sqrt(r["threshold"] * (1 - r["threshold"]) / cfg.draws_per_table)
        tol = 4 * se / slope + 0.003
        assert abs(r["tipping_centre"] - exact) < tol, (r["weight"], r["threshold"], exact, tol)
    assert res.tipping["tipping_centre"].notna().sum() >= 4


def test_tipping_points_interpolate_exactly_on_linear_input():
    from models.sensitivity import GridSpec, SensitivityConfig

    cfg = SensitivityConfig(
        "x", (0.0,), (0.0,), False, 10, 1, 365, (), (0.9,), (), GridSpec("c", (0.1, 0.2, 0.3), (1.0,))
    )
    table = pd.DataFrame(
        {"kind": "grid", "status": "ok", "weight": 1.0, "centre": [0.1, 0.2, 0.3], "P[c]": [0.95, 0.85, 0.75]}
    )
    tip = tipping_points(table, cfg)
    assert tip["tipping_centre"].iloc[0] == pytest.approx(0.15)
    assert tip["side"].iloc[0] == "crosses"


def test_landmark_values_equal_daily_curves():
    rng = np.random.default_rng(3)
    hz = {k: rng.gamma(2, 1 / 2000, size=(300, 5)) for k in ("relapse", "nrm", "gvhd")}
    hz["death_after_relapse"] = rng.gamma(2, 1 / 200, size=(300, 3))
    cuts, rd = [0, 100, 180, 365, 730], [0, 90, 365]
    cv = curves(hz, cuts, rd, 400)
    lm = landmark_values(hz, cuts, rd, [1, 180, 365, 400])
    for q in ("relapse_cif", "nrm_cif", "efs", "os", "grfs"):
        for d in (1, 180, 365, 400):
            np.testing.assert_allclose(lm[q][d], cv.get(q)[:, d], atol=1e-12)


# ----------------------------------------------------------------------------- prior transformations


def test_power_discount_is_exact_power_prior_and_robust_weight_mixes_the_robust_component():
    inf = GammaMixture.single(AV + 6.0, BV + 4000.0)  # baseline of interval 1 + 6 events in 4000 days
    v = weak(CUTS5)
    ps = PriorSet("inf", {**v.transitions, "relapse": [inf, *v.transitions["relapse"][1:]]}, "", "")
    half = power_discount(ps, 0.5, CUTS5).transitions["relapse"][0]
    assert half.shapes[0] == pytest.approx(AV + 3.0) and half.rates[0] == pytest.approx(BV + 2000.0)
    assert power_discount(ps, 0.0, CUTS5).transitions["relapse"][0].shapes[0] == pytest.approx(AV)
    # baseline intervals are left alone
    assert power_discount(ps, 0.5, CUTS5).transitions["relapse"][1] == v.transitions["relapse"][1]
    rob = robust_weight(ps, 0.8, CUTS5).transitions["relapse"][0]
    # robust component: the interval's weak baseline Gamma(AV, BV)
    assert rob.weights == pytest.approx((0.8, 0.2)) and (rob.shapes[1], rob.rates[1]) == pytest.approx((AV, BV))
    assert robust_weight(ps, 0.0, CUTS5).transitions["relapse"][0] == v.transitions["relapse"][0]


def test_centred_prior_is_worth_m_patient_years():
    base = weak(CUTS5)
    p = centred_prior(base, 0.2, 10, CUTS5)
    rel = p.transitions["relapse"]
    lam = -math.log(0.8) / 365
    exposures = [g.rates[0] - b.rates[0] for g, b in zip(rel[:3], base.transitions["relapse"][:3], strict=True)]
    assert exposures == pytest.approx([1000, 800, 1850])
    assert sum(g.shapes[0] - b.shapes[0] for g, b in zip(rel[:3], base.transitions["relapse"][:3], strict=True)) == (
        pytest.approx(10 * 365 * lam)
    )
    assert rel[3] == base.transitions["relapse"][3]  # after one year: base prior


# ----------------------------------------------------------------------------- power scaling


def _exact_cjs(a1: float, b1: float, a2: float, b2: float) -> float:
    """The CJS distance of two gamma distributions by numerical integration of their CDFs."""
    hi = stats.gamma.ppf(1 - 1e-10, max(a1, a2), scale=1 / min(b1, b2))

    def part(sign: int) -> float:
        def cdfs(x):
            if sign > 0:
                return stats.gamma.cdf(x, a1, scale=1 / b1), stats.gamma.cdf(x, a2, scale=1 / b2)
            return stats.gamma.sf(x, a1, scale=1 / b1), stats.gamma.sf(x, a2, scale=1 / b2)

        def f(x, which):
            p, q = cdfs(x)
            m = 0.5 * (p + q)
            a = p if which == 0 else q
            return a * (math.log2(a) - math.log2(m)) if a > 0 else 0.0

        pi = integrate.quad(lambda x: cdfs(x)[0], 0, hi, limit=200)[0]
        qi = integrate.quad(lambda x: cdfs(x)[1], 0, hi, limit=200)[0]
        pq = integrate.quad(f, 0, hi, args=(0,), limit=200)[0] + 0.5 / math.log(2) * (qi - pi)
        qp = integrate.quad(f, 0, hi, args=(1,), limit=200)[0] + 0.5 / math.log(2) * (pi - qi)
        return math.sqrt(max(pq + qp, 0) / (pi + qi))

    return max(part(1), part(-1))


def test_power_scaling_matches_analytic_gamma_case():
    """Gamma(a, b) prior, Poisson data (D, E): the prior-scaled posterior is
    Gamma(alpha (a - 1) + 1 + D, alpha b + E) — the importance-weighted CJS must match."""
    a, b, d, e = 3.0, 2000.0, 2.0, 3000.0
    rng = np.random.default_rng(5)
    lam = rng.gamma(a + d, 1 / (b + e), 40_000)
    log_prior = stats.gamma.logpdf(lam, a, scale=1 / b)
    log_lik = d * np.log(lam) - lam * e
    eps = 0.01
    out = power_scaling(log_prior, log_lik, {"lam": lam}, epsilon=eps)
    exact_prior = np.mean(
        [_exact_cjs(a + d, b + e, al * (a - 1) + 1 + d, al * b + e) for al in (1 + eps, 1 / (1 + eps))]
    ) / math.log2(1 + eps)
    exact_lik = np.mean(
        [_exact_cjs(a + d, b + e, a + al * d, b + al * e) for al in (1 + eps, 1 / (1 + eps))]
    ) / math.log2(1 + eps)
    assert out["prior_sensitivity"].iloc[0] == pytest.approx(exact_prior, rel=0.15)
    assert out["likelihood_sensitivity"].iloc[0] == pytest.approx(exact_lik, rel=0.15)


def test_cjs_is_zero_for_equal_weights_and_grows_with_shift():
    x = np.random.default_rng(1).normal(size=2000)
    w = np.full(x.size, 1 / x.size)
    assert _cjs(x, w, w) == pytest.approx(0.0, abs=1e-12)
    small = _cjs(x, w, np.exp(0.1 * x) / np.exp(0.1 * x).sum())
    large = _cjs(x, w, np.exp(0.5 * x) / np.exp(0.5 * x).sum())
    assert 0 < small < large < 1


# ----------------------------------------------------------------------------- grid plumbing


FULL = (
    SINGLE_INTERVAL.replace("cuts = [0]\n", "cuts = [0, 180, 365]\n")
    .replace(
        "[grid]",
        """[[factors]]
name = "power-prior weight"
kind = "a0"
levels = [0.0, 1.0]

[[factors]]
name = "time origin"
kind = "from_transplant"
levels = [false, true]

[[factors]]
name = "reconstruction"
kind = "table"
levels = "each"

[grid]""",
    )
    .replace("draws_per_table = 4000", "draws_per_table = 200")
)


def test_grid_expands_every_factor_and_reuses_identical_analyses(tmp_path, monkeypatch):
    cfg = load_config(_write_config(tmp_path, FULL))
    scen = build_scenarios(cfg, 3)
    assert len(scen) == 1 + 2 + 2 + 3 + 12 * 3
    tables = [_table(relapse_at=150 + 20 * m) for m in range(3)]
    cache = tmp_path / "cache"
    res = run_grid(
        cfg, tables, progress=False, cache_dir=cache, data_digest="x", priors={"test": _near_zero_nrm_prior()}
    )
    assert (res.table["status"] == "ok").all()
    assert set(res.table["factor"]) >= {"base", "power-prior weight", "time origin", "reconstruction", "grid"}
    assert (
        res.table.loc[res.table["level"] == "delayed entry", "relapse_cif_median"].iloc[0]
        == res.table.loc[res.table["kind"] == "base", "relapse_cif_median"].iloc[0]
    )
    # resume: a second run reads every scenario from the cache and computes none
    import models.sensitivity.grid as sens  # run_grid looks up _run_scenario in its own module

    monkeypatch.setattr(sens, "_run_scenario", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    again = run_grid(
        cfg, tables, progress=False, cache_dir=cache, data_digest="x", priors={"test": _near_zero_nrm_prior()}
    )
    pd.testing.assert_frame_equal(res.table, again.table)


def test_failed_scenarios_are_reported_not_dropped(tmp_path):
    # a prior with one gamma per interval for other cut points fails inside its scenario only
    body = FULL.replace('kind = "a0"', 'kind = "prior"').replace("levels = [0.0, 1.0]", 'levels = ["test", "bad"]')
    cfg = load_config(_write_config(tmp_path, body))
    v = half_event_per_interval()
    bad_prior = PriorSet("bad", {**v.transitions, "relapse": [GammaMixture.single(1.0, 100.0)] * 2})  # 3 intervals
    res = run_grid(cfg, [_table()], progress=False, priors={"test": _near_zero_nrm_prior(), "bad": bad_prior})
    bad = res.table[res.table["level"] == "bad"]
    assert len(bad) == 1 and bad["status"].iloc[0].startswith("failed:") and "interval" in bad["status"].iloc[0]
    assert any("FAILED scenario prior=bad" in line for line in res.verdict)


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("seed = 11", "seed = 11\ncolour = 1", "key 'base.colour'"),
        ("cuts = [0]", "cuts = [5, 10]", "cut"),
        ('op = "<"', 'op = "<="', "key 'claims.0.op'"),
        ('reason = "a test threshold"', 'reason = ""', "key 'claims.0.reason'"),
        ("threshold = 0.20", "threshold = 1.5", "key 'claims.0.threshold'"),
        ('claim = "relapse_below_20"', 'claim = "nope"', "key 'grid.claim'"),
        ("weights = [5, 20, 60]", "weights = [5]", "at least 2 of each"),
        ("decision_thresholds = [0.9, 0.95]", "decision_thresholds = [1.2]", "decision_thresholds"),
        ("[grid]", "[grid\n", "malformed TOML"),
        ("[grid]", '[[factors]]\nkind = "a0"\nlevels = [1.5]\n[grid]', "key 'factors.0.levels.0'"),
        ("[grid]", '[[factors]]\nkind = "colour"\nlevels = [1]\n[grid]', "key 'factors.0.kind'"),
        ("[grid]", '[[factors]]\nkind = "table"\nlevels = [1]\n[grid]', "each"),
    ],
)
def test_bad_configs_are_one_line_errors(tmp_path, old, new, fragment):
    assert old in SINGLE_INTERVAL
    p = _write_config(tmp_path, SINGLE_INTERVAL.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert fragment in str(err.value) and "\n" not in str(err.value) and "grid.toml" in str(err.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("factors = [1, 2]\n", "expected [[factors]] tables"),
        ("base = 5\n", "expected a table [base]"),
        ("claims = 3\n", "expected [[claims]] tables"),
        ("grid = [1]\n", "expected a table [grid]"),
        ("", "an empty file"),
        ("\n# only a comment\n", "an empty file"),
    ],
)
def test_wrongly_shaped_configs_are_one_line_errors(tmp_path, text, fragment):
    """A value of the wrong kind where a table or a list of tables goes: one line, not a traceback."""
    p = tmp_path / "grid.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert fragment in str(err.value) and "\n" not in str(err.value) and "grid.toml" in str(err.value)


def test_commensurate_scenarios_run_on_the_exact_quadrature_engine_with_power_scaling(tmp_path):
    """A commensurate prior (not conjugate) runs on the exact engine by quadrature: its row says so and,
    like the conjugate rows, carries no MCMC diagnostics; the power-scaling table of the configured
    hierarchical prior comes from exact draws, scaling the commensurate transition's marginal prior
    density against the weak baseline."""
    from models.commensurate_exact import ENGINE_LABEL
    from models.prior_library import CommensuratePrior

    body = FULL.replace(
        '[[factors]]\nname = "power-prior weight"\nkind = "a0"\nlevels = [0.0, 1.0]\n',
        ('[[factors]]\nname = "prior set"\nkind = "prior"\nlevels = ["test", "comm"]\n'),
    ).replace(
        "seed = 11\n",
        'seed = 11\npower_scaling_prior = "comm"\npower_scaling_tables = 1\n',
    )
    cfg = load_config(_write_config(tmp_path, body))
    comm = half_event_per_interval().with_transition(
        "relapse", CommensuratePrior((2.0, 2.0, 2.0), (900.0, 900.0, 900.0), 0.5)
    )
    tables = [_table(relapse_at=150 + 20 * m) for m in range(2)]
    priors = {"test": _near_zero_nrm_prior(), "comm": comm}
    res = run_grid(cfg, tables, progress=False, priors=priors)
    row = res.table[res.table["level"] == "comm"].iloc[0]
    assert row["engine"] == ENGINE_LABEL and row["status"] == "ok"
    assert "rhat_max" not in res.table.columns  # no scenario needed NUTS
    assert 0 < row["relapse_cif_median"] < 1
    assert res.table.loc[res.table["level"] == "test", "engine"].str.startswith("exact").all()
    ps = res.power_scaling[res.power_scaling["engine"] == ENGINE_LABEL]
    assert set(ps["prior"]) == {comm.name} and len(ps) == 4 and (ps["n_tables"] == 1).all()
    assert np.isfinite(ps["prior_sensitivity"]).all() and (ps["prior_sensitivity"] >= 0).all()
    assert np.isfinite(ps["likelihood_sensitivity"]).all() and (ps["prior_pareto_k"] < 0.7).all()
    assert (res.power_scaling["engine"] == "exact").sum() == 4


def test_a_prior_the_exact_engine_cannot_fit_still_runs_on_nuts(tmp_path, monkeypatch):
    """Only priors outside gamma mixtures and commensurate priors (here a random walk on the GvHD log
    hazards) take the NUTS path; its row carries the convergence summary (the sampler is stubbed:
    plumbing only)."""
    import models.sensitivity.grid as sens  # _run_scenario looks up _nuts_hazards in its own module
    from models.intervals import TRANSITIONS
    from models.priors import RandomWalkLogHazard

    body = FULL.replace(
        '[[factors]]\nname = "power-prior weight"\nkind = "a0"\nlevels = [0.0, 1.0]\n',
        ('[[factors]]\nname = "prior set"\nkind = "prior"\nlevels = ["test", "ln"]\n'),
    )
    cfg = load_config(_write_config(tmp_path, body))
    ln = half_event_per_interval().with_transition("gvhd", RandomWalkLogHazard(-7.0, 1.0, 0.5))
    tables = [_table(relapse_at=150 + 20 * m) for m in range(2)]
    called = []

    def fake(cfg_, sc, tabs, prior):
        called.append(prior.name)
        rng = np.random.default_rng(0)
        nint = {k: len(cfg_.relapse_death_cuts) if k == "death_after_relapse" else len(sc.cuts) for k in TRANSITIONS}
        hz = {k: rng.gamma(2.0, 1 / 2000.0, (100, nint[k])) for k in TRANSITIONS}
        return hz, {"engine": "nuts", "rhat_max": 1.0, "ess_bulk_min": 500.0, "divergences": 0, "diagnostics_ok": True}

    monkeypatch.setattr(sens, "_nuts_hazards", fake)
    res = run_grid(cfg, tables, progress=False, priors={"test": _near_zero_nrm_prior(), "ln": ln})
    row = res.table[res.table["level"] == "ln"].iloc[0]
    assert called == [ln.name] and row["engine"] == "nuts" and row["status"] == "ok" and row["rhat_max"] == 1.0


def test_unknown_prior_name_in_a_grid_is_refused_before_anything_runs(tmp_path):
    from models.errors import PriorError

    body = SINGLE_INTERVAL.replace('prior = "test"', 'prior = "vague"')  # the old name: no longer a set
    cfg = load_config(_write_config(tmp_path, body))
    with pytest.raises(PriorError, match="vague") as exc:
        run_grid(cfg, [_table()], progress=False)
    assert "\n" not in str(exc.value)


ONE_NUMBER = """
[base]
prior = "literature"
cuts = [0, 100, 180, 365, 730]
relapse_death_cuts = [0, 90, 365]
draws_per_table = 50
seed = 20240708

[[factors]]
name = "time origin"
kind = "from_transplant"
levels = [false, true]
"""


def test_base_scenario_is_the_fit_number_for_number(tmp_path):
    """Every quantity shared by the fit workflow (``fit.py``) and the sensitivity base scenario is the
    same number — claims, 1-year summaries, prior weight, Box's p, power-scaling and verdict — to a
    relative 1e-5, the six significant digits fit.py writes to its CSVs (far below any printed precision)."""
    import shutil

    from models.constants import RECONSTRUCTED_DIR
    from models.data import load_outcome_draws
    from models.workflows import FitSettings, fit_study

    data = tmp_path / "draws"
    data.mkdir()
    for f in sorted(RECONSTRUCTED_DIR.glob("draw_*.csv"))[:3]:
        shutil.copy(f, data / f.name)
    fit = fit_study(FitSettings(data=data)).tables  # fit.py's defaults: literature prior, seed 20240708

    cfg = load_config(_write_config(tmp_path, ONE_NUMBER))
    res = run_grid(cfg, load_outcome_draws(data), progress=False)
    base = res.table[res.table["kind"] == "base"].iloc[0]
    claims = fit["claims.csv"]
    for _, c in claims[claims["scale"] == "from_transplant"].iterrows():
        assert base[f"P[{c['claim']}]"] == pytest.approx(c["probability"], rel=1e-5), c["claim"]
    summ = fit["summary.csv"]
    summ = summ[(summ["scale"] == "from_transplant") & (summ["day"] == 365)].set_index("quantity")
    for q in ("relapse_cif", "nrm_cif", "efs", "os"):
        for col in ("median", "lower", "upper"):
            assert base[f"{q}_{col}"] == pytest.approx(summ.loc[q, col], rel=1e-5), (q, col)
    ess = fit["prior_ess.csv"].set_index("transition")
    conflict = fit["prior_conflict.csv"].set_index("transition")
    for k in ("relapse", "nrm"):
        assert base[f"pull_events_{k}"] == pytest.approx(ess.loc[k, "pull_events"], rel=1e-5)
        assert base[f"pull_patients_{k}"] == pytest.approx(ess.loc[k, "pull_patients"], rel=1e-5)
        assert base[f"ess_events_{k}"] == pytest.approx(ess.loc[k, "ess_events"], rel=1e-5)
        assert base[f"conflict_p_{k}"] == pytest.approx(conflict.loc[k, "p_value"], rel=1e-5)
    ps_fit = fit["power_scaling.csv"].set_index("quantity")
    agreement = fit["prior_agreement.csv"].set_index("quantity")
    ps = res.power_scaling[res.power_scaling["engine"] == "exact"].set_index("quantity")
    for q in ps.index:
        assert ps.loc[q, "prior_sensitivity"] == pytest.approx(ps_fit.loc[q, "prior_sensitivity"], rel=1e-5)
        assert ps.loc[q, "verdict"] == agreement.loc[q, "verdict"]


def test_prior_files_are_found_beside_the_grid_and_hashed(tmp_path, monkeypatch):
    """A prior-set file named in a grid is resolved against the grid's folder, not the working one."""
    from models.sensitivity import prior_files

    (tmp_path / "grid").mkdir()
    (tmp_path / "elsewhere").mkdir()
    mine = tmp_path / "grid" / "mine.toml"
    mine.write_text('[set.mine]\ndescription = "t"\n[set.mine.relapse]\nmethod = "weak"\n')
    grid = tmp_path / "grid" / "grid.toml"
    grid.write_text('[base]\nprior = "mine.toml"\n[[factors]]\nkind = "prior"\nlevels = ["weak", "mine.toml"]\n')
    monkeypatch.chdir(tmp_path / "elsewhere")
    cfg = load_config(grid)
    assert Path(cfg.prior) == mine and prior_files(cfg) == [mine]
