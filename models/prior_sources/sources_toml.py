"""Loading and validating ``data/priors/sources.toml`` (schema in that file) into :class:`Sources`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from models.errors import PriorError
from models.prior_sources.fields import _bracket, _check_keys, _count, _day, _num, _text, read_toml
from models.prior_sources.records import SOURCES_TOML, Entry, Figure, Sources, Study

PROPORTION_ENDPOINTS = ("os", "event_free", "cir", "nrm")
ENDPOINTS = (*PROPORTION_ENDPOINTS, "median_os", "hr_death", "hr_relapse")
_STUDY_KEYS = {"citation", "doi", "url", "population", "intervention", "n", "followup_months", "design", "entry"}
_STUDY_REQUIRED = ("citation", "doi", "url", "population", "n")
_POPULATION_KEYS = ("disease", "disease_status", "mrd", "donor", "setting")
_FIGURE_KEYS = {
    "study",
    "arm",
    "endpoint",
    "endpoint_reported",
    "landmark_months",
    "estimate",
    "ci",
    "n",
    "quote",
    "url",
    "verified",
    "note",
    "entry",
}
_FIGURE_REQUIRED = ("study", "arm", "endpoint", "estimate", "n", "quote", "url", "verified")
_ENTRY_KEYS = {"median_day", "range", "quote", "url", "note"}
_ENTRY_REQUIRED = ("median_day", "quote", "url")


def _entry(value: Any, src: str, owner: str) -> Entry:
    """Check an ``entry`` table of ``owner`` (``study.<id>`` or ``figure.<id>``)."""
    where = f"{owner}.entry"
    if not isinstance(value, dict):
        raise PriorError(
            src,
            where=owner,
            field="entry",
            found=value,
            expected="a table {median_day, range = [first, last], quote, url}",
        )
    _check_keys(value, _ENTRY_KEYS, _ENTRY_REQUIRED, src, where)
    median = _day(value["median_day"], src, where, "median_day")
    rng = _bracket(
        value.get("range"),
        median,
        _day,
        src,
        where,
        "range",
        "[first, last] entry day",
        f"a range containing median_day {median:g}",
    )
    return Entry(
        median_day=median,
        quote=_text(value, "quote", src, where),
        url=_text(value, "url", src, where),
        range=rng,
        note=str(value.get("note", "")),
        declared_in=owner,
    )


def _study(key: str, e: Any, src: str) -> Study:
    where = f"study.{key}"
    _check_keys(e, _STUDY_KEYS, _STUDY_REQUIRED, src, where)
    pop = e["population"]
    if not isinstance(pop, dict) or any(not isinstance(pop.get(k), str) for k in _POPULATION_KEYS):
        raise PriorError(
            src, where=where, field="population", found=pop, expected=f"a table with texts {list(_POPULATION_KEYS)}"
        )
    fu = e.get("followup_months")
    return Study(
        key=key,
        citation=_text(e, "citation", src, where),
        doi=_text(e, "doi", src, where, allow_empty=True),
        url=_text(e, "url", src, where),
        population=dict(pop),
        n=_count(e["n"], src, where, "n"),
        intervention=str(e.get("intervention", "")),
        design=str(e.get("design", "")),
        followup_months=None if fu is None else _num(fu, src, where, "followup_months", positive=True),
        entry=None if "entry" not in e else _entry(e["entry"], src, where),
    )


def _figure(key: str, e: Any, studies: Mapping[str, Study], src: str) -> Figure:
    where = f"figure.{key}"
    _check_keys(e, _FIGURE_KEYS, _FIGURE_REQUIRED, src, where)
    if e["study"] not in studies:
        raise PriorError(src, where=where, field="study", found=e["study"], expected=f"one of {sorted(studies)}")
    endpoint = e["endpoint"]
    if endpoint not in ENDPOINTS:
        raise PriorError(src, where=where, field="endpoint", found=endpoint, expected=f"one of {list(ENDPOINTS)}")
    prop = endpoint in PROPORTION_ENDPOINTS
    est = _num(e["estimate"], src, where, "estimate", unit=prop, positive=not prop)
    lm = e.get("landmark_months")
    if prop:
        if lm is None:
            raise PriorError(
                src,
                where=where,
                field="landmark_months",
                found="missing",
                expected="the landmark (months) of a survival or incidence figure",
            )
        lm = _num(lm, src, where, "landmark_months", positive=True)
    elif lm is not None:
        raise PriorError(
            src, where=where, field="landmark_months", found=lm, expected=f"no landmark for a {endpoint} figure"
        )
    ci = _bracket(
        e.get("ci"), est, _num, src, where, "ci", "[lower, upper]", f"an interval containing the estimate {est:g}"
    )
    if not isinstance(e["verified"], bool):
        raise PriorError(src, where=where, field="verified", found=e["verified"], expected="true or false")
    entry = _entry(e["entry"], src, where) if "entry" in e else studies[e["study"]].entry
    fig = Figure(
        key=key,
        study=e["study"],
        arm=_text(e, "arm", src, where),
        endpoint=endpoint,
        estimate=est,
        n=_count(e["n"], src, where, "n"),
        quote=_text(e, "quote", src, where),
        url=_text(e, "url", src, where),
        verified=e["verified"],
        endpoint_reported=str(e.get("endpoint_reported", "")),
        landmark_months=lm,
        ci=ci,
        note=str(e.get("note", "")),
        entry=entry,
    )
    if entry is not None and (prop or endpoint == "median_os") and entry.median_day >= fig.landmark_days:
        raise PriorError(
            src,
            where=where,
            field="entry",
            found=f"entry day {entry.median_day:g} ({entry.declared_in}) on or after the landmark day "
            f"{fig.landmark_days:g}",
            expected="an entry day before the figure's landmark (patients enter the risk set before it)",
        )
    return fig


def parse_sources(doc: Mapping[str, Any], src: str) -> Sources:
    """Check a parsed sources document (schema in ``sources.toml``) and return it typed."""
    unknown = sorted(set(doc) - {"study", "figure"})
    if unknown:
        raise PriorError(
            src, where=unknown[0], found="an unknown top-level table", expected="only [study.*] and [figure.*]"
        )
    studies = {k: _study(k, v, src) for k, v in doc.get("study", {}).items()}
    figures = {k: _figure(k, v, studies, src) for k, v in doc.get("figure", {}).items()}
    return Sources(studies=studies, figures=figures, path=src)


def load_sources(path: str | Path = SOURCES_TOML) -> Sources:
    """Load and validate ``sources.toml``; any violation is a one-line :class:`PriorError`."""
    return parse_sources(read_toml(path), str(path))
