"""Reconstruction of per-patient tables: exact figure arithmetic, shipped draws, synthetic round trip.

The shipped draws are re-verified here with lifelines directly (not with the solver's arithmetic);
a synthetic study simulated, published and reconstructed checks that the method is general.
"""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.cli.reconstruct import main
from models.constants import EVENT_RELAPSE, RECONSTRUCTED_DIR, STUDY_DIR, Z_CI
from models.data import format_outcomes, load_baseline, load_outcome_draws, load_outcomes, load_published
from models.endpoints import derive
from models.errors import ConfigError, DataError, ReconstructionError
from models.nonparametric import cif_at, km_at
from models.reconstruct import (
    KMTarget,
    OrderStat,
    km_summary,
    load_constraints,
    median_range,
    reconstruct,
    risk_set_tuples,
    sample_increasing,
    sample_order_stats,
    verify_table,
)
from models.study import load_study
from models.synthetic_study import publish, simulate_outcomes
from models.workflows.reconstruct import (
    ReconstructSettings,
    default_output_folder,
    reconstruct_study,
)

CONSTRAINTS = STUDY_DIR / "constraints.toml"
#: A synthetic study that reconstructs in about a second (n = 24, 5 relapses, 3 deaths).
SYN_N, SYN_SEED = 24, 3


@pytest.fixture(scope="module")
def huang():
    pub = load_published()
    base = load_baseline()
    return pub, base, load_constraints(CONSTRAINTS, pub, base)


@pytest.fixture(scope="module")
def shipped():
    return load_outcome_draws(RECONSTRUCTED_DIR)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    truth = simulate_outcomes(SYN_N, SYN_SEED)
    return truth, publish(truth, folder, seed=SYN_SEED)


def _pack(paths):
    """The synthetic study's pack (``publish`` writes its populations into ``study.toml``)."""
    return load_study(paths["study"].parent)


def _cons(paths):
    pack = _pack(paths)
    pub = load_published(paths["published"], study=pack)
    return pub, load_constraints(paths["constraints"], pub, pack.load_baseline(paths["baseline"]), study=pack)


# ----------------------------------------------------------------------------- hand computations


def test_km_summary_equals_hand_greenwood_log_interval():
    # OS risk sets (19, 15, 13): S = 18/19 * 14/15 * 12/13, var = sum 1/(n(n-1)).
    s = Fraction(18, 19) * Fraction(14, 15) * Fraction(12, 13)
    var = Fraction(1, 19 * 18) + Fraction(1, 15 * 14) + Fraction(1, 13 * 12)
    est, lo, hi = km_summary((19, 15, 13))
    assert est == pytest.approx(100 * float(s), abs=1e-9)
    assert lo == pytest.approx(100 * float(s) * math.exp(-Z_CI * math.sqrt(float(var))), abs=1e-9)
    assert hi == 100.0  # truncated
    assert (round(est, 1), round(lo, 1)) == (81.6, 64.7)


def test_km_summary_agrees_with_lifelines_on_a_built_sample():
    # 21 patients: censored at 1, 2; death at 3 (n=19); censored at 4, 5, 6; death at 7 (n=15);
    # censored at 8; death at 9 (n=13); the other 12 censored at 10..21.
    times = list(range(1, 22))
    event = [0, 0, 1, 0, 0, 0, 1, 0, 1] + [0] * 12
    got = km_at(np.array(times, float), np.array(event), 365)
    est, lo, hi = km_summary((19, 15, 13))
    assert (100 * got.estimate, 100 * got.lower, 100 * got.upper) == pytest.approx((est, lo, hi), abs=1e-9)


def test_risk_set_tuples_for_the_published_estimates(huang):
    _pub, _base, cons = huang
    km = {k.name: k for k in cons.km}
    assert risk_set_tuples(km["os_1y"], 21) == {(19, 15, 13), (17, 15, 14)}
    assert risk_set_tuples(km["efs_1y"], 21) == {(19, 15, 14)}
    assert risk_set_tuples(km["grfs_1y"], 21) == {(21, 15, 14), (20, 17, 13), (19, 16, 14)}
    assert risk_set_tuples(km["os_1y_cr1"], 15) == {(14,)}
    assert risk_set_tuples(km["grfs_1y_cr1"], 15) == {(15,)}
    assert risk_set_tuples(km["os_1y_non_rr"], 12) == {()}


def test_risk_set_tuples_empty_when_estimate_and_ci_disagree():
    t = KMTarget("x", "os", "cohort", 365.0, 81.6, (70.0, 100.0), 0.05)
    assert risk_set_tuples(t, 21) == frozenset()


