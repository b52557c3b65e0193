"""The study's data as validated tables.

Three kinds of file, all described in ``data/README.md``:

* ``baseline.csv`` — Table 1 of the letter, one row per patient, printed values kept verbatim.
* ``published.toml`` — every quantitative result of the letter, one keyed entry each.
* outcome tables — one row per patient in the schema :data:`OUTCOME_COLUMNS` (days from transplant):
  reconstructed draws live in ``data/huang2024/reconstructed/``.

Every loader validates and raises :class:`models.errors.DataError` with a one-line message naming
the file, the row/patient, the field, what was found and what was expected.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.constants import BASELINE_CSV, PUBLISHED_TOML
from models.errors import DataError, ToolkitError
from models.schema import validate_fields
from models.study.outcome_schema import OutcomeRow
from models.study.published_schema import ENDPOINTS as ENDPOINTS
from models.study.published_schema import FIGURE_KEYS as FIGURE_KEYS
from models.study.published_schema import STATISTICS as STATISTICS
from models.study.published_schema import UNITS as UNITS
from models.study.published_schema import PublishedToml

if TYPE_CHECKING:
    from models.study import StudyPack

# ----------------------------------------------------------------------------- baseline (Table 1)


class IgnoredColumnsWarning(UserWarning):
    """An input table had columns the toolkit does not use; they were ignored."""


def _patient_sort_key(pid: str) -> tuple[str, int]:
    digits = "".join(ch for ch in pid if ch.isdigit())
    return (pid.rstrip("0123456789"), int(digits) if digits else -1)


def _read_csv_text(path: Path, kind: type[DataError] = DataError) -> pd.DataFrame:
    if not path.exists():
        raise kind(path, found="no such file", expected="an existing CSV file")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, skipinitialspace=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise kind(
            path,
            found=f"unreadable CSV ({str(exc).splitlines()[0]})",
            expected="a comma-separated table with a header row",
        ) from None
    df.attrs["lines"] = _record_lines(path)  # _row_lines falls back to plain numbering if they disagree
    return df


def _record_lines(path: Path) -> list[int]:
    """File line number of each data record (after the header), counting blank lines as a reader does."""
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        lines = []
        first = True
        for rec in reader:
            if not rec:  # a blank line: pandas skips it, the reader's line count does not
                continue
            if first:
                first = False
                continue
            lines.append(reader.line_num)
    return lines


def _row_lines(df: pd.DataFrame) -> list[int]:
    """The file line of each row of ``df`` (``row N`` in messages is the line a spreadsheet shows)."""
    lines = df.attrs.get("lines")
    return list(lines) if lines is not None and len(lines) == len(df) else list(range(2, len(df) + 2))


def _check_columns(df: pd.DataFrame, path: Path, expected: list[str], *, allow_extra: bool = False) -> None:
    cols = list(df.columns)
    missing = [c for c in expected if c not in cols]
    if missing:
        raise DataError(path, where="header", field=missing[0], found=f"columns {cols}", expected=f"columns {expected}")
    extra = [c for c in cols if c not in expected]
    if extra and not allow_extra:
        raise DataError(
            path, where="header", field=extra[0], found="an unexpected column", expected=f"only columns {expected}"
        )
    dup = [c for c in cols if cols.count(c) > 1]
    if dup:
        raise DataError(path, where="header", field=dup[0], found="a duplicated column", expected="each column once")


def _check_patients(df: pd.DataFrame, path: Path) -> None:
    for i, pid in zip(_row_lines(df), df["patient"], strict=True):
        if not pid.strip():
            raise DataError(
                path, where=f"row {i}", field="patient", found="an empty ID", expected="a patient ID such as P1"
            )
    dups = df["patient"][df["patient"].duplicated()].tolist()
    if dups:
        row = _row_lines(df)[int(np.flatnonzero(df["patient"].duplicated())[0])]
        raise DataError(
            path,
            where=f"row {row} (patient {dups[0]})",
            field="patient",
            found="a duplicated patient ID",
            expected="unique patient IDs",
        )


def load_baseline(path: str | os.PathLike[str] = BASELINE_CSV, *, study: StudyPack | None = None) -> pd.DataFrame:
    """Load and validate Table 1 with the columns its study pack declares.

    Returns a DataFrame with printed strings kept as printed, integer and number columns as
    nullable numbers (empty where the table prints no value and the column allows it), plus an
    ``is_<population>`` flag for every named population of the pack (:func:`baseline_flags`).
    ``study`` defaults to the shipped pack (:func:`models.study.default_study`).
    """
    from models.study import default_study

    return (study or default_study()).load_baseline(path)


def baseline_flags(baseline: pd.DataFrame, *, study: StudyPack | None = None) -> pd.DataFrame:
    """``is_<population>`` for every named population of the pack, from printed Table 1 columns."""
    from models.study import default_study

    return (study or default_study()).flags(baseline)


def population_mask(
    baseline: pd.DataFrame, population: str, *, source: str = "population", study: StudyPack | None = None
) -> pd.Series:
    """Boolean mask of the patients in a named population of the pack (``cohort``: everyone)."""
    from models.study import default_study

    return (study or default_study()).population_mask(baseline, population, source=source)


# ----------------------------------------------------------------------------- published figures


@dataclass(frozen=True)
class PublishedFigure:
    """One published number with its provenance (an entry of ``published.toml``)."""

    key: str
    statistic: str
    value: float
    unit: str
    quote: str
    population: str = "cohort"
    ci: tuple[float, float] | None = None
    range: tuple[float, float] | None = None
    denominator: int | None = None
    endpoint: str | None = None
    landmark_days: float | None = None
    anchor: str | None = None
    patients: tuple[str, ...] = ()
    decimals: int | None = None
    count: int | None = None
    note: str | None = None

    @property
    def tolerance(self) -> float:
        """Half a unit of the last printed decimal: a value reproduces the figure if it rounds to it."""
        return 0.5 * 10.0 ** (-(self.decimals if self.decimals is not None else 0))


@dataclass(frozen=True)
class Published:
    """The letter's study-level facts and all its published figures."""

    study: Mapping[str, Any]
    figures: Mapping[str, PublishedFigure]
    path: Path

    def __getitem__(self, key: str) -> PublishedFigure:
        return self.figures[key]

    def select(self, **match: Any) -> list[PublishedFigure]:
        """Figures whose attributes equal all of ``match`` (e.g. ``statistic="km_survival"``)."""
        return [f for f in self.figures.values() if all(getattr(f, k) == v for k, v in match.items())]


