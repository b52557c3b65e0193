"""Loading and validating a constraints file (:func:`load_constraints`).

The file's keys, types and readings are declared by
:class:`~models.reconstruct.constraints_schema.ConstraintsToml` (one-line
:class:`~models.errors.ConfigError`). It references ``published.toml`` figure keys (numbers are
never duplicated); references resolved here, and contradictions visible without a search (a CI not
containing its estimate, order statistics on landmark days, counts that do not add up), raise
one-line :class:`~models.errors.ReconstructionError` messages.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from models.data import Published, PublishedFigure, load_toml, population_mask
from models.errors import ConfigError, ReconstructionError
from models.reconstruct.constraints import (
    CIFTarget,
    Constraints,
    CurveTarget,
    GvhdCategory,
    KMTarget,
    OrderStat,
    PopulationCount,
)
from models.reconstruct.constraints_schema import (
    CifRef,
    ConstraintsToml,
    CurveRef,
    Events,
    FigureRef,
    Gvhd,
    PopulationCountRef,
)
from models.reconstruct.curves import DAYS_PER_UNIT, SURVIVAL_SCALE, build_curve, read_points, read_risk
from models.reconstruct.vocabulary import ENDPOINT_EXITS
from models.schema import validate_fields

if TYPE_CHECKING:
    from models.study import StudyPack


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
    candidates, anonymous``, ``[[curve]] endpoint, population, points, risk_table, time_unit,
    survival_unit, tolerance_survival, tolerance_time`` (digitised curves, files relative to the
    constraints file's folder; :mod:`models.reconstruct.curves`). See ``docs/reconstruction.md``
    and ``docs/study_packs.md``. Populations are the ``study`` pack's (default: the shipped one).
    """
    path = Path(path)
    src = str(path)
    doc = load_toml(path, ConfigError, "constraints TOML file")
    m = validate_fields(ConstraintsToml, doc, src, ConfigError, top="top level")
    patients = tuple(baseline["patient"].astype(str))
    n_fig = m.study.population_size if m.study is not None else None
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
    km = tuple(_load_km(m.km, published, src))
    cif = tuple(_load_cif(m.cif, published, src))
    pops = {t.population for t in km} | {t.population for t in cif}
    named_paths, anonymous, counts = _load_events(m.events, published, src, patients)
    pcounts = tuple(_load_population_counts(m.population_count, published, src))
    pops |= {p.population for p in pcounts}
    for key in m.events.named:  # named patients are checked against Table 1
        if key in published.figures:
            pops.add(published[key].population)
    pops |= _curve_populations(m.curve, src, study)
    membership = {
        p: dict(zip(patients, population_mask(baseline, p, source=src, study=study).tolist(), strict=True))
        for p in sorted(pops | {"cohort"})
    }
    _check_named_populations(m.events, published, src, membership, named_paths)
    curves = tuple(_load_curves(m.curve, src, path.parent, membership))
    followup, reading, alternative = None, "all", None
    if m.followup is not None:
        reading, alternative = m.followup.reading, m.followup.alternative
        fig = _figure(published, m.followup.figure, src, "followup", ("median",))
        size = len(patients) if reading == "all" else counts["alive"]
        followup = _order_stat(fig, size, src, "followup")
    entry = None
    if m.entry is not None:
        entry = _order_stat(_figure(published, m.entry.figure, src, "entry", ("median",)), len(patients), src, "entry")
    admin = None
    if m.admin_censoring is not None and m.admin_censoring.enabled:
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
        curves=curves,
    )
    if m.gvhd is not None:
        _load_gvhd(m.gvhd, published, src, cons)
    _check_static(cons)
    return cons


def _load_km(entries: list[FigureRef], pub: Published, src: str) -> Iterable[KMTarget]:
    for i, e in enumerate(entries):
        where = f"km[{i}]"
        fig = _figure(pub, e.figure, src, where, ("km_survival",))
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


def _load_cif(entries: list[CifRef], pub: Published, src: str) -> Iterable[CIFTarget]:
    for i, e in enumerate(entries):
        where = f"cif[{i}]"
        fig = _figure(pub, e.figure, src, where, ("cumulative_incidence",))
        if fig.endpoint != "relapse":
            raise _err(
                src,
                where,
                "endpoint",
                f"{fig.key}: {fig.endpoint}",
                "'relapse' (relapse with non-relapse death competing)",
            )
        # both checked by their schemas: 'plateau' or a positive day
        default = fig.landmark_days if fig.landmark_days is not None else "plateau"
        lm = e.landmark if e.landmark is not None else default
        yield CIFTarget(fig.key, fig.population, None if lm == "plateau" else float(lm), fig.value, _percent_tol(fig))


