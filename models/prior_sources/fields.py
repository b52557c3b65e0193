"""The prior TOML reader and the field checkers behind the one-line errors of the prior files."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from models.errors import PriorError


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a prior TOML file (:func:`models.io.read_toml`); errors are one-line :class:`PriorError`."""
    from models.io import read_toml as read

    return read(path, PriorError, "prior TOML file (or a prior-set name)")


def _num(value: Any, src: str, where: str, fld: str, *, positive: bool = False, unit: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise PriorError(src, where=where, field=fld, found=value, expected="a finite number")
    v = float(value)
    if positive and v <= 0:
        raise PriorError(src, where=where, field=fld, found=v, expected="a number > 0")
    if unit and not 0.0 <= v <= 1.0:
        raise PriorError(src, where=where, field=fld, found=v, expected="a proportion in [0, 1]")
    return v


def _count(value: Any, src: str, where: str, fld: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PriorError(src, where=where, field=fld, found=value, expected="a whole number of patients >= 1")
    return int(value)


def _text(entry: Mapping[str, Any], key: str, src: str, where: str, *, allow_empty: bool = False) -> str:
    v = entry.get(key)
    if not isinstance(v, str) or (not allow_empty and not v.strip()):
        raise PriorError(
            src,
            where=where,
            field=key,
            found=v if v is not None else "missing",
            expected="a non-empty text (provenance is required)" if not allow_empty else "a text",
        )
    return v


def _check_keys(entry: Any, allowed: set[str], required: Sequence[str], src: str, where: str) -> None:
    if not isinstance(entry, dict):
        raise PriorError(src, where=where, found=type(entry).__name__, expected="a table")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise PriorError(src, where=where, field=unknown[0], found="an unknown key", expected=f"only {sorted(allowed)}")
    for k in required:
        if k not in entry:
            raise PriorError(src, where=where, field=k, found="missing", expected="present (provenance is required)")


def _day(value: Any, src: str, where: str, fld: str) -> float:
    v = _num(value, src, where, fld)
    if v < 0:
        raise PriorError(src, where=where, field=fld, found=v, expected="a day >= 0 on the clock of the figures")
    return v


def _bracket(
    value: Any, point: float, parse: Any, src: str, where: str, fld: str, shape: str, what: str
) -> tuple[float, float] | None:
    """An optional ``[low, high]`` pair parsed by ``parse`` that must contain ``point`` (a range, a CI);
    ``shape`` and ``what`` are the expected texts of the two one-line errors."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise PriorError(src, where=where, field=fld, found=value, expected=shape)
    lo, hi = (parse(v, src, where, fld) for v in value)
    if not lo <= point <= hi:
        raise PriorError(src, where=where, field=fld, found=[lo, hi], expected=what)
    return lo, hi
