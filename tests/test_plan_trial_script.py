"""The plan_trial command and the planning workflow end to end with tiny settings.

The command (:mod:`models.cli.plan_trial`, run by ``scripts/plan_trial.py``): outputs, report, bad
input (exit 2, nothing written). The workflow (:func:`models.workflows.plan.plan_trial`): its tables
are the CSV files, ``write`` gives the command's files, errors name settings.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pandas as pd
import pytest
from test_design import BASE

from models.constants import REPO_ROOT
from models.errors import ConfigError, StudyError
from models.workflows.plan import PUBLISHED_TOTALS, TABLES, PlanSettings, plan_trial


@pytest.fixture(scope="module")
def plan():
    return importlib.import_module("models.cli.plan_trial")


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


# ------------------------------------------------------------------------------------------ workflow
def _settings(design, **kw) -> PlanSettings:
    base = {"designs": (design,), "n_grid": (60, 120), "n_sims": 60, "workers": 1, "posterior": "none"}
    return PlanSettings(**{**base, **kw})


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """The workflow's result and the command's outputs for the same tiny settings."""
    root = tmp_path_factory.mktemp("plan_api")
    design = root / "design.toml"
    design.write_text(BASE, encoding="utf-8")
    result = plan_trial(_settings(design))
    return result, design, root


def test_workflow_tables_are_the_written_csvs(planned):
    result, _, root = planned
    written = result.write(root / "api", figure_folder=root / "api_fig")
    assert sorted(p.name for p in written) == sorted([*TABLES, "manifest.json", "plan_test.png", "plan_test.svg"])
    assert list(result.tables) == list(TABLES)
    for name in TABLES:
        text = (root / "api" / name).read_text()
        assert result.tables[name].to_csv(index=False, lineterminator="\n", float_format="%.6g") == text, name
        back = pd.read_csv(root / "api" / name)
        assert list(back.columns) == list(result.tables[name].columns) and len(back) == len(result.tables[name])
    assert "role" not in result.tables["oc.csv"] and set(result.tables["oc.csv"]["N"]) == {60, 120}
    assert {p.name for p in (root / "api_fig").iterdir()} == {"plan_test.png", "plan_test.svg"}
    man = json.loads((root / "api" / "manifest.json").read_text())
    assert man["command"].startswith("models.workflows.plan_trial(PlanSettings(")
    assert man["design_prior_posterior"] == PUBLISHED_TOTALS == result.posterior_note


def test_workflow_write_gives_the_commands_files_and_report(planned, plan, capsys):
    result, design, root = planned
    args = [
        *("--design", str(design), "--n-grid", "120,60,60", "--n-sims", "60", "--workers", "1"),
        *("--posterior", "none", "--quiet", "--out", str(root / "cli"), "--figures", str(root / "cli_fig")),
    ]
    assert plan.main(args) == 0
    out = capsys.readouterr().out
    result.write(root / "api2", figure_folder=root / "api2_fig", command="python scripts/plan_trial.py")
    for cli, api in (("cli", "api2"), ("cli_fig", "api2_fig")):
        names = sorted(p.name for p in (root / cli).iterdir())
        assert names == sorted(p.name for p in (root / api).iterdir())
        for name in names:
            if name != "manifest.json":
                assert (root / cli / name).read_bytes() == (root / api / name).read_bytes(), name
    a, b = (json.loads((root / d / "manifest.json").read_text()) for d in ("cli", "api2"))
    assert a.keys() == b.keys()
    for key in set(a) - {"created_utc", "command", "seconds"}:
        assert a[key] == b[key], key
    # the command prints the workflow's report, then where it wrote
    assert out.startswith("\n" + result.report() + "\nwritten: ")
    assert result.report().startswith("== test (") and "N for 80% power (alternative, bayesian" in result.report()


def test_workflow_figures_and_write_without_figures(planned):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    result, _, root = planned
    figs = result.figures()
    assert list(figs) == ["plan_test"] and all(isinstance(f, Figure) for f in figs.values())
    for f in figs.values():
        plt.close(f)
    result.write(root / "nofig", figures=False)
    assert sorted(p.name for p in (root / "nofig").iterdir()) == sorted([*TABLES, "manifest.json"])
    man = json.loads((root / "nofig" / "manifest.json").read_text())
    assert sorted(man["outputs"]) == sorted([*TABLES, "manifest.json"])


@pytest.mark.parametrize(
    ("kw", "setting"),
    [
        ({"n_grid": (1, 60)}, "n_grid"),
        ({"n_sims": 5}, "n_sims"),
        ({"ss_tolerance": 0.7}, "ss_tolerance"),
        ({"workers": 0}, "workers"),
        ({"posterior": "missing.nc"}, "posterior"),
    ],
)
def test_workflow_errors_name_the_setting(write, kw, setting):
    design = write("design.toml", BASE)
    with pytest.raises(ConfigError) as exc:
        plan_trial(_settings(design, **kw))
    assert exc.value.source == setting


def test_workflow_refuses_designs_with_one_name(write):
    design = write("design.toml", BASE)
    with pytest.raises(ConfigError) as exc:
        plan_trial(_settings(design, designs=(design, design)))
    assert exc.value.source == "designs" and "distinct [design] name" in str(exc.value)


def test_workflow_needs_a_posterior_for_another_study():
    study = REPO_ROOT / "data" / "bmt_scrucca2007"
    with pytest.raises(StudyError, match="posterior"):
        plan_trial(PlanSettings(study=study, posterior="none"))


def test_unreadable_default_posterior_falls_back_to_published_totals_with_a_note(
    plan, write, tmp_path, capsys, monkeypatch
):
    bad = write("posterior.nc", "not a netCDF file")
    monkeypatch.setattr("models.workflows.plan.default_posterior", lambda study: bad)
    design = write("design.toml", BASE)
    assert plan.main(_args(design, tmp_path)) == 0
    err = capsys.readouterr().err
    assert err.startswith("plan_trial.py: note: ") and err.rstrip().endswith("; using the published totals instead")
    man = json.loads((tmp_path / "plan" / "manifest.json").read_text())
    assert man["design_prior_posterior"] == PUBLISHED_TOTALS and str(bad) not in man["inputs_sha256"]


def test_script_shim_runs_the_command(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "plan_trial.py"), "--n-grid", "1,2", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.startswith("plan_trial.py: configuration error: --n-grid: ")
