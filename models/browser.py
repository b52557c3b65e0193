"""Headless Chromium through Playwright: does the report actually render, and a PDF or screenshot of it.

:mod:`models.html_check` reads the HTML text; this module asks a real browser. It drives Debian's
``chromium`` package (or any Chrome/Chromium on ``PATH``, or the path in ``TXBAYES_CHROMIUM``)
with Playwright's synchronous API, ``chromium.launch(executable_path=...)``: no browser is
downloaded. Every call starts a fresh browser with an empty profile and ends it.

The page is opened from its file, and every request other than the page itself is aborted and
recorded (``data:`` URIs are not requests), so an image referenced by a relative path or a URL
does not load: the report must be self-contained. :func:`render_check` waits for the window's
``load`` event (which fires only once every image has finished loading or failed), then reads, for
each ``<img>``, whether it decoded (``complete && naturalWidth > 0``), for each ``<section id>``
the length of its rendered text, and the messages the page wrote to the console at level error
(including uncaught exceptions and failed loads).

Playwright is an optional dependency (the ``report`` and ``test`` extras); without it, or without
a browser, :func:`ensure_chromium` returns None and :func:`why_unavailable` says why in one line.
The synchronous API cannot run inside a running asyncio event loop (e.g. a notebook cell); there it
raises :class:`BrowserError`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from models.io import atomic_target

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page, PdfMargins, Route

#: Environment variable with an explicit path to the browser (checked before ``PATH``).
ENV_VAR = "TXBAYES_CHROMIUM"
#: Executable names tried on ``PATH``, in order.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Extra switches for a quiet, offline browser (Playwright adds ``--headless``, ``--no-sandbox``,
#: ``--no-first-run``, ``--disable-background-networking`` and the like itself).
LAUNCH_ARGS = ("--disable-gpu", "--disable-quic", "--disable-component-update", "--disable-sync")
#: How to install what is missing, for the one-line reasons.
INSTALL_HINT = "pip install playwright (or the 'report' extra); the browser itself is Debian's chromium package"
#: Paper and margins of :func:`print_pdf` (as Chromium's own ``--print-to-pdf`` prints).
PDF_FORMAT = "Letter"
PDF_MARGIN = "1cm"

_reason: str | None = None

#: Run before the page's own scripts: lazy images load at once, so ``load`` waits for them too.
_EAGER = """document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("img[loading=lazy]").forEach(function (img) { img.loading = "eager"; });
});"""
#: Read after ``load``: each image's state, each section's rendered text length, the title.
_PROBE = """() => {
  const sections = {};
  document.querySelectorAll("section[id]").forEach((s) => {
    if (!(s.id in sections)) sections[s.id] = s.innerText.trim().length;
  });
  const images = Array.from(document.images, (img) =>
    [img.alt || "", img.complete && img.naturalWidth > 0, img.naturalWidth || 0]);
  return {images: images, sections: sections, title: document.title};
}"""


#: Scroll the first element matching a selector to the top of the view; false if none matches.
_SCROLL_TO = """(selector) => {
  const el = document.querySelector(selector);
  if (el) el.scrollIntoView({block: "start"});
  return el !== null;
}"""


class BrowserError(RuntimeError):
    """Chromium or Playwright is missing, failed, or did not produce the expected output."""


@dataclass(frozen=True)
class RenderResult:
    """What headless Chromium saw after the page's ``load`` event.

    Attributes
    ----------
    images
        ``(alt, loaded, natural_width)`` for every ``<img>`` in document order; ``loaded`` is
        ``complete && naturalWidth > 0``.
    sections
        ``<section id>`` → length of its rendered ``innerText.trim()`` (text hidden with CSS,
        e.g. in a closed ``<details>``, does not count).
    title
        ``document.title``.
    version
        ``chromium --version``.
    seconds
        Wall time of the browser run.
    console_errors
        Console messages at level error, uncaught exceptions (``"uncaught: ..."``) and failed
        loads, in the order they happened.
    blocked
        URLs the page tried to fetch besides itself (all aborted).
    """

    images: list[tuple[str, bool, int]] = field(default_factory=list)
    sections: dict[str, int] = field(default_factory=dict)
    title: str = ""
    version: str = ""
    seconds: float = 0.0
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @property
    def broken_images(self) -> list[str]:
        """Alt texts of the images that did not load."""
        return [alt for alt, loaded, _ in self.images if not loaded]

    @property
    def empty_sections(self) -> list[str]:
        """Ids of the sections with no rendered text."""
        return [sid for sid, n in self.sections.items() if n == 0]


def playwright_installed() -> bool:
    """Whether the ``playwright`` package can be imported (its browsers are not needed)."""
    return importlib.util.find_spec("playwright") is not None


def why_unavailable() -> str | None:
    """Why the last :func:`find_chromium`/:func:`ensure_chromium` call found no browser (None if it did)."""
    return _reason


def _set_reason(reason: str | None) -> None:
    global _reason
    _reason = reason


def _tail(text: str | bytes | None, n: int = 300) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = [ln for ln in (text or "").splitlines() if ln.strip() and "dbus" not in ln.lower()]
    return " | ".join(lines)[-n:] or "(no output)"


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None.

    ``$TXBAYES_CHROMIUM`` wins if set (a path or a name on ``PATH``); if it is set but does not
    name an executable, None is returned rather than silently using another browser. Otherwise
    the first of :data:`CANDIDATES` found on ``PATH``.
    """
    explicit = os.environ.get(ENV_VAR, "").strip()
    if explicit:
        path = shutil.which(explicit)
        _set_reason(None if path else f"{ENV_VAR}={explicit!r} is not an executable; fix or unset it")
        return path
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            _set_reason(None)
            return path
    _set_reason(f"none of {', '.join(CANDIDATES)} is on PATH; install Debian's chromium package or set {ENV_VAR}")
    return None


