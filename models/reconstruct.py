r"""Reconstruction of per-patient outcome tables from a study's published summaries.

A paper prints Kaplan–Meier landmark estimates with 95% intervals, cumulative incidences, counts
and medians with ranges, but not the per-patient table behind them. This module finds the
per-patient tables (schema :data:`models.data.OUTCOME_COLUMNS`) consistent with *all* of them and
draws several, so that the reconstruction's uncertainty can be carried into later analyses.

Method
------
1. **Orderings, not permutations of patients.** Every estimate depends on the data only through
   the order of events and censorings and on which subgroup each belongs to. Patients are grouped
   into exchangeable *classes* (same subgroup memberships, same path of events); a patient's *path*
   is a string of steps ``G`` (GRFS-qualifying GvHD), ``R`` (relapse), ``N`` (non-relapse death),
   ``D`` (death after relapse), ``C`` (alive at last contact). An *ordering* is a sequence of
   (class, step) labels plus one marker per landmark day; no two items share a day, so each event
   is a distinct event time with :math:`d_j = 1`.
2. **Exact figure checks on risk sets.** At an event of endpoint :math:`e` in population
   :math:`P` the risk set :math:`n_j` is the number of members of :math:`P` not yet out of
   :math:`e`; with distinct times

   .. math:: \hat S(L) = \prod_{t_j \le L} (1 - 1/n_j), \qquad
             \widehat{\mathrm{var}}[\log \hat S(L)] = \sum_{t_j \le L} \frac{1}{n_j (n_j - 1)},

   and the 95% interval :math:`\hat S \exp(\pm z \sqrt{\mathrm{var}})` (upper bound truncated at
   1) is R ``survfit``'s default. The Aalen–Johansen cumulative incidence of cause 1 is
   :math:`\hat F_1 = \sum_{j:\,\text{cause 1}} \hat S(t_j-)/n_j` with :math:`\hat S` the all-cause
   (event-free) survival. A figure is reproduced when each printed number is met within half a
   unit of its last printed decimal.
3. **Dynamic programming over risk-set states.** For each KM figure every strictly decreasing
   tuple of risk sets reproducing it is enumerated first (:func:`risk_set_tuples`; exhaustive,
   since :math:`\hat S` only falls and the variance only grows as events accrue). The DP state is
   the number of patients of each class at each position of its path, the number of threshold
   markers passed (landmarks and the ends of day windows), and for each figure the risk sets seen
   so far, which must stay a prefix of an admissible tuple. Counting completions with memoisation
   gives the exact number of consistent orderings; sampling descends the same graph with
   probabilities proportional to completion counts (uniform over orderings). Order statistics
   pinned to days (follow-up median and range) are checked against the markers: an exit pinned
   before day :math:`L` must precede the marker.
4. **Days.** For a drawn ordering, patients are assigned to its labels at random within their
   class, then days are sampled as strictly increasing integers honouring pinned days (landmarks,
   follow-up order statistics), per-item windows (administrative censoring, GvHD onset windows)
   and the entry-day order statistics; GvHD onsets are entry + an offset inside the published
   onset range, and the whole GvHD roster (qualifying or not) is drawn with the published onset
   medians and ranges. Infeasible day draws are rejected and redrawn a bounded number of times.
5. **Independent verification.** Every table is re-checked by :func:`verify_table` with lifelines
   (:mod:`models.nonparametric`), not with the solver's arithmetic.

Errors are one line: :class:`models.errors.ReconstructionError` for contradictory or impossible
constraints (naming the figure and the closest value reachable jointly with the others),
:class:`models.errors.ConfigError` / :class:`models.errors.DataError` for malformed files.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from models.constants import EVENT_NRM, EVENT_RELAPSE, Z_CI
from models.data import (
    OUTCOME_COLUMNS,
    Published,
    PublishedFigure,
    load_toml,
    population_mask,
    validate_outcomes,
)
from models.endpoints import derive
from models.errors import ConfigError, ReconstructionError
from models.nonparametric import cif_at, km_at

if TYPE_CHECKING:
    from models.study import StudyPack

# ----------------------------------------------------------------------------- vocabulary

G, R, N, D, C = "G", "R", "N", "D", "C"
#: Steps that end a patient's follow-up (death or last contact).
EXIT_STEPS = frozenset({N, D, C})
#: For each KM endpoint: steps that take a patient out of its risk set, and those that are events.
ENDPOINT_EXITS: dict[str, frozenset[str]] = {
    "os": frozenset({N, D, C}),
    "efs": frozenset({R, N, C}),
    "grfs": frozenset({G, R, N, C}),
}
ENDPOINT_EVENTS: dict[str, frozenset[str]] = {
    "os": frozenset({N, D}),
    "efs": frozenset({R, N}),
    "grfs": frozenset({G, R, N}),
}
#: Cumulative incidence: relapse (cause 1) with non-relapse death (cause 2) competing.
CIF_CAUSES: dict[str, int] = {R: EVENT_RELAPSE, N: EVENT_NRM}
#: Follow-up readings: which exits the follow-up median/range is over.
FOLLOWUP_READINGS: dict[str, frozenset[str]] = {"all": EXIT_STEPS, "censored": frozenset({C})}
#: Default bound on the number of memoised search states (a bounded search, never endless).
DEFAULT_MAX_STATES = 3_000_000
#: Default bound on day-sampling attempts per draw.
DEFAULT_MAX_TRIES = 4000

# ----------------------------------------------------------------------------- constraint objects


@dataclass(frozen=True)
class KMTarget:
    """A published Kaplan–Meier landmark estimate (percent) with optional 95% CI."""

    name: str
    endpoint: str
    population: str
    landmark: float
    value: float
    ci: tuple[float, float] | None
    tol: float


@dataclass(frozen=True)
class CIFTarget:
    """A published cumulative incidence of relapse (percent), NRM competing.

    ``landmark`` None means the plateau (the value after the last event), as for a paper that
    prints one incidence without a time point.
    """

    name: str
    population: str
    landmark: float | None
    value: float
    tol: float


@dataclass(frozen=True)
class OrderStat:
    """A median with range over ``n`` values: exact order statistics.

    The median is the middle order statistic (odd ``n``) or the mean of the two middle ones
    (even ``n``); ``lo`` and ``hi`` are the minimum and maximum exactly.
    """

    name: str
    n: int
    median: float
    lo: float
    hi: float


@dataclass(frozen=True)
class GvhdCategory:
    """One published GvHD category: number of cases and its onset window relative to entry."""

    name: str
    count: int
    family: str  # "acute" or "chronic": a patient has at most one case per family
    onset: str  # key of the onset OrderStat (cases of one onset key share it)


@dataclass(frozen=True)
class PopulationCount:
    """A count of patients with an event in a population (e.g. 0 relapses in CR1)."""

    name: str
    population: str
    event: str  # "relapse" | "death" | "death_nrm" | "death_relapse"
    value: int


@dataclass
class Constraints:
    """Everything the solver needs, resolved from the constraints file and published.toml."""

    source: str
    patients: tuple[str, ...]
    membership: dict[str, dict[str, bool]]  # population -> patient -> member
    km: tuple[KMTarget, ...]
    cif: tuple[CIFTarget, ...]
    named_paths: dict[str, str]
    anonymous: dict[str, int]
    population_counts: tuple[PopulationCount, ...]
    followup: OrderStat | None
    followup_reading: str = "all"
    followup_alternative: str | None = None
    entry: OrderStat | None = None
    admin: tuple[int, int] | None = None
    gvhd_categories: dict[str, GvhdCategory] = field(default_factory=dict)
    gvhd_onsets: dict[str, OrderStat] = field(default_factory=dict)
    gvhd_definitions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    gvhd_candidates: tuple[str, ...] = ()
    anonymous_gvhd: bool = True
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.patients)

    @property
    def landmarks(self) -> tuple[float, ...]:
        days = {k.landmark for k in self.km} | {c.landmark for c in self.cif if c.landmark is not None}
        return tuple(sorted(days))


# ----------------------------------------------------------------------------- loading


def _err(source: str, where: str, field_: str | None, found: object, expected: str) -> ReconstructionError:
    return ReconstructionError(source, where=where, field=field_, found=found, expected=expected)


def _figure(
    pub: Published, key: object, source: str, where: str, stats: Iterable[str] | None = None
) -> PublishedFigure:
    if not isinstance(key, str) or key not in pub.figures:
        raise _err(source, where, "figure", key, f"a figure key of {pub.path.name}")
    fig = pub.figures[key]
    if stats is not None and fig.statistic not in tuple(stats):
        raise _err(
            source, where, "figure", f"{key} (statistic {fig.statistic})", f"a figure with statistic in {list(stats)}"
        )
    return fig


def _count_of(fig: PublishedFigure) -> int:
    """The number of patients a count-like figure states (``count`` or an integer ``value``)."""
    if fig.count is not None:
        return int(fig.count)
    return round(fig.value)


def _order_stat(fig: PublishedFigure, n: int | None, source: str, where: str) -> OrderStat:
    if fig.statistic != "median" or fig.range is None:
        raise _err(source, where, "figure", fig.key, "a median figure with a range")
    size = n if n is not None else fig.denominator
    if size is None or size < 1:
        raise _err(source, where, "figure", fig.key, "a median figure with a denominator (number of values)")
    return OrderStat(fig.key, int(size), fig.value, fig.range[0], fig.range[1])


def _percent_tol(fig: PublishedFigure) -> float:
    return fig.tolerance if fig.decimals is not None else 0.5


def _check_known(table: Mapping[str, Any], allowed: set[str], source: str, where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise ConfigError(
            source, where=where, field=extra[0], found="an unknown key", expected=f"keys among {sorted(allowed)}"
        )


def _admin_window(study: Mapping[str, Any], source: str) -> tuple[int, int]:
    """Days from transplant to the last follow-up date, over the transplant window.

    With transplants between the first day of the window's first month and the last day of its
    last month, an alive patient's last contact (the study's last follow-up date) lies in
    ``[last - window_end, last - window_start]`` days.
    """
    try:
        last = study["last_followup_date"]
        last = last if isinstance(last, dt.date) else dt.date.fromisoformat(str(last))
        start_s, end_s = study["transplant_window"]
        y0, m0 = (int(x) for x in str(start_s).split("-")[:2])
        y1, m1 = (int(x) for x in str(end_s).split("-")[:2])
    except (KeyError, ValueError, TypeError):
        raise ConfigError(
            source,
            where="admin_censoring",
            found="study dates missing or malformed",
            expected="[study] last_followup_date and transplant_window = ['YYYY-MM', 'YYYY-MM']",
        ) from None
    start = dt.date(y0, m0, 1)
    end = dt.date(y1 + (m1 == 12), m1 % 12 + 1, 1) - dt.timedelta(days=1)
    return (last - end).days, (last - start).days


def load_constraints(
    path: str | os.PathLike[str], published: Published, baseline: pd.DataFrame, *, study: StudyPack | None = None
) -> Constraints:
    """Read a constraints file that references ``published.toml`` keys (numbers never duplicated).

    Tables: ``[[km]] figure=...``, ``[[cif]] figure=..., landmark="plateau"|days``,
    ``[events] relapse/death_relapse/death_nrm/alive = <figure key>, named = [keys]``,
    ``[[population_count]] figure=..., event=...``, ``[followup] figure, reading, alternative``,
    ``[entry] figure``, ``[admin_censoring] enabled``, ``[gvhd] categories, definitions,
    candidates, anonymous``. See ``docs/reconstruction.md``. Populations are the ``study`` pack's
    (default: the shipped one).
    """
    path = Path(path)
    src = str(path)
    doc = load_toml(path, ConfigError, "constraints TOML file")
    _check_known(
        doc,
        {"study", "km", "cif", "events", "population_count", "followup", "entry", "admin_censoring", "gvhd"},
        src,
        "top level",
    )
    patients = tuple(baseline["patient"].astype(str))
    n_fig = doc.get("study", {}).get("population_size")
    if n_fig is not None:
        nf = _figure(published, n_fig, src, "study.population_size")
        if _count_of(nf) != len(patients):
            raise _err(
                src,
                "study.population_size",
                "figure",
                f"{nf.key} = {_count_of(nf)}",
                f"the number of baseline patients ({len(patients)})",
            )
    km = tuple(_load_km(doc.get("km", []), published, src))
    cif = tuple(_load_cif(doc.get("cif", []), published, src))
    pops = {t.population for t in km} | {t.population for t in cif}
    named_paths, anonymous, counts = _load_events(doc.get("events", {}), published, src, patients)
    pcounts = tuple(_load_population_counts(doc.get("population_count", []), published, src))
    pops |= {p.population for p in pcounts}
    membership = {
        p: dict(zip(patients, population_mask(baseline, p, source=src, study=study).tolist(), strict=True))
        for p in sorted(pops | {"cohort"})
    }
    _check_named_populations(doc.get("events", {}), published, src, membership, named_paths)
    fu = doc.get("followup")
    followup, reading, alternative = None, "all", None
    if fu is not None:
        _check_known(fu, {"figure", "reading", "alternative"}, src, "followup")
        reading = fu.get("reading", "all")
        alternative = fu.get("alternative")
        for r_ in (reading, alternative):
            if r_ is not None and r_ not in FOLLOWUP_READINGS:
                raise ConfigError(
                    src, where="followup", field="reading", found=r_, expected=f"one of {sorted(FOLLOWUP_READINGS)}"
                )
        fig = _figure(published, fu.get("figure"), src, "followup", ("median",))
        size = len(patients) if reading == "all" else counts["alive"]
        followup = _order_stat(fig, size, src, "followup")
    entry = None
    if "entry" in doc:
        _check_known(doc["entry"], {"figure"}, src, "entry")
        entry = _order_stat(
            _figure(published, doc["entry"].get("figure"), src, "entry", ("median",)), len(patients), src, "entry"
        )
    admin = None
    if doc.get("admin_censoring", {}).get("enabled", False):
        admin = _admin_window(published.study, src)
    cons = Constraints(
        src,
        patients,
        membership,
        km,
        cif,
        named_paths,
        anonymous,
        pcounts,
        followup,
        reading,
        alternative,
        entry,
        admin,
        counts=counts,
    )
    if "gvhd" in doc:
        _load_gvhd(doc["gvhd"], published, src, cons)
    _check_static(cons)
    return cons


def _load_km(entries: object, pub: Published, src: str) -> Iterable[KMTarget]:
    if not isinstance(entries, list):
        raise ConfigError(src, where="km", found=type(entries).__name__, expected="an array of [[km]] tables")
    for i, e in enumerate(entries):
        where = f"km[{i}]"
        _check_known(e, {"figure"}, src, where)
        fig = _figure(pub, e.get("figure"), src, where, ("km_survival",))
        if fig.endpoint not in ENDPOINT_EXITS:
            raise _err(
                src, where, "endpoint", f"{fig.key}: {fig.endpoint}", f"a KM endpoint among {sorted(ENDPOINT_EXITS)}"
            )
        if fig.ci is not None and not (fig.ci[0] - 1e-9 <= fig.value <= fig.ci[1] + 1e-9):
            raise _err(
                src, where, "ci", f"{fig.key}: {list(fig.ci)}", f"an interval containing the estimate {fig.value}"
            )
        assert fig.landmark_days is not None  # required of km_survival figures (models.data)
        yield KMTarget(
            fig.key, fig.endpoint, fig.population, float(fig.landmark_days), fig.value, fig.ci, _percent_tol(fig)
        )


def _load_cif(entries: object, pub: Published, src: str) -> Iterable[CIFTarget]:
    if not isinstance(entries, list):
        raise ConfigError(src, where="cif", found=type(entries).__name__, expected="an array of [[cif]] tables")
    for i, e in enumerate(entries):
        where = f"cif[{i}]"
        _check_known(e, {"figure", "landmark"}, src, where)
        fig = _figure(pub, e.get("figure"), src, where, ("cumulative_incidence",))
        if fig.endpoint != "relapse":
            raise _err(
                src,
                where,
                "endpoint",
                f"{fig.key}: {fig.endpoint}",
                "'relapse' (relapse with non-relapse death competing)",
            )
        lm = e.get("landmark", fig.landmark_days if fig.landmark_days is not None else "plateau")
        if lm != "plateau" and (isinstance(lm, bool) or not isinstance(lm, int | float) or lm <= 0):
            raise ConfigError(
                src, where=where, field="landmark", found=lm, expected="'plateau' or a positive number of days"
            )
        yield CIFTarget(fig.key, fig.population, None if lm == "plateau" else float(lm), fig.value, _percent_tol(fig))


EVENT_KEYS = ("relapse", "death_relapse", "death_nrm", "alive")


def _load_events(
    ev: Mapping[str, Any], pub: Published, src: str, patients: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, int], dict[str, int]]:
    """Named patients' paths and the counts of anonymous paths, from the event figures."""
    _check_known(ev, {*EVENT_KEYS, "named"}, src, "events")
    for k in EVENT_KEYS:
        if k not in ev:
            raise ConfigError(src, where="events", field=k, found="missing", expected="a figure key giving that count")
    figs = {k: _figure(pub, ev[k], src, f"events.{k}") for k in EVENT_KEYS}
    counts = {k: _count_of(f) for k, f in figs.items()}
    named = {k: set(figs[k].patients) for k in ("relapse", "death_relapse", "death_nrm")}
    for k, ids in named.items():
        unknown = sorted(set(ids) - set(patients))
        if unknown:
            raise _err(src, f"events.{k}", "patients", unknown[0], "a patient of the baseline table")
        if len(ids) > counts[k]:
            raise _err(
                src, f"events.{k}", "patients", sorted(ids), f"at most {counts[k]} named patients (the figure's count)"
            )
    if named["death_relapse"] - named["relapse"]:
        raise _err(
            src,
            "events.death_relapse",
            "patients",
            sorted(named["death_relapse"] - named["relapse"]),
            "patients also named as relapsed",
        )
    if named["death_nrm"] & named["relapse"]:
        raise _err(
            src,
            "events.death_nrm",
            "patients",
            sorted(named["death_nrm"] & named["relapse"]),
            "no relapse before a non-relapse death",
        )
    paths: dict[str, str] = {}
    for p in named["relapse"]:
        paths[p] = "RD" if p in named["death_relapse"] else "RC"
    for p in named["death_nrm"]:
        paths[p] = "N"
    n = len(patients)
    anon = {
        "RD": counts["death_relapse"] - sum(v == "RD" for v in paths.values()),
        "RC": counts["relapse"] - counts["death_relapse"] - sum(v == "RC" for v in paths.values()),
        "N": counts["death_nrm"] - sum(v == "N" for v in paths.values()),
    }
    anon["C"] = n - len(paths) - sum(anon.values())
    if counts["alive"] != n - counts["death_relapse"] - counts["death_nrm"]:
        raise _err(
            src,
            "events.alive",
            "figure",
            f"{ev['alive']} = {counts['alive']}",
            f"{n} patients minus {counts['death_relapse']} relapse and {counts['death_nrm']} non-relapse deaths",
        )
    bad = [k for k, v in anon.items() if v < 0]
    if bad:
        raise _err(
            src, "events", bad[0], anon[bad[0]], "counts that leave a non-negative number of patients of each kind"
        )
    return paths, anon, counts