def test_relapse_incidence_is_second_efs_event():
    # 6.3% = S(t-)/n = (18/19)/15 (relapse at the second event-free-survival event).
    assert round(100 * (18 / 19) / 15, 1) == 6.3
    assert round(100 / 21, 1) != 6.3


def test_median_range_order_statistics():
    assert median_range([5, 1, 3]) == (3, 1, 5)
    assert median_range([4, 1, 3, 10]) == (3.5, 1, 10)


def test_sample_order_stats_exact_and_windowed():
    rng = random.Random(0)
    stat = OrderStat("s", 7, 31, 13, 52)
    windows = [(0, 100)] * 6 + [(40, 40)]
    for _ in range(50):
        vals = sample_order_stats(windows, stat, rng)
        assert vals is not None and vals[-1] == 40
        assert median_range(vals) == (31, 13, 52)
    assert sample_order_stats([(60, 90)] * 7, stat, rng) is None  # no unit can take the minimum


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(3, 25),
    lo=st.integers(0, 50),
    span_low=st.integers(1, 60),
    span_high=st.integers(1, 60),
    seed=st.integers(0, 10**6),
)
def test_sample_order_stats_property(n, lo, span_low, span_high, seed):
    med = lo + span_low + (0.5 if n % 2 == 0 and span_low % 2 else 0)
    hi = lo + span_low + span_high
    stat = OrderStat("s", n, med, lo, hi)
    vals = sample_order_stats([(lo, hi)] * n, stat, random.Random(seed))
    assert vals is not None
    assert median_range(vals) == (med, lo, hi)


def test_sample_increasing_respects_bounds_pairs_and_order():
    rng = random.Random(1)
    for _ in range(50):
        x = sample_increasing([1, 1, 1, 1], [10, 10, 10, 10], [(1, 2, 5.5)], rng)
        assert x is not None and x == sorted(set(x)) and x[1] + x[2] == 11
    assert sample_increasing([1, 1, 1], [2, 2, 2], [], rng) is None


# ----------------------------------------------------------------------------- the shipped draws


def test_shipped_draws_reproduce_every_published_figure_with_lifelines(huang, shipped):
    pub, base, cons = huang
    assert len(shipped) == 20
    cr1 = set(base.loc[base["is_cr1_undetectable_mrd"], "patient"])
    non_rr = set(base.loc[~base["is_refractory_relapsed"], "patient"])
    pops = {"cohort": set(base["patient"]), "cr1_undetectable_mrd": cr1, "non_refractory_relapsed": non_rr}
    keys = ["os_1y", "efs_1y", "grfs_1y", "os_1y_cr1", "efs_1y_cr1", "grfs_1y_cr1", "os_1y_non_rr", "efs_1y_non_rr"]
    for table in shipped:
        for key in keys:
            fig = pub[key]
            sub = table[table["patient"].isin(pops[fig.population])]
            d = derive(sub, fig.endpoint, from_transplant=True)
            est = km_at(d["duration"], d["event"], fig.landmark_days)
            assert abs(100 * est.estimate - fig.value) <= fig.tolerance, key
            if fig.ci is not None:
                assert abs(100 * est.lower - fig.ci[0]) <= fig.tolerance, key
                assert abs(100 * est.upper - fig.ci[1]) <= fig.tolerance, key
        d = derive(table, "relapse", from_transplant=True)
        inc = cif_at(d["duration"], d["event"], EVENT_RELAPSE, float(d["duration"].max()))
        assert abs(100 * inc - pub["relapse_rate"].value) <= pub["relapse_rate"].tolerance
        assert median_range(table["last_followup_day"]) == (325, 156, 775)
        assert median_range(table["entry_day"]) == (102, 42, 227)
        assert int(table["death_day"].isna().sum()) == 18
        by = table.set_index("patient")
        assert by.loc["P13", "death_cause"] == "relapse" and not math.isnan(by.loc["P13", "relapse_day"])
        assert by.loc["P3", "death_cause"] == "nrm" and by.loc["P15", "death_cause"] == "nrm"
        assert table["relapse_day"].notna().sum() == 1
        alive = table[table["death_day"].isna()]
        assert alive["last_followup_day"].between(131, 799).all()
        assert all(c.ok for c in verify_table(table, cons, qualifying=("agvhd_3_4", "cgvhd_severe"))), [
            c for c in verify_table(table, cons) if not c.ok
        ]


