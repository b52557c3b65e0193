"""scripts/fit.py end to end with tiny settings on throw-away outcome tables."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from models.constants import REPO_ROOT
from models.data import format_outcomes
from models.posterior_io import load_posterior
from models.simulate import simulate_cohort

SCRIPT = REPO_ROOT / "scripts" / "fit.py"
HAZ = {
    "relapse": [1 / 1500, 1 / 2000, 1 / 3000, 1 / 5000, 1 / 8000],
    "nrm": [1 / 3000, 1 / 4000, 1 / 6000, 1 / 8000, 1 / 9000],
    "gvhd": [1 / 800, 1 / 1000, 1 / 2000, 1 / 3000, 1 / 3000],
    "death_after_relapse": [1 / 150, 1 / 300, 1 / 700],
}


fit = importlib.import_module("models.cli.fit")


def _table(seed: int) -> pd.DataFrame:
    df = simulate_cohort(
        30, HAZ, (0, 100, 180, 365, 730), (0, 90, 365), entry_range=(42, 227), followup_range=(300, 800), seed=seed
    ).round(0)
    return format_outcomes(df)


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    one = tmp_path / "cohort.csv"
    _table(1).to_csv(one, index=False)
    folder = tmp_path / "reconstructed"
    folder.mkdir()
    for i in (1, 2, 3):
        _table(10 + i).to_csv(folder / f"draw_{i:03d}.csv", index=False)
    return {"one": one, "folder": folder}


def _exit_code(argv: list[str]) -> int:
    """main's return value, or the status of the SystemExit argparse raises for bad options."""
    try:
        return fit.main(argv)
    except SystemExit as exc:
        return int(exc.code)


def _run(tmp_path: Path, *args: str, name: str = "out") -> tuple[int, Path]:
    out = tmp_path / name
    code = fit.main(["--out", str(out), "--figures-dir", str(tmp_path / f"{name}_fig"), "--quiet", *args])
    return code, out


def test_fit_on_a_folder_of_draws_writes_every_output(tmp_path, data, capsys):
    out = tmp_path / "out"
    code = fit.main(
        [
            "--data",
            str(data["folder"]),
            "--draws",
            "200",
            "--chains",
            "2",
            "--out",
            str(out),
            "--figures-dir",
            str(tmp_path / "fig"),
            "--landmark-day",
            "100",
        ]
    )
    assert code == 0
    report = capsys.readouterr()
    assert "3 table(s) of 30 patients" in report.out and "share of posterior variance" in report.out
    assert "fitting 3 table(s)" in report.err  # progress on stderr
    names = {p.name for p in out.iterdir()}
    assert {
        "summary.csv",
        "claims.csv",
        "diagnostics.csv",
        "reconstruction_variance.csv",
        "curves.csv",
        "posterior.nc",
        "manifest.json",
        "figures",
    } <= names
    figs = {p.name for p in (out / "figures").iterdir()}
    for stem in ("incidence_relapse_nrm", "survival_efs_os", "prior_posterior_relapse_1y"):
        assert {f"{stem}.png", f"{stem}.svg"} <= figs
    assert figs == {p.name for p in (tmp_path / "fig").iterdir()}
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == [
        "quantity",
        "scale",
        "day",
        "mean",
        "median",
        "lower",
        "upper",
        "prior_driven",
        "prior_driven_intervals",
    ]
    assert set(summary["scale"]) == {"from_transplant", "conditional"}
    assert set(summary["quantity"]) == {"relapse_cif", "nrm_cif", "efs", "os", "grfs"}
    claims = pd.read_csv(out / "claims.csv")
    assert {"claim", "threshold", "probability"} <= set(claims.columns)
    assert claims["probability"].between(0, 1).all()
    rv = pd.read_csv(out / "reconstruction_variance.csv")
    assert rv["between_share"].between(0, 1).all() and (rv["n_tables"] == 3).all()
    diag = pd.read_csv(out / "diagnostics.csv")
    assert diag["table"].nunique() == 3 and "ok" in diag
    man = json.loads((out / "manifest.json").read_text())
    assert man["seed"] == 20240708
    # three tables, the prior sources and sets, the claims file and the study's three control packs,
    # named relative to the repository
    assert len(man["inputs_sha256"]) == 9 and "data/priors/sources.toml" in man["inputs_sha256"]
    assert "data/controls/chang2020_msd/control.toml" in man["inputs_sha256"]
    assert "data/claims.toml" in man["inputs_sha256"]
    assert set(man["outputs"]) >= {"summary.csv", "posterior.nc", "manifest.json", "figures/survival_efs_os.png"}
    assert man["landmark_day"] == 100
    idata = load_posterior(out / "posterior.nc", data_sha256=man["data_sha256"])
    assert idata.posterior.sizes["table"] == 3 and idata.posterior.attrs["engine"] == "exact"