def load_toml(path: Path, kind: type[ToolkitError] = DataError, what: str = "TOML file") -> dict[str, Any]:
    """Read a TOML file (:func:`models.io.read_toml`); errors are one-line ``kind`` errors."""
    from models.io import read_toml

    return read_toml(path, kind, what)


def load_published(path: str | os.PathLike[str] = PUBLISHED_TOML, *, study: StudyPack | None = None) -> Published:
    """Load and validate ``published.toml`` (schema :class:`~models.study.published_schema.PublishedToml`).

    Populations are checked against ``study``'s (default: the shipped pack), endpoints against
    :data:`ENDPOINTS`. A failure is a one-line :class:`DataError` naming the file, the figure and
    the field. ``Published.study`` is the ``[study]`` table as read (its free keys included).
    """
    from models.study import default_study

    path = Path(path)
    pops = (study or default_study()).population_names
    doc = load_toml(path)
    m = validate_fields(PublishedToml, doc, path, DataError, context={"populations": pops})
    figures = {
        key: PublishedFigure(
            key=key,
            statistic=e.statistic,
            value=e.value,
            unit=e.unit,
            quote=e.quote,
            population=e.population,
            ci=e.ci,
            range=e.range,
            denominator=e.denominator,
            endpoint=e.endpoint,
            landmark_days=e.landmark_days,
            anchor=e.anchor,
            patients=tuple(e.patients),
            decimals=e.decimals,
            count=e.count,
            note=e.note,
        )
        for key, e in m.figure.items()
    }
    return Published(study=doc["study"], figures=figures, path=path)


# ----------------------------------------------------------------------------- outcome tables

#: The per-patient outcome schema (days from transplant; empty = did not happen).
OUTCOME_COLUMNS: tuple[str, ...] = (
    "patient",
    "entry_day",
    "relapse_day",
    "gvhd_day",
    "death_day",
    "death_cause",
    "last_followup_day",
)
_TIME_COLUMNS = ("entry_day", "relapse_day", "gvhd_day", "death_day", "last_followup_day")
assert set(OUTCOME_COLUMNS) == set(OutcomeRow.model_fields)  # one schema: the columns are the row's fields


