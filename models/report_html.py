"""HTML building blocks of the report: escaping, tables, embedded figures and the page shell.

Everything the page needs is inside it: figures are base64 ``data:`` URIs, the style sheet is
inline, and there is no script, font or image fetched from anywhere. Every element is closed
explicitly so that :func:`models.html_check.check_html` can verify the page with the standard
library's parser.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

CSS = """
:root { --ink: #1a1a1a; --muted: #555; --rule: #d0d0d0; --accent: #1f4e79; --ok: #1b6e20; --bad: #a61b1b; }
* { box-sizing: border-box; }
body { font: 15px/1.5 "DejaVu Serif", Georgia, serif; color: var(--ink); margin: 0 auto; max-width: 1100px;
       padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.7rem; margin: 0.2rem 0 0.4rem; color: var(--accent); }
h2 { font-size: 1.3rem; margin: 2.4rem 0 0.6rem; border-bottom: 2px solid var(--accent); padding-bottom: 0.2rem; }
h3 { font-size: 1.08rem; margin: 1.5rem 0 0.4rem; }
p, li { max-width: 78ch; }
.lede { font-size: 1.05rem; }
.muted, figcaption, .note { color: var(--muted); font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font: 13px/1.35 "DejaVu Sans", Arial, sans-serif; }
th, td { border-bottom: 1px solid var(--rule); padding: 0.22rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f2f5f9; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; max-width: 100%; }
figure { margin: 1rem 0 1.4rem; }
figure img { max-width: min(100%, 860px); height: auto; border: 1px solid #eee; }
.ok { color: var(--ok); font-weight: bold; }
.bad { color: var(--bad); font-weight: bold; }
.math { font-family: "DejaVu Serif", "Cambria Math", serif; background: #f8f8f8; padding: 0.5rem 0.9rem;
        border-left: 3px solid var(--accent); margin: 0.6rem 0; }
.claim { background: #f4f8fc; border-left: 3px solid var(--accent); padding: 0.35rem 0.8rem; margin: 0.4rem 0; }
nav.toc ul { columns: 2; list-style: none; padding-left: 0; }
details { margin: 0.5rem 0 1rem; }
summary { cursor: pointer; color: var(--accent); }
code, .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 0.85em; word-break: break-all; }
blockquote { margin: 0.3rem 0 0.3rem 1rem; color: #333; font-style: italic; }
@media print { body { max-width: none; padding: 0; } h2 { break-before: page; } figure, table { break-inside: avoid; } }
"""


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
    head = "".join(f'<th class="num">{esc(c)}</th>' if c in numeric else f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(df.columns, rec, strict=True):
            fmt = formats.get(c)
            text = fmt(v) if fmt else num(v) if c in numeric else ("–" if v is None or v != v else str(v))
            body = text if c in html_columns else esc(text)
            cells.append(f'<td class="num">{body}</td>' if c in numeric else f"<td>{body}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def data_uri(path: Path) -> str:
    """A file as a base64 ``data:`` URI (PNG or SVG)."""
    mime = {".png": "image/png", ".svg": "image/svg+xml"}.get(path.suffix.lower())
    if mime is None:
        raise ValueError(f"{path}: only PNG and SVG figures can be embedded")
    return _data_uri(path.read_bytes(), mime)


def _data_uri(blob: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(blob).decode('ascii')}"


def _figure_html(uri: str, alt: str, caption_html: str) -> str:
    return f'<figure><img src="{uri}" alt="{esc(alt)}"><figcaption>{caption_html}</figcaption></figure>'


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
        inner = "".join(s.render(level + 1) for s in self.subsections)
        return f'<section id="{esc(self.id)}"><h{level}>{esc(self.title)}</h{level}>{self.body}{inner}</section>'


def page(title: str, subtitle: str, sections: Sequence[Section], *, generated: str) -> str:
    """The whole document: head with inline CSS, title block, contents list and the sections."""
    toc = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in sections)
    body = "".join(s.render() for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="txbayes scripts/report.py"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body>"
        f'<header><h1>{esc(title)}</h1><p class="lede">{esc(subtitle)}</p>'
        f'<p class="muted">{esc(generated)}</p></header>'
        f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ul>{toc}</ul></nav>'
        f"<main>{body}</main></body></html>\n"
    )