#: The count figures of ``[events]`` (all four required)
EVENT_KEYS: tuple[str, ...] = tuple(k for k in Events.model_fields if k != "named")


def _load_events(
    ev: Events, pub: Published, src: str, patients: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, int], dict[str, int]]:
    """Named patients' paths and the counts of anonymous paths, from the event figures."""
    figs = {k: _figure(pub, getattr(ev, k), src, f"events.{k}") for k in EVENT_KEYS}
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
            f"{ev.alive} = {counts['alive']}",
            f"{n} patients minus {counts['death_relapse']} relapse and {counts['death_nrm']} non-relapse deaths",
        )
    bad = [k for k, v in anon.items() if v < 0]
    if bad:
        raise _err(
            src, "events", bad[0], anon[bad[0]], "counts that leave a non-negative number of patients of each kind"
        )
    return paths, anon, counts


def _check_named_populations(
    ev: Events, pub: Published, src: str, membership: dict[str, dict[str, bool]], paths: dict[str, str]
) -> None:
    """Figures that name a patient in a population must agree with Table 1 and the named paths."""
    for i, key in enumerate(ev.named):
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


def _load_population_counts(entries: list[PopulationCountRef], pub: Published, src: str) -> Iterable[PopulationCount]:
    for i, e in enumerate(entries):
        fig = _figure(pub, e.figure, src, f"population_count[{i}]", ("count",))
        yield PopulationCount(fig.key, fig.population, e.event, _count_of(fig))


def _curve_populations(entries: list[CurveRef], src: str, study: StudyPack | None) -> set[str]:
    """The curves' populations, each checked to be one of the pack's."""
    if not entries:
        return set()
    from models.study import default_study

    known = (study or default_study()).population_names
    for i, e in enumerate(entries):
        if e.population not in known:
            raise ConfigError(
                src, where=f"curve[{i}]", field="population", found=e.population, expected=f"one of {known}"
            )
    return {e.population for e in entries}


def _load_curves(
    entries: list[CurveRef], src: str, folder: Path, membership: dict[str, dict[str, bool]]
) -> Iterable[CurveTarget]:
    """Digitised curves and risk tables (files relative to the pack folder; :mod:`models.reconstruct.curves`)."""
    for i, e in enumerate(entries):
        where = f"curve[{i}]"
        size = sum(membership[e.population].values())
        points = read_points(
            folder / e.points,
            src,
            where,
            time_unit=e.time_unit,
            survival_unit=e.survival_unit,
            tol=e.tolerance_survival,
        )
        risk = read_risk(folder / e.risk_table, src, where, time_unit=e.time_unit, size=size)
        name = e.name if e.name is not None else f"curve_{e.endpoint}_{e.population}"
        yield build_curve(
            name,
            e.endpoint,
            e.population,
            points,
            risk,
            e.tolerance_survival / SURVIVAL_SCALE[e.survival_unit],
            e.tolerance_time * DAYS_PER_UNIT[e.time_unit],
            src=src,
            where=where,
        )


def _load_gvhd(g: Gvhd, pub: Published, src: str, cons: Constraints) -> None:
    for name, spec in g.categories.items():
        where = f"gvhd.categories.{name}"
        fig = _figure(pub, spec.count, src, where)
        on = _figure(pub, spec.onset, src, where, ("median",))
        cons.gvhd_categories[name] = GvhdCategory(name, _count_of(fig), spec.family, on.key)
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
    cons.gvhd_definitions = tuple(
        (d.name if d.name is not None else f"definition_{i}", tuple(d.qualifying)) for i, d in enumerate(g.definitions)
    )
    cand = g.candidates
    cons.gvhd_candidates = tuple(sorted(cons.named_paths)) if cand == "named" else tuple(cand)
    for p in cons.gvhd_candidates:
        if p not in cons.named_paths:
            raise ConfigError(
                src, where="gvhd", field="candidates", found=p, expected="patients named in the event figures"
            )
    cons.anonymous_gvhd = g.anonymous


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