def _check_named_populations(
    ev: Mapping[str, Any], pub: Published, src: str, membership: dict[str, dict[str, bool]], paths: dict[str, str]
) -> None:
    """Figures that name a patient in a population must agree with Table 1 and the named paths."""
    for i, key in enumerate(ev.get("named", [])):
        fig = _figure(pub, key, src, f"events.named[{i}]")
        for p in fig.patients:
            if p not in paths:
                raise _err(src, f"events.named[{i}]", "patients", p, "a patient named in the relapse/death figures")
            if fig.population in membership and not membership[fig.population][p]:
                raise _err(
                    src,
                    f"events.named[{i}]",
                    "population",
                    f"{p} not in {fig.population}",
                    "the named patient to belong to the figure's population",
                )


def _load_population_counts(entries: object, pub: Published, src: str) -> Iterable[PopulationCount]:
    if not isinstance(entries, list):
        raise ConfigError(src, where="population_count", found=type(entries).__name__, expected="an array of tables")
    for i, e in enumerate(entries):
        where = f"population_count[{i}]"
        _check_known(e, {"figure", "event"}, src, where)
        fig = _figure(pub, e.get("figure"), src, where, ("count",))
        if e.get("event") not in ("relapse", "death", "death_nrm", "death_relapse"):
            raise ConfigError(
                src,
                where=where,
                field="event",
                found=e.get("event"),
                expected="relapse, death, death_nrm or death_relapse",
            )
        yield PopulationCount(fig.key, fig.population, e["event"], _count_of(fig))


