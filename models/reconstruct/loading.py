"""Loading and validating a constraints file (:func:`load_constraints`).

The file references ``published.toml`` figure keys (numbers are never duplicated); contradictions
visible without a search (a CI not containing its estimate, order statistics on landmark days,
counts that do not add up) raise one-line errors here.
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
    GvhdCategory,
    KMTarget,
    OrderStat,
    PopulationCount,
)
from models.reconstruct.vocabulary import ENDPOINT_EXITS, FOLLOWUP_READINGS

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
    if "study" in doc:
        _check_known(doc["study"], {"population_size"}, src, "study")
    if "admin_censoring" in doc:
        _check_known(doc["admin_censoring"], {"enabled"}, src, "admin_censoring")
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
    for key in doc.get("events", {}).get("named", []) or []:  # named patients are checked against Table 1
        if isinstance(key, str) and key in published.figures:
            pops.add(published[key].population)
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
        if isinstance(d, dict):
            _check_known(d, {"name", "qualifying"}, src, f"gvhd.definitions[{i}]")
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
