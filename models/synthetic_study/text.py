"""TOML values and tables, and numbers and Table 1 as a synthetic letter prints them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.synthetic_study.table1 import Column


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, Sequence):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML form for {v!r}")


def _toml_table(name: str, items: Mapping[str, Any]) -> str:
    return f"[{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in items.items() if v is not None)


def _median_range(values: np.ndarray) -> tuple[float, float, float]:
    v = np.sort(np.asarray(values, float))
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return float(med), float(v[0]), float(v[-1])


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _whole(x: float) -> int | float:
    """A day count as printed: whole days without a decimal point."""
    return int(x) if float(x).is_integer() else float(x)


def _pct(x: float) -> float:
    return round(100 * x, 1)


def _printed(x: float) -> str:
    """A percentage as a letter prints it: one decimal, a bare 100."""
    return "100" if x == 100 else f"{x:.1f}"


def _with_ci(value: float, ci: tuple[float, float]) -> str:
    return f"{_printed(value)}% (95% CI {_printed(ci[0])}–{_printed(ci[1])}%)"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _table1_text(base: pd.DataFrame, columns: Sequence[Column]) -> str:
    """Table 1 as a letter's plain text prints it: one row per patient, aligned columns."""
    heads = [c.label or c.name for c in columns]
    rows = [[str(v) for v in base[c.name]] for c in columns]
    widths = [max(len(h), *(len(x) for x in col)) for h, col in zip(heads, rows, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    for i in range(len(base)):
        lines.append("  ".join(col[i].ljust(w) for col, w in zip(rows, widths, strict=True)).rstrip())
    return "\n".join(lines)