def _load_gvhd(g: Mapping[str, Any], pub: Published, src: str, cons: Constraints) -> None:
    _check_known(g, {"categories", "definitions", "candidates", "anonymous"}, src, "gvhd")
    cats = g.get("categories", {})
    if not isinstance(cats, dict) or not cats:
        raise ConfigError(src, where="gvhd", field="categories", found=cats, expected="a table of categories")
    for name, spec in cats.items():
        where = f"gvhd.categories.{name}"
        _check_known(spec, {"count", "onset", "family"}, src, where)
        fig = _figure(pub, spec.get("count"), src, where)
        on = _figure(pub, spec.get("onset"), src, where, ("median",))
        if spec.get("family") not in ("acute", "chronic"):
            raise ConfigError(
                src, where=where, field="family", found=spec.get("family"), expected="'acute' or 'chronic'"
            )
        cons.gvhd_categories[name] = GvhdCategory(name, _count_of(fig), spec["family"], on.key)
        cons.gvhd_onsets[on.key] = _order_stat(on, None, src, where)
    for key, os_ in cons.gvhd_onsets.items():
        total = sum(c.count for c in cons.gvhd_categories.values() if c.onset == key)
        if total != os_.n:
            raise _err(
                src,
                "gvhd.categories",
                "onset",
                f"{key} over {os_.n} cases",
                f"the categories sharing it to total {os_.n} cases (they total {total})",
            )
    defs = g.get("definitions", [])
    if not isinstance(defs, list) or not defs:
        raise ConfigError(
            src, where="gvhd", field="definitions", found=defs, expected="a list of {name, qualifying} tables"
        )
    out = []
    for i, d in enumerate(defs):
        qual = d.get("qualifying") if isinstance(d, dict) else None
        if not isinstance(qual, list) or not all(q in cons.gvhd_categories for q in qual):
            raise ConfigError(
                src,
                where=f"gvhd.definitions[{i}]",
                field="qualifying",
                found=qual,
                expected=f"categories among {sorted(cons.gvhd_categories)}",
            )
        out.append((str(d.get("name", f"definition_{i}")), tuple(qual)))
    cons.gvhd_definitions = tuple(out)
    cand = g.get("candidates", "named")
    cons.gvhd_candidates = tuple(sorted(cons.named_paths)) if cand == "named" else tuple(cand)
    for p in cons.gvhd_candidates:
        if p not in cons.named_paths:
            raise ConfigError(
                src, where="gvhd", field="candidates", found=p, expected="patients named in the event figures"
            )
    cons.anonymous_gvhd = bool(g.get("anonymous", True))


def _check_static(cons: Constraints) -> None:
    """Contradictions visible without search: a CI not containing its estimate, anchors on landmarks."""
    for t in cons.km:
        if t.value > 100 or (t.ci is not None and not (t.ci[0] <= t.value <= t.ci[1])):
            raise _err(cons.source, f"km {t.name}", "ci", t.ci, f"an interval containing {t.value}")
    if cons.followup is not None:
        fu = cons.followup
        for day in (fu.lo, fu.median, fu.hi):
            if day in cons.landmarks:
                raise _err(
                    cons.source,
                    "followup",
                    "figure",
                    f"{fu.name} day {day:g}",
                    "order-statistic days that differ from every landmark day",
                )
        if (
            cons.admin is not None
            and cons.followup_reading == "censored"
            and (fu.lo < cons.admin[0] or fu.hi > cons.admin[1])
        ):
            raise _err(
                cons.source,
                "followup",
                "range",
                [fu.lo, fu.hi],
                f"a range inside the administrative censoring window {list(cons.admin)}",
            )
    if cons.entry is not None and cons.entry.n != cons.n:
        raise _err(cons.source, "entry", "figure", cons.entry.n, f"{cons.n} values")


# ----------------------------------------------------------------------------- search


@dataclass(frozen=True)
class PatientClass:
    """Exchangeable patients: same subgroup memberships and same path (or one named patient)."""

    members: tuple[str, ...]
    path: str
    populations: frozenset[str]
    named: bool


@dataclass(frozen=True)
class Configuration:
    """A choice of paths for every patient class (named options x anonymous distribution)."""

    classes: tuple[PatientClass, ...]
    gvhd_patients: tuple[str, ...]  # named patients with a qualifying GvHD step
    anonymous_gvhd: int
    qualifying: tuple[str, ...] = ()

    def label(self) -> str:
        return f"qualifying GvHD in {list(self.gvhd_patients)} + {self.anonymous_gvhd} event-free"


class _Budget(Exception):
    pass


@dataclass(frozen=True)
class _Anchor:
    """Exit number ``k`` (1-based, among exits of the follow-up reading) relates to ``day``."""

    k: int
    day: float
    relation: str  # "eq" | "le" | "ge"


