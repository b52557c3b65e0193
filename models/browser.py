"""Headless Chromium: does the report actually render, and a PDF or screenshot of it.

:mod:`models.html_check` reads the HTML text; this module asks a real browser. It uses Debian's
``chromium`` package (or any Chrome/Chromium on ``PATH``, or the path in ``TXBAYES_CHROMIUM``).
Every call starts a fresh browser with an empty profile in a temporary directory and flags that
stop background networking, so it works on machines without network access.

How :func:`render_check` learns what rendered: a copy of the page gets a small inline script
just before ``</body>``. On the window's ``load`` event (which fires only once every image has
finished loading or failed) it records, for each ``<img>``, whether it decoded
(``complete && naturalWidth > 0``), for each ``<section id>`` the length of its rendered text,
and the title, as JSON in a ``<pre>`` appended to the body. ``chromium --dump-dom`` serialises
the DOM right after the load event has been dispatched, so the JSON is in the dump; an image
with corrupt ``data:`` bytes shows up as not loaded.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from models.io import atomic_target

#: Environment variable with an explicit path to the browser (checked before ``PATH``).
ENV_VAR = "TXBAYES_CHROMIUM"
#: Executable names tried on ``PATH``, in order.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags for a quiet, offline, throw-away headless browser. Without the background-networking
#: flags Chromium keeps retrying refused connections on a closed network.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
)
#: Virtual time the page may use (timers, animations) before the DOM is dumped, in milliseconds.
VIRTUAL_TIME_BUDGET_MS = 10_000
#: Id of the element the injected script writes its JSON into.
RESULT_ID = "__render_check__"

_reason: str | None = None

_PROBE = """<script>
window.addEventListener("load", function () {
  var out = {images: [], sections: {}, title: document.title, error: null};
  try {
    document.querySelectorAll("img").forEach(function (img) {
      out.images.push([img.alt || "", img.complete && img.naturalWidth > 0, img.naturalWidth || 0]);
    });
    document.querySelectorAll("section[id]").forEach(function (s) {
      if (!(s.id in out.sections)) out.sections[s.id] = s.innerText.trim().length;
    });
  } catch (e) {
    out.error = String(e);
  }
  var pre = document.createElement("pre");
  pre.id = "%s";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
document.querySelectorAll("img[loading=lazy]").forEach(function (img) { img.loading = "eager"; });
</script>
""".replace("%s", RESULT_ID)
_RESULT = re.compile(rf'<pre id="{RESULT_ID}">(.*?)</pre>', re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


class BrowserError(RuntimeError):
    """Chromium is missing, failed, or did not produce the expected output."""


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
    """

    images: list[tuple[str, bool, int]] = field(default_factory=list)
    sections: dict[str, int] = field(default_factory=dict)
    title: str = ""
    version: str = ""
    seconds: float = 0.0

    @property
    def broken_images(self) -> list[str]:
        """Alt texts of the images that did not load."""
        return [alt for alt, loaded, _ in self.images if not loaded]

    @property
    def empty_sections(self) -> list[str]:
        """Ids of the sections with no rendered text."""
        return [sid for sid, n in self.sections.items() if n == 0]


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
    """Path of a working headless browser, installing Debian's ``chromium`` if allowed; never raises.

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
        The executable; None if none is usable, with the reason in :func:`why_unavailable`.
    """
    try:
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
    path = chromium or find_chromium()
    if path is None:
        raise BrowserError(f"headless Chromium unavailable: {why_unavailable()}")
    return path


@contextlib.contextmanager
def _profile() -> Iterator[Path]:
    """A new, empty ``--user-data-dir`` (removed afterwards)."""
    tmp = Path(tempfile.mkdtemp(prefix="txbayes-chromium-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(chromium: str | None, args: Sequence[str], *, timeout: float) -> tuple[str, str, float]:
    """Run the browser once with :data:`FLAGS`; returns stdout, stderr and the wall time.

    The browser runs in its own process group so that a timeout ends its helper processes too.
    """
    exe = _browser(chromium)
    with _profile() as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", *args]
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise BrowserError(f"chromium did not finish within {timeout:.0f} s: {_tail(err)}") from None
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise BrowserError(f"chromium failed (exit {proc.returncode}): {_tail(err)}")
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), seconds


def _inject_probe(page: str) -> str:
    ends = list(_BODY_END.finditer(page))
    if not ends:
        return page + _PROBE
    at = ends[-1].start()
    return page[:at] + _PROBE + page[at:]


def render_check(
    html_path: str | os.PathLike[str], *, timeout: float = 120, chromium: str | None = None
) -> RenderResult:
    """Load the page in headless Chromium and report which images decoded and which sections have text.

    A copy of the page, with the probe script of this module's docstring injected before
    ``</body>``, is loaded from a temporary directory, so images referenced by relative paths
    do not load (the report must be self-contained).

    Parameters
    ----------
    html_path
        The HTML file (UTF-8).
    timeout
        Seconds before the browser is stopped.
    chromium
        Browser executable; default :func:`find_chromium`.

    Raises
    ------
    BrowserError
        (a :class:`RuntimeError`) if the browser is missing or fails, or if its dumped DOM has no
        probe result (the ``load`` event never fired, or a script of the page stopped the probe).
    """
    exe = _browser(chromium)
    page = Path(html_path).read_text(encoding="utf-8", errors="replace")
    with tempfile.TemporaryDirectory(prefix="txbayes-render-") as tmp:
        copy = Path(tmp) / "page.html"
        copy.write_text(_inject_probe(page), encoding="utf-8")
        out, err, seconds = _run(
            exe, ["--dump-dom", f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}", copy.as_uri()], timeout=timeout
        )
    match = _RESULT.search(out)
    if match is None:
        raise BrowserError(
            f"{html_path}: no render result in chromium's DOM dump (load event never fired?); stderr: {_tail(err)}"
        )
    data = json.loads(html.unescape(match.group(1)))
    if data.get("error"):
        raise BrowserError(f"{html_path}: the render probe failed in the page: {data['error']}")
    return RenderResult(
        images=[(str(alt), bool(ok), int(width)) for alt, ok, width in data["images"]],
        sections={str(k): int(v) for k, v in data["sections"].items()},
        title=str(data["title"]),
        version=chromium_version(exe),
        seconds=seconds,
    )


def screenshot(
    html_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    *,
    width: int = 1200,
    height: int = 2000,
    timeout: float = 120,
    chromium: str | None = None,
) -> Path:
    """Save a ``width`` × ``height`` PNG of the top of the page (written atomically)."""
    exe = _browser(chromium)
    url = Path(html_path).resolve().as_uri()
    with atomic_target(png_path, suffix=".png") as tmp:
        _, err, _ = _run(exe, [f"--screenshot={tmp}", f"--window-size={width},{height}", url], timeout=timeout)
        if tmp.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
            raise BrowserError(f"{html_path}: chromium wrote no PNG screenshot; stderr: {_tail(err)}")
    return Path(png_path)


def print_pdf(
    html_path: str | os.PathLike[str],
    pdf_path: str | os.PathLike[str],
    *,
    timeout: float = 180,
    chromium: str | None = None,
) -> Path:
    """Print the page to PDF without the browser's header and footer (written atomically).

    Uses ``--print-to-pdf`` with ``--no-pdf-header-footer`` (Chromium ≥ 111; older versions
    named it ``--print-to-pdf-no-header``, which is passed as well and ignored by new ones).
    """
    exe = _browser(chromium)
    url = Path(html_path).resolve().as_uri()
    with atomic_target(pdf_path, suffix=".pdf") as tmp:
        args = [f"--print-to-pdf={tmp}", "--no-pdf-header-footer", "--print-to-pdf-no-header", url]
        _, err, _ = _run(exe, args, timeout=timeout)
        if tmp.read_bytes()[:5] != b"%PDF-":
            raise BrowserError(f"{html_path}: chromium wrote no PDF; stderr: {_tail(err)}")
    return Path(pdf_path)


def pdf_pages(pdf_path: str | os.PathLike[str]) -> int:
    """Number of ``/Type /Page`` objects in a PDF (enough for Chromium's uncompressed page tree)."""
    return len(re.findall(rb"/Type\s*/Page\b", Path(pdf_path).read_bytes()))
