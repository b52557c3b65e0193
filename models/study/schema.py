"""The schema of ``study.toml``: what a study pack declares (see ``docs/study_packs.md``)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from models.schema import Schema

#: Operators a population rule may use on one Table 1 column
COLUMN_OPERATORS = ("equals", "one_of", "not_one_of", "at_most", "at_least", "starts_with")
#: Operators that combine other populations
SET_OPERATORS = ("all_of", "any_of", "none_of")


class StudyInfo(Schema):
    """``[study]``: what the study is and how its times are measured."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    title: str = Field(min_length=3)
    short_name: str = Field(min_length=2, max_length=60)
    citation: str = Field(min_length=10)
    doi: str | None = None
    licence: str | None = None
    time_origin: str = "allogeneic transplant (day 0)"
    entry: str = "time origin (everyone at risk from day 0)"
    last_followup_date: dt.date | None = None
    text: str | None = None
    notes: str | None = None


class StudyFiles(Schema):
    """``[files]``: the pack's files, relative to ``study.toml``; every one is optional."""

    baseline: str | None = None
    published: str | None = None
    constraints: str | None = None
    outcomes: str | None = None

    @model_validator(mode="after")
    def _needs_data(self) -> StudyFiles:
        if self.outcomes is None and self.published is None:
            raise ValueError("outcomes (per-patient tables) or published (the letter's figures), or both")
        if self.constraints is not None and (self.published is None or self.baseline is None):
            raise ValueError("baseline and published beside constraints (the reconstruction reads all three)")
        return self


class ColumnSpec(Schema):
    """One Table 1 column: its type, allowed values and whether a cell may be empty."""

    type: Literal["id", "integer", "number", "category", "text"]
    values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    required: bool = True
    label: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        if self.type == "category" and not self.values:
            raise ValueError("values = [...] listing every allowed category")
        if self.type != "category" and self.values is not None:
            raise ValueError("values only for type = 'category'")
        if self.type not in ("integer", "number") and (self.min is not None or self.max is not None):
            raise ValueError("min/max only for type 'integer' or 'number'")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min <= max")
        return self


class PopulationRule(Schema):
    """A named population: one condition on a Table 1 column, or a combination of populations."""

    label: str | None = None
    column: str | None = None
    equals: str | int | float | None = None
    one_of: list[str | int | float] | None = None
    not_one_of: list[str | int | float] | None = None
    at_most: int | float | None = None
    at_least: int | float | None = None
    starts_with: str | None = None
    all_of: list[str] | None = None
    any_of: list[str] | None = None
    none_of: list[str] | None = None

    @model_validator(mode="after")
    def _one_condition(self) -> PopulationRule:
        ops = [k for k in (*COLUMN_OPERATORS, *SET_OPERATORS) if getattr(self, k) is not None]
        col_ops = [k for k in ops if k in COLUMN_OPERATORS]
        set_ops = [k for k in ops if k in SET_OPERATORS]
        if self.column is not None:
            if set_ops or not col_ops:
                raise ValueError(f"with column = ..., one or two of {list(COLUMN_OPERATORS)}")
            if len(col_ops) > 1 and set(col_ops) != {"at_most", "at_least"}:
                raise ValueError("one condition per rule (at_least with at_most is the one pair allowed)")
        else:
            if col_ops:
                raise ValueError(f"column = '<a Table 1 column>' beside {col_ops[0]}")
            if len(set_ops) != 1:
                raise ValueError(f"column = ... with a condition, or exactly one of {list(SET_OPERATORS)}")
        return self

    @property
    def members(self) -> list[str]:
        """Populations this rule combines (empty for a column rule)."""
        return [*(self.all_of or []), *(self.any_of or []), *(self.none_of or [])]


class Comparison(Schema):
    """``[comparison]``: the no-maintenance control packs a fit of this study compares with by default.

    Names of shipped packs (``data/controls/<name>``) or folders relative to the pack; the fit's
    ``--control`` replaces the list and ``--no-control`` drops it (``docs/comparative.md``).
    """

    controls: list[str] = Field(min_length=1)
    why: str | None = None
    #: How this study's patients differ from each control's, one sentence each, keyed by the name
    #: in ``controls``; the control pack's own ``caveats`` speak of the control alone.
    differences: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _differences_name_controls(self) -> Comparison:
        for key in self.differences:
            if key not in self.controls:
                raise ValueError(f"differences names '{key}', which is not in controls {self.controls}")
        return self


class StudyToml(Schema):
    """The whole ``study.toml``."""

    study: StudyInfo
    files: StudyFiles
    comparison: Comparison | None = None
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    populations: dict[str, PopulationRule] = Field(default_factory=dict)

    @field_validator("populations")
    @classmethod
    def _names(cls, pops: dict[str, PopulationRule]) -> dict[str, PopulationRule]:
        for name in pops:
            if name == "cohort":
                raise ValueError("no population named 'cohort' (it is built in: every patient)")
            if not name.replace("_", "").isalnum() or not name[0].isalpha() or name.lower() != name:
                raise ValueError(f"population names of lower-case letters, digits and '_' (found {name!r})")
        return pops