def _anchors(stat: OrderStat | None) -> tuple[_Anchor, ...]:
    if stat is None:
        return ()
    n = stat.n
    out = [_Anchor(1, stat.lo, "eq"), _Anchor(n, stat.hi, "eq")]
    if n % 2:
        out.append(_Anchor(n // 2 + 1, stat.median, "eq"))
    else:
        out += [_Anchor(n // 2, stat.median, "le"), _Anchor(n // 2 + 1, stat.median, "ge")]
    return tuple(out)


def _km_values(ns: Sequence[int]) -> tuple[float, float]:
    """KM estimate and Greenwood log-variance for distinct event times with risk sets ``ns``."""
    s, v = 1.0, 0.0
    for n in ns:
        s *= 1.0 - 1.0 / n
        v = math.inf if n <= 1 else v + 1.0 / (n * (n - 1))
    return s, v


def km_summary(ns: Sequence[int]) -> tuple[float, float, float]:
    r"""Estimate, lower and upper 95% bound (percent) from risk sets at distinct event times.

    :math:`\hat S=\prod(1-1/n_j)`, :math:`v=\sum 1/(n_j(n_j-1))`, bounds
    :math:`\hat S e^{\pm z\sqrt v}` with the upper bound truncated at 100%.
    """
    s, v = _km_values(ns)
    if s == 0.0 or not math.isfinite(v):
        return 0.0, 0.0, 0.0
    se = math.sqrt(v)
    return 100 * s, 100 * s * math.exp(-Z_CI * se), min(100.0, 100 * s * math.exp(Z_CI * se))


def cif_value(events: Sequence[tuple[int, int]]) -> float:
    r"""Aalen–Johansen incidence of cause 1 (percent) from ordered (cause, risk set) pairs.

    :math:`\hat F_1 = \sum_{j:\,c_j=1} \hat S(t_j-)/n_j`, :math:`\hat S` the all-cause survival.
    """
    s, f = 1.0, 0.0
    for cause, n in events:
        if cause == EVENT_RELAPSE:
            f += s / n
        s *= 1.0 - 1.0 / n
    return 100 * f


def _km_ok(t: KMTarget, ns: Sequence[int], *, final: bool) -> bool:
    """Whether the risk sets ``ns`` can still (``final=False``) or do (``final=True``) reproduce ``t``."""
    est, lo, hi = km_summary(ns)
    eps = 1e-9
    if not final:
        # S and the lower bound only fall as events accrue: prune once below the printed value.
        if est < t.value - t.tol - eps:
            return False
        return not (t.ci is not None and lo < t.ci[0] - t.tol - eps)
    if abs(est - t.value) > t.tol + eps:
        return False
    return t.ci is None or (abs(lo - t.ci[0]) <= t.tol + eps and abs(hi - t.ci[1]) <= t.tol + eps)


def risk_set_tuples(t: KMTarget, size: int, *, budget: int = 2_000_000) -> frozenset[tuple[int, ...]]:
    r"""Every strictly decreasing tuple of risk sets :math:`n_1 > n_2 > \dots \ge 2` (one event
    at each of distinct times before the landmark, at most ``size`` at risk) whose estimate and
    interval reproduce ``t``.

    Depth-first with the monotone cut of :func:`_km_ok` (estimate and lower bound only fall), so
    the enumeration is exhaustive; more than ``budget`` visited prefixes raises.
    """
    found: set[tuple[int, ...]] = set()
    visited = 0
    stack: list[tuple[int, ...]] = [()]
    while stack:
        ns = stack.pop()
        visited += 1
        if visited > budget:
            raise ReconstructionError(
                None,
                where=f"figure {t.name}",
                found=f"more than {budget} risk-set prefixes",
                expected="a figure with fewer compatible risk-set sequences (smaller study or more decimals)",
            )
        if _km_ok(t, ns, final=True):
            found.add(ns)
        top = ns[-1] if ns else size + 1
        for n in range(top - 1, 1, -1):
            nxt = (*ns, n)
            if _km_ok(t, nxt, final=False):
                stack.append(nxt)
            else:
                # a smaller n cuts deeper: if n fails the monotone test, every n' < n fails too
                break
    return frozenset(found)


_TUPLE_CACHE: dict[tuple[KMTarget, int], frozenset[tuple[int, ...]]] = {}


def km_tuples(t: KMTarget, size: int) -> frozenset[tuple[int, ...]]:
    """Cached :func:`risk_set_tuples`."""
    key = (t, size)
    if key not in _TUPLE_CACHE:
        _TUPLE_CACHE[key] = risk_set_tuples(t, size)
    return _TUPLE_CACHE[key]


def _prefixes(tuples: Iterable[tuple[int, ...]]) -> frozenset[tuple[int, ...]]:
    return frozenset(tup[:i] for tup in tuples for i in range(len(tup) + 1))


def _cif_ok(t: CIFTarget, events: Sequence[tuple[int, int]], *, final: bool) -> bool:
    f = cif_value(events)
    if not final:
        return f <= t.value + t.tol + 1e-9
    return abs(f - t.value) <= t.tol + 1e-9


def step_windows(cons: Constraints, qualifying: tuple[str, ...], reading: str) -> dict[str, tuple[int, int]]:
    """Earliest and latest possible day of each step kind (days from transplant).

    Events follow entry (entry day >= the entry minimum); a qualifying GvHD is entry plus an
    onset inside its category's published range; alive patients' last contact lies in the
    administrative window; nothing is observed after the follow-up maximum.
    """
    e_lo = int(cons.entry.lo) if cons.entry is not None else 0
    e_hi = int(cons.entry.hi) if cons.entry is not None else 10**6
    top = cons.admin[1] if cons.admin is not None else 10**6
    if cons.followup is not None and reading == "all":
        top = min(top, int(cons.followup.hi))
    out = {k: (e_lo + 1, top) for k in (R, N, D, C)}
    if cons.admin is not None:
        out[C] = (max(e_lo + 1, cons.admin[0]), min(top, cons.admin[1]))
    if qualifying:
        ons = [cons.gvhd_onsets[cons.gvhd_categories[q].onset] for q in qualifying]
        out[G] = (e_lo + int(min(o.lo for o in ons)), min(top, e_hi + int(max(o.hi for o in ons))))
    else:
        out[G] = (e_lo + 1, top)
    return out


def threshold_days(cons: Constraints, windows: Mapping[str, tuple[int, int]]) -> tuple[float, ...]:
    """Days at which the ordering carries a marker: landmarks and the inner ends of step windows."""
    lo_all = min(w[0] for w in windows.values())
    hi_all = max(w[1] for w in windows.values())
    days = set(cons.landmarks)
    for a, b in windows.values():
        if a > lo_all:
            days.add(a - 0.5)
        if b < hi_all:
            days.add(b + 0.5)
    return tuple(sorted(days))


class _Search:
    """Memoised DP over orderings of one configuration (see the module docstring)."""

    def __init__(
        self,
        cons: Constraints,
        config: Configuration,
        *,
        reading: str,
        max_states: int,
        checked: set[str] | None = None,
    ) -> None:
        self.cons = cons
        self.classes = config.classes
        self.max_states = max_states
        self.windows = step_windows(cons, config.qualifying, reading)
        self.landmarks = threshold_days(cons, self.windows)
        self.figures: list[KMTarget | CIFTarget] = [*cons.km, *cons.cif]
        self.checked = {f.name for f in self.figures} if checked is None else checked
        self.exit_kinds = FOLLOWUP_READINGS[reading]
        stat = cons.followup if reading == cons.followup_reading else _reading_stat(cons, reading)
        self.anchors = _anchors(stat)
        # Slots: (class index, position); counts per slot form the state.
        self.slots: list[tuple[int, int]] = [
            (c, p) for c, cl in enumerate(self.classes) for p in range(len(cl.path) + 1)
        ]
        index = {s: i for i, s in enumerate(self.slots)}
        self.next_slot = [index.get((c, p + 1), -1) for c, p in self.slots]
        self.step = [self.classes[c].path[p] if p < len(self.classes[c].path) else "" for c, p in self.slots]
        self.final = [p == len(self.classes[c].path) for c, p in self.slots]
        self.exit_weight = [
            int(self.final[i] and self.classes[c].path[-1:] in self.exit_kinds) if self.classes[c].path else 0
            for i, (c, _p) in enumerate(self.slots)
        ]
        self.at_risk = {f.name: [self._at_risk(f, c, p) for c, p in self.slots] for f in self.figures}
        self.start = tuple(len(self.classes[c].members) if p == 0 else 0 for c, p in self.slots)
        # A slot is impossible at a threshold x if a step already taken cannot be as early as x,
        # or a step still to come cannot be as late as x.
        path_of = [self.classes[c].path for c, _p in self.slots]
        self.done_min = [
            max((self.windows[k][0] for k in path_of[i][:p]), default=-math.inf) for i, (_c, p) in enumerate(self.slots)
        ]
        self.todo_max = [
            min((self.windows[k][1] for k in path_of[i][p:]), default=math.inf) for i, (_c, p) in enumerate(self.slots)
        ]
        self.memo: dict[tuple, int] = {}
        self.signatures: set[tuple] = set()
        self.complete: dict[str, frozenset[tuple[int, ...]]] = {}
        self.prefix: dict[str, frozenset[tuple[int, ...]]] = {}
        for f in cons.km:
            if f.name in self.checked:
                size = sum(cons.membership[f.population].values())
                self.complete[f.name] = km_tuples(f, size)
                self.prefix[f.name] = _prefixes(self.complete[f.name])
        self._prepare()

    def _at_risk(self, f: KMTarget | CIFTarget, c: int, p: int) -> bool:
        cl = self.classes[c]
        if f.population not in cl.populations:
            return False
        exits = ENDPOINT_EXITS[f.endpoint] if isinstance(f, KMTarget) else ENDPOINT_EXITS["efs"]
        return not any(s in exits for s in cl.path[:p])

    def _event(self, f: KMTarget | CIFTarget, slot: int) -> int:
        """0 if the step at ``slot`` is no event of ``f``; else 1 (KM) or the CIF cause code."""
        if not self.at_risk[f.name][slot]:
            return 0
        k = self.step[slot]
        if isinstance(f, KMTarget):
            return int(k in ENDPOINT_EVENTS[f.endpoint])
        return CIF_CAUSES.get(k, 0)

    def _active(self, f: KMTarget | CIFTarget, marker: int) -> bool:
        return f.landmark is None or (marker < len(self.landmarks) and self.landmarks[marker] <= f.landmark)

    def _prepare(self) -> None:
        """Static lookup tables for :meth:`children` (which runs once per state)."""
        self.r_ahead = [R in self.classes[c].path[p:] for c, p in self.slots]
        self.slot_events = [
            [(j, ev) for j, f in enumerate(self.figures) if (ev := self._event(f, i))] for i in range(len(self.slots))
        ]
        self.risk_idx = [[i for i, w in enumerate(self.at_risk[f.name]) if w] for f in self.figures]
        self.active = [[self._active(f, m) for f in self.figures] for m in range(len(self.landmarks) + 1)]
        self.is_km = [isinstance(f, KMTarget) for f in self.figures]
        self.is_checked = [f.name in self.checked for f in self.figures]
        self.prefix_list = [self.prefix.get(f.name, frozenset()) for f in self.figures]

    def _relapse_ahead(self, counts: tuple, moving: int) -> bool:
        """Whether any patient still has a relapse to come (the moving one's step is no relapse)."""
        return any(
            c
            and self.r_ahead[k]
            and (k != moving or c > 1 or R in self.classes[self.slots[k][0]].path[self.slots[k][1] + 1 :])
            for k, c in enumerate(counts)
        )

    def children(self, state: tuple) -> list[tuple[tuple, tuple]]:
        """Labelled successor states that no figure rules out."""
        counts, marker, figs = state
        out: list[tuple[tuple, tuple]] = []
        if marker < len(self.landmarks) and self._marker_ok(counts, marker, figs):
            out.append((("L", marker), (counts, marker + 1, figs)))
        active = self.active[marker]
        for i, cnt in enumerate(counts):
            if cnt == 0 or self.final[i]:
                continue
            new_figs = figs
            ok = True
            for j, ev in self.slot_events[i]:
                if not active[j]:
                    continue
                n = 0
                for k in self.risk_idx[j]:
                    n += counts[k]
                if self.is_km[j]:
                    new = (*figs[j], n)
                    ok = not self.is_checked[j] or new in self.prefix_list[j]
                elif ev != EVENT_RELAPSE and not self._relapse_ahead(counts, i):
                    # No relapse can follow: the incidence is final, so the state need not grow
                    # (this merges histories that differ only after the last relapse).
                    continue
                else:
                    new = (*figs[j], (ev, n))
                    ok = not self.is_checked[j] or _cif_ok(cast(CIFTarget, self.figures[j]), new, final=False)
                if not ok:
                    break
                new_figs = (*new_figs[:j], new, *new_figs[j + 1 :])
            if not ok:
                continue
            nc = list(counts)
            nc[i] -= 1
            nc[self.next_slot[i]] += 1
            out.append((("T", i), (tuple(nc), marker, new_figs)))
        return out

    def _marker_ok(self, counts: tuple, marker: int, figs: tuple) -> bool:
        day = self.landmarks[marker]
        for j, f in enumerate(self.figures):
            if f.landmark == day and f.name in self.checked:
                ok = figs[j] in self.complete[f.name] if isinstance(f, KMTarget) else _cif_ok(f, figs[j], final=True)
                if not ok:
                    return False
        for i, cnt in enumerate(counts):
            if cnt and (self.done_min[i] > day or self.todo_max[i] < day):
                return False
        exits = sum(c * w for c, w in zip(counts, self.exit_weight, strict=True))
        for a in self.anchors:
            before = a.k <= exits
            if (a.relation in ("eq", "le") and a.day < day and not before) or (
                a.relation in ("eq", "ge") and a.day > day and before
            ):
                return False
        return True

    def _terminal(self, state: tuple) -> bool:
        counts, marker, _figs = state
        if marker < len(self.landmarks) or any(c and not f for c, f in zip(counts, self.final, strict=True)):
            return False
        return True

    def _free_tail(self, state: tuple) -> bool:
        counts, marker, _figs = state
        if marker < len(self.landmarks):
            return False
        return all(
            self.final[i] or (self.step[i] in (C, D) and self.final[self.next_slot[i]])
            for i, c in enumerate(counts)
            if c
        )

    def _terminal_ok(self, figs: tuple) -> bool:
        for j, f in enumerate(self.figures):
            if (
                isinstance(f, CIFTarget)
                and f.landmark is None
                and f.name in self.checked
                and not _cif_ok(f, figs[j], final=True)
            ):
                return False
        return True

    def count(self, state: tuple | None = None) -> int:
        """Number of consistent orderings completing ``state`` (exact integer)."""
        state = self.initial() if state is None else state
        hit = self.memo.get(state)
        if hit is not None:
            return hit
        if len(self.memo) >= self.max_states:
            raise _Budget
        if self._terminal(state):
            total = int(self._terminal_ok(state[2]))
            if total:
                self.signatures.add(state[2])
        elif self._free_tail(state):
            # Only last contacts / deaths after relapse remain and no threshold is left: they
            # interleave freely, so the completions are a multinomial coefficient.
            total = int(self._terminal_ok(state[2]))
            if total:
                self.signatures.add(state[2])
                left = [c for i, c in enumerate(state[0]) if c and not self.final[i]]
                total = math.factorial(sum(left))
                for c in left:
                    total //= math.factorial(c)
        else:
            total = sum(self.count(child) for _label, child in self.children(state))
        self.memo[state] = total
        return total

    def initial(self) -> tuple:
        return (self.start, 0, tuple(() for _ in self.figures))

    def sample(self, rng: random.Random) -> tuple[list[tuple], tuple]:
        """One ordering, uniformly among the consistent ones (requires :meth:`count` > 0)."""
        state = self.initial()
        labels: list[tuple] = []
        while not self._terminal(state):
            kids = [(lab, ch, self.count(ch)) for lab, ch in self.children(state)]
            r = rng.randrange(sum(k[2] for k in kids))
            for lab, ch, w in kids:
                if r < w:
                    labels.append(lab)
                    state = ch
                    break
                r -= w
        return labels, state[2]


def _reading_stat(cons: Constraints, reading: str) -> OrderStat | None:
    if cons.followup is None:
        return None
    n = cons.n if reading == "all" else cons.counts.get("alive", cons.n)
    fu = cons.followup
    return OrderStat(fu.name, n, fu.median, fu.lo, fu.hi)


# ----------------------------------------------------------------------------- configurations


def _groups(cons: Constraints, ids: Iterable[str]) -> dict[frozenset[str], list[str]]:
    out: dict[frozenset[str], list[str]] = {}
    for p in ids:
        key = frozenset(pop for pop, m in cons.membership.items() if m[p])
        out.setdefault(key, []).append(p)
    return out


def _compositions(total: int, caps: Sequence[int]) -> Iterable[tuple[int, ...]]:
    """Ways to split ``total`` items over bins of capacities ``caps``."""
    if not caps:
        if total == 0:
            yield ()
        return
    for k in range(min(total, caps[0]) + 1):
        for rest in _compositions(total - k, caps[1:]):
            yield (k, *rest)


def _definition_bounds(cons: Constraints, qualifying: tuple[str, ...]) -> tuple[int, int, dict[str, int]]:
    """Fewest and most patients with a qualifying case, and qualifying cases per family."""
    fam: Counter[str] = Counter()
    for q in qualifying:
        cat = cons.gvhd_categories[q]
        fam[cat.family] += cat.count
    total = sum(fam.values())
    return (max(fam.values()) if fam else 0), total, dict(fam)


def configurations(cons: Constraints, qualifying: tuple[str, ...] | None) -> Iterable[Configuration]:
    """All path configurations: named patients' GvHD options x anonymous paths over subgroups.

    With a GvHD definition, every qualifying case sits in a patient with a ``G`` step, or in a
    named relapsed patient after the relapse; so the number of ``G`` patients plus such hosts must
    reach the largest family count, and cannot exceed the number of qualifying cases.
    """
    named = sorted(cons.named_paths)
    anon_ids = [p for p in cons.patients if p not in cons.named_paths]
    groups = _groups(cons, anon_ids)
    gkeys = sorted(groups, key=lambda k: sorted(k))
    caps = [len(groups[k]) for k in gkeys]
    cands = [p for p in cons.gvhd_candidates if qualifying is not None]
    if qualifying is not None:
        need, most, _fam = _definition_bounds(cons, qualifying)
    else:
        need, most = 0, 0
    kinds = [k for k in ("RD", "RC", "N") if cons.anonymous[k] > 0]
    for gset_bits in product((False, True), repeat=len(cands)):
        gnamed = [p for p, b in zip(cands, gset_bits, strict=True) if b]
        hosts_r = sum(1 for p in named if "R" in cons.named_paths[p] and p not in gnamed)
        kmin = max(0, need - len(gnamed) - hosts_r) if qualifying is not None else 0
        kmax = (most - len(gnamed)) if (qualifying is not None and cons.anonymous_gvhd) else 0
        if qualifying is not None and len(gnamed) > most:
            continue
        for k in range(kmin, max(kmin, kmax) + 1):
            if k > cons.anonymous["C"] or (k > 0 and not cons.anonymous_gvhd):
                continue
            yield from _anonymous_splits(cons, named, gnamed, groups, gkeys, caps, kinds, k, qualifying or ())


def _anonymous_splits(
    cons: Constraints,
    named: list[str],
    gnamed: list[str],
    groups: dict,
    gkeys: list,
    caps: list[int],
    kinds: list[str],
    k: int,
    qualifying: tuple[str, ...],
) -> Iterable[Configuration]:
    def rec(i: int, caps_left: list[int], acc: dict[str, tuple[int, ...]]) -> Iterable[dict[str, tuple[int, ...]]]:
        if i == len(kinds):
            yield acc
            return
        kind = kinds[i]
        for split in _compositions(cons.anonymous[kind], caps_left):
            yield from rec(i + 1, [c - s for c, s in zip(caps_left, split, strict=True)], {**acc, kind: split})

    for split in rec(0, list(caps), {}):
        left = [c - sum(split[kk][g] for kk in kinds) for g, c in enumerate(caps)]
        for gc in _compositions(k, left):
            classes: list[PatientClass] = []
            for p in named:
                path = ("G" if p in gnamed else "") + cons.named_paths[p]
                pops = frozenset(pop for pop, m in cons.membership.items() if m[p])
                classes.append(PatientClass((p,), path, pops, True))
            for g, key in enumerate(gkeys):
                ids = groups[key]
                sizes = {kk: split[kk][g] for kk in kinds}
                sizes["GC"] = gc[g]
                sizes["C"] = len(ids) - sum(sizes.values())
                start = 0
                for path in ("RD", "RC", "N", "GC", "C"):
                    m = sizes.get(path, 0)
                    if m:
                        classes.append(PatientClass(tuple(ids[start : start + m]), path, key, False))
                        start += m
            config = Configuration(tuple(classes), tuple(gnamed), k, qualifying)
            if _population_counts_ok(cons, config):
                yield config


def _population_counts_ok(cons: Constraints, config: Configuration) -> bool:
    for pc in cons.population_counts:
        want = {"relapse": "R", "death": "ND", "death_nrm": "N", "death_relapse": "D"}[pc.event]
        got = sum(
            len(cl.members)
            for cl in config.classes
            if pc.population in cl.populations and any(s in want for s in cl.path)
        )
        if got != pc.value:
            return False
    return True


# ----------------------------------------------------------------------------- solving


@dataclass
class Solution:
    """All consistent orderings of one GvHD definition and follow-up reading."""

    definition: str | None
    qualifying: tuple[str, ...]
    reading: str
    searches: list[tuple[Configuration, _Search, int]]
    total: int
    signatures: set[tuple]
    states: int

    def by_gvhd_set(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for config, _s, cnt in self.searches:
            out[config.label()] += cnt
        return dict(out)


def solve(
    cons: Constraints,
    *,
    qualifying: tuple[str, ...] | None = None,
    definition: str | None = None,
    reading: str | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    checked: set[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Solution:
    """Count every consistent ordering over every configuration (bounded by ``max_states``)."""
    reading = reading or cons.followup_reading
    searches = []
    total, states = 0, 0
    sigs: set[tuple] = set()
    for i, config in enumerate(configurations(cons, qualifying)):
        s = _Search(cons, config, reading=reading, max_states=max_states, checked=checked)
        try:
            cnt = s.count()
        except _Budget:
            raise ReconstructionError(
                cons.source,
                where="search",
                found=f"more than {max_states} states in one configuration",
                expected="constraints narrow enough to search, or a larger --max-states",
            ) from None
        states += len(s.memo)
        if not cnt:
            s.memo.clear()  # keep memory for the configurations that are sampled from
        else:
            searches.append((config, s, cnt))
            total += cnt
            sigs |= {(config.gvhd_patients, config.anonymous_gvhd, sig) for sig in s.signatures}
        if progress and i % 50 == 0:
            progress(f"definition {definition}: {i + 1} configurations, {total} orderings, {states} states")
    return Solution(definition, qualifying or (), reading, searches, total, sigs, states)


def diagnose(cons: Constraints, *, qualifying: tuple[str, ...] | None, max_states: int) -> ReconstructionError:
    """Name a figure that cannot be met jointly with the others, with the closest value reachable."""
    figures: list[KMTarget | CIFTarget] = [*cons.km, *cons.cif]
    names = {f.name for f in figures}
    for f in figures:
        sol = solve(cons, qualifying=qualifying, max_states=max_states, checked=names - {f.name})
        if sol.total == 0:
            continue
        # The signatures are every distinct risk-set outcome, so the closest value is exact.
        best: tuple[float, str] | None = None
        j = figures.index(f)
        for _gpat, _k, figs in sol.signatures:
            if isinstance(f, KMTarget):
                est, lo, hi = km_summary(figs[j])
                dist = abs(est - f.value) + (0 if f.ci is None else abs(lo - f.ci[0]) + abs(hi - f.ci[1]))
                text = f"{est:.1f}" + ("" if f.ci is None else f" ({lo:.1f}-{hi:.1f})")
            else:
                v = cif_value(figs[j])
                dist, text = abs(v - f.value), f"{v:.1f}"
            if best is None or dist < best[0]:
                best = (dist, text)
        shown = f"{f.value:g}" + ("" if not isinstance(f, KMTarget) or f.ci is None else f" ({f.ci[0]:g}-{f.ci[1]:g})")
        return ReconstructionError(
            cons.source,
            where=f"figure {f.name}",
            found=f"no ordering reproduces {shown} jointly with the other figures; "
            f"closest reachable {best[1] if best else 'none'}",
            expected="mutually consistent published figures",
        )
    return ReconstructionError(
        cons.source,
        where="constraints",
        found="no event/censoring ordering satisfies them jointly (no single figure is to blame)",
        expected="mutually consistent figures, counts and follow-up",
    )


def _pick(sol: Solution, rng: random.Random) -> tuple[Configuration, _Search, int]:
    r = rng.randrange(sol.total)
    for item in sol.searches:
        if r < item[2]:
            return item
        r -= item[2]
    raise AssertionError("unreachable")


# ----------------------------------------------------------------------------- day sampling


def _propagate(lb: list[int], ub: list[int]) -> bool:
    """Bounds consistency for strictly increasing integers (a chain: consistency is global)."""
    for j in range(1, len(lb)):
        lb[j] = max(lb[j], lb[j - 1] + 1)
    for j in range(len(ub) - 2, -1, -1):
        ub[j] = min(ub[j], ub[j + 1] - 1)
    return all(a <= b for a, b in zip(lb, ub, strict=True))


def sample_increasing(
    lo: list[int], hi: list[int], pairs: Sequence[tuple[int, int, float]], rng: random.Random
) -> list[int] | None:
    """Strictly increasing integers with per-position bounds; ``pairs`` (i, j, m): x_i + x_j = 2m.

    Positions are fixed in random order, each uniform within its propagated bounds, so the
    result never fails once the initial propagation succeeds (except through the pair sums).
    """
    lb, ub = list(lo), list(hi)
    if not _propagate(lb, ub):
        return None
    for i, j, m in pairs:
        two = round(2 * m)
        a_lo, a_hi = max(lb[i], two - ub[j]), min(ub[i], two - lb[j], math.floor(m))
        if a_lo > a_hi:
            return None
        a = rng.randint(a_lo, a_hi)
        lb[i] = ub[i] = a
        lb[j] = ub[j] = two - a
        if not _propagate(lb, ub):
            return None
    order = list(range(len(lb)))
    rng.shuffle(order)
    for j in order:
        v = rng.randint(lb[j], ub[j])
        lb[j] = ub[j] = v
        if not _propagate(lb, ub):
            return None
    return lb


def sample_order_stats(
    windows: Sequence[tuple[int, int]], stat: OrderStat, rng: random.Random, tries: int = 50
) -> list[int] | None:
    """Integers in per-unit windows whose median and range are exactly ``stat`` (ties allowed).

    Roles are assigned at random — one unit at the minimum, one at the maximum, the middle one
    (or two, summing to twice the median) — the rest split into the lower and upper halves, and
    values drawn uniformly within each unit's window intersected with its half.
    """
    n = len(windows)
    if n != stat.n:
        return None
    lo, hi, med = int(stat.lo), int(stat.hi), stat.median
    for _ in range(tries):
        vals: list[int | None] = [None] * n
        free = list(range(n))
        rng.shuffle(free)

        def take(value: int, _free: list[int] = free, _vals: list[int | None] = vals) -> bool:
            for u in _free:
                if windows[u][0] <= value <= windows[u][1]:
                    _free.remove(u)
                    _vals[u] = value
                    return True
            return False

        if n == 1:
            if not (lo == hi == med and take(lo)):
                return None
            return [int(v) for v in vals]  # type: ignore[arg-type]
        if not (take(lo) and take(hi)):
            continue
        if n % 2:
            if n > 2 and not take(int(med)):
                continue
            a = b = int(med)
            n_low = n // 2 - 1
        else:
            two = round(2 * med)
            a = rng.randint(max(lo, two - hi), math.floor(med))
            b = two - a
            if not (take(a) and take(b)):
                continue
            n_low = n // 2 - 2 + (0 if n > 2 else 1)
        if n == 2:
            return [int(v) for v in vals]  # type: ignore[arg-type]
        low_ok = [u for u in free if windows[u][0] <= a and windows[u][1] >= lo]
        high_ok = [u for u in free if windows[u][1] >= b and windows[u][0] <= hi]
        only_low = [u for u in free if u in low_ok and u not in high_ok]
        only_high = [u for u in free if u in high_ok and u not in low_ok]
        both = [u for u in free if u in low_ok and u in high_ok]
        if (
            len(only_low) + len(only_high) + len(both) < len(free)
            or len(only_low) > n_low
            or len(only_high) > len(free) - n_low
        ):
            continue
        rng.shuffle(both)
        k = n_low - len(only_low)
        low = only_low + both[:k]
        for u in low:
            vals[u] = rng.randint(max(lo, windows[u][0]), min(a, windows[u][1]))
        for u in only_high + both[k:]:
            vals[u] = rng.randint(max(b, windows[u][0]), min(hi, windows[u][1]))
        return [int(v) for v in vals]  # type: ignore[arg-type]
    return None


@dataclass
class Draw:
    """One reconstructed table with the choices behind it."""

    table: pd.DataFrame
    ordering: list[str]
    configuration: str
    gvhd_roster: list[dict[str, Any]]
    signature: tuple


def _timeline(labels: list[tuple], search: _Search, rng: random.Random) -> list[tuple[str | None, str]]:
    """Assign patients to an ordering's labels: within a class, a random patient moves on."""
    queues: dict[int, list[str]] = {}
    for i, (c, p) in enumerate(search.slots):
        if p == 0:
            ids = list(search.classes[c].members)
            rng.shuffle(ids)
            queues[i] = ids
        else:
            queues[i] = []
    items: list[tuple[str | None, str]] = []
    for kind, i in labels:
        if kind == "L":
            items.append((None, f"L{i}"))
            continue
        q = queues[i]
        pid = q.pop(rng.randrange(len(q)))
        queues[search.next_slot[i]].append(pid)
        items.append((pid, search.step[i]))
    return items


def _gvhd_first_category(
    cons: Constraints, qualifying: tuple[str, ...], gpatients: list[str], rng: random.Random
) -> dict[str, str] | None:
    """Each G patient's first qualifying case category, within the published counts."""
    left = {q: cons.gvhd_categories[q].count for q in qualifying}
    out = {}
    for p in gpatients:
        options = [q for q, c in left.items() if c > 0]
        if not options:
            return None
        q = rng.choice(options)
        left[q] -= 1
        out[p] = q
    return out


def _sample_days(
    cons: Constraints,
    items: list[tuple[str | None, str]],
    first_cat: dict[str, str],
    reading: str,
    thresholds: Sequence[float],
    rng: random.Random,
) -> dict[int, int] | None:
    """Days for the items of a timeline: strictly increasing integers within windows.

    A threshold marker at day x bounds the items around it (before: day < x, after: day > x);
    exits pinned by the follow-up order statistics get their day; a G step lies inside its
    category's onset window shifted by the entry range.
    """
    windows = step_windows(cons, (), reading)
    e_lo = int(cons.entry.lo) if cons.entry is not None else 0
    e_hi = int(cons.entry.hi) if cons.entry is not None else 10**6
    stat = _reading_stat(cons, reading)
    pins = {a.k: a for a in _anchors(stat)}
    lo: list[int] = []
    hi: list[int] = []
    index: dict[int, int] = {}
    exit_pos: dict[int, int] = {}
    floor_day = -1e9  # no marker passed yet: no lower bound
    exit_no = 0
    pending: list[int] = []  # positions since the last marker, capped by the next marker
    for j, (pid, step) in enumerate(items):
        if pid is None:
            x = thresholds[int(step[1:])]
            for q in pending:
                hi[q] = min(hi[q], math.ceil(x) - 1)
            pending, floor_day = [], x
            continue
        a, b = windows[step]
        if step == G:
            on = cons.gvhd_onsets[cons.gvhd_categories[first_cat[pid]].onset]
            a, b = max(a, e_lo + int(on.lo)), min(b, e_hi + int(on.hi))
        a = max(a, math.floor(floor_day) + 1)
        if step in FOLLOWUP_READINGS[reading]:
            exit_no += 1
            exit_pos[exit_no] = len(lo)
            anc = pins.get(exit_no)
            if anc is not None and anc.relation == "eq":
                a, b = max(a, int(anc.day)), min(b, int(anc.day))
            elif anc is not None and anc.relation == "le":
                b = min(b, math.floor(anc.day))
            elif anc is not None and anc.relation == "ge":
                a = max(a, math.ceil(anc.day))
        index[j] = len(lo)
        pending.append(len(lo))
        lo.append(int(a))
        hi.append(int(b))
    pairs = []
    if stat is not None and stat.n % 2 == 0 and stat.n > 2:
        pairs.append((exit_pos[stat.n // 2], exit_pos[stat.n // 2 + 1], stat.median))
    days = sample_increasing(lo, hi, pairs, rng)
    return None if days is None else {j: days[k] for j, k in index.items()}


def _draw_once(cons: Constraints, sol: Solution, rng: random.Random) -> Draw | None:
    config, search, _cnt = _pick(sol, rng)
    labels, figs = search.sample(rng)
    items = _timeline(labels, search, rng)
    gpatients = [pid for pid, step in items if step == G and pid is not None]  # only markers have no pid
    first_cat = _gvhd_first_category(cons, sol.qualifying, gpatients, rng) if gpatients else {}
    if first_cat is None:
        return None
    days = _sample_days(cons, items, first_cat, sol.reading, search.landmarks, rng)
    if days is None:
        return None
    per: dict[str, dict[str, int]] = {p: {} for p in cons.patients}
    for j, day in days.items():
        pid, step = items[j]
        assert pid is not None  # the days are of patient items, never of markers
        per[pid][step] = day
    entry = _sample_entries(cons, per, first_cat, rng)
    if entry is None:
        return None
    roster = _sample_gvhd_roster(cons, sol.qualifying, per, entry, first_cat, rng)
    if roster is None:
        return None
    table = _table(cons, per, entry)
    ordering = [("marker" if pid is None else f"{pid}:{step}") for pid, step in items]
    return Draw(table, ordering, config.label(), roster, figs)


def _sample_entries(
    cons: Constraints, per: dict[str, dict[str, int]], first_cat: dict[str, str], rng: random.Random
) -> dict[str, int] | None:
    """Entry days: before each patient's first event, inside GvHD onset windows, exact median/range."""
    windows = []
    for p in cons.patients:
        first = min(per[p].values())
        a, b = 0, first - 1
        if p in first_cat:
            on = cons.gvhd_onsets[cons.gvhd_categories[first_cat[p]].onset]
            a, b = max(a, per[p][G] - int(on.hi)), min(b, per[p][G] - int(on.lo))
        if a > b:
            return None
        windows.append((a, b))
    if cons.entry is None:
        return {p: rng.randint(a, b) for p, (a, b) in zip(cons.patients, windows, strict=True)}
    vals = sample_order_stats(windows, cons.entry, rng)
    return None if vals is None else dict(zip(cons.patients, vals, strict=True))


def _sample_gvhd_roster(
    cons: Constraints,
    qualifying: tuple[str, ...],
    per: dict[str, dict[str, int]],
    entry: dict[str, int],
    first_cat: dict[str, str],
    rng: random.Random,
) -> list[dict[str, Any]] | None:
    """Every published GvHD case (qualifying or not): patient, category, onset after entry.

    A qualifying case outside a ``G`` patient's first one must not create a GRFS event that the
    ordering lacks: it goes to a ``G`` patient (other family, after its first) or to a relapsed
    patient after the relapse. Non-qualifying cases go to anyone, before last follow-up.
    """
    if not cons.gvhd_categories:
        return []
    roster: list[dict[str, Any]] = []
    used: dict[str, set[str]] = {"acute": set(), "chronic": set()}
    fixed: dict[str, list[tuple[str, str, int]]] = {}
    for p, q in first_cat.items():
        cat = cons.gvhd_categories[q]
        used[cat.family].add(p)
        fixed.setdefault(cat.onset, []).append((p, q, per[p][G] - entry[p]))
    for onset_key, stat in cons.gvhd_onsets.items():
        cats = [c for c in cons.gvhd_categories.values() if c.onset == onset_key]
        units: list[tuple[str, str, tuple[int, int]]] = [(p, q, (v, v)) for p, q, v in fixed.get(onset_key, [])]
        for cat in cats:
            remaining = cat.count - sum(1 for _p, q, _v in fixed.get(onset_key, []) if q == cat.name)
            for _ in range(remaining):
                unit = _host(cons, cat, qualifying, per, entry, used, stat, rng)
                if unit is None:
                    return None
                units.append(unit)
        offsets = sample_order_stats([u[2] for u in units], stat, rng)
        if offsets is None:
            return None
        for (p, q, _w), off in zip(units, offsets, strict=True):
            roster.append(
                {
                    "patient": p,
                    "category": q,
                    "onset_after_entry": off,
                    "onset_day": entry[p] + off,
                    "grfs_qualifying": q in qualifying and p in first_cat and first_cat[p] == q,
                }
            )
    return sorted(roster, key=lambda r: (r["category"], r["onset_day"]))


def _host(
    cons: Constraints,
    cat: GvhdCategory,
    qualifying: tuple[str, ...],
    per: dict[str, dict[str, int]],
    entry: dict[str, int],
    used: dict[str, set[str]],
    stat: OrderStat,
    rng: random.Random,
) -> tuple[str, str, tuple[int, int]] | None:
    """A random patient able to host one more case of ``cat`` and its onset-offset window."""
    options = []
    for p in cons.patients:
        if p in used[cat.family]:
            continue
        last = max(per[p].values())
        after = entry[p]
        if cat.name in qualifying:
            # must not be a new GRFS event: after the patient's G or relapse
            if G in per[p]:
                after = per[p][G]
            elif R in per[p]:
                after = per[p][R]
            else:
                continue
        a, b = max(int(stat.lo), after - entry[p] + 1), min(int(stat.hi), last - entry[p] - 1)
        if a <= b:
            options.append((p, (a, b)))
    if not options:
        return None
    p, w = rng.choice(options)
    used[cat.family].add(p)
    return p, cat.name, w


def _table(cons: Constraints, per: dict[str, dict[str, int]], entry: dict[str, int]) -> pd.DataFrame:
    rows = []
    for p in cons.patients:
        ev = per[p]
        death = ev.get(N, ev.get(D))
        cause = "nrm" if N in ev else ("relapse" if D in ev else "")
        last = max(ev.values())
        rows.append(
            {
                "patient": p,
                "entry_day": entry[p],
                "relapse_day": ev.get(R, math.nan),
                "gvhd_day": ev.get(G, math.nan),
                "death_day": math.nan if death is None else death,
                "death_cause": cause,
                "last_followup_day": last,
            }
        )
    return validate_outcomes(pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS)), "reconstructed table")


# ----------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Check:
    """One published figure against the value a table reproduces."""

    name: str
    published: str
    reproduced: str
    ok: bool


def _pm(value: float, tol: float, target: float) -> bool:
    return abs(value - target) <= tol + 1e-9


def _fmt(x: float, tol: float) -> str:
    dec = max(0, round(-math.log10(2 * tol))) if tol > 0 else 3
    return f"{x:.{dec}f}"


def verify_table(table: pd.DataFrame, cons: Constraints, *, qualifying: tuple[str, ...] = ()) -> list[Check]:
    """Re-check a table against every constraint with lifelines (the solver is not trusted).

    KM estimates and their log-transformed Greenwood intervals come from
    :func:`models.nonparametric.km_at`, the relapse incidence from :func:`~models.nonparametric.cif_at`
    (Aalen–Johansen), all from transplant (``from_transplant=True``).
    """
    t = validate_outcomes(table, "reconstructed table")
    checks: list[Check] = []
    for k in cons.km:
        mask = t["patient"].map(cons.membership[k.population]).to_numpy(bool)
        d = derive(t[mask], k.endpoint, from_transplant=True)
        est = km_at(d["duration"], d["event"], k.landmark)
        vals = [100 * est.estimate, 100 * est.lower, 100 * est.upper]
        ok = _pm(vals[0], k.tol, k.value) and (
            k.ci is None or (_pm(vals[1], k.tol, k.ci[0]) and _pm(vals[2], k.tol, k.ci[1]))
        )
        pub = f"{k.value:g}" + ("" if k.ci is None else f" ({k.ci[0]:g}-{k.ci[1]:g})")
        rep = _fmt(vals[0], k.tol) + ("" if k.ci is None else f" ({_fmt(vals[1], k.tol)}-{_fmt(vals[2], k.tol)})")
        checks.append(Check(k.name, pub, rep, ok))
    for c in cons.cif:
        mask = t["patient"].map(cons.membership[c.population]).to_numpy(bool)
        d = derive(t[mask], "relapse", from_transplant=True)
        at = math.inf if c.landmark is None else c.landmark
        v = 100 * cif_at(d["duration"], d["event"], EVENT_RELAPSE, float(d["duration"].max()) if at == math.inf else at)
        checks.append(Check(c.name, f"{c.value:g}", _fmt(v, c.tol), _pm(v, c.tol, c.value)))
    checks += _verify_counts(t, cons)
    checks += _verify_timeline(t, cons, qualifying)
    return checks


def _verify_counts(t: pd.DataFrame, cons: Constraints) -> list[Check]:
    died = t["death_day"].notna()
    relapsed = t["relapse_day"].notna()
    out = [
        Check("alive", str(cons.counts["alive"]), str(int((~died).sum())), int((~died).sum()) == cons.counts["alive"]),
        Check(
            "relapses",
            str(cons.counts["relapse"]),
            str(int(relapsed.sum())),
            int(relapsed.sum()) == cons.counts["relapse"],
        ),
        Check(
            "deaths_relapse",
            str(cons.counts["death_relapse"]),
            str(int((t["death_cause"] == "relapse").sum())),
            int((t["death_cause"] == "relapse").sum()) == cons.counts["death_relapse"],
        ),
        Check(
            "deaths_nrm",
            str(cons.counts["death_nrm"]),
            str(int((t["death_cause"] == "nrm").sum())),
            int((t["death_cause"] == "nrm").sum()) == cons.counts["death_nrm"],
        ),
    ]
    by = t.set_index("patient")
    for p, path in sorted(cons.named_paths.items()):
        row = by.loc[p]
        got = ("R" if pd.notna(row["relapse_day"]) else "") + {"nrm": "N", "relapse": "D"}.get(row["death_cause"], "C")
        out.append(Check(f"named {p}", path, got, got == path))
    for pc in cons.population_counts:
        m = t["patient"].map(cons.membership[pc.population]).to_numpy(bool)
        sel = {
            "relapse": relapsed,
            "death": died,
            "death_nrm": t["death_cause"] == "nrm",
            "death_relapse": t["death_cause"] == "relapse",
        }[pc.event]
        n_got = int((sel.to_numpy(bool) & m).sum())
        out.append(Check(pc.name, str(pc.value), str(n_got), n_got == pc.value))
    return out


def median_range(values: Iterable[float]) -> tuple[float, float, float]:
    """Median (middle order statistic, or mean of the two middle ones) and range."""
    v = sorted(float(x) for x in values)
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return med, v[0], v[-1]


def _verify_stat(name: str, values: Iterable[float], stat: OrderStat) -> Check:
    vals = list(values)
    med, lo, hi = median_range(vals)
    ok = len(vals) == stat.n and (med, lo, hi) == (stat.median, stat.lo, stat.hi)
    return Check(
        name, f"{stat.median:g} ({stat.lo:g}-{stat.hi:g}), n={stat.n}", f"{med:g} ({lo:g}-{hi:g}), n={len(vals)}", ok
    )


def _verify_timeline(t: pd.DataFrame, cons: Constraints, qualifying: tuple[str, ...]) -> list[Check]:
    out = []
    alive = t["death_day"].isna()
    if cons.followup is not None:
        vals = t["last_followup_day"] if cons.followup_reading == "all" else t.loc[alive, "last_followup_day"]
        out.append(_verify_stat(cons.followup.name, vals, cons.followup))
    if cons.entry is not None:
        out.append(_verify_stat(cons.entry.name, t["entry_day"], cons.entry))
    if cons.admin is not None:
        lf = t.loc[alive, "last_followup_day"]
        ok = bool(((lf >= cons.admin[0]) & (lf <= cons.admin[1])).all())
        out.append(
            Check(
                "administrative_censoring",
                f"alive patients' last contact in [{cons.admin[0]}, {cons.admin[1]}]",
                f"[{lf.min():g}, {lf.max():g}]",
                ok,
            )
        )
    events = t[["relapse_day", "gvhd_day", "death_day"]].min(axis=1)
    after = bool((events.isna() | (events > t["entry_day"])).all())
    out.append(
        Check("events_after_entry", "every event after the first day of maintenance", "yes" if after else "no", after)
    )
    if qualifying:
        wins = [cons.gvhd_onsets[cons.gvhd_categories[q].onset] for q in qualifying]
        lo, hi = min(w.lo for w in wins), max(w.hi for w in wins)
        g = (t["gvhd_day"] - t["entry_day"]).dropna()
        ok = bool(((g >= lo) & (g <= hi)).all())
        out.append(
            Check(
                "gvhd_onset_window",
                f"qualifying GvHD {lo:g}-{hi:g} days after entry",
                ", ".join(f"{x:g}" for x in g) or "none",
                ok,
            )
        )
    return out


# ----------------------------------------------------------------------------- driver


@dataclass
class Reconstruction:
    """Draws and the report the manifest is written from."""

    draws: list[Draw]
    report: dict[str, Any]


def _say(progress: Callable[[str], None] | None, text: str) -> None:
    if progress is not None:
        progress(text)


def _readings(cons: Constraints) -> list[str]:
    out = [cons.followup_reading]
    if cons.followup_alternative and cons.followup_alternative != cons.followup_reading:
        out.append(cons.followup_alternative)
    return out


def _reading_constraints(cons: Constraints, reading: str) -> Constraints:
    if reading == cons.followup_reading:
        return cons
    alt = Constraints(**{**cons.__dict__})
    alt.followup_reading = reading
    alt.followup = _reading_stat(cons, reading)
    return alt


def reconstruct(
    cons: Constraints,
    *,
    draws: int,
    seed: int,
    max_states: int = DEFAULT_MAX_STATES,
    max_tries: int = DEFAULT_MAX_TRIES,
    progress: Callable[[str], None] | None = None,
) -> Reconstruction:
    """Find every consistent ordering, then draw ``draws`` distinct verified tables.

    GvHD definitions are tried in the file's order; all are solved and reported, the draws come
    from the first one that admits a table. The alternative follow-up reading is solved and
    reported (and a table is attempted) but never used for the draws.
    """
    rng = random.Random(seed)
    defs: list[tuple[str | None, tuple[str, ...] | None]] = list(cons.gvhd_definitions) or [(None, None)]
    report: dict[str, Any] = {"gvhd_definitions": [], "followup_readings": []}
    chosen: Solution | None = None
    for name, qual in defs:
        _say(progress, f"solving GvHD definition {name}")
        sol = solve(cons, qualifying=qual, definition=name, max_states=max_states, progress=progress)
        feasible_days = sol.total > 0 and _first_table(cons, sol, random.Random(seed), max_tries) is not None
        report["gvhd_definitions"].append(
            {
                "name": name,
                "qualifying": list(qual or ()),
                "orderings": sol.total,
                "risk_set_signatures": len(sol.signatures),
                "states": sol.states,
                "table_found": feasible_days,
                "orderings_by_gvhd_assignment": sol.by_gvhd_set(),
            }
        )
        if chosen is None and feasible_days:
            chosen = sol
    if chosen is None:
        qual = defs[0][1]
        raise (
            diagnose(cons, qualifying=qual, max_states=max_states)
            if all(d["orderings"] == 0 for d in report["gvhd_definitions"])
            else ReconstructionError(
                cons.source,
                where="days",
                found=f"orderings exist but no day values were found in {max_tries} tries",
                expected="day windows (entry, follow-up, GvHD onsets) that admit the orderings",
            )
        )
    for reading in _readings(cons):
        rc = _reading_constraints(cons, reading)
        sol_r = (
            chosen
            if reading == cons.followup_reading
            else solve(rc, qualifying=chosen.qualifying or None, max_states=max_states)
        )
        table = _first_table(rc, sol_r, random.Random(seed), max_tries) if sol_r.total else None
        report["followup_readings"].append(
            {
                "reading": reading,
                "primary": reading == cons.followup_reading,
                "orderings": sol_r.total,
                "table_found": table is not None,
            }
        )
    report["chosen_definition"] = chosen.definition
    report["orderings"] = chosen.total
    report["anonymous_gvhd"] = cons.anonymous_gvhd
    if cons.gvhd_definitions and not cons.anonymous_gvhd:
        report["anonymous_gvhd_alternative"] = _anonymous_alternative(cons, max_states, progress)
    report["risk_set_signatures"] = _describe_signatures(cons, chosen)
    out: list[Draw] = []
    seen: set[str] = set()
    tries = 0
    while len(out) < draws:
        tries += 1
        if tries > max_tries * max(draws, 1):
            raise ReconstructionError(
                cons.source,
                where="draws",
                found=f"{len(out)} distinct tables after {tries - 1} tries",
                expected=f"{draws} distinct tables (ask for fewer draws)",
            )
        d = _draw_once(cons, chosen, rng)
        if d is None:
            continue
        key = d.table.to_csv(index=False)
        if key in seen:
            continue
        bad = [c for c in verify_table(d.table, cons, qualifying=chosen.qualifying) if not c.ok]
        if bad:
            raise ReconstructionError(
                cons.source,
                where=f"draw {len(out) + 1}",
                field=bad[0].name,
                found=f"verification gives {bad[0].reproduced}",
                expected=f"the published {bad[0].published}",
            )
        seen.add(key)
        out.append(d)
        _say(progress, f"draw {len(out)}/{draws} ({tries} attempts)")
    report["draw_attempts"] = tries
    return Reconstruction(out, report)


def _anonymous_alternative(
    cons: Constraints, max_states: int, progress: Callable[[str], None] | None
) -> list[dict[str, Any]]:
    """Orderings per definition if event-free patients may also have a qualifying GvHD.

    Such a case is a GRFS event, so it can only fall after the landmark; reported, not drawn from.
    """
    alt = Constraints(**{**cons.__dict__})
    alt.anonymous_gvhd = True
    out = []
    for name, qual in cons.gvhd_definitions:
        _say(progress, f"solving GvHD definition {name} with event-free qualifying cases")
        sol = solve(alt, qualifying=qual, definition=name, max_states=max_states)
        out.append({"name": name, "orderings": sol.total, "orderings_by_gvhd_assignment": sol.by_gvhd_set()})
    return out


def _first_table(cons: Constraints, sol: Solution, rng: random.Random, max_tries: int) -> Draw | None:
    for _ in range(max_tries):
        d = _draw_once(cons, sol, rng)
        if d is not None and all(c.ok for c in verify_table(d.table, cons, qualifying=sol.qualifying)):
            return d
    return None


def _describe_signatures(cons: Constraints, sol: Solution) -> list[dict[str, Any]]:
    """The distinct risk-set tuples per figure the consistent orderings produce."""
    names = [f.name for f in cons.km] + [f.name for f in cons.cif]
    out = []
    for gpat, k, sig in sorted(sol.signatures, key=repr):
        entry: dict[str, Any] = {"gvhd_patients": list(gpat), "anonymous_gvhd": k}
        for name, risk in zip(names, sig, strict=True):
            entry[name] = [list(x) if isinstance(x, tuple) else x for x in risk]
        out.append(entry)
    return out


def reverse_km_median(table: pd.DataFrame) -> float | None:
    """Median follow-up by the reverse Kaplan–Meier method (deaths censor, last contacts are events).

    Reported for the alternative reading of "median follow-up"; None when not reached.
    """
    from models.nonparametric import kaplan_meier

    alive = table["death_day"].isna().to_numpy(int)
    kmf = kaplan_meier(table["last_followup_day"].to_numpy(float), alive)
    med = float(kmf.median_survival_time_)
    return med if math.isfinite(med) else None


def stderr_progress(quiet: bool) -> Callable[[str], None] | None:
    """A progress printer on stderr (None when quiet)."""
    if quiet:
        return None
    return lambda text: print(f"reconstruct: {text}", file=sys.stderr, flush=True)


__all__ = [
    "CIFTarget",
    "Check",
    "Constraints",
    "Draw",
    "KMTarget",
    "OrderStat",
    "Reconstruction",
    "cif_value",
    "configurations",
    "km_summary",
    "load_constraints",
    "median_range",
    "reconstruct",
    "sample_increasing",
    "sample_order_stats",
    "solve",
    "verify_table",
]
