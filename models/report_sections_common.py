"""Helpers shared by the report's sections: number formats, figure fallbacks and study-pack phrases.

The sections (:mod:`models.report_sections`) never name a study: its title, citation, files and the
words for its outcome tables come from the run's study pack through the helpers here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from models.io import input_key
from models.labels import COLUMN
from models.report_html import esc, figure, p, pct_ci, prob, table

QUANTITY_ORDER = ["relapse_cif", "nrm_cif", "efs", "os", "grfs"]
COUNT_FORMATS = {
    "events": lambda v: f"{v:.2f}",
    "observed": lambda v: f"{v:.2f}",
    "predicted_mean": lambda v: f"{v:.2f}",
    "exposure_days": lambda v: f"{v:,.0f}",
    "patient_years": lambda v: f"{v:.2f}",
    "p_value": prob,
}
DIAG_FORMATS = {
    "max_r_hat": lambda v: f"{v:.4f}",
    "min_ess_bulk": lambda v: f"{v:,.0f}",
    "min_ess_tail": lambda v: f"{v:,.0f}",
    "r_hat": lambda v: f"{v:.4f}",
    "ess_bulk": lambda v: f"{v:,.0f}",
    "ess_tail": lambda v: f"{v:,.0f}",
}


def fig_or_note(path: Path, alt: str, caption: str) -> str:
    """An embedded figure, or a visible note naming the missing file."""
    if not path.is_file():
        return p(f"<span class='bad'>Figure missing: {esc(path.name)}</span>")
    return figure(path, alt, caption)


def landmark(out: Any) -> int:
    """The conditional scale's landmark day recorded by the fit (median entry day)."""
    return int(out.manifests["fit"].get("landmark_day", 0))


def ci_cell(row: Any) -> str:
    return pct_ci(row["median"], row["lower"], row["upper"])


def shown(path: Path | str | None) -> str:
    """A file as the report names it: relative to the repository when inside it."""
    return "" if path is None else input_key(path)


def code(path: Path | str | None) -> str:
    """``<code>path</code>`` of a file (repository-relative)."""
    return f"<code>{esc(shown(path))}</code>"


def tables_phrase(out: Any, n: int | None = None) -> str:
    """``20 reconstructed tables`` / ``1 outcome table``: the analysed tables as prose counts them."""
    n = len(out.draws) if n is None else n
    kind = "reconstructed" if out.reconstructed else "outcome"
    return f"{n} {kind} table{'' if n == 1 else 's'}"


def entry_phrase(out: Any) -> str:
    """The pack's definition of study entry, without its parenthetical (e.g. "first day of ... maintenance")."""
    text = str(out.study.info.entry).split(" (")[0].strip()
    return text or "study entry"


def count_text(values: Iterable[int]) -> str:
    """One count over tables: ``2``, or ``1–3`` when the tables differ."""
    v = sorted({int(x) for x in values})
    return f"{v[0]}" if len(v) == 1 else f"{v[0]}–{v[-1]}"


def event_counts(out: Any) -> dict[str, str]:
    """Relapses and non-relapse deaths in the analysed tables (a range when they differ)."""
    return {
        "relapse": count_text(int(t["relapse_day"].notna().sum()) for t in out.draws),
        "nrm": count_text(int((t["death_cause"] == "nrm").sum()) for t in out.draws),
        "events": count_text(
            int(t["relapse_day"].notna().sum()) + int((t["death_cause"] == "nrm").sum()) for t in out.draws
        ),
    }


def plural(n: str, word: str, many: str | None = None) -> str:
    """``1 relapse`` / ``2 relapses`` / ``1–2 relapses`` from a count as :func:`count_text` gives it."""
    return f"{n} {word if n == '1' else (many or word + 's')}"


def plain_table(
    df: Any,
    *,
    values: dict[str, Any] | None = None,
    formats: dict[str, Any] | None = None,
    caption: str | None = None,
) -> str:
    """A table of an output file's rows with plain headers and labels instead of identifiers.

    ``values`` maps a column to a function turning each value into its label (e.g. a quantity's
    name into ``relapse incidence``); ``formats`` are the number formats, keyed by the file's column
    names like the table's other arguments. Headers become their plain names
    (:data:`models.labels.COLUMN`); numeric columns stay right-aligned.
    """
    import pandas as pd

    df = df.copy()
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and c not in (values or {})]
    for c, f in (values or {}).items():
        if c in df.columns:
            df[c] = df[c].map(f)
    names = {c: COLUMN.get(c, c) for c in df.columns}
    return table(
        df.rename(columns=names),
        formats={names.get(c, c): f for c, f in (formats or {}).items()},
        numeric=[names[c] for c in numeric],
        caption=caption,
    )
