"""The report for each shipped study pack other than the default: built end to end from the pack alone."""

from __future__ import annotations

import html
import re
import subprocess
import sys

import pytest

from models.constants import REPO_ROOT
from models.html_check import check_html, sections
from models.study import load_study


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.mark.slow
@pytest.mark.parametrize(("pack", "reconstructed"), [("bmt_scrucca2007", False), ("synthetic_aml_letter", True)])
def test_report_of_a_shipped_pack(pack, reconstructed, tmp_path):
    """validate -> (reconstruction, reused when current) -> fit -> sensitivity -> plan -> report, for the pack."""
    study = load_study(REPO_ROOT / "data" / pack)
    results, figures = tmp_path / "results", tmp_path / "figures"
    proc = subprocess.run(
        [
            *(sys.executable, "scripts/report.py", "--study", f"data/{pack}"),
            *("--results", str(results), "--figures", str(figures), "--quiet"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr
    page = (results / study.id / "report.html").read_text(encoding="utf-8")
    assert check_html(page, source="report.html") == []
    assert ("reconstruction" in sections(page)) is reconstructed
    assert f"<title>Bayesian reanalysis: {html.escape(study.info.title, quote=False)}</title>" in page
    head = _text(page[: page.index("<nav")])
    assert study.info.citation in head
    for other in ("Huang", "huang2024", "B-ALL/LBL"):
        assert other not in head, other
    assert "data/huang2024" not in page
    for step in ("fit", "sensitivity", "plan"):
        assert (results / study.id / step / "manifest.json").is_file(), step
    assert not (results / "huang2024").exists()