def test_shipped_draws_are_distinct_and_manifest_complete(shipped):
    texts = {t.to_csv(index=False) for t in shipped}
    assert len(texts) == len(shipped) == 20
    doc = json.loads((RECONSTRUCTED_DIR / "manifest.json").read_text())
    assert doc["seed"] == 1 and doc["M"] == 20
    assert doc["orderings_consistent"] > 0
    assert len(doc["draws"]) == 20 and all(all(c["ok"] for c in d["checks"]) for d in doc["draws"])
    assert {r["reading"] for r in doc["followup_readings"]} == {"all", "censored"}
    assert doc["chosen_definition"] == "severe"
    by_name = {g["name"]: g for g in doc["gvhd_definitions"]}
    # Counting all five cGvHD needs event-free qualifying cases, which the draws exclude.
    assert by_name["standard"]["orderings"] == 0
    alt = {g["name"]: g for g in doc["anonymous_gvhd_alternative"]}
    assert alt["standard"]["orderings"] > 0
    # P3 has a qualifying GvHD in every consistent ordering (CR1 GRFS 14/15 before CR1 OS 13/14).
    assert all("P3" in d["configuration"].split("+")[0] for d in doc["draws"])


def test_verify_table_catches_a_wrong_table(huang, shipped):
    _pub, _base, cons = huang
    table = shipped[0].copy()
    # Moving one censoring later changes a risk set and must break a published figure.
    alive = table.index[table["death_day"].isna()]
    table.loc[alive, "last_followup_day"] = table.loc[alive, "last_followup_day"].max() - 1
    assert not all(c.ok for c in verify_table(table, cons))


# ----------------------------------------------------------------------------- synthetic study


def test_synthetic_truth_reproduces_its_own_summaries(synthetic):
    truth, paths = synthetic
    _pub, cons = _cons(paths)
    assert all(c.ok for c in verify_table(truth, cons))


def test_synthetic_round_trip(synthetic):
    truth, paths = synthetic
    pub, cons = _cons(paths)
    rec = reconstruct(cons, draws=4, seed=2)
    assert len({d.table.to_csv(index=False) for d in rec.draws}) == 4
    for d in rec.draws:
        t = d.table
        for key in ("os_1y", "efs_1y"):
            fig = pub[key]
            e = derive(t, fig.endpoint, from_transplant=True)
            est = km_at(e["duration"], e["event"], fig.landmark_days)
            assert abs(100 * est.estimate - fig.value) <= fig.tolerance
            assert abs(100 * est.lower - fig.ci[0]) <= fig.tolerance
            assert abs(100 * est.upper - fig.ci[1]) <= fig.tolerance
        e = derive(t, "relapse", from_transplant=True)
        inc = cif_at(e["duration"], e["event"], EVENT_RELAPSE, float(e["duration"].max()))
        assert abs(100 * inc - pub["relapse_rate"].value) <= pub["relapse_rate"].tolerance
        assert median_range(t["last_followup_day"]) == median_range(truth["last_followup_day"])
        assert median_range(t["entry_day"]) == median_range(truth["entry_day"])
        assert (t["death_cause"] == "nrm").sum() == (truth["death_cause"] == "nrm").sum()
        assert t["relapse_day"].notna().sum() == truth["relapse_day"].notna().sum()
        assert all(c.ok for c in verify_table(t, cons))


def test_script_same_seed_identical_files_and_other_seed_differs(synthetic, tmp_path):
    _truth, paths = synthetic
    common = [
        "--study",
        str(paths["study"].parent),
        "--published",
        str(paths["published"]),
        "--baseline",
        str(paths["baseline"]),
        "--constraints",
        str(paths["constraints"]),
        "--draws",
        "3",
        "--quiet",
    ]
    assert main([*common, "--seed", "7", "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--seed", "7", "--out", str(tmp_path / "b")]) == 0
    assert main([*common, "--seed", "8", "--out", str(tmp_path / "c")]) == 0
    files = [f"draw_{i:03d}.csv" for i in (1, 2, 3)]
    a = [(tmp_path / "a" / f).read_bytes() for f in files]
    assert a == [(tmp_path / "b" / f).read_bytes() for f in files]
    assert a != [(tmp_path / "c" / f).read_bytes() for f in files]
    doc = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert doc["seed"] == 7 and doc["M"] == 3 and len(doc["inputs_sha256"]) == 4


# ----------------------------------------------------------------------------- workflow API


def _settings(paths, **kw) -> ReconstructSettings:
    return ReconstructSettings(
        study=paths["study"].parent,
        published=paths["published"],
        baseline=paths["baseline"],
        constraints=paths["constraints"],
        **kw,
    )


