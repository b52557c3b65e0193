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
    assert "N for 80% power (alternative, bayesian)" in out and "N for 80% assurance (analogue" in out
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
    with pytest.raises(SystemExit) as exc:
        plan.main(_args(design, tmp_path, "--workers", "0"))
    assert exc.value.code == 2
    assert not (tmp_path / "plan").exists()


def test_missing_posterior_file_is_a_config_error(plan, write, tmp_path, capsys):
    design = write("design.toml", BASE)
    assert plan.main(_args(design, tmp_path, "--posterior", str(tmp_path / "none.nc"))) == 2
    assert "--posterior" in capsys.readouterr().err