def test_same_inputs_and_seed_give_identical_summary(tmp_path, data):
    args = ["--data", str(data["one"]), "--draws", "100", "--chains", "2", "--no-figures", "--seed", "3"]
    c1, o1 = _run(tmp_path, *args, name="a")
    c2, o2 = _run(tmp_path, *args, name="b")
    c3, o3 = _run(tmp_path, *args[:-1], "4", name="c")
    assert c1 == c2 == c3 == 0
    assert (o1 / "summary.csv").read_bytes() == (o2 / "summary.csv").read_bytes()
    assert (o1 / "summary.csv").read_bytes() != (o3 / "summary.csv").read_bytes()
    claims = pd.read_csv(o1 / "claims.csv")  # the cited claims of data/claims.toml by default
    assert (claims["note"].str.len() > 20).all() and "relapse_cif" in set(claims["quantity"])
    c4, o4 = _run(tmp_path, *args, "--claims", "builtin", name="d")
    builtin = pd.read_csv(o4 / "claims.csv")
    row = builtin[builtin["claim"] == "relapse_1y_below_no_maintenance_benchmark"].iloc[0]
    assert c4 == 0 and row["threshold"] == 0.20 and "placeholder" in row["note"]
    assert not (tmp_path / "a_fig").exists()


def test_strict_exits_1_when_convergence_checks_fail(tmp_path, data, capsys):
    # 2 x 50 draws: bulk ESS below 400, so the run is flagged; --strict turns that into exit 1
    args = ["--data", str(data["one"]), "--draws", "50", "--chains", "2", "--no-figures"]
    code, out = _run(tmp_path, *args, name="lax")
    assert code == 0 and not pd.read_csv(out / "diagnostics.csv")["ok"].all()
    code, out = _run(tmp_path, *args, "--strict", name="strict")
    assert code == 1 and (out / "summary.csv").exists()
    capsys.readouterr()
    fit.main(["--out", str(tmp_path / "loud"), *args])  # not --quiet: the verdict comes with what to change
    printed = capsys.readouterr().out
    assert "convergence checks FAILED" in printed and "try --draws 1000" in printed


def test_failed_nuts_run_prints_the_samplers_advice(tmp_path, data, capsys):
    # 2 x 60 NUTS draws cannot reach ESS 400: the ConvergenceWarning's advice is printed once, after the verdict
    args = ["--data", str(data["one"]), "--engine", "nuts", "--draws", "60", "--tune", "100", "--chains", "2"]
    fit.main(["--out", str(tmp_path / "o"), "--figures-dir", str(tmp_path / "f"), "--no-figures", *args])
    printed = capsys.readouterr().out
    assert printed.count("NUTS convergence checks failed") == 1
    assert "cannot reach ESS 400: use more draws" in printed
    assert "more tuning and draws (--tune 4000, --draws 4000)" in printed  # settings shown as options


def test_from_transplant_option_changes_exposure(tmp_path, data):
    base = ["--data", str(data["one"]), "--draws", "100", "--chains", "2", "--no-figures"]
    _, o1 = _run(tmp_path, *base, name="entry")
    _, o2 = _run(tmp_path, *base, "--from-transplant", name="zero")
    e1 = pd.read_csv(o1 / "exposure.csv")
    e2 = pd.read_csv(o2 / "exposure.csv")
    assert e2["exposure_days"].sum() > e1["exposure_days"].sum()
    assert json.loads((o2 / "manifest.json").read_text())["from_transplant"] is True