def validate_outcomes(df: pd.DataFrame, source: str = "outcome table") -> pd.DataFrame:
    """Validate an outcome table given as strings or numbers; return it with float day columns.

    The table has the columns :data:`OUTCOME_COLUMNS` (other columns are ignored with an
    :class:`IgnoredColumnsWarning`), unique non-empty patient IDs and at least one row; every row
    is an :class:`~models.study.outcome_schema.OutcomeRow` (times finite, in days 0 to
    :data:`~models.constants.MAX_DAY`, ``entry_day`` and ``last_followup_day`` present,
    ``entry_day <= relapse_day, gvhd_day, death_day <= last_followup_day``, a death on the last
    follow-up day with a cause in :data:`~models.constants.DEATH_CAUSES`, a ``relapse`` death after a relapse, an
    ``nrm`` death without one, no cause without a death). Each failure is a :class:`DataError`
    naming source, row, patient and field; missing days are NaN in the result.
    """
    path = Path(source)
    _check_columns(df, path, list(OUTCOME_COLUMNS), allow_extra=True)
    extra = [c for c in df.columns if c not in OUTCOME_COLUMNS]
    if extra:  # e.g. a site or arm column kept by the study team: not an outcome, so not used
        warnings.warn(
            f"{source}: column(s) {extra} ignored (the outcome columns are {list(OUTCOME_COLUMNS)})",
            IgnoredColumnsWarning,
            stacklevel=2,
        )
        lines = df.attrs.get("lines")
        df = df[list(OUTCOME_COLUMNS)]
        df.attrs["lines"] = lines
    sdf = df.apply(
        lambda col: col.map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
    )
    _check_patients(sdf, path)
    if len(sdf) == 0:
        raise DataError(source, found="no patient rows", expected="one row per patient")
    rows = []
    sdf.attrs["lines"] = df.attrs.get("lines")
    for i, cells in zip(_row_lines(sdf), sdf.to_dict("records"), strict=True):
        row = validate_fields(OutcomeRow, cells, source, DataError, where=f"row {i} (patient {cells['patient']})")
        days = {c: math.nan if (t := getattr(row, c)) is None else t for c in _TIME_COLUMNS}
        rows.append({"patient": row.patient, **days, "death_cause": row.death_cause})
    out = pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS))
    return out


def load_outcomes(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load and validate one per-patient outcome CSV (schema :data:`OUTCOME_COLUMNS`)."""
    path = Path(path)
    return validate_outcomes(_read_csv_text(path), str(path))


def outcome_files(path: str | os.PathLike[str]) -> list[Path]:
    """The outcome CSVs a path denotes: the file itself, or a folder's ``draw_*.csv`` sorted."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("draw_*.csv"))
        if not files:
            raise DataError(path, found="no draw_*.csv files", expected="a folder of reconstructed outcome tables")
        return files
    if not path.exists():
        raise DataError(path, found="no such file or folder", expected="an outcome CSV or a folder of draw_*.csv")
    return [path]


def load_outcome_draws(path: str | os.PathLike[str]) -> list[pd.DataFrame]:
    """Load every outcome table a file or folder holds (validated)."""
    return [load_outcomes(f) for f in outcome_files(path)]


def check_outcomes_match_baseline(
    outcomes: pd.DataFrame, baseline: pd.DataFrame, source: str = "outcome table"
) -> None:
    """The outcome table holds exactly the baseline's patients."""
    got, want = set(outcomes["patient"]), set(baseline["patient"])
    if got != want:
        missing = sorted(want - got, key=_patient_sort_key)
        extra = sorted(got - want, key=_patient_sort_key)
        what = f"missing {missing}" if missing else f"unknown {extra}"
        raise DataError(source, field="patient", found=what, expected="exactly the patients of the study's Table 1")


def format_outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """An outcome table as strings for writing: whole days without '.0', empty for missing."""
    out = df.loc[:, list(OUTCOME_COLUMNS)].copy()
    for c in _TIME_COLUMNS:
        out[c] = [("" if pd.isna(v) else (str(int(v)) if float(v).is_integer() else repr(float(v)))) for v in df[c]]
    out["death_cause"] = df["death_cause"].fillna("").astype(str)
    return out
