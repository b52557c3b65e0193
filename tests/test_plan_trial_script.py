"""scripts/plan_trial.py end to end with tiny settings: outputs, report, bad input (exit 2, nothing written)."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest
from test_design import BASE

from models.constants import REPO_ROOT


@pytest.fixture(scope="module")
def plan():
    spec = importlib.util.spec_from_file_location("plan_trial", REPO_ROOT / "scripts" / "plan_trial.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _args(design, tmp_path, *extra):
    return [
        "--design",
        str(design),
        "--n-grid",
        "60,120",
        "--n-sims",
        "60",
        "--workers",
        "1",
        "--quiet",
        "--out",
        str(tmp_path / "plan"),
        "--figures",
        str(tmp_path / "fig"),
        *extra,
    ]


def test_script_writes_every_output_and_reports_sample_sizes(plan, write, tmp_path, capsys):
    design = write("design.toml", BASE)
    assert plan.main(_args(design, tmp_path)) == 0
    out = capsys.readouterr().out
    assert "N for 80% power (alternative, bayesian; type I error " in out and "N for 80% assurance (analogue" in out
    files = {p.name for p in (tmp_path / "plan").iterdir()}
    assert {"oc.csv", "sample_size.csv", "calibration.csv", "manifest.json", "plan_test.png", "plan_test.svg"} <= files
    assert {p.name for p in (tmp_path / "fig").iterdir()} == {"plan_test.png", "plan_test.svg"}
    oc = pd.read_csv(tmp_path / "plan" / "oc.csv")
    assert set(oc["N"]) == {60, 120} and (oc["n_sims"] == 60).all()
    # the metric column survives CSV readers (a role word such as "null" would be read as missing)
    assert oc["metric"].notna().all() and set(oc["metric"]) == {"type I error", "power", "assurance"}
    assert {"p_success", "p_success_mcse", "mean_relapses", "mean_duration_days_mcse"} <= set(oc.columns)
    man = json.loads((tmp_path / "plan" / "manifest.json").read_text())
    assert man["seed"] == 20240708 and str(design) in man["inputs_sha256"]
    assert sorted(man["outputs"]) == sorted(files)
    assert man["sample_size_search"]["tolerance"] == 0.02


def test_script_reports_root_searched_sample_sizes_with_intervals(plan, write, tmp_path, capsys):
    from test_sample_size import TINY

    design = write("tiny.toml", TINY)
    args = _args(design, tmp_path, "--n-grid", "100,200,260", "--n-sims", "100", "--ss-max-trials", "400")
    assert plan.main(args) == 0
    out = capsys.readouterr().out
    ss = pd.read_csv(tmp_path / "plan" / "sample_size.csv")
    # the grid-reading columns come first, as before; the root search fills n_point and n_conservative
    assert list(ss.columns[:9]) == [
        *("design", "scenario", "metric", "analysis", "target", "n_point", "n_conservative", "max_in_grid"),
        "schoenfeld_relapses",
    ]
    alt = ss[(ss["scenario"] == "alternative") & (ss["analysis"] == "frequentist")].iloc[0]
    assert alt["n_lower"] <= alt["n_point"] <= alt["n_upper"] == alt["n_conservative"]
    assert alt["n_point"] % 2 == 0 and alt["grid_n_point"] in (200, 260)
    line = next(x for x in out.splitlines() if x.startswith("N for 80% power (alternative, frequentist; type I"))
    assert f": {int(alt['n_point'])} (95% MC interval {int(alt['n_lower'])}-{int(alt['n_upper'])}" in line
    assert f"Schoenfeld 65.3 relapses, N {int(alt['schoenfeld_n'])}" in out
    assert f"Freedman 70.6 relapses, N {int(alt['freedman_n'])}" in out
    assert "N for 80% assurance (current, bayesian): not reached (max" in out


@pytest.mark.parametrize("edit", [("threshold = 0.975", "threshold = 1.5"), ("[grid]", "[grid]\nfoo = 1")])
def test_bad_design_exits_2_with_one_line_and_writes_nothing(plan, write, tmp_path, capsys, edit):
    design = write("bad.toml", BASE.replace(*edit))
    assert plan.main(_args(design, tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.toml" in err and "Traceback" not in err
    assert not (tmp_path / "plan").exists() and not (tmp_path / "fig").exists()


def test_bad_options_exit_2(plan, write, tmp_path, capsys):
    design = write("design.toml", BASE)
    assert plan.main(_args(design, tmp_path, "--n-grid", "10,x")) == 2
    capsys.readouterr()
    for bad in (("--workers", "0"), ("--ss-tolerance", "0.7"), ("--ss-tolerance", "x"), ("--ss-max-trials", "0")):
        with pytest.raises(SystemExit) as exc:
            plan.main(_args(design, tmp_path, *bad))
        assert exc.value.code == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "plan").exists()


def test_missing_posterior_file_is_a_config_error(plan, write, tmp_path, capsys):
    design = write("design.toml", BASE)
    assert plan.main(_args(design, tmp_path, "--posterior", str(tmp_path / "none.nc"))) == 2
    assert "--posterior" in capsys.readouterr().err


def test_posterior_none_uses_the_published_totals_whatever_results_fit_holds(plan, write, tmp_path):
    design = write("design.toml", BASE)
    assert plan.main(_args(design, tmp_path, "--posterior", "none")) == 0
    man = json.loads((tmp_path / "plan" / "manifest.json").read_text())
    assert man["design_prior_posterior"].startswith("published totals")


def test_same_seed_gives_byte_identical_outputs_with_one_or_two_workers(plan, write, tmp_path):
    from test_sample_size import TINY

    design = write("tiny.toml", TINY)
    runs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        args = _args(design, out, "--n-grid", "100,200,260", "--n-sims", "100", "--ss-max-trials", "400")
        assert plan.main([*args, "--workers", workers]) == 0
        runs.append(out)
    names = ["oc.csv", "sample_size.csv", "calibration.csv", "plan_test.png", "plan_test.svg"]
    for name in names:
        assert (runs[0] / "plan" / name).read_bytes() == (runs[1] / "plan" / name).read_bytes(), name