def _options(paths) -> list[str]:
    return [
        "--study",
        str(paths["study"].parent),
        "--published",
        str(paths["published"]),
        "--baseline",
        str(paths["baseline"]),
        "--constraints",
        str(paths["constraints"]),
    ]


#: Manifest fields that differ between two runs of the same reconstruction.
RUN_FIELDS = ("created_utc", "command", "solve_seconds")


@pytest.fixture(scope="module")
def workflow(synthetic):
    _truth, paths = synthetic
    return reconstruct_study(_settings(paths, draws=3, seed=7))


def test_workflow_tables_equal_the_files_it_writes(workflow, tmp_path):
    written = workflow.write(tmp_path / "w")
    names = [f"draw_{i:03d}.csv" for i in (1, 2, 3)]
    assert list(workflow.tables) == names
    assert [p.name for p in written] == [*names, "manifest.json"]
    for name, table in workflow.tables.items():
        pd.testing.assert_frame_equal(load_outcomes(tmp_path / "w" / name), table)
        text = format_outcomes(table).to_csv(index=False, lineterminator="\n")
        assert (tmp_path / "w" / name).read_text(encoding="utf-8") == text
    doc = json.loads((tmp_path / "w" / "manifest.json").read_text())
    assert doc["outputs"] == names and doc["M"] == 3 and doc["seed"] == 7
    assert doc["draws"] == json.loads(json.dumps(workflow.audit))
    assert doc["orderings_consistent"] == workflow.orderings > 0
    assert doc["command"].startswith("models.workflows.reconstruct_study(ReconstructSettings(")
    checks = workflow.checks()
    assert len(checks) == sum(len(d["checks"]) for d in doc["draws"]) and checks["ok"].all()


def test_workflow_write_equals_the_command_output(synthetic, workflow, tmp_path):
    _truth, paths = synthetic
    assert main([*_options(paths), "--draws", "3", "--seed", "7", "--out", str(tmp_path / "cmd"), "--quiet"]) == 0
    workflow.write(tmp_path / "api", command="the command")
    cmd, api = sorted((tmp_path / "cmd").iterdir()), sorted((tmp_path / "api").iterdir())
    assert [p.name for p in cmd] == [p.name for p in api]
    for a, b in zip(cmd, api, strict=True):
        if a.name != "manifest.json":
            assert a.read_bytes() == b.read_bytes(), a.name
    docs = [json.loads((d / "manifest.json").read_text()) for d in (tmp_path / "cmd", tmp_path / "api")]
    assert docs[0]["command"].startswith("python scripts/reconstruct.py --study")
    assert docs[1]["command"] == "the command"
    for doc in docs:
        for key in RUN_FIELDS:
            doc.pop(key)
    assert docs[0] == docs[1]


def test_workflow_report_names_the_search_and_the_checks(workflow):
    text = workflow.report()
    assert "3 distinct tables of 24 patients (seed 7)" in text
    assert f"{workflow.orderings:,} consistent orderings" in text
    n = len(workflow.checks())
    assert f"{n}/{n} figure checks pass" in text


def test_workflow_settings_errors_name_the_setting(synthetic):
    _truth, paths = synthetic
    with pytest.raises(ConfigError) as exc:
        reconstruct_study(_settings(paths, draws=0))
    assert exc.value.source == "draws"
    with pytest.raises(ConfigError) as exc:
        reconstruct_study(_settings(paths, gvhd_definitions=("nosuch",)))
    assert exc.value.source == "gvhd_definitions" and "nosuch" in _one_line(exc.value)