def test_nuts_engine_through_the_script(tmp_path, data):
    code, out = _run(
        tmp_path,
        "--data",
        str(data["one"]),
        "--engine",
        "nuts",
        "--sampler",
        "pymc",
        "--draws",
        "100",
        "--tune",
        "100",
        "--chains",
        "2",
        "--no-figures",
    )
    assert code == 0
    idata = load_posterior(out / "posterior.nc")
    assert idata.posterior.attrs["engine"] == "nuts"
    assert "pymc" in idata.posterior.attrs["sampler"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--data", "{tmp}/missing.csv"], "no such file"),
        (["--data", "{tmp}"], "no draw_*.csv"),
        (["--cuts", "0,180,100"], "--cuts"),
        (["--cuts", "10,100"], "starting at 0"),
        (["--cuts", "0,abc"], "--cuts"),
        (["--relapse-death-cuts", "0,inf"], "--relapse-death-cuts"),
        (["--engine", "gibbs"], "invalid choice"),
        (["--draws", "0"], "--draws"),
        (["--seed", "-1"], "--seed"),
        (["--claims", "{tmp}/claims.toml"], "claims TOML"),
        (["--prior", "optimistic"], "--prior"),
        (["--landmark-day", "5000"], "--landmark-day"),
        (["--data", "{bad}"], "relapse_day"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, data, capsys, args, fragment):
    bad = tmp_path / "bad.csv"
    df = _table(1)
    df.loc[0, "relapse_day"] = "1"  # before entry
    df.to_csv(bad, index=False)
    args = [a.format(tmp=tmp_path, bad=bad) for a in args]
    if "--data" not in args:
        args = ["--data", str(data["one"]), *args]
    out = tmp_path / "never"
    code = _exit_code([*args, "--out", str(out), "--figures-dir", str(tmp_path / "never_fig"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err and err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "never_fig").exists()


def test_script_runs_from_any_folder_and_says_how_to_install_when_not_installed(tmp_path):
    # -S drops site-packages (and the editable install): scripts do not edit sys.path, so the
    # script says in one line that the toolkit must be installed, exit 2
    res = subprocess.run([sys.executable, "-S", str(SCRIPT), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "pip install -e ." in res.stderr, res.stderr
    res = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0 and "--engine" in res.stdout, res.stderr
    res = subprocess.run(
        [sys.executable, str(SCRIPT), "--cuts", "0,5,5", "--quiet"], capture_output=True, text=True, cwd=tmp_path
    )
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "--cuts" in res.stderr


def test_installed_programs_are_the_scripts_commands():
    # [project.scripts]: every installed program starts the same command module as its script
    import tomllib

    from models import cli

    programs = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    targets = {target.split(":")[1] for target in programs.values()}
    assert targets == {f"{command.split('_')[0]}_command" for command in cli.COMMANDS}  # plan_trial: plan_command
    for target in programs.values():
        module, attr = target.split(":")
        assert callable(getattr(importlib.import_module(module), attr))
    for command in cli.COMMANDS:
        assert callable(importlib.import_module(f"models.cli.{command}").main)
        assert f'launch("{command}")' in (REPO_ROOT / "scripts" / f"{command}.py").read_text()


def test_ctrl_c_on_a_registry_size_cohort_acts_within_a_second(tmp_path):
    # 20,000 simulated patients: the run is interrupted once it is past loading, and must exit 130
    # within a second with nothing written (outputs are staged and the process does not linger)
    import signal
    import time

    df = simulate_cohort(
        20_000, HAZ, (0, 100, 180, 365, 730), (0, 90, 365), entry_range=(42, 227), followup_range=(300, 800), seed=5
    ).round(0)
    data = tmp_path / "big.csv"
    format_outcomes(df).to_csv(data, index=False)
    out = tmp_path / "out"
    cmd = [sys.executable, str(SCRIPT), "--data", str(data), "--out", str(out), "--figures-dir", str(tmp_path / "f")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # progress lines: wait until the fit is under way
        if "deriving curves" in line:
            break
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 130 and "interrupted" in err
    assert elapsed < 1.0, elapsed
    assert not out.exists()
