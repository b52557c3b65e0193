"""The fit workflow as a notebook user calls it: settings in, a result object out.

The script is a thin layer over :func:`models.workflows.fit_study`: the same settings give the
same files, byte for byte (the manifest differs only in its time stamp and command line).
Settings errors name the setting, not a command-line option.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from models.comparative import COMPARATIVE_TABLES
from models.constants import REPO_ROOT
from models.data import format_outcomes
from models.errors import ConfigError
from models.simulate import simulate_cohort
from models.workflows import FitSettings, fit_study
from models.workflows.fit import TABLES

HAZ = {
    "relapse": [1 / 1500, 1 / 2000, 1 / 3000, 1 / 5000, 1 / 8000],
    "nrm": [1 / 3000, 1 / 4000, 1 / 6000, 1 / 8000, 1 / 9000],
    "gvhd": [1 / 800, 1 / 1000, 1 / 2000, 1 / 3000, 1 / 3000],
    "death_after_relapse": [1 / 150, 1 / 300, 1 / 700],
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    path = tmp_path_factory.mktemp("cohort") / "cohort.csv"
    df = simulate_cohort(
        40, HAZ, (0, 100, 180, 365, 730), (0, 90, 365), entry_range=(42, 227), followup_range=(300, 800), seed=5
    ).round(0)
    format_outcomes(df).to_csv(path, index=False)
    return path


def test_result_object_and_script_write_the_same_files(cohort, tmp_path):
    settings = FitSettings(data=cohort, prior="weak", draws=200, chains=2, seed=11)
    result = fit_study(settings)
    # the default study names its no-maintenance controls, so the comparison's tables come too
    assert set(result.tables) == {*TABLES, *COMPARATIVE_TABLES} and result.ok in (True, False)
    s = result.tables["summary.csv"]
    assert {"quantity", "scale", "day", "median", "lower", "upper"} <= set(s.columns)
    assert "convergence:" in result.report() and "1 year, from transplant" in result.report()
    figs = result.figures()
    assert set(figs) == {
        "incidence_relapse_nrm",
        "survival_efs_os",
        "prior_posterior_relapse_1y",
        "comparative_hr_forest",
        "comparative_incidence",
        "comparative_a0_sweep",
    }
    result.write(tmp_path / "lib", figures=False)
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "fit.py"),
            *("--data", str(cohort), "--prior", "weak", "--draws", "200", "--chains", "2", "--seed", "11"),
            *("--out", str(tmp_path / "cli"), "--no-figures", "--quiet"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in [*TABLES, *COMPARATIVE_TABLES, "posterior.nc"]:
        assert (tmp_path / "lib" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    lib = json.loads((tmp_path / "lib" / "manifest.json").read_text())
    cli = json.loads((tmp_path / "cli" / "manifest.json").read_text())
    for key in ("created_utc", "command"):
        lib.pop(key), cli.pop(key)
    assert lib == cli


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"cuts": (5.0, 100.0)}, "cuts"),
        ({"cuts": (0.0, 100.0, 5000.0)}, "cuts"),
        ({"relapse_death_cuts": (0.0, -1.0)}, "relapse_death_cuts"),
        ({"draws": 10**9}, "draws"),
        ({"landmark_day": 10**6}, "landmark_day"),
    ],
)
def test_settings_errors_name_the_setting(cohort, changes, setting):
    with pytest.raises(ConfigError) as info:
        fit_study(FitSettings(**{"data": cohort, "prior": "weak", "draws": 50, "chains": 1, **changes}))
    assert info.value.source == setting and "--" not in str(info.value.source)
