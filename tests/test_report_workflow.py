"""The report workflow's refusals (the full build is tested through the command in test_report.py)."""

from __future__ import annotations

import pytest

from models.cli import as_option
from models.errors import ConfigError
from models.workflows import ReportSettings, build_report


def test_an_unknown_forced_step_names_the_setting_and_the_known_steps(tmp_path):
    settings = ReportSettings(results=tmp_path / "r", figures=tmp_path / "f", run=False, force=("fitt",))
    with pytest.raises(ConfigError) as exc:
        build_report(settings)
    assert exc.value.source == "force" and "'fitt'" in str(exc.value) and "'fit'" in str(exc.value)
    assert str(as_option(exc.value)).startswith("--force:")


def test_without_running_a_missing_step_is_refused_before_anything_is_written(tmp_path):
    settings = ReportSettings(study="data/bmt_scrucca2007", results=tmp_path / "r", figures=tmp_path / "f", run=False)
    lines: list[str] = []
    with pytest.raises(ConfigError, match=r"priors.*missing.*run without --no-run"):
        build_report(settings, say=lines.append)
    assert not (tmp_path / "r").exists() and not (tmp_path / "f").exists()
    assert lines and all("not re-run" in line for line in lines)
