"""The data-validation script: summary on the shipped data, exit 2 and one line on bad input."""

from __future__ import annotations

import subprocess
import sys

from models.constants import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "validate_data.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=REPO_ROOT)


def test_shipped_data_validates_and_prints_summary():
    res = run()
    assert res.returncode == 0, res.stderr
    assert "patients in Table 1: 21" in res.stdout
    assert "cr1_undetectable_mrd       n = 15" in res.stdout
    assert "os_1y         81.6% (95% CI 64.7-100.0) n = 21" in res.stdout


def test_bad_baseline_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "b.csv"
    bad.write_text((REPO_ROOT / "data/huang2024/baseline.csv").read_text().replace("P7,27,Female", "P7,27,F"))
    res = run("--baseline", str(bad))
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "row 8 (patient P7), field 'sex': found 'F'" in res.stderr


def test_bad_outcome_table_and_bad_option(tmp_path):
    bad = tmp_path / "o.csv"
    bad.write_text("patient,entry_day,relapse_day,gvhd_day,death_day,death_cause,last_followup_day\nP1,10,,,5,nrm,5\n")
    res = run("--outcomes", str(bad))
    assert res.returncode == 2 and "Traceback" not in res.stderr and "field 'entry_day'" in res.stderr
    res = run("--no-such-option")
    assert res.returncode == 2 and res.stderr.count("\n") == 1


def test_own_cohort_outcomes_validate_on_their_own(tmp_path):
    """Tables given with --outcomes are one's own cohort: not held to the default study's patients."""
    ok = tmp_path / "o.csv"
    ok.write_text("patient,entry_day,relapse_day,gvhd_day,death_day,death_cause,last_followup_day\nX1,10,,,,,300\n")
    res = run("--outcomes", str(ok))
    assert res.returncode == 0, res.stderr
    assert "outcome tables valid: 1" in res.stdout


def test_pack_outcomes_for_other_patients_are_rejected(tmp_path):
    """A pack's own outcome tables must hold exactly the patients of its Table 1."""
    import shutil

    pack = tmp_path / "pack"
    shutil.copytree(REPO_ROOT / "data" / "huang2024", pack, ignore=shutil.ignore_patterns("draw_0[1-9]*", "draw_02*"))
    draw = pack / "reconstructed" / "draw_001.csv"
    draw.write_text("".join(line for line in draw.read_text().splitlines(True) if not line.startswith("P21,")))
    res = run("--study", str(pack))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "missing ['P21']" in res.stderr and "exactly the patients of the study's Table 1" in res.stderr
