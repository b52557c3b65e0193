"""Generated passages: markers, rendering and checking (see :mod:`models.docgen`)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from models.constants import REPO_ROOT
from models.docgen.runs import Runs
from models.errors import ConfigError

_BEGIN = re.compile(r"<!-- generated: (?P<name>[a-z0-9-]+) -->\n")


@dataclass(frozen=True)
class Block:
    """One generated passage of a document.

    Parameters
    ----------
    name
        Marker name, unique over the docs (lower case, digits, hyphens).
    doc
        The document, relative to the repository root (``docs/model.md``).
    render
        ``render(runs) -> str``: the passage, from the outputs of :class:`Runs`.
    slow
        True when its commands take minutes (checked by the slow test suite only).
    """

    name: str
    doc: str
    render: Callable[[Runs], str]
    slow: bool = False


def prose(text: str) -> str:
    """A paragraph wrapped at 100 columns, as the docs are written (never inside a word or number)."""
    return textwrap.fill(" ".join(text.split()), 100, break_long_words=False, break_on_hyphens=False)


def spans(text: str) -> dict[str, tuple[int, int]]:
    """``name -> (start, end)`` of each generated passage's body in ``text`` (between the markers)."""
    out: dict[str, tuple[int, int]] = {}
    for m in _BEGIN.finditer(text):
        name = m.group("name")
        end = text.find(f"<!-- end generated: {name} -->", m.end())
        if end < 0 or name in out:
            raise ConfigError(
                "docs", field=name, found="an unmatched or repeated marker", expected="one begin/end pair"
            )
        out[name] = (m.end(), end)
    return out


def render(runs: Runs, selected: Iterable[Block]) -> dict[str, str]:
    """``doc -> new text`` with the selected blocks' passages rendered from ``runs``."""
    docs: dict[str, str] = {}
    for b in selected:
        path = REPO_ROOT / b.doc
        text = docs.get(b.doc, path.read_text(encoding="utf-8"))
        where = spans(text)
        if b.name not in where:
            raise ConfigError(b.doc, field=b.name, found="no marker", expected=f"<!-- generated: {b.name} -->")
        start, end = where[b.name]
        body = b.render(runs).rstrip("\n") + "\n"
        docs[b.doc] = text[:start] + body + text[end:]
    return docs


def check(runs: Runs, selected: Iterable[Block]) -> list[str]:
    """Names of the selected blocks whose passage differs from what their commands give now."""
    selected = list(selected)
    new = render(runs, selected)
    stale = []
    for b in selected:
        old_text = (REPO_ROOT / b.doc).read_text(encoding="utf-8")
        s_old, e_old = spans(old_text)[b.name]
        s_new, e_new = spans(new[b.doc])[b.name]
        if old_text[s_old:e_old] != new[b.doc][s_new:e_new]:
            stale.append(b.name)
    return stale


def write(docs: dict[str, str]) -> list[Path]:
    """Write rendered documents; returns the paths that changed."""
    changed = []
    for doc, text in docs.items():
        path = REPO_ROOT / doc
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
