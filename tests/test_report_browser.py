"""The report as a browser shows it: every figure loads, nothing goes to the console, no section is empty.

Headless Chromium is Debian's package, driven by Playwright (``models.browser``); the fixture
installs the browser with apt-get where it is missing and the tests run as root, and skips with
the reason otherwise (also when Playwright is not installed). A small page made from the report's
templates is checked in a fast test; the full report (``built_report`` in conftest: every pipeline
step runs, minutes) in slow ones. The plain HTML check of the same report (tests/test_report.py)
runs everywhere.

The slow tests leave screenshots for a reviewer who does not want to build the report:
``summary.png`` (the top of the page: title, contents, the question) and ``figure.png`` (the view
scrolled to the first posterior figure), in ``tests/artefacts/`` or in the folder named by the
environment variable ``TXBAYES_ARTEFACTS``.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from models import browser
from models.html_check import check_html, images, sections
from models.report_html import Section, figure_of, p, page, table, ul

matplotlib.use("Agg")

#: Environment variable naming the folder for the screenshots (default tests/artefacts).
ARTEFACTS_ENV = "TXBAYES_ARTEFACTS"
#: The figure the second screenshot shows.
FIGURE_SELECTOR = "#posterior figure"


@pytest.fixture(scope="module")
def chromium() -> str:
    path = browser.ensure_chromium(install=True)
    if path is None:
        pytest.skip(f"headless Chromium unavailable: {browser.why_unavailable()}")
    return path


@pytest.fixture
def artefacts() -> Path:
    folder = Path(os.environ.get(ARTEFACTS_ENV) or Path(__file__).parent / "artefacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def png_size(path: Path) -> tuple[int, int]:
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", blob[16:24])


def assert_renders(path: Path, chromium: str, *, n_images: int, min_text: int) -> browser.RenderResult:
    """Every image decodes, the console stays clean, nothing is fetched, and every section has text."""
    text = path.read_text(encoding="utf-8")
    res = browser.render_check(path, chromium=chromium)
    assert len(res.images) == len(images(text)) == n_images
    assert res.broken_images == [], res.broken_images
    assert all(width > 0 for _, _, width in res.images)
    assert res.console_errors == [], res.console_errors
    assert res.blocked == [], res.blocked
    assert list(res.sections) == list(sections(text))
    assert res.empty_sections == []
    assert min(res.sections.values()) > min_text, res.sections
    return res


def small_report(folder: Path) -> Path:
    """A page from the report's templates: a lead section, two sections, a figure, a table, text to escape."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1, 2], [0.0, 0.3, 0.45])
    df = pd.DataFrame({"Transition": ["relapse", "NRM"], "1-year": [0.224, 0.081]})
    question = Section(
        "question",
        "The question",
        p("Is relapse below 30% at one year? Yes &amp; no.") + figure_of(fig, "cumulative incidence", "Figure 1."),
        subsections=[Section("numbers", "Numbers <& quotes '\">", table(df, caption="Posterior means"))],
    )
    notes = Section("notes", "Notes", ul(["one", "two"]))
    lead = Section("summary", "Summary", p("In short: probably not."))
    html = page(
        "Bayesian reanalysis: a <test>", "Doe & Roe (n = 2)", [question, notes], generated="Generated now.", lead=lead
    )
    assert check_html(html, source="small.html") == []
    path = folder / "small.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_a_page_from_the_templates_renders(chromium: str, tmp_path: Path):
    path = small_report(tmp_path)
    res = assert_renders(path, chromium, n_images=1, min_text=5)
    assert res.title == "Bayesian reanalysis: a <test>"
    assert list(res.sections) == ["summary", "question", "numbers", "notes"]
    text = path.read_text(encoding="utf-8")
    assert text.index('<section id="summary">') < text.index('<nav class="toc"') < text.index('<section id="question">')
    assert '<a href="#summary">' not in text and '<a href="#question">' in text
    shot = browser.screenshot(
        path, tmp_path / "figure.png", width=500, height=400, selector="figure", chromium=chromium
    )
    assert png_size(shot) == (500, 400)


@pytest.mark.slow
def test_every_figure_loads_and_no_section_is_empty(chromium: str, built_report):
    path, _, _ = built_report
    # 12 fit and sensitivity figures + 3 from the comparison with the study's controls
    res = assert_renders(path, chromium, n_images=15, min_text=400)
    assert res.title.startswith("Bayesian reanalysis")
    assert all(width > 300 for _, _, width in res.images)


@pytest.mark.slow
def test_screenshots_for_the_reviewer(chromium: str, built_report, artefacts: Path):
    path, _, _ = built_report
    summary = browser.screenshot(path, artefacts / "summary.png", width=1200, height=1600, chromium=chromium)
    figure = browser.screenshot(
        path, artefacts / "figure.png", width=1200, height=1600, selector=FIGURE_SELECTOR, chromium=chromium
    )
    assert png_size(summary) == png_size(figure) == (1200, 1600)
    assert summary.read_bytes() != figure.read_bytes()


@pytest.mark.slow
def test_report_prints_to_pdf(chromium: str, built_report, tmp_path: Path):
    path, _, _ = built_report
    pdf = browser.print_pdf(path, tmp_path / "report.pdf", chromium=chromium)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert browser.pdf_pages(pdf) >= 10
