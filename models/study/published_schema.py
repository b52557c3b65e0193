"""The schema of ``published.toml``: every printed figure of a letter (see ``docs/study_packs.md``).

A ``[figure.<key>]`` table is a :class:`FigureEntry`; the ``[study]`` table is free, but the keys
the toolkit reads are typed (:class:`StudyFacts`). Failures are one-line
:class:`~models.errors.DataError` messages naming the file, the figure and the field
(:func:`models.schema.validate_fields`). Figure populations are checked against the study
pack's (``context={"populations": [...]}``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from models.schema import FieldSchema, fail_at, shaped, table

Statistic = Literal["count", "proportion", "km_survival", "cumulative_incidence", "median", "total"]
Unit = Literal["patients", "percent", "days", "courses", "deaths"]
#: Endpoints a published figure may refer to (see data/README.md)
Endpoint = Literal[
    "os",
    "efs",
    "grfs",
    "relapse",
    "nrm",
    "death_after_relapse",
    "agvhd",
    "agvhd_1_2",
    "agvhd_3_4",
    "cgvhd",
    "cgvhd_mild_moderate",
    "cgvhd_severe",
]
STATISTICS: tuple[str, ...] = get_args(Statistic)
UNITS: tuple[str, ...] = get_args(Unit)
ENDPOINTS: tuple[str, ...] = get_args(Endpoint)

WHOLE = "a whole number >= 0"


def _pair(value: Any) -> Any:
    """``[lower, upper]``: two finite numbers (not booleans), ``lower <= upper``; as a float tuple."""
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    )
    if not ok or value[0] > value[1]:
        raise ValueError("[lower, upper] with lower <= upper")
    return float(value[0]), float(value[1])


#: A printed interval or range, ``[lower, upper]``
Pair = Annotated[tuple[float, float], BeforeValidator(_pair)]
#: Patient IDs a figure's text names
PatientIds = Annotated[
    list[str],
    shaped(lambda v: isinstance(v, list) and all(isinstance(p, str) and p for p in v), "a list of patient IDs"),
]
#: ``"YYYY-MM"``
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def _num(x: float) -> object:
    """A figure's value as printed in messages (``100`` for a whole number, else the float)."""
    return int(x) if float(x).is_integer() else x


class FigureEntry(FieldSchema):
    """One ``[figure.<key>]`` table: a printed number, its statistic and unit, and its quote."""

    hints: ClassVar[Mapping[str, str]] = {
        "(missing)": "a value (every figure needs statistic, value, unit and quote)",
        "value": "a finite number >= 0",
        "quote": "the verbatim text locating the number",
        "denominator": WHOLE,
        "decimals": WHOLE,
        "count": WHOLE,
        "landmark_days": "a positive number of days",
    }

    statistic: Statistic
    unit: Unit
    value: float = Field(ge=0, allow_inf_nan=False)
    quote: str
    population: str = "cohort"
    endpoint: Endpoint | None = None
    ci: Pair | None = None
    range: Pair | None = None
    denominator: int | None = Field(default=None, ge=0)
    decimals: int | None = Field(default=None, ge=0)
    count: int | None = Field(default=None, ge=0)
    landmark_days: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    patients: PatientIds = Field(default_factory=list)
    anchor: str | None = None
    note: str | None = None

    @field_validator("quote")
    @classmethod
    def _a_quote(cls, value: str) -> str:
        if len(value.strip()) < 10:
            raise ValueError("the verbatim text locating the number")
        return value

    @field_validator("population", mode="before")
    @classmethod
    def _a_population(cls, value: Any, info: ValidationInfo) -> Any:
        pops = (info.context or {}).get("populations")
        if pops is not None and value not in pops:
            raise ValueError(f"one of {pops}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FigureEntry:
        if self.ci is not None and not (self.ci[0] <= self.value <= self.ci[1]):
            fail_at(("ci",), list(self.ci), f"an interval containing the estimate {_num(self.value)}")
        if self.range is not None and not (self.range[0] <= self.value <= self.range[1]):
            fail_at(("range",), list(self.range), f"a range containing the median {_num(self.value)}")
        if self.unit == "percent" and self.value > 100:
            fail_at(("value",), _num(self.value), "a percentage in [0, 100]")
        if self.statistic == "km_survival" and self.landmark_days is None:
            fail_at(("landmark_days",), "missing", "the time point of the survival estimate")
        return self


class StudyFacts(FieldSchema):
    """``[study]``: free keys; those the toolkit reads are typed (``docs/study_packs.md`` 3.1)."""

    model_config = ConfigDict(extra="allow")
    hints: ClassVar[Mapping[str, str]] = {
        "n_patients": "a whole number >= 1 (the rows of Table 1)",
        "transplant_window": "['YYYY-MM', 'YYYY-MM']: the months of the first and last transplant",
    }

    n_patients: int | None = Field(default=None, ge=1)
    last_followup_date: dt.date | None = None
    transplant_window: Annotated[list[Month], Field(min_length=2, max_length=2)] | None = None
    quote_origin: str | None = None
    quote_methods: str | None = None
    quote_software: str | None = None

    @model_validator(mode="after")
    def _window_in_order(self) -> StudyFacts:
        w = self.transplant_window
        if w is not None and w[0] > w[1]:
            fail_at(("transplant_window",), w, "the first transplant's month, then the last's")
        return self


class PublishedToml(FieldSchema):
    """The whole ``published.toml``: ``[study]`` and one or more ``[figure.<key>]`` tables."""

    hints: ClassVar[Mapping[str, str]] = {
        "(extra_forbidden)": "only [study] and [figure.<key>] tables",
        "study": "a [study] table",
        "figure": "[figure.<key>] entries",
    }

    study: StudyFacts
    figure: Annotated[dict[str, Annotated[FigureEntry, table("a table")]], Field(min_length=1)]


#: Keys a ``[figure.<key>]`` table may hold
FIGURE_KEYS: set[str] = set(FigureEntry.model_fields)
