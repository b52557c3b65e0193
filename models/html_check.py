"""A plain validity check for the self-contained HTML report, using only :mod:`html.parser`.

The report must open offline from a single file, so besides well-formedness the check insists
that nothing is *loaded* from the network or from a neighbouring file: images, styles and fonts
are ``data:`` URIs or inline. Plain hyperlinks (``<a href="https://doi.org/...">``) are allowed
because following them is a navigation, not a load.

The check is deliberately stricter than the HTML standard in one respect: every non-void
element must be closed explicitly. The optional end tags of ``p``, ``li``, ``td``, ``tr`` and the
like are *not* inferred, because a generated document never needs them and inferring them
correctly means reimplementing the HTML tree builder.

Functions never raise on malformed input; they report what they found.
"""

from __future__ import annotations

import base64
import binascii
import re
from html.parser import HTMLParser
from urllib.parse import unquote, unquote_to_bytes

#: Elements that have no end tag (HTML Living Standard, "void elements").
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)

#: Elements whose start tag closes an open ``<p>`` in the browser's tree builder.
_CLOSES_P = frozenset(
    {
        "address", "article", "aside", "blockquote", "details", "dialog", "div", "dl", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hgroup", "hr", "main", "menu", "nav", "ol", "p", "pre", "section", "table", "ul",
    }
)  # fmt: skip
#: Elements that stop the search for an open ``<p>`` ("button scope").
_P_SCOPE = frozenset({"button", "table", "td", "th", "caption", "object", "template", "html", "svg", "math"})
#: Foreign-content roots, inside which ``<x/>`` is a genuine self-closing tag.
_FOREIGN = frozenset({"svg", "math"})
#: ``<link rel>`` values that only describe a relation and load nothing.
_NAV_RELS = frozenset(
    {"alternate", "author", "bookmark", "canonical", "external", "help", "license", "next", "nofollow",
     "noopener", "noreferrer", "prev", "search", "tag"}
)  # fmt: skip
#: Elements whose ``href`` is followed by the user, not fetched.
_NAV_HREF = frozenset({"a", "area"})
#: Attributes that name a resource the browser fetches.
_LOAD_ATTRS = frozenset({"src", "poster", "data", "background"})
#: SVG presentation attributes that may hold ``url(...)``.
_URL_ATTRS = frozenset(
    {"style", "fill", "stroke", "clip-path", "mask", "filter", "marker-start", "marker-mid", "marker-end"}
)
#: Elements whose text is not visible.
_INVISIBLE = frozenset({"script", "style", "template", "head", "title"})
#: Elements whose boundaries separate words in the visible text.
_BLOCKISH = _CLOSES_P | frozenset({"br", "li", "td", "th", "tr", "dt", "dd", "caption", "body", "img", "option"})