def _apt(args: list[str], *, deadline: float, timeout: float) -> str | None:
    """Run one ``apt-get`` command; None on success, else why it failed."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    left = deadline - time.monotonic()
    what = " ".join(["apt-get", *args])
    if left <= 0:
        return f"no time left for '{what}' within {timeout:.0f} s"
    # Wait for another apt-get's lock instead of failing at once.
    cmd = ["apt-get", "-o", f"DPkg::Lock::Timeout={max(int(left) - 5, 1)}", *args]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=left, check=False)
    except subprocess.TimeoutExpired:
        return f"'{what}' did not finish within {timeout:.0f} s"
    except OSError as exc:
        return f"'{what}' could not start: {exc}"
    return None if proc.returncode == 0 else f"'{what}' failed (exit {proc.returncode}): {_tail(proc.stderr)}"


def _apt_install(timeout: float) -> str | None:
    """Install Debian's chromium (updating the package lists once if needed); None or why it failed."""
    deadline = time.monotonic() + timeout
    install = ["install", "-y", "-q", "chromium"]
    failed = _apt(install, deadline=deadline, timeout=timeout)
    if failed is None:
        return None
    failed_update = _apt(["update", "-q"], deadline=deadline, timeout=timeout)
    if failed_update is not None:
        return f"{failed}; then {failed_update}"
    return _apt(install, deadline=deadline, timeout=timeout)


def ensure_chromium(install: bool = True, timeout: float = 600) -> str | None:
    """Path of a working headless browser for Playwright, installing Debian's ``chromium`` if allowed; never raises.

    Parameters
    ----------
    install
        If no browser is found, and the process runs as root on a system with ``apt-get``, run
        ``apt-get install -y -q chromium`` (after ``apt-get update -q`` if the first attempt fails).
    timeout
        Seconds allowed for the installation (including waiting for another apt-get's lock).

    Returns
    -------
    str or None
        The executable; None if none is usable or Playwright is not installed, with the reason in
        :func:`why_unavailable`.
    """
    try:
        if not playwright_installed():
            _set_reason(f"Playwright is not installed: {INSTALL_HINT}")
            return None
        path = find_chromium()
        if path is None and install and not os.environ.get(ENV_VAR, "").strip():
            if os.geteuid() != 0:
                _set_reason(f"{why_unavailable()} (not installing: not running as root)")
            elif shutil.which("apt-get") is None:
                _set_reason(f"{why_unavailable()} (not installing: no apt-get)")
            else:
                failed = _apt_install(timeout)
                path = find_chromium()
                if path is None:
                    _set_reason(
                        f"installing chromium with apt-get did not work: {failed or 'no executable after install'}"
                    )
        if path is None:
            return None
        try:
            chromium_version(path)
        except BrowserError as exc:
            _set_reason(str(exc))
            return None
        _set_reason(None)
        return path
    except Exception as exc:  # a probe for tests and scripts: report, never crash
        _set_reason(f"looking for chromium failed: {type(exc).__name__}: {exc}")
        return None


@lru_cache(maxsize=8)
def chromium_version(path: str) -> str:
    """The browser's ``--version`` line, e.g. ``"Chromium 150.0.7871.100 built on Debian ..."``."""
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BrowserError(f"{path} --version failed: {exc}") from None
    line = next((ln.strip() for ln in proc.stdout.splitlines() if ln.strip()), "")
    if proc.returncode != 0 or not line:
        raise BrowserError(f"{path} --version failed (exit {proc.returncode}): {_tail(proc.stderr)}")
    return line


def _browser(chromium: str | None) -> str:
    if not playwright_installed():
        raise BrowserError(f"headless Chromium unavailable: Playwright is not installed: {INSTALL_HINT}")
    path = chromium or find_chromium()
    if path is None:
        raise BrowserError(f"headless Chromium unavailable: {why_unavailable()}")
    return path


