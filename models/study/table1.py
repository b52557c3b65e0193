"""Table 1 of a study, validated against the columns its pack declares, and named populations.

A population rule is data (``[populations.<name>]`` in ``study.toml``), evaluated here on the
printed Table 1 values: a condition on one column (``equals``, ``one_of``, ``not_one_of``,
``at_most``/``at_least`` for numbers, ``starts_with`` for text) or a combination of other
populations (``all_of``, ``any_of``, ``none_of``). ``cohort`` (every patient) is built in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from models.errors import DataError, StudyError
from models.study.schema import ColumnSpec, PopulationRule


def load_table1(path: Path, columns: Mapping[str, ColumnSpec]) -> pd.DataFrame:
    """Load ``path`` and check every cell against ``columns`` (printed strings kept as printed).

    ``integer`` and ``number`` columns become nullable numbers (empty only where ``required =
    false``); ``category`` cells must be one of ``values``; ``text`` cells may be anything, empty
    only where ``required = false``. The ``id`` column is unique and non-empty.
    """
    from models.data import _check_columns, _check_patients, _read_csv_text, _row_lines

    df = _read_csv_text(path)
    _check_columns(df, path, list(columns))
    id_col = next(c for c, s in columns.items() if s.type == "id")
    if id_col != "patient":  # the toolkit's outcome tables join on 'patient'
        df = df.rename(columns={id_col: "patient"})
    _check_patients(df, path)
    if len(df) == 0:
        raise DataError(path, found="no patient rows", expected="one row per patient")
    out = df.copy()
    lines = _row_lines(df)
    for col, spec in columns.items():
        name = "patient" if col == id_col else col
        cells = df[name].tolist()
        parsed: list[object] = []
        for line, pid, value in zip(lines, df["patient"], cells, strict=True):
            where = f"row {line} (patient {pid})"
            if value == "":
                if spec.required and spec.type != "id":
                    raise DataError(
                        path, where=where, field=col, found="empty", expected="a value (the column is required)"
                    )
                parsed.append(None)
                continue
            if spec.type == "category" and value not in (spec.values or []):
                raise DataError(path, where=where, field=col, found=value, expected=f"one of {spec.values}")
            if spec.type in ("integer", "number"):
                parsed.append(_number(value, spec, path, where, col))
            else:
                parsed.append(value)
        if spec.type == "integer":
            out[name] = pd.array(parsed, dtype="Int64")
        elif spec.type == "number":
            out[name] = pd.array(parsed, dtype="Float64")
    return out


def _number(value: str, spec: ColumnSpec, path: Path, where: str, col: str) -> float | int:
    what = "a whole number" if spec.type == "integer" else "a number"
    if spec.min is not None and spec.max is not None:
        what += f" in [{spec.min:g}, {spec.max:g}]"
    elif spec.min is not None:
        what += f" >= {spec.min:g}"
    elif spec.max is not None:
        what += f" <= {spec.max:g}"
    try:
        num: float | int = int(value) if spec.type == "integer" else float(value)
    except ValueError:
        raise DataError(path, where=where, field=col, found=value, expected=what) from None
    if not math.isfinite(num) or (spec.min is not None and num < spec.min) or (spec.max is not None and num > spec.max):
        raise DataError(path, where=where, field=col, found=num, expected=what)
    return num


def evaluate_population(
    baseline: pd.DataFrame,
    name: str,
    rules: Mapping[str, PopulationRule],
    source: str,
    _depth: int = 0,
    *,
    id_column: str = "patient",
) -> pd.Series:
    """Boolean mask of the patients of population ``name`` under ``rules`` (``cohort`` = everyone).

    A rule on the declared id column reads the patient IDs; ``equals``/``one_of``/``not_one_of`` on
    a numeric column compare numbers (``equals = 60`` matches a printed ``60.0``).
    """
    if name == "cohort":
        return pd.Series(True, index=baseline.index)
    if name not in rules:
        raise StudyError(source, field="population", found=name, expected=f"one of {['cohort', *sorted(rules)]}")
    if _depth > len(rules):
        raise StudyError(
            source, where=f"populations.{name}", found="a rule that refers to itself", expected="no cycles"
        )
    r = rules[name]
    if r.column is None:
        masks = [evaluate_population(baseline, m, rules, source, _depth + 1, id_column=id_column) for m in r.members]
        if r.all_of is not None:
            return pd.concat(masks, axis=1).all(axis=1)
        anyone = pd.concat(masks, axis=1).any(axis=1)
        return anyone if r.any_of is not None else ~anyone
    col = "patient" if r.column == id_column else r.column
    values = baseline[col]
    if r.equals is not None:
        return _eq(values, [r.equals])
    if r.one_of is not None:
        return _eq(values, r.one_of)
    if r.not_one_of is not None:
        return ~_eq(values, r.not_one_of) & values.notna()
    if r.starts_with is not None:
        return values.astype("string").str.startswith(r.starts_with).fillna(False).astype(bool)
    num = pd.to_numeric(values, errors="coerce").astype(float)
    mask = pd.Series(True, index=baseline.index) & num.notna()
    if r.at_least is not None:
        mask &= num >= r.at_least
    if r.at_most is not None:
        mask &= num <= r.at_most
    return mask.astype(bool)


def _eq(values: pd.Series, wanted: list[str | int | float]) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values.dtype):
        nums = [float(w) for w in wanted if not isinstance(w, str)]
        return values.astype(float).isin(nums).fillna(False).astype(bool)
    text = values.astype("string")
    keys = {str(w) for w in wanted} | {str(int(w)) for w in wanted if isinstance(w, float) and w.is_integer()}
    return text.isin(keys).fillna(False).astype(bool)


def check_rules(
    rules: Mapping[str, PopulationRule], columns: Mapping[str, ColumnSpec], source: str, has_baseline: bool
) -> None:
    """Static checks of the population rules: known columns and populations, operators that fit."""
    for name, r in rules.items():
        where = f"populations.{name}"
        if r.column is not None:
            if not has_baseline:
                raise StudyError(
                    source, where=where, field="column", found=r.column, expected="a [files] baseline to apply it to"
                )
            if r.column not in columns:
                raise StudyError(
                    source, where=where, field="column", found=r.column, expected=f"a column of {sorted(columns)}"
                )
            spec = columns[r.column]
            if (r.at_least is not None or r.at_most is not None) and spec.type not in ("integer", "number"):
                raise StudyError(
                    source, where=where, field="at_least/at_most", found=spec.type, expected="a numeric column"
                )
            if spec.type == "category":
                for v in [r.equals, *(r.one_of or []), *(r.not_one_of or [])]:
                    if v is not None and str(v) not in (spec.values or []):
                        raise StudyError(source, where=where, field=r.column, found=v, expected=f"one of {spec.values}")
        for m in r.members:
            if m != "cohort" and m not in rules:
                raise StudyError(source, where=where, found=m, expected=f"a population among {sorted(rules)}")
            if m == name:
                raise StudyError(source, where=where, found=m, expected="a population other than itself")
