"""The schema of ``data/priors/sources.toml`` and its loading into :class:`Sources`.

One schema per table kind: :class:`EntryTable` (``[study.<id>.entry]`` or a figure's ``entry``),
:class:`PopulationTable`, :class:`StudyTable` (``[study.<id>]``), :class:`FigureTable`
(``[figure.<id>]``) and the whole file, :class:`SourcesToml`. Bounds are declared with the fields
(:mod:`models.prior_sources.fields`: cohort sizes >= 1, days in 0..36525, proportions in [0, 1],
brackets ordered); cross-field rules are model validators: an entry range contains its median day,
a confidence interval contains its estimate, survival and incidence figures have a landmark and
other figures none, every figure names a study of the file, and the entry day (the figure's own or
its study's) precedes the figure's landmark. Any violation is a one-line
:class:`~models.errors.PriorError` naming the file, the table and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import Field, model_validator

from models.prior_sources.fields import (
    MAX_MONTHS,
    Count,
    Day,
    Months,
    Number,
    PriorSchema,
    Provenance,
    check,
    one_of,
    ordered,
    pair,
    read_toml,
)
from models.prior_sources.records import SOURCES_TOML, Entry, Figure, Sources, Study, landmark_day
from models.schema import fail_at, table

ProportionEndpoint = Literal["os", "event_free", "cir", "nrm"]
Endpoint = Literal["os", "event_free", "cir", "nrm", "median_os", "hr_death", "hr_relapse"]
PROPORTION_ENDPOINTS: tuple[str, ...] = get_args(ProportionEndpoint)
ENDPOINTS: tuple[str, ...] = get_args(Endpoint)


# ------------------------------------------------------------------------------------ the schema
class EntryTable(PriorSchema):
    """When the patients entered the risk set: a median day, its reported range and provenance."""

    median_day: Day
    range: (
        Annotated[list[Day], pair("[first, last] entry day"), ordered("[first, last] entry days with first <= last")]
        | None
    ) = None
    quote: Provenance
    url: Provenance
    note: str = ""

    @model_validator(mode="after")
    def _median_in_range(self) -> EntryTable:
        if self.range is not None and not self.range[0] <= self.median_day <= self.range[1]:
            fail_at(("range",), self.range, f"a range containing median_day {self.median_day:g}")
        return self


_Entry = Annotated[EntryTable, table("a table {median_day, range = [first, last], quote, url}")]


class PopulationTable(PriorSchema):
    """``population = {disease, disease_status, mrd, donor, setting}``: texts ("not found" when not reported)."""

    disease: str
    disease_status: str
    mrd: str
    donor: str
    setting: str


class StudyTable(PriorSchema):
    """``[study.<id>]``: one publication, its citation, the address read, population and size."""

    citation: Provenance
    doi: str
    url: Provenance
    population: Annotated[PopulationTable, table(f"a table with texts {list(PopulationTable.model_fields)}")]
    intervention: str = ""
    n: Count
    followup_months: Months | None = None
    design: str = ""
    entry: _Entry | None = None


class FigureTable(PriorSchema):
    """``[figure.<id>]``: one reported number with its provenance (see the header of ``sources.toml``)."""

    hints: ClassVar[Mapping[str, str]] = {"endpoint": one_of(ENDPOINTS)}

    study: str
    arm: Provenance
    endpoint: Endpoint
    endpoint_reported: str = ""
    landmark_months: Months | None = None
    estimate: Number
    ci: Annotated[list[Number], pair("[lower, upper]"), ordered("[lower, upper] with lower <= upper")] | None = None
    n: Count
    quote: Provenance
    url: Provenance
    verified: bool
    note: str = ""
    entry: _Entry | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FigureTable:
        est, proportion = self.estimate, self.endpoint in PROPORTION_ENDPOINTS
        if proportion:
            ok, expected = 0.0 <= est <= 1.0, "a proportion in [0, 1]"
        elif self.endpoint == "median_os":
            ok, expected = 0.0 < est <= MAX_MONTHS, f"a median in months > 0 and <= {MAX_MONTHS} (100 years)"
        else:
            ok, expected = est > 0.0, "a number > 0"
        if not ok:
            fail_at(("estimate",), est, expected)
        if proportion and self.landmark_months is None:
            fail_at(("landmark_months",), "missing", "the landmark (months) of a survival or incidence figure")
        if not proportion and self.landmark_months is not None:
            fail_at(("landmark_months",), self.landmark_months, f"no landmark for a {self.endpoint} figure")
        if self.ci is not None and not self.ci[0] <= est <= self.ci[1]:
            fail_at(("ci",), self.ci, f"an interval containing the estimate {est:g}")
        return self


class SourcesToml(PriorSchema):
    """The whole ``sources.toml``: ``[study.<id>]`` and ``[figure.<id>]`` tables and nothing else."""

    unknown_key: ClassVar[str] = "an unknown top-level table"
    known_keys: ClassVar[str | None] = "only [study.*] and [figure.*]"

    study: Annotated[dict[str, Annotated[StudyTable, table("a table [study.<id>]")]], table("[study.<id>] tables")] = (
        Field(default_factory=dict)
    )
    figure: Annotated[
        dict[str, Annotated[FigureTable, table("a table [figure.<id>]")]], table("[figure.<id>] tables")
    ] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _cross_references(self) -> SourcesToml:
        for key, f in self.figure.items():
            if f.study not in self.study:
                fail_at(("figure", key, "study"), f.study, f"one of {sorted(self.study)}")
            own = f.entry is not None
            entry = f.entry if own else self.study[f.study].entry
            if entry is None or f.endpoint not in (*PROPORTION_ENDPOINTS, "median_os"):
                continue  # hazard ratios have no landmark
            declared = f"figure.{key}" if own else f"study.{f.study}"
            day = landmark_day(f.estimate if f.endpoint == "median_os" else f.landmark_months or 0.0)
            if entry.median_day >= day:
                fail_at(
                    ("figure", key, "entry"),
                    f"entry day {entry.median_day:g} ({declared}) on or after the landmark day {day:g}",
                    "an entry day before the figure's landmark (patients enter the risk set before it)",
                )
        return self


# ------------------------------------------------------------------------------------ the records
def _entry(t: EntryTable, declared_in: str) -> Entry:
    rng = None if t.range is None else (t.range[0], t.range[1])
    return Entry(t.median_day, t.quote, t.url, range=rng, note=t.note, declared_in=declared_in)


def _study(key: str, t: StudyTable) -> Study:
    return Study(
        key=key,
        citation=t.citation,
        doi=t.doi,
        url=t.url,
        population=t.population.model_dump(),
        n=t.n,
        intervention=t.intervention,
        design=t.design,
        followup_months=t.followup_months,
        entry=None if t.entry is None else _entry(t.entry, f"study.{key}"),
    )


def _figure(key: str, t: FigureTable, studies: Mapping[str, Study]) -> Figure:
    return Figure(
        key=key,
        study=t.study,
        arm=t.arm,
        endpoint=t.endpoint,
        estimate=t.estimate,
        n=t.n,
        quote=t.quote,
        url=t.url,
        verified=t.verified,
        endpoint_reported=t.endpoint_reported,
        landmark_months=t.landmark_months,
        ci=None if t.ci is None else (t.ci[0], t.ci[1]),
        note=t.note,
        entry=_entry(t.entry, f"figure.{key}") if t.entry is not None else studies[t.study].entry,
    )


def parse_sources(doc: Mapping[str, Any], src: str) -> Sources:
    """Check a parsed sources document against :class:`SourcesToml` and return it typed."""
    valid = check(SourcesToml, doc, src)
    studies = {k: _study(k, t) for k, t in valid.study.items()}
    figures = {k: _figure(k, t, studies) for k, t in valid.figure.items()}
    return Sources(studies=studies, figures=figures, path=src)


def load_sources(path: str | Path = SOURCES_TOML) -> Sources:
    """Load and validate ``sources.toml``; any violation is a one-line :class:`PriorError`."""
    return parse_sources(read_toml(path), str(path))
