"""The report as a browser shows it: headless Chromium loads every figure and no section is empty.

Chromium is Debian's package; the fixture installs it with apt-get where it is missing and the
tests run as root, and skips with the reason otherwise. The plain HTML check of the same report
(tests/test_report.py) runs everywhere.
"""

from __future__ import annotations

import pytest

from models import browser
from models.html_check import images, sections


@pytest.fixture(scope="module")
def chromium() -> str:
    path = browser.ensure_chromium(install=True)
    if path is None:
        pytest.skip(f"headless Chromium unavailable: {browser.why_unavailable()}")
    return path


def test_every_figure_loads_and_no_section_is_empty(chromium, built_report):
    path, _, _ = built_report
    page = path.read_text(encoding="utf-8")
    res = browser.render_check(path, chromium=chromium)
    assert res.title.startswith("Bayesian reanalysis")
    assert len(res.images) == len(images(page)) == 12
    assert res.broken_images == [], res.broken_images
    assert all(width > 300 for _, _, width in res.images)
    assert set(res.sections) == set(sections(page))
    assert res.empty_sections == []
    assert min(res.sections.values()) > 400


def test_report_prints_to_pdf(chromium, built_report, tmp_path):
    path, _, _ = built_report
    pdf = browser.print_pdf(path, tmp_path / "report.pdf", chromium=chromium)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert browser.pdf_pages(pdf) >= 10
