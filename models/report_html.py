"""HTML building blocks of the report: escaping, tables, embedded figures and the page shell.

Everything the page needs is inside it: figures are base64 ``data:`` URIs, the style sheet is
inline, and there is no script, font or image fetched from anywhere
(:func:`models.html_check.check_html` verifies this and that the page parses without error).

The page skeleton, sections, figures and tables are Jinja2 templates in ``models/templates/``
(package data), rendered with autoescaping: a plain ``str`` is escaped, and what is already HTML
(a section's body, a figure's caption, a table's HTML columns) is passed as
:class:`markupsafe.Markup`. Sections still arrive as HTML fragments built with :func:`esc`,
:func:`p`, :func:`ul`, :func:`table` and :func:`figure` by ``models/report_sections*.py``.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

#: Folder of the templates inside the package (``models/templates``).
TEMPLATES = "templates"


@cache
def environment() -> Environment:
    """The Jinja2 environment of the report's templates (autoescaping on, undefined names an error)."""
    return Environment(
        loader=PackageLoader("models", TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _macro(template: str, name: str) -> Callable[..., Markup]:
    return getattr(environment().get_template(template).module, name)


#: The report's style sheet (``models/templates/report.css``), inlined in the page's ``<style>``.
CSS: str = (files("models") / TEMPLATES / "report.css").read_text(encoding="utf-8")


def esc(text: object) -> str:
    """HTML-escape any value's text."""
    return html.escape(str(text), quote=True)


def slug(text: str) -> str:
    """An id-safe slug."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def pct(x: float, digits: int = 1) -> str:
    """A proportion as a percentage (``0.224`` → ``22.4%``); missing values as an en dash."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * float(x):.{digits}f}%"


def pct_ci(est: float, lo: float, hi: float, digits: int = 1) -> str:
    """``22.4% (9.2–41.9)``."""
    return f"{pct(est, digits)} ({100 * lo:.{digits}f}–{100 * hi:.{digits}f})"


def prob(p: float) -> str:
    """A probability to two decimals, or three when it is below 0.01 or above 0.99."""
    p = float(p)
    return f"{p:.3f}" if (p < 0.01 or p > 0.99) and p not in (0.0, 1.0) else f"{p:.2f}"


def num(x: object, digits: int = 3) -> str:
    """A number in general format, integers without decimals, missing values as an en dash."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "–"
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:.{digits}g}"


def p(text: str, cls: str | None = None) -> str:
    """A paragraph of already-escaped HTML."""
    return f'<p class="{cls}">{text}</p>' if cls else f"<p>{text}</p>"


def ul(items: Iterable[str]) -> str:
    """A bullet list of already-escaped HTML items."""
    return "<ul>" + "".join(f"<li>{it}</li>" for it in items) + "</ul>"


def table(
    df: pd.DataFrame,
    *,
    formats: dict[str, Callable[[Any], str]] | None = None,
    html_columns: Sequence[str] = (),
    caption: str | None = None,
    numeric: Sequence[str] | None = None,
    max_rows: int | None = None,
) -> str:
    """An HTML table of a DataFrame (index dropped).

    Parameters
    ----------
    formats : dict, optional
        Column → formatter returning text (escaped here) — or HTML for columns in ``html_columns``.
    numeric : sequence of str, optional
        Right-aligned columns (default: the numeric dtypes).
    max_rows : int, optional
        Refuse silently truncated tables: raise if the frame is longer.
    """
    if max_rows is not None and len(df) > max_rows:
        raise ValueError(f"table of {len(df)} rows exceeds max_rows={max_rows}")
    formats = formats or {}
    numeric = list(numeric) if numeric is not None else [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    head = [(str(c), c in numeric) for c in df.columns]
    rows = []
    for rec in df.itertuples(index=False, name=None):
        cells: list[tuple[str, bool]] = []
        for c, v in zip(df.columns, rec, strict=True):
            fmt = formats.get(c)
            text = fmt(v) if fmt else num(v) if c in numeric else ("–" if v is None or v != v else str(v))
            cells.append((Markup(text) if c in html_columns else text, c in numeric))
        rows.append(cells)
    return str(_macro("table.html.j2", "table")(caption or None, head, rows))


def data_uri(path: Path) -> str:
    """A file as a base64 ``data:`` URI (PNG or SVG)."""
    mime = {".png": "image/png", ".svg": "image/svg+xml"}.get(path.suffix.lower())
    if mime is None:
        raise ValueError(f"{path}: only PNG and SVG figures can be embedded")
    return _data_uri(path.read_bytes(), mime)


def _data_uri(blob: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(blob).decode('ascii')}"


def _figure_html(uri: str, alt: str, caption_html: str) -> str:
    return str(_macro("figure.html.j2", "figure")(uri, alt, Markup(caption_html)))


def figure(path: Path, alt: str, caption: str) -> str:
    """An embedded figure file with a caption. The PNG is embedded (the SVG beside it is named in the caption)."""
    svg = path.with_suffix(".svg")
    extra = f" Vector version: <code>{esc(svg.name)}</code>." if svg.exists() else ""
    return _figure_html(data_uri(path), alt, esc(caption) + extra)


def figure_of(fig, alt: str, caption: str, *, dpi: int = 150) -> str:
    """A matplotlib figure made for the report, embedded as PNG (and closed)."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return _figure_html(_data_uri(buf.getvalue(), "image/png"), alt, esc(caption))


@dataclass
class Section:
    """One report section: id, title, HTML body and the BARG items it answers."""

    id: str
    title: str
    body: str
    barg: dict[str, str] = field(default_factory=dict)
    subsections: list[Section] = field(default_factory=list)

    def render(self, level: int = 2) -> str:
        """The section as HTML, headed ``<h{level}>``, its subsections one level below."""
        return str(_macro("section.html.j2", "section")(_markup(self), level))


def _markup(s: Section) -> Section:
    """A copy whose body (and its subsections' bodies) is :class:`Markup`: trusted HTML, not escaped."""
    return Section(s.id, s.title, Markup(s.body), s.barg, [_markup(sub) for sub in s.subsections])


def page(title: str, subtitle: str, sections: Sequence[Section], *, generated: str, lead: Section | None = None) -> str:
    """The whole document: head with inline CSS, title block, contents list and the sections.

    Rendered from ``models/templates/report.html.j2``; ``title``, ``subtitle``, ``generated`` and the
    sections' ids and titles are text (escaped), the sections' bodies HTML. ``lead``, if given, is
    a section placed right after the title block, before the contents (so a printed copy opens on
    it: its heading does not start a new page); it is not listed in the contents.
    """
    template = environment().get_template("report.html.j2")
    return template.render(
        title=title,
        subtitle=subtitle,
        generated=generated,
        css=Markup(CSS),
        sections=[_markup(s) for s in sections],
        lead=_markup(lead) if lead is not None else None,
    )
