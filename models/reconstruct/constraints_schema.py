"""The schema of a reconstruction's ``constraints.toml`` (``docs/study_packs.md`` section 4).

The file holds no numbers: every value names a ``published.toml`` figure (resolved, with the
checks that need the figures and Table 1, by :func:`models.reconstruct.loading.load_constraints`)
or says how to read one. Keys, types and the readings allowed are declared here; a failure is a
one-line :class:`~models.errors.ConfigError` naming the file, the table (``km[0]``,
``gvhd.categories.agvhd_1_2``) and the field (:func:`models.schema.validate_fields`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import Field, model_validator

from models.reconstruct.vocabulary import ENDPOINT_EXITS, FOLLOWUP_READINGS
from models.schema import FieldSchema, fail_at, one_message, shaped, table, tables

FIGURE_KEY = "a figure key of published.toml"
_COUNT_KEY = "a figure key giving that count"


def _names(expected: str) -> Any:
    """A list of strings, checked as a whole (a failure names the list, not an item)."""
    return shaped(lambda v: isinstance(v, list) and all(isinstance(k, str) for k in v), expected)


#: Events a ``[[population_count]]`` may count
CountedEvent = Literal["relapse", "death", "death_nrm", "death_relapse"]
#: Which exits a follow-up median/range is over (:data:`models.reconstruct.vocabulary.FOLLOWUP_READINGS`)
Reading = Literal["all", "censored"]
assert set(get_args(Reading)) == set(FOLLOWUP_READINGS)
#: A cumulative incidence's time point: ``"plateau"`` (after the last event) or a positive day
Landmark = Annotated[
    Literal["plateau"] | Annotated[float, Field(gt=0, allow_inf_nan=False)],
    one_message("'plateau' or a positive number of days"),
]
#: Endpoints a digitised curve may show (:data:`models.reconstruct.vocabulary.ENDPOINT_EXITS`)
CurveEndpoint = Literal["os", "efs", "grfs"]
assert set(get_args(CurveEndpoint)) == set(ENDPOINT_EXITS)
#: GvHD candidates: the patients named in the event figures, or a list of patient IDs
Candidates = Annotated[Literal["named"] | list[str], one_message("'named' or a list of patient IDs")]


class StudySize(FieldSchema):
    """``[study]``: the figure whose count is the number of Table 1 patients."""

    hints: ClassVar[Mapping[str, str]] = {"population_size": FIGURE_KEY}

    population_size: str | None = None


class FigureRef(FieldSchema):
    """``[[km]]`` and ``[entry]``: one figure key."""

    hints: ClassVar[Mapping[str, str]] = {"figure": FIGURE_KEY}

    figure: str


class CifRef(FieldSchema):
    """``[[cif]]``: a relapse incidence figure and its time point (default: the figure's own)."""

    hints: ClassVar[Mapping[str, str]] = {"figure": FIGURE_KEY}

    figure: str
    landmark: Landmark | None = None


class Events(FieldSchema):
    """``[events]``: the four count figures (required), and figures naming patients to check."""

    hints: ClassVar[Mapping[str, str]] = {
        "(missing)": _COUNT_KEY,
        **dict.fromkeys(("relapse", "death_relapse", "death_nrm", "alive"), _COUNT_KEY),
    }

    relapse: str
    death_relapse: str
    death_nrm: str
    alive: str
    named: Annotated[list[str], _names("a list of figure keys")] = Field(default_factory=list)


class PopulationCountRef(FieldSchema):
    """``[[population_count]]``: a count figure and the event it counts in its population."""

    hints: ClassVar[Mapping[str, str]] = {"figure": FIGURE_KEY, "event": "relapse, death, death_nrm or death_relapse"}

    figure: str
    event: CountedEvent


class Followup(FieldSchema):
    """``[followup]``: a median/range figure, its reading and the alternative reading reported."""

    hints: ClassVar[Mapping[str, str]] = {"figure": FIGURE_KEY}

    figure: str
    reading: Reading = "all"
    alternative: Reading | None = None


class AdminCensoring(FieldSchema):
    """``[admin_censoring]``: whether alive patients were last seen on the study's last date."""

    enabled: bool = False


class GvhdCategorySpec(FieldSchema):
    """``[gvhd.categories.<name>]``: a count figure, an onset figure and the GvHD family."""

    hints: ClassVar[Mapping[str, str]] = {"count": FIGURE_KEY, "onset": FIGURE_KEY, "family": "'acute' or 'chronic'"}

    count: str
    onset: str
    family: Literal["acute", "chronic"]


class GvhdDefinition(FieldSchema):
    """``[[gvhd.definitions]]``: which categories count as GRFS events (named, or by position)."""

    name: str | None = None
    qualifying: Annotated[list[str], _names("a list of categories of [gvhd.categories]")]


class Gvhd(FieldSchema):
    """``[gvhd]``: every published GvHD case and the definitions of a GRFS-qualifying one."""

    hints: ClassVar[Mapping[str, str]] = {
        "categories": "a table of categories",
        "definitions": "a list of {name, qualifying} tables",
    }

    categories: Annotated[
        dict[str, Annotated[GvhdCategorySpec, table("a table {count, onset, family}")]], Field(min_length=1)
    ]
    definitions: Annotated[list[GvhdDefinition], tables("a list of {name, qualifying} tables"), Field(min_length=1)]
    candidates: Candidates = "named"
    anonymous: bool = True

    @model_validator(mode="after")
    def _known_categories(self) -> Gvhd:
        for i, d in enumerate(self.definitions):
            if not all(q in self.categories for q in d.qualifying):
                fail_at(("definitions", i, "qualifying"), d.qualifying, f"categories among {sorted(self.categories)}")
        return self


class CurveRef(FieldSchema):
    """``[[curve]]``: a digitised Kaplan–Meier curve and its risk table (:mod:`models.reconstruct.curves`).

    ``points`` (columns ``time, survival``) and ``risk_table`` (columns ``time, at_risk``) are CSV
    files relative to the pack folder; ``tolerance_survival`` (in ``survival_unit``) and
    ``tolerance_time`` (in ``time_unit``) are the digitisation tolerances, stated by the user.
    """

    hints: ClassVar[Mapping[str, str]] = {
        "endpoint": "'os', 'efs' or 'grfs'",
        "population": "a population of study.toml (or 'cohort')",
        "points": "a CSV file (time, survival) relative to the pack folder",
        "risk_table": "a CSV file (time, at_risk) relative to the pack folder",
        "time_unit": "'days', 'weeks', 'months' or 'years'",
        "survival_unit": "'probability' or 'percent'",
        "tolerance_survival": "a number > 0 in the survival unit (the digitisation tolerance)",
        "tolerance_time": "a number >= 0 in the time unit (the digitisation tolerance)",
    }

    name: str | None = None
    endpoint: CurveEndpoint
    population: str = "cohort"
    points: str
    risk_table: str
    time_unit: Literal["days", "weeks", "months", "years"] = "days"
    survival_unit: Literal["probability", "percent"] = "probability"
    tolerance_survival: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    tolerance_time: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ConstraintsToml(FieldSchema):
    """The whole constraints file; only ``[events]`` is required."""

    study: Annotated[StudySize, table("a table")] | None = None
    km: Annotated[list[FigureRef], tables("an array of [[km]] tables")] = Field(default_factory=list)
    cif: Annotated[list[CifRef], tables("an array of [[cif]] tables")] = Field(default_factory=list)
    events: Annotated[Events, table("a table")]
    population_count: Annotated[list[PopulationCountRef], tables("an array of tables")] = Field(default_factory=list)
    followup: Annotated[Followup, table("a table")] | None = None
    entry: Annotated[FigureRef, table("a table")] | None = None
    admin_censoring: Annotated[AdminCensoring, table("a table")] | None = None
    gvhd: Annotated[Gvhd, table("a table")] | None = None
    curve: Annotated[list[CurveRef], tables("an array of [[curve]] tables")] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _events_table(cls, data: Any) -> Any:
        # an absent [events] reads as an empty one, so that the message names its first missing key
        if isinstance(data, dict) and "events" not in data:
            return {**data, "events": {}}
        return data