def test_command_names_the_gvhd_definition_option(synthetic, tmp_path, capsys):
    _truth, paths = synthetic
    out = tmp_path / "out"
    assert main([*_options(paths), "--gvhd-definition", "nosuch", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["reconstruct.py: configuration error: --gvhd-definition: found 'nosuch'; expected one of []"]
    assert not out.exists()


def test_default_output_folder_is_the_packs_outcomes_folder():
    huang = load_study(STUDY_DIR)
    assert default_output_folder(huang) == huang.outcomes_path == RECONSTRUCTED_DIR


# ----------------------------------------------------------------------------- bad constraints


def _edit(paths, tmp_path: Path, which: str, old: str, new: str) -> dict[str, Path]:
    out = dict(paths)
    text = paths[which].read_text()
    assert old in text
    out[which] = tmp_path / paths[which].name
    out[which].write_text(text.replace(old, new, 1))
    return out


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


def test_malformed_toml_is_a_config_error(synthetic, tmp_path):
    _truth, paths = synthetic
    bad = _edit(paths, tmp_path, "constraints", "[[km]]", "[[km]")
    with pytest.raises(ConfigError) as exc:
        _cons(bad)
    assert "malformed TOML" in _one_line(exc.value)


def test_unknown_figure_name_is_named(synthetic, tmp_path):
    _truth, paths = synthetic
    bad = _edit(paths, tmp_path, "constraints", 'figure = "os_1y"', 'figure = "os_2y"')
    with pytest.raises(ReconstructionError) as exc:
        _cons(bad)
    assert "os_2y" in _one_line(exc.value)


def test_unknown_endpoint_is_named(synthetic, tmp_path):
    _truth, paths = synthetic
    bad = _edit(paths, tmp_path, "published", 'endpoint = "efs"', 'endpoint = "pfs"')
    with pytest.raises(DataError) as exc:  # published.toml's endpoints are checked when it loads
        _cons(bad)
    assert "pfs" in _one_line(exc.value)


def test_ci_excluding_its_estimate_is_a_data_error(synthetic, tmp_path):
    _truth, paths = synthetic
    pub = load_published(paths["published"], study=_pack(paths))
    est = pub["os_1y"]
    bad = _edit(
        paths, tmp_path, "published", f"ci = [{est.ci[0]}, {est.ci[1]}]", f"ci = [{est.value + 1}, {est.value + 2}]"
    )
    with pytest.raises(DataError) as exc:
        load_published(bad["published"], study=_pack(paths))
    assert "os_1y" in _one_line(exc.value)


def test_contradictory_counts_are_named(synthetic, tmp_path):
    _truth, paths = synthetic
    pub = load_published(paths["published"], study=_pack(paths))
    alive = int(pub["alive"].value)
    bad = _edit(
        paths,
        tmp_path,
        "published",
        f'value = {alive}\nunit = "patients"\nquote = "synthetic count alive"',
        f'value = {alive - 1}\nunit = "patients"\nquote = "synthetic count alive"',
    )
    with pytest.raises(ReconstructionError) as exc:
        _cons(bad)
    assert "alive" in _one_line(exc.value)


def test_impossible_figure_is_named_with_closest_value(synthetic, tmp_path):
    _truth, paths = synthetic
    pub = load_published(paths["published"], study=_pack(paths))
    os_ = pub["os_1y"]
    # 80.0 (75.0-85.0) is no KM estimate of 24 patients with its log interval.
    bad = _edit(
        paths,
        tmp_path,
        "published",
        f"value = {os_.value}\nci = [{os_.ci[0]}, {os_.ci[1]}]",
        "value = 80.0\nci = [75.0, 85.0]",
    )
    _pub, cons = _cons(bad)
    with pytest.raises(ReconstructionError) as exc:
        reconstruct(cons, draws=1, seed=1)
    text = _one_line(exc.value)
    assert "os_1y" in text and "closest" in text


def test_script_exit_2_on_impossible_constraints_and_nothing_written(synthetic, tmp_path, capsys):
    _truth, paths = synthetic
    pub = load_published(paths["published"], study=_pack(paths))
    os_ = pub["os_1y"]
    bad = _edit(
        paths,
        tmp_path,
        "published",
        f"value = {os_.value}\nci = [{os_.ci[0]}, {os_.ci[1]}]",
        "value = 80.0\nci = [75.0, 85.0]",
    )
    out = tmp_path / "out"
    rc = main(
        [
            "--study",
            str(paths["study"].parent),
            "--published",
            str(bad["published"]),
            "--baseline",
            str(paths["baseline"]),
            "--constraints",
            str(paths["constraints"]),
            "--draws",
            "2",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 2
    assert not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "reconstruction error" in err[0] and "os_1y" in err[0]


def test_script_bad_option_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--draws", "0"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.slow
def test_synthetic_round_trip_n60():
    import tempfile

    # Cohort-level figures only: with a subgroup figure as well, n = 60 exceeds the default
    # search bound (docs/reconstruction.md, "Scaling").
    truth = simulate_outcomes(60, 11, nrm_rate=0.0002, relapse_rate=0.0002)
    paths = publish(truth, Path(tempfile.mkdtemp()), seed=11, subgroup=False)
    _pub, cons = _cons(paths)
    rec = reconstruct(cons, draws=2, seed=1)
    assert all(all(c.ok for c in verify_table(d.table, cons)) for d in rec.draws)
