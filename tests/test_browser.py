"""Headless Chromium through Playwright: broken images, empty sections, console errors and loads from
outside the file are seen, and the PDF is a PDF.

Skipped, with the reason, where Playwright is not installed or no browser can be found or installed.
"""

from __future__ import annotations

import base64
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from models import browser
from models.browser import BrowserError, pdf_pages, print_pdf, render_check, screenshot


def png(width: int, height: int) -> bytes:
    """A valid RGB PNG of a horizontal gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"".join(bytes((255 * x // max(width - 1, 1), 80, 160)) for x in range(width))
    raw = row * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def data_uri(blob: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(blob).decode()


PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Render check</title></head>
<body>
<section id="figures"><h2>Figures</h2>
<img src="{good1}" alt="first good">
<img src="{good2}" alt="second good">
<img src="data:image/png;base64,AAAAgarbage!!" alt="broken">
</section>
<section id="text"><p>Some text.</p></section>
<section id="empty"></section>
</body>
</html>
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = browser.ensure_chromium()
    if path is None:
        pytest.skip(f"headless Chromium unavailable: {browser.why_unavailable()}")
    return path


@pytest.fixture
def page_path(tmp_path: Path) -> Path:
    path = tmp_path / "page.html"
    path.write_text(PAGE.format(good1=data_uri(png(1, 1)), good2=data_uri(png(20, 10))), encoding="utf-8")
    return path


def test_png_helper_is_valid():
    blob = png(20, 10)
    assert blob.startswith(b"\x89PNG") and struct.unpack(">II", blob[16:24]) == (20, 10)


def test_render_check_finds_exactly_the_broken_image(chromium: str, page_path: Path):
    result = render_check(page_path, chromium=chromium)
    assert result.images == [("first good", True, 1), ("second good", True, 20), ("broken", False, 0)]
    assert result.broken_images == ["broken"]
    assert result.title == "Render check"
    assert result.version.lower().startswith(("chromium", "google chrome"))
    assert 0 < result.seconds < 120


def test_render_check_section_text_lengths(chromium: str, page_path: Path):
    result = render_check(page_path, chromium=chromium)
    assert set(result.sections) == {"figures", "text", "empty"}
    assert result.sections["figures"] == len("Figures")
    assert result.sections["text"] == len("Some text.")
    assert result.sections["empty"] == 0
    assert result.empty_sections == ["empty"]


def test_render_check_relative_image_does_not_load(chromium: str, tmp_path: Path):
    (tmp_path / "fig.png").write_bytes(png(4, 4))
    path = tmp_path / "rel.html"
    path.write_text(PAGE.replace('src="{good1}"', 'src="fig.png"').format(good2=data_uri(png(2, 2))))
    result = render_check(path, chromium=chromium)
    assert result.broken_images == ["first good", "broken"]


def test_render_check_reports_console_errors_and_blocked_loads(chromium: str, tmp_path: Path):
    path = tmp_path / "noisy.html"
    extra = (
        '<link rel="stylesheet" href="https://example.org/style.css">'
        '<script>console.error("drawn badly"); console.log("fine"); undefinedFunction();</script>'
    )
    path.write_text(
        PAGE.format(good1=data_uri(png(1, 1)), good2=data_uri(png(2, 2))).replace("</body>", extra + "</body>")
    )
    result = render_check(path, chromium=chromium)
    assert result.blocked == ["https://example.org/style.css"]
    assert "drawn badly" in result.console_errors
    assert any(e.startswith("uncaught: ") and "undefinedFunction" in e for e in result.console_errors)
    assert "fine" not in result.console_errors


def test_clean_page_has_no_console_errors(chromium: str, tmp_path: Path):
    path = tmp_path / "clean.html"
    path.write_text(
        PAGE.format(good1=data_uri(png(1, 1)), good2=data_uri(png(2, 2))).replace(
            '<img src="data:image/png;base64,AAAAgarbage!!" alt="broken">\n', ""
        )
    )
    result = render_check(path, chromium=chromium)
    assert (result.console_errors, result.blocked, result.broken_images) == ([], [], [])


def test_missing_page_is_one_line(chromium: str, tmp_path: Path):
    with pytest.raises(BrowserError, match="no such file"):
        render_check(tmp_path / "absent.html", chromium=chromium)


def test_print_pdf(chromium: str, page_path: Path, tmp_path: Path):
    out = print_pdf(page_path, tmp_path / "out" / "page.pdf", chromium=chromium)
    assert out.read_bytes().startswith(b"%PDF")
    assert pdf_pages(out) >= 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["page.pdf"]  # no temporary file left


def test_screenshot(chromium: str, page_path: Path, tmp_path: Path):
    out = screenshot(page_path, tmp_path / "page.png", width=400, height=300, chromium=chromium)
    blob = out.read_bytes()
    assert blob.startswith(b"\x89PNG") and struct.unpack(">II", blob[16:24]) == (400, 300)


def test_screenshot_of_an_element(chromium: str, page_path: Path, tmp_path: Path):
    out = screenshot(page_path, tmp_path / "text.png", width=300, height=200, selector="#text", chromium=chromium)
    assert struct.unpack(">II", out.read_bytes()[16:24]) == (300, 200)
    with pytest.raises(BrowserError, match="no element matches '#nowhere'"):
        screenshot(page_path, tmp_path / "none.png", selector="#nowhere", chromium=chromium)
    assert not (tmp_path / "none.png").exists()


def test_missing_browser_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(browser, "playwright_installed", lambda: True)
    monkeypatch.setenv(browser.ENV_VAR, str(tmp_path / "no-such-chromium"))
    assert browser.find_chromium() is None
    assert browser.ensure_chromium(install=False) is None
    assert browser.ENV_VAR in (browser.why_unavailable() or "")
    with pytest.raises(BrowserError, match="unavailable"):
        render_check(tmp_path / "page.html")


def test_missing_playwright_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(browser, "playwright_installed", lambda: False)
    assert browser.ensure_chromium(install=False) is None
    assert "Playwright is not installed" in (browser.why_unavailable() or "")
    with pytest.raises(BrowserError, match="unavailable: Playwright is not installed"):
        print_pdf(tmp_path / "page.html", tmp_path / "page.pdf")


@pytest.fixture
def fake_apt(monkeypatch: pytest.MonkeyPatch):
    """No browser on PATH, running as root with apt-get; records the apt-get calls instead of running them."""
    calls: list[list[str]] = []
    state = {"installed": False, "results": []}

    def run(cmd, **kwargs):
        calls.append([c for c in cmd if not c.startswith(("-o", "DPkg::"))])
        code = state["results"].pop(0)
        if code == 0 and "install" in cmd:
            state["installed"] = True
        return subprocess_result(code)

    monkeypatch.delenv(browser.ENV_VAR, raising=False)
    monkeypatch.setattr(browser, "playwright_installed", lambda: True)
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    monkeypatch.setattr(browser, "find_chromium", lambda: "/usr/bin/chromium" if state["installed"] else None)
    monkeypatch.setattr(browser, "chromium_version", lambda path: "Chromium 1.0")
    monkeypatch.setattr(browser.subprocess, "run", run)
    return calls, state


def subprocess_result(code: int) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(args=[], returncode=code, stdout="", stderr=f"E: exit {code}")


def test_ensure_chromium_updates_and_retries_once(fake_apt):
    calls, state = fake_apt
    state["results"] = [100, 0, 0]  # install fails, update works, install works
    assert browser.ensure_chromium(timeout=30) == "/usr/bin/chromium"
    assert calls == [
        ["apt-get", "install", "-y", "-q", "chromium"],
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "chromium"],
    ]
    assert browser.why_unavailable() is None


def test_ensure_chromium_reports_why_install_failed(fake_apt):
    calls, state = fake_apt
    state["results"] = [100, 0, 100]
    assert browser.ensure_chromium(timeout=30) is None
    assert len(calls) == 3
    reason = browser.why_unavailable() or ""
    assert "apt-get install -y -q chromium' failed (exit 100)" in reason


def test_ensure_chromium_does_not_install_when_told_not_to(fake_apt):
    calls, _ = fake_apt
    assert browser.ensure_chromium(install=False) is None
    assert calls == []
