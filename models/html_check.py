"""Validity and self-containment of the HTML report, by a maintained HTML5 parser (html5lib).

Validity is what the HTML standard's parsing algorithm says: the page is parsed by
``html5lib.HTMLParser(strict=True)``, and any parse error (a missing ``<!DOCTYPE html>``, a stray
or misnested end tag, ``<div/>``, an element left open at the end of the file, ...) makes it
invalid. Omitting an optional end tag (``</p>``, ``</li>``, ``</td>``) is valid HTML and is not
reported.

The report must also open offline from a single file, so nothing may be *loaded* from the
network or from a neighbouring file: images, styles and fonts are ``data:`` URIs or inline, and
in-page references are ``#fragment``. Plain hyperlinks (``<a href="https://doi.org/...">``) are
allowed, because following one is a navigation, not a load. A few checks a reviewer relies on
come with it: ``<html lang>``, ``<meta charset="utf-8">``, a non-empty title, unique ids, in-page
links that resolve, and an ``alt`` text on every image.

Functions never raise on malformed input; they report what they found. The parsed tree of the
last few documents is cached, so :func:`check_html`, :func:`sections` and :func:`images` of the
same text parse it once.

References
----------
WHATWG. HTML Living Standard, section 13.2 "Parsing HTML documents".
https://html.spec.whatwg.org/multipage/parsing.html
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from models.errors import ConfigError, ToolkitError

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
_BLOCKISH = frozenset(
    {"address", "article", "aside", "blockquote", "details", "dialog", "div", "dl", "fieldset",
     "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
     "hgroup", "hr", "main", "menu", "nav", "ol", "p", "pre", "section", "table", "ul",
     "br", "li", "td", "th", "tr", "dt", "dd", "caption", "body", "img", "option"}
)  # fmt: skip

_CRASHED = "parser-crashed"
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"]*))\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def _local(name: object) -> str:
    """A tag or attribute name without its namespace (``{http://www.w3.org/1999/xlink}href`` → ``href``)."""
    return str(name).rpartition("}")[2]


@dataclass
class _Parsed:
    """A parsed document: the root element, the line of each element's start tag and the parse errors."""

    root: ET.Element
    lines: dict[int, int]
    errors: list[tuple[int, str, dict[str, Any], str]] = field(default_factory=list)

    def line(self, el: ET.Element) -> int:
        return self.lines.get(id(el), 1)


def _html5lib() -> Any:
    """The html5lib module (an optional dependency: the ``report`` and ``test`` extras)."""
    try:
        import html5lib  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError(
            "html5lib", found="not installed", expected="pip install html5lib (the 'report' extra) to check the HTML"
        ) from None
    return html5lib


def _parser(strict: bool) -> Any:
    """An html5lib parser whose tree builder records the line of every element it creates."""
    html5lib = _html5lib()
    base: Any = html5lib.treebuilders.getTreeBuilder("etree")
    base_parser: Any = html5lib.HTMLParser

    class Builder(base):
        def __init__(self, namespace_html_elements: bool) -> None:
            super().__init__(namespace_html_elements)
            self.lines: dict[int, int] = {}
            make = base.elementClass

            def element(name: str, namespace: str | None = None) -> Any:
                el = make(name, namespace)
                self.lines[id(el._element)] = parser.tokenizer.stream.position()[0]
                return el

            self.elementClass = element

    class Parser(base_parser):
        def parseError(self, errorcode: str = "XXX-undefined-error", datavars: Any = None) -> None:
            inner = next((el for el in reversed(self.tree.openElements) if el.name not in ("html", "body")), None)
            where = ""
            if inner is not None:
                where = f" (inside <{_local(inner.name)}> from line {self.tree.lines.get(id(inner._element), 1)})"
            self.contexts.append(where)
            super().parseError(errorcode, datavars)

    parser = Parser(tree=Builder, strict=strict, namespaceHTMLElements=False)
    parser.contexts = []
    return parser


@lru_cache(maxsize=4)
def _parse(text: str) -> _Parsed:
    """Parse strictly; on the first error, parse again leniently to collect every error and the tree."""
    parser = _parser(strict=True)
    try:
        root = parser.parse(text)
    except _html5lib().html5parser.ParseError:
        parser = _parser(strict=False)
        root = parser.parse(text)
    errors = [
        (pos[0], code, datavars or {}, where)
        for (pos, code, datavars), where in zip(parser.errors, parser.contexts, strict=True)
    ]
    return _Parsed(root, parser.tree.lines, errors)


def _safe_parse(text: str) -> _Parsed:
    try:
        return _parse(text)
    except ToolkitError:  # html5lib missing: say how to install it
        raise
    except Exception as exc:  # html5lib never gives up on bad HTML, but a report check must never crash
        root = ET.Element("html")
        return _Parsed(root, {}, [(1, _CRASHED, {"error": f"{type(exc).__name__}: {exc}"}, "")])


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


def _elements(root: ET.Element) -> Iterator[tuple[str, ET.Element]]:
    """``(local tag name, element)`` of every element in document order (comments skipped)."""
    for el in root.iter():
        if isinstance(el.tag, str):
            yield _local(el.tag), el


def _parse_error(line: int, code: str, datavars: dict[str, Any], where: str) -> tuple[int, str]:
    if code == _CRASHED:
        return line, f"parsing stopped ({datavars['error']}); expected HTML that html5lib can parse"
    try:
        text = _html5lib().constants.E[code] % datavars
    except (KeyError, TypeError, ValueError):
        text = f"{code} {datavars}".strip()
    text = text.strip().rstrip(".").replace(". ", ", ")
    return line, f"HTML parse error [{code}]: {text}{where}; expected valid HTML (no parse error)"


def _containment(tag: str, attrs: dict[str, str], line: int, text: str) -> list[tuple[int, str]]:
    """What the element loads from outside the file."""
    found: list[tuple[int, str]] = []

    def url(attr: str, value: str) -> None:
        if not value.strip():
            found.append((line, f'<{tag} {attr}=""> is empty; expected a data: URI'))
        elif not _is_local(value):
            what = f'<{tag} {attr}="{_short(value)}"> loads an external resource'
            found.append((line, f"{what}; expected a data: URI or inline content"))

    def css(value: str, where: str) -> None:
        for offset, u in _css_urls(value):
            if not _is_local(u):
                found.append(
                    (line + offset, f"{where} url({_short(u)}) loads an external resource; expected a data: URI")
                )

    if "href" in attrs and tag not in _NAV_HREF:
        rels = set(attrs.get("rel", "").lower().split())
        if not (tag == "link" and rels and rels <= _NAV_RELS):
            url("href", attrs["href"])
    if tag == "script" and "src" in attrs:
        found.append((line, f'<script src="{_short(attrs["src"])}"> loads a script; expected the script inline'))
    else:
        for attr in sorted(_LOAD_ATTRS & attrs.keys()):
            if attr != "data" or tag == "object":
                url(attr, attrs[attr])
    for u in _srcset_urls(attrs.get("srcset", "")):
        url("srcset", u)
    for attr in sorted(_URL_ATTRS & attrs.keys()):
        css(attrs[attr], f"<{tag} {attr}>")
    if tag == "style":
        css(text, "<style>")
    return found


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
        ``"<source> line <n>: <what is wrong>; expected <fix>"``: first the document-level problems
        (``<html lang>``, charset, title), then the others in line order. An empty list means the
        document passed every check.

    Notes
    -----
    The checks are:

    * validity: ``html5lib.HTMLParser(strict=True)`` parses the document without a parse error
      (every error is listed, with the element it occurred in);
    * ``<html lang="...">``, and ``<meta charset="utf-8">`` and a non-empty ``<title>`` in ``<head>``;
    * ``id`` values are unique and every ``href="#x"`` names one of them;
    * every ``<img>`` has a ``src`` and a non-empty ``alt``;
    * self-containment: ``src``, ``srcset``, ``poster``, ``<object data>``, non-navigational
      ``href`` (``<link>``, SVG ``<image>``/``<use>``) and CSS ``url(...)``/``@import`` in ``style``
      attributes, SVG presentation attributes or ``<style>`` are ``data:`` URIs or ``#fragment``
      references; ``<script src>`` is never allowed. Hyperlinks (``<a href>``, ``<area href>``)
      may point anywhere.
    """
    doc = _safe_parse(text)
    problems = [_parse_error(*err) for err in doc.errors]
    head: list[str] = []
    ids: dict[str, int] = {}
    anchors: list[tuple[str, int]] = []
    lang, charset_ok, title = "", False, ""
    for tag, el in _elements(doc.root):
        line = doc.line(el)
        attrs = {_local(k): v for k, v in el.attrib.items()}
        if tag == "html" and el is doc.root:
            lang = attrs.get("lang", "").strip()
        elif tag == "head":
            for child_tag, child in _elements(el):
                if child_tag == "meta" and child.get("charset", "").strip().lower() == "utf-8":
                    charset_ok = True
                if child_tag == "title" and not title:
                    title = " ".join("".join(child.itertext()).split())
        ident = attrs.get("id")
        if ident is not None:
            if not ident:
                problems.append((line, f'<{tag} id=""> is empty; expected a non-empty id or none'))
            elif ident in ids:
                problems.append((line, f'duplicate id="{ident}" (first at line {ids[ident]}); expected unique ids'))
            else:
                ids[ident] = line
        href = attrs.get("href", "")
        if href.startswith("#") and len(href) > 1:
            anchors.append((href, line))
        if tag == "img":
            if not attrs.get("alt", "").strip():
                problems.append((line, "<img> without alt text; expected a non-empty alt describing the figure"))
            if "src" not in attrs:
                problems.append((line, "<img> without src; expected src with a data: URI"))
        problems += _containment(tag, attrs, line, el.text or "")
    for href, line in anchors:
        target = unquote(href[1:])
        if target not in ids and href[1:] not in ids and target != "top":
            problems.append(
                (line, f'href="{_short(href)}" points to no element; expected an element with id="{target}"')
            )

    if not lang:
        head.append(f'{source} line 1: <html> has no lang; expected <html lang="en">')
    if not charset_ok:
        head.append(f'{source} line 1: no <meta charset="utf-8"> in <head>; expected it as the first child')
    if not title:
        head.append(f"{source} line 1: no non-empty <title> in <head>; expected <title>…</title>")
    ordered = sorted(enumerate(problems), key=lambda p: (p[1][0], p[0]))
    return head + [f"{source} line {line}: {msg}" for _, (line, msg) in ordered]


def _text_events(root: ET.Element) -> Iterator[tuple[str, Any]]:
    """``("start", el)``, ``("text", str)`` and ``("end", el)`` in document order, without recursion."""
    stack: list[tuple[ET.Element, bool]] = [(root, False)]
    while stack:
        el, done = stack.pop()
        if done:
            yield "end", el
            if el.tail:
                yield "text", el.tail
            continue
        if not isinstance(el.tag, str):  # a comment: only its tail is text
            if el.tail:
                yield "text", el.tail
            continue
        yield "start", el
        if el.text:
            yield "text", el.text
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))


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
    texts: dict[str, list[str]] = {}
    open_ids: list[str | None] = []  # per open element: the section id it started, if any
    hidden = 0
    for kind, item in _text_events(_safe_parse(text).root):
        if kind == "text":
            if not hidden:
                for sid in filter(None, open_ids):
                    texts[sid].append(item)
            continue
        tag = _local(item.tag)
        if tag in _BLOCKISH:
            for sid in filter(None, open_ids):
                texts[sid].append(" ")
        if kind == "start":
            new_id: str | None = (item.get("id") or None) if tag == "section" else None
            if new_id is not None and new_id in texts:
                new_id = None  # a repeated id: the first section with it wins
            if new_id is not None:
                texts[new_id] = []
            open_ids.append(new_id)
            hidden += tag in _INVISIBLE
        else:
            open_ids.pop()
            hidden -= tag in _INVISIBLE
    return {sid: " ".join("".join(parts).split()) for sid, parts in texts.items()}


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
    doc = _safe_parse(text)
    found: list[dict[str, object]] = []
    for tag, el in _elements(doc.root):
        if tag != "img":
            continue
        src = el.get("src", "")
        mime, nbytes = _data_uri(src) if src.strip().lower().startswith("data:") else ("", 0)
        found.append(
            {"line": doc.line(el), "src": src.strip()[:40], "alt": el.get("alt", ""), "mime": mime, "bytes": nbytes}
        )
    return found