def _first_line(exc: BaseException) -> str:
    """Playwright's messages carry a call log over many lines; keep the first."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and set(ln.strip()) != {"="}]
    return lines[0] if lines else type(exc).__name__


@dataclass
class _Log:
    """What the page did besides rendering: console errors and the requests that were aborted."""

    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _open(
    html_path: str | os.PathLike[str], *, chromium: str | None, timeout: float, width: int = 1200, height: int = 2000
) -> Iterator[tuple[Page, _Log]]:
    """The page, loaded (its ``load`` event fired) in a new headless browser that fetches nothing else.

    Raises
    ------
    BrowserError
        Playwright or the browser is missing, fails or times out (one line, with Playwright's reason).
    """
    exe = _browser(chromium)
    path = Path(html_path).resolve()
    if not path.is_file():
        raise BrowserError(f"{html_path}: no such file; expected the HTML page to open")
    url = path.as_uri()
    log = _Log()
    ms = timeout * 1000

    def route(r: Route) -> None:
        if unquote(r.request.url) == unquote(url):
            r.continue_()
        else:
            log.blocked.append(r.request.url)
            r.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            log.console_errors.append(message.text)

    from playwright.sync_api import Error, sync_playwright

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, args=list(LAUNCH_ARGS), timeout=ms)
            try:
                context = browser.new_context(viewport={"width": width, "height": height})
                context.set_default_timeout(ms)
                context.add_init_script(_EAGER)
                context.route("**/*", route)
                page = context.new_page()
                page.on("console", console)
                page.on("pageerror", lambda exc: log.console_errors.append(f"uncaught: {exc}"))
                page.goto(url, wait_until="load")
                yield page, log
            finally:
                browser.close()
    except Error as exc:
        raise BrowserError(f"{html_path}: headless Chromium failed: {_first_line(exc)}") from None


def render_check(
    html_path: str | os.PathLike[str], *, timeout: float = 120, chromium: str | None = None
) -> RenderResult:
    """Load the page in headless Chromium: which images decoded, which sections have text, what failed.

    Parameters
    ----------
    html_path
        The HTML file (UTF-8).
    timeout
        Seconds allowed for each browser step (starting, loading the page, reading it).
    chromium
        Browser executable; default :func:`find_chromium`.

    Raises
    ------
    BrowserError
        (a :class:`RuntimeError`) if Playwright or the browser is missing or fails, or the page
        does not finish loading within ``timeout``.
    """
    start = time.perf_counter()
    exe = _browser(chromium)
    with _open(html_path, chromium=exe, timeout=timeout) as (page, log):
        data = page.evaluate(_PROBE)
    return RenderResult(
        images=[(str(alt), bool(ok), int(width)) for alt, ok, width in data["images"]],
        sections={str(k): int(v) for k, v in data["sections"].items()},
        title=str(data["title"]),
        version=chromium_version(exe),
        seconds=time.perf_counter() - start,
        console_errors=list(log.console_errors),
        blocked=list(log.blocked),
    )


def screenshot(
    html_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    *,
    width: int = 1200,
    height: int = 2000,
    selector: str | None = None,
    timeout: float = 120,
    chromium: str | None = None,
) -> Path:
    """Save a ``width`` × ``height`` PNG of the page (written atomically).

    The top of the page, or with ``selector`` (a CSS selector, e.g. ``"#posterior figure"``) the
    view scrolled so that the first element it matches is at the top.
    """
    with _open(html_path, chromium=chromium, timeout=timeout, width=width, height=height) as (page, _):
        if selector is not None:
            found = page.evaluate(_SCROLL_TO, selector)
            if not found:
                raise BrowserError(f"{html_path}: no element matches {selector!r}; expected a selector of the page")
        with atomic_target(png_path, suffix=".png") as tmp:
            page.screenshot(path=str(tmp), type="png")
            if tmp.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
                raise BrowserError(f"{html_path}: Playwright wrote no PNG screenshot")
    return Path(png_path)


def print_pdf(
    html_path: str | os.PathLike[str],
    pdf_path: str | os.PathLike[str],
    *,
    timeout: float = 180,
    chromium: str | None = None,
) -> Path:
    """Print the page to PDF without the browser's header and footer (written atomically).

    Uses ``page.pdf()`` (print media, :data:`PDF_FORMAT` paper, :data:`PDF_MARGIN` margins, no
    background colours), as Chromium's ``--print-to-pdf`` did.
    """
    with _open(html_path, chromium=chromium, timeout=timeout) as (page, _):
        with atomic_target(pdf_path, suffix=".pdf") as tmp:
            margin: PdfMargins = {"top": PDF_MARGIN, "right": PDF_MARGIN, "bottom": PDF_MARGIN, "left": PDF_MARGIN}
            page.pdf(path=str(tmp), format=PDF_FORMAT, margin=margin)
            if tmp.read_bytes()[:5] != b"%PDF-":
                raise BrowserError(f"{html_path}: Playwright wrote no PDF")
    return Path(pdf_path)


def pdf_pages(pdf_path: str | os.PathLike[str]) -> int:
    """Number of ``/Type /Page`` objects in a PDF (enough for Chromium's uncompressed page tree)."""
    return len(re.findall(rb"/Type\s*/Page\b", Path(pdf_path).read_bytes()))