_DOCTYPE = re.compile(r"\A\ufeff?\s*<!doctype\s+html\s*>", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"]*))\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def _is_local(url: str) -> bool:
    """True if fetching ``url`` needs neither the network nor another file."""
    u = url.strip().lower()
    return u.startswith(("data:", "#", "about:"))


def _srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset`` value (commas inside ``data:`` URIs are kept)."""
    urls: list[str] = []
    pos, n = 0, len(value)
    while pos < n:
        while pos < n and (value[pos].isspace() or value[pos] == ","):
            pos += 1
        start = pos
        while pos < n and not value[pos].isspace():
            pos += 1
        url = value[start:pos]
        if not url:
            break
        if url.endswith(","):
            urls.append(url.rstrip(","))
            continue
        urls.append(url)
        depth = 0
        while pos < n and (value[pos] != "," or depth):
            depth += {"(": 1, ")": -1}.get(value[pos], 0)
            pos += 1
    return urls


def _css_urls(css: str) -> list[tuple[int, str]]:
    """``(newlines before it, url)`` for each ``url(...)`` and ``@import "..."`` in ``css``."""
    found = []
    for pattern in (_CSS_URL, _CSS_IMPORT):
        for m in pattern.finditer(css):
            found.append((css.count("\n", 0, m.start()), next(g for g in m.groups() if g is not None)))
    return sorted(found)


def _short(url: str, limit: int = 60) -> str:
    url = url.strip()
    return url if len(url) <= limit else url[: limit - 3] + "..."


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[tuple[int, str]] = []
        self.stack: list[tuple[str, int]] = []
        self.ids: dict[str, int] = {}
        self.anchors: list[tuple[str, int]] = []
        self.html_seen = self.head_seen = self.body_seen = False
        self.lang = ""
        self.charset_ok = False
        self.title_text: list[str] | None = None
        self.title_done = False

    # -- helpers --------------------------------------------------------------------------------
    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    def inside(self, tag: str) -> bool:
        return any(t == tag for t, _ in self.stack)

    def check_url(self, tag: str, attr: str, url: str, line: int) -> None:
        if not url.strip():
            self.problem(line, f'<{tag} {attr}=""> is empty; expected a data: URI')
        elif not _is_local(url):
            self.problem(
                line,
                f'<{tag} {attr}="{_short(url)}"> loads an external resource; expected a data: URI or inline content',
            )

    def check_css(self, css: str, line: int, where: str) -> None:
        for offset, url in _css_urls(css):
            if not _is_local(url):
                self.problem(
                    line + offset, f"{where} url({_short(url)}) loads an external resource; expected a data: URI"
                )

    # -- parser callbacks -----------------------------------------------------------------------
    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in VOID_ELEMENTS:
            return
        self.stack.pop()  # closed here (or, in HTML, reported here rather than as never closed)
        if not (tag in _FOREIGN or any(t in _FOREIGN for t, _ in self.stack)):
            line = self.getpos()[0]
            self.problem(line, f"<{tag}/> does not close an HTML element; expected <{tag}></{tag}>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        a: dict[str, str] = {}
        for k, v in attrs:
            a.setdefault(k, "" if v is None else v)

        if tag in _CLOSES_P:
            for t, opened in reversed(self.stack):
                if t == "p":
                    self.problem(
                        line,
                        f"<{tag}> in <p> opened at line {opened} (a browser ends the <p> here); expected </p> first",
                    )
                    break
                if t in _P_SCOPE:
                    break

        if tag == "html":
            self.html_seen = True
            self.lang = a.get("lang", "").strip()
        elif tag == "head":
            self.head_seen = True
        elif tag == "body":
            self.body_seen = True
        elif tag == "meta" and self.inside("head"):
            if a.get("charset", "").strip().lower() == "utf-8":
                self.charset_ok = True
        elif tag == "title" and self.inside("head") and not self.title_done:
            self.title_text = []

        if "id" in a:
            ident = a["id"]
            if not ident:
                self.problem(line, f'<{tag} id=""> is empty; expected a non-empty id or none')
            elif ident in self.ids:
                self.problem(line, f'duplicate id="{ident}" (first at line {self.ids[ident]}); expected unique ids')
            else:
                self.ids[ident] = line

        for attr in ("href", "xlink:href"):
            if attr not in a:
                continue
            url = a[attr]
            if url.startswith("#") and len(url) > 1:
                self.anchors.append((url, line))
            if tag in _NAV_HREF:
                continue
            if tag == "link":
                rels = set(a.get("rel", "").lower().split())
                if rels and rels <= _NAV_RELS:
                    continue
            self.check_url(tag, attr, url, line)

        if tag == "script" and "src" in a:
            self.problem(line, f'<script src="{_short(a["src"])}"> loads a script; expected the script inline')
        else:
            for attr in _LOAD_ATTRS & a.keys():
                if attr == "data" and tag != "object":
                    continue
                self.check_url(tag, attr, a[attr], line)
        if "srcset" in a:
            for url in _srcset_urls(a["srcset"]):
                self.check_url(tag, "srcset", url, line)
        for attr in _URL_ATTRS & a.keys():
            self.check_css(a[attr], line, f"<{tag} {attr}>")

        if tag == "img":
            if not a.get("alt", "").strip():
                self.problem(line, "<img> without alt text; expected a non-empty alt describing the figure")
            if "src" not in a:
                self.problem(line, "<img> without src; expected src with a data: URI")

        if tag not in VOID_ELEMENTS:
            self.stack.append((tag, line))

    def handle_endtag(self, tag: str) -> None:
        line = self.getpos()[0]
        if tag in VOID_ELEMENTS:
            self.problem(line, f"</{tag}> is not allowed: <{tag}> is a void element; expected no end tag")
            return
        if not self.inside(tag):
            self.problem(line, f"stray </{tag}> with no open <{tag}>; expected it removed")
            return
        top, opened = self.stack[-1]
        if top != tag:
            self.problem(line, f"</{tag}> closes <{top}> opened at line {opened}; expected </{top}>")
        while self.stack:
            t, _ = self.stack.pop()
            if t == "title" and self.title_text is not None:
                self.title_done = True
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.title_text is not None and not self.title_done and self.stack and self.stack[-1][0] == "title":
            self.title_text.append(data)
        elif self.stack and self.stack[-1][0] == "style":
            self.check_css(data, self.getpos()[0], "<style>")


def check_html(text: str, *, source: str = "report") -> list[str]:
    """Problems that make ``text`` invalid or not self-contained, one line each.

    Parameters
    ----------
    text
        The whole HTML document.
    source
        Name used at the start of every message (typically the file name).

    Returns
    -------
    list of str
        ``"<source> line <n>: <what is wrong>; expected <fix>"``, in document order, with the
        document-level problems (doctype, ``<html lang>``, ``<head>``, charset, title) first. An
        empty list means the document passed every check.

    Notes
    -----
    The checks are:

    * the document starts with ``<!DOCTYPE html>`` (case-insensitive);
    * ``<html lang="...">``, a ``<head>`` holding ``<meta charset="utf-8">`` and a non-empty
      ``<title>``, and a ``<body>``;
    * every non-void element is closed explicitly and in order (optional end tags such as
      ``</p>``, ``</li>`` or ``</td>`` are required too); no stray or void end tags; no block
      element inside an open ``<p>`` (a browser would silently close the paragraph); ``<x/>`` is
      accepted only inside inline SVG or MathML;
    * ``id`` values are unique and every ``href="#x"`` names one of them;
    * every ``<img>`` has a ``src`` and a non-empty ``alt``;
    * self-containment: ``src``, ``srcset``, ``poster``, non-navigational ``href`` (``<link>``,
      SVG ``<image>``/``<use>``) and CSS ``url(...)``/``@import`` in ``style`` attributes or
      ``<style>`` are ``data:`` URIs or ``#fragment`` references; ``<script src>`` is never
      allowed. Hyperlinks (``<a href>``, ``<area href>``) may point anywhere.
    """
    parser = _Checker()
    head: list[str] = []
    if not _DOCTYPE.match(text):
        head.append(f"{source} line 1: no <!DOCTYPE html> at the start; expected <!DOCTYPE html> as the first line")
    try:
        parser.feed(text)
        parser.close()
    except Exception as exc:  # html.parser is lenient, but a report check must never crash
        line = parser.getpos()[0]
        parser.problem(line, f"parsing stopped ({type(exc).__name__}: {exc}); expected well-formed HTML")
    for tag, opened in parser.stack:
        parser.problem(opened, f"<{tag}> opened here is never closed; expected </{tag}>")
    for url, line in parser.anchors:
        target = unquote(url[1:])
        if target not in parser.ids and url[1:] not in parser.ids and target != "top":
            parser.problem(line, f'href="{_short(url)}" points to no element; expected an element with id="{target}"')

    if not parser.html_seen:
        head.append(f'{source} line 1: no <html> element; expected <html lang="en">')
    elif not parser.lang:
        head.append(f'{source} line 1: <html> has no lang; expected <html lang="en">')
    if not parser.head_seen:
        head.append(f"{source} line 1: no <head>; expected <head> with <meta charset> and <title>")
    else:
        if not parser.charset_ok:
            head.append(f'{source} line 1: no <meta charset="utf-8"> in <head>; expected it as the first child')
        title = " ".join("".join(parser.title_text or []).split())
        if not title:
            head.append(f"{source} line 1: no non-empty <title> in <head>; expected <title>…</title>")
    if not parser.body_seen:
        head.append(f"{source} line 1: no <body>; expected the content inside <body>…</body>")

    ordered = sorted(enumerate(parser.problems), key=lambda p: (p[1][0], p[0]))
    return head + [f"{source} line {line}: {msg}" for _, (line, msg) in ordered]


class _TextCollector(HTMLParser):
    """Visible text of every ``<section id>`` (and of the sections it is nested in)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.texts: dict[str, list[str]] = {}
        self.hidden = 0

    def _open_sections(self) -> list[str]:
        return [sid for _, sid in self.stack if sid is not None]

    def _gap(self) -> None:
        for sid in self._open_sections():
            self.texts[sid].append(" ")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKISH:
            self._gap()
        if tag in VOID_ELEMENTS:
            return
        sid = None
        if tag == "section":
            sid = dict(attrs).get("id") or None
            if sid is not None and sid in self.texts:
                sid = None  # a repeated id: the first section with it wins
            if sid is not None:
                self.texts[sid] = []
        if tag in _INVISIBLE:
            self.hidden += 1
        self.stack.append((tag, sid))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKISH:
            self._gap()
        if not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            t, _ = self.stack.pop()
            if t in _INVISIBLE:
                self.hidden -= 1
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        for sid in self._open_sections():
            self.texts[sid].append(data)


def _feed(parser, text: str):
    """Feed a collecting parser, keeping what it gathered if it gives up on malformed input."""
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # keep what was collected before the parser gave up
        pass
    return parser


def sections(text: str) -> dict[str, str]:
    """Visible text of each ``<section id="...">``, for "no section is empty" checks.

    Tags are stripped (text in ``<script>``, ``<style>`` and ``<template>`` is not visible) and
    whitespace is collapsed. The text of a nested section counts for its own id and for every
    section around it. If an id repeats, the first section with it is used.

    Returns
    -------
    dict
        Section id → text, in document order.
    """
    parser = _feed(_TextCollector(), text)
    return {sid: " ".join("".join(parts).split()) for sid, parts in parser.texts.items()}


def _data_uri(src: str) -> tuple[str, int]:
    """Mime type and decoded byte length of a ``data:`` URI (length 0 if it does not decode)."""
    header, sep, payload = src.strip()[5:].partition(",")
    if not sep:
        return "", 0
    params = [p.strip() for p in header.split(";")]
    mime = params[0].lower() or "text/plain"
    if any(p.lower() == "base64" for p in params[1:]):
        try:
            return mime, len(base64.b64decode("".join(unquote(payload).split()), validate=True))
        except (binascii.Error, ValueError):
            return mime, 0
    return mime, len(unquote_to_bytes(payload))


class _ImageCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        a = {k: ("" if v is None else v) for k, v in reversed(attrs)}
        src = a.get("src", "")
        mime, nbytes = _data_uri(src) if src.strip().lower().startswith("data:") else ("", 0)
        self.found.append(
            {"line": self.getpos()[0], "src": src.strip()[:40], "alt": a.get("alt", ""), "mime": mime, "bytes": nbytes}
        )


def images(text: str) -> list[dict[str, object]]:
    """Every ``<img>`` in document order, with what its ``data:`` URI holds.

    Returns
    -------
    list of dict
        One dict per image with keys ``line`` (int), ``src`` (its first 40 characters), ``alt``
        (``""`` if missing), ``mime`` (the ``data:`` URI's media type, ``""`` for other sources)
        and ``bytes`` (decoded length of the ``data:`` payload; 0 for other sources and for
        base64 that does not decode).
    """
    return _feed(_ImageCollector(), text).found
