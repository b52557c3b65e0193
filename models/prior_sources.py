r"""Published figures as data, and their conversion into pseudo-data on the model's intervals.

The file ``data/priors/sources.toml`` holds one entry per study and one per reported figure, each
with its citation, the address that was read, a verbatim quote and whether the figure was read in
the source itself (``verified``). This module loads and checks it (:func:`load_sources`) and turns
figures into the sufficient statistics of the piecewise-exponential (PWE) model — pseudo-events
:math:`d_j` and pseudo-exposure :math:`E_j` (days) per interval — from which gamma priors follow
(:mod:`models.prior_library`).

Conversions (all assumptions stated; each is tested against a hand computation)
-------------------------------------------------------------------------------
Landmarks. A figure at ``landmark_months`` :math:`m` is placed at
:math:`t = \mathrm{round}(m \cdot 365.25/12)` days (12 months = 365 days, the toolkit's one year).

Competing risks out of remission (``relapse`` and ``nrm``). At landmarks
:math:`0 = t_0 < t_1 < \dots < t_M` a source gives the event-free survival :math:`S(t_i)`
(PFS, RFS, LFS, DFS) and/or the cumulative incidences :math:`F_{\mathrm{rel}}(t_i)`,
:math:`F_{\mathrm{nrm}}(t_i)`; two of the three determine the third by :math:`S = 1 - F_{\mathrm{rel}}
- F_{\mathrm{nrm}}` (all three must agree within 0.025). Assume cause-specific hazards constant
between consecutive landmarks. On :math:`(t_{i-1}, t_i]`

.. math::
    \Lambda_i = \frac{-\log\{S(t_i)/S(t_{i-1})\}}{t_i - t_{i-1}},\qquad
    \lambda_{k,i} = \Lambda_i\,\frac{F_k(t_i) - F_k(t_{i-1})}{S(t_{i-1}) - S(t_i)},

which for a single landmark is :math:`\lambda_k = -\log S(t)/t \cdot F_k(t)/(1 - S(t))`.

Pseudo-exposure and pseudo-events. A cohort of :math:`n` patients followed to the horizon
:math:`H = \min(t_M, \text{median follow-up})` accrues, in model interval :math:`I_j`,

.. math::
    E_j = n \int_{I_j \cap [0, H]} S(u)\,du,\qquad d_{k,j} = n \int_{I_j\cap[0,H]} S(u)\,\lambda_k(u)\,du,

so that :math:`\sum_j d_{k,j} = n F_k(H)` and :math:`d_{k,j}/E_j` is the source's hazard. Within a
constant-hazard piece, :math:`\int_a^b S(u)\,du = S(a)\{1 - e^{-\Lambda (b-a)}\}/\Lambda` (or
:math:`S(a)(b-a)` when :math:`\Lambda = 0`). Only intervals overlapping :math:`[0, H]` are informed;
an interval straddling :math:`H` gets the exposure of its covered part; later intervals get nothing.
A zero-event figure (1-year NRM 0% in 21) gives :math:`d = 0` with the exposure above: the gamma
prior :math:`\mathrm{Gamma}(a_0, b_0 + E)` it yields is informative through its rate alone.

Entry: pseudo-data on the analysis clock. A study may state when its patients entered the risk set
on the clock of its figures (``entry`` in ``sources.toml``: a median day :math:`m`, usually with a
range, a verbatim quote and an address; for Gaballa 2022, blinatumomab started at a median of day
78, range 44-105, after transplant while the 1-year figures run from transplant). A patient could
not have been counted as an event before entering, and had to be alive and event-free to enter, so
every event the figures imply by a landmark happened after entry. Rule: every pseudo-patient enters
at the median entry day :math:`m`; survival is 1 on :math:`[0, m]` and the first piece of the
conversion above runs over :math:`(m, t_1]` instead of :math:`(0, t_1]`:

.. math::
    t_0 = m,\qquad S(m) = 1,\qquad \Lambda_1 = \frac{-\log S(t_1)}{t_1 - m},\qquad
    E_j = n \int_{I_j \cap [m, H]} S(u)\,du,\qquad d_{k,j} = n \int_{I_j\cap[m,H]} S(u)\,\lambda_k(u)\,du.

Later pieces are unchanged. So exposure and events before :math:`m` are zero,
:math:`\sum_j d_{k,j} = n F_k(H)` still holds exactly (for :math:`H = t_M`), and a single landmark
gives :math:`\sum_j E_j = n\,(1 - S(t))\,(t - m)/\{-\log S(t)\}`: the exposure of the old rule
scaled by :math:`(t - m)/t`, the hazard scaled by :math:`t/(t - m)`. Why one day and why the
median: a patient entering on day :math:`e` and followed to :math:`t` at a common hazard
:math:`\Lambda` accrues :math:`(1 - e^{-\Lambda (t - e)})/\Lambda \approx t - e` days and
:math:`\approx \Lambda (t - e)` events while :math:`\Lambda (t - e)` is small, both linear in
:math:`e`, so one entry day equal to the mean entry day reproduces the cohort's totals to that
order; sources report a median and a range, not a mean or a distribution, and the median is the
central value they give. Spreading entry over the range would need a distribution no source
reports and mainly moves exposure between the intervals the range spans. The entry day must lie
in its range and precede every landmark and the horizon (checked). Sources without ``entry`` are
converted with :math:`m = 0`, i.e. exactly as before; :attr:`PseudoData.entry_rule` records which
rule was used.

Single transitions (``death_after_relapse``, clock = days since relapse). Overall-survival
landmarks :math:`S(t_i)` and a median :math:`\tilde t` (:math:`S(\tilde t) = 1/2`, i.e. a constant
hazard :math:`\log 2/\tilde t` on :math:`[0, \tilde t]`) are converted the same way with one cause.

Hazard ratios. A hazard ratio with 95% CI :math:`(L, U)` gives
:math:`\log \mathrm{HR} \sim \mathcal N(\log \widehat{\mathrm{HR}}, \{(\log U - \log L)/(2 \cdot 1.96)\}^2)`.

Assumptions: the reported landmark figures are Kaplan–Meier / Aalen–Johansen estimates of a
cohort whose :math:`n` patients were all followed to the landmark (censoring before it would
lower the information; the median follow-up caps the horizon); the clock of the source is the
model's clock (days from transplant for relapse/NRM, days since relapse — taken as the start of
salvage — for death after relapse), with the source's patients at risk from day 0 of that clock
unless the study (or figure) states a later entry.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from models.constants import DATA_DIR, Z_CI
from models.errors import PriorError

#: The shipped table of published figures.
SOURCES_TOML: Path = DATA_DIR / "priors" / "sources.toml"
#: Days per month used to place landmarks (365.25 / 12).
from models.constants import DAYS_PER_MONTH  # noqa: E402 - one home for the calendar conversion

#: Tolerance on :math:`S + F_{rel} + F_{nrm} = 1` when a source reports all three.
SUM_TOLERANCE: float = 0.025

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
#: :attr:`PseudoData.entry_rule` of a source without stated entry.
ENTRY_RULE_NONE = "no entry stated: every pseudo-patient at risk from day 0 of the source's clock"


@dataclass(frozen=True)
class Entry:
    """When a study's patients entered the risk set, in days on the clock of its figures.

    ``median_day`` is the day every pseudo-patient enters (the rule in the module docstring);
    ``range`` is the reported range (or ``None``); ``quote`` and ``url`` are the provenance;
    ``declared_in`` is the table that states it (``study.<id>`` or ``figure.<id>``).
    """

    median_day: float
    quote: str
    url: str
    range: tuple[float, float] | None = None
    note: str = ""
    declared_in: str = ""

    @property
    def rule(self) -> str:
        """One line saying how this entry is used by the conversion."""
        rng = "" if self.range is None else f", range {self.range[0]:g}-{self.range[1]:g}"
        return (
            f"delayed entry ({self.declared_in}): every pseudo-patient enters at the median day "
            f"{self.median_day:g}{rng}; no exposure before it, events spread from it to the landmark"
        )


@dataclass(frozen=True)
class Study:
    """One publication: citation, DOI (or ``""``), the address read, population and size."""

    key: str
    citation: str
    doi: str
    url: str
    population: Mapping[str, str]
    n: int
    intervention: str = ""
    followup_months: float | None = None
    design: str = ""
    entry: Entry | None = None


@dataclass(frozen=True)
class Figure:
    """One reported number with its provenance (see the schema in ``sources.toml``)."""

    key: str
    study: str
    arm: str
    endpoint: str
    estimate: float
    n: int
    quote: str
    url: str
    verified: bool
    endpoint_reported: str = ""
    landmark_months: float | None = None
    ci: tuple[float, float] | None = None
    note: str = ""
    #: Entry into the risk set: the figure's own ``entry`` or else its study's (``None``: day 0).
    entry: Entry | None = None

    @property
    def landmark_days(self) -> float:
        """Landmark in whole days (``round(months * 365.25 / 12)``); a median's own time for medians."""
        months = self.estimate if self.endpoint == "median_os" else self.landmark_months
        if months is None:  # a hazard ratio: no landmark (float(None) raised a bare TypeError here)
            raise TypeError(f"figure {self.key} ({self.endpoint}) has no landmark")
        return float(round(float(months) * DAYS_PER_MONTH))


@dataclass(frozen=True)
class Sources:
    """The loaded library: studies and figures by key, and the file they came from."""

    studies: Mapping[str, Study]
    figures: Mapping[str, Figure]
    path: str = str(SOURCES_TOML)

    def figure(self, key: str, *, where: str, source: str) -> Figure:
        if key not in self.figures:
            raise PriorError(
                source,
                where=where,
                found=f"unknown source '{key}'",
                expected=f"a figure key of {self.path} (see `scripts/priors.py list`)",
            )
        return self.figures[key]


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a prior TOML file (:func:`models.io.read_toml`); errors are one-line :class:`PriorError`."""
    from models.io import read_toml as read

    return read(path, PriorError, "prior TOML file (or a prior-set name)")


def _num(value: Any, src: str, where: str, fld: str, *, positive: bool = False, unit: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise PriorError(src, where=where, field=fld, found=value, expected="a finite number")
    v = float(value)
    if positive and v <= 0:
        raise PriorError(src, where=where, field=fld, found=v, expected="a number > 0")
    if unit and not 0.0 <= v <= 1.0:
        raise PriorError(src, where=where, field=fld, found=v, expected="a proportion in [0, 1]")
    return v


#: Most gamma components of a MAP prior's mixture approximation (EM tries 1 to this many)
MAX_COMPONENTS = 4


def _components(value: Any, src: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COMPONENTS:
        raise PriorError(
            src, where=where, field="max_components", found=value, expected=f"a whole number from 1 to {MAX_COMPONENTS}"
        )
    return int(value)


def _count(value: Any, src: str, where: str, fld: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PriorError(src, where=where, field=fld, found=value, expected="a whole number of patients >= 1")
    return int(value)


def _text(entry: Mapping[str, Any], key: str, src: str, where: str, *, allow_empty: bool = False) -> str:
    v = entry.get(key)
    if not isinstance(v, str) or (not allow_empty and not v.strip()):
        raise PriorError(
            src,
            where=where,
            field=key,
            found=v if v is not None else "missing",
            expected="a non-empty text (provenance is required)" if not allow_empty else "a text",
        )
    return v


def _check_keys(entry: Any, allowed: set[str], required: Sequence[str], src: str, where: str) -> None:
    if not isinstance(entry, dict):
        raise PriorError(src, where=where, found=type(entry).__name__, expected="a table")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise PriorError(src, where=where, field=unknown[0], found="an unknown key", expected=f"only {sorted(allowed)}")
    for k in required:
        if k not in entry:
            raise PriorError(src, where=where, field=k, found="missing", expected="present (provenance is required)")


def _day(value: Any, src: str, where: str, fld: str) -> float:
    v = _num(value, src, where, fld)
    if v < 0:
        raise PriorError(src, where=where, field=fld, found=v, expected="a day >= 0 on the clock of the figures")
    return v


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


def _bracket(
    value: Any, point: float, parse: Any, src: str, where: str, fld: str, shape: str, what: str
) -> tuple[float, float] | None:
    """An optional ``[low, high]`` pair parsed by ``parse`` that must contain ``point`` (a range, a CI);
    ``shape`` and ``what`` are the expected texts of the two one-line errors."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise PriorError(src, where=where, field=fld, found=value, expected=shape)
    lo, hi = (parse(v, src, where, fld) for v in value)
    if not lo <= point <= hi:
        raise PriorError(src, where=where, field=fld, found=[lo, hi], expected=what)
    return lo, hi


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


# ----------------------------------------------------------------------------- conversions


@dataclass(frozen=True)
class PseudoData:
    r"""Pseudo-events per cause and pseudo-exposure per interval implied by one source's figures.

    Attributes
    ----------
    label
        The source's label (study key and arm).
    figures
        Keys of the figures used.
    n
        Patients of the source.
    events
        ``{cause: d_j}`` (``relapse``, ``nrm`` or ``death``), floats over the intervals.
    exposure
        :math:`E_j`, days over the intervals.
    cuts
        The intervals' cut points.
    horizon_days
        :math:`H`, the last day informed.
    entry
        The :class:`Entry` the conversion used (``None``: every pseudo-patient at risk from day 0).
    entry_rule
        One line saying how entry was handled (:data:`ENTRY_RULE_NONE` without stated entry).
    """

    label: str
    figures: tuple[str, ...]
    n: int
    events: Mapping[str, np.ndarray]
    exposure: np.ndarray
    cuts: np.ndarray
    horizon_days: float
    a0: float = 1.0
    notes: tuple[str, ...] = field(default=())
    entry: Entry | None = None
    entry_rule: str = ENTRY_RULE_NONE

    @property
    def entry_day(self) -> float:
        """The day exposure starts: the median entry day, or 0 without entry."""
        return 0.0 if self.entry is None else self.entry.median_day

    @property
    def followup_per_patient(self) -> float:
        """Mean at-risk days per patient within the horizon: :math:`\\sum_j E_j / n` (before discounting)."""
        return float(self.exposure.sum() / self.a0 / self.n) if self.a0 > 0 else float("nan")

    def scaled(self, a0: float) -> PseudoData:
        """Power-prior discounting: events and exposure multiplied by ``a0``."""
        return replace(
            self, events={k: v * a0 for k, v in self.events.items()}, exposure=self.exposure * a0, a0=self.a0 * a0
        )


def piecewise_pseudo_data(
    times: Sequence[float],
    surv: Sequence[float],
    cifs: Mapping[str, Sequence[float]],
    n: float,
    cuts: Sequence[float] | np.ndarray,
    horizon: float | None = None,
    *,
    entry: float = 0.0,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    r"""Pseudo-events and exposure from landmark survival and cause-specific cumulative incidences.

    Parameters
    ----------
    times
        Landmarks :math:`t_1 < \dots < t_M` (days, > 0).
    surv
        All-cause survival :math:`S(t_i) \in (0, 1]`, non-increasing.
    cifs
        ``{cause: [F_k(t_i)]}``, non-decreasing, with :math:`\sum_k \Delta F_k = -\Delta S` on each piece.
    n
        Patients.
    cuts
        Model cut points (the last interval is open).
    horizon
        Last day with information (default :math:`t_M`); clipped to :math:`t_M`.
    entry
        Day :math:`m` every patient enters the risk set (default 0): survival is 1 on :math:`[0, m]`,
        the first piece runs over :math:`(m, t_1]`, and nothing accrues before :math:`m`. Must be
        :math:`0 \le m < t_1`.

    Returns
    -------
    events, exposure
        ``{cause: d_j}`` and :math:`E_j` (see the module docstring for the formulas).
    """
    if not 0.0 <= entry < float(times[0]):
        raise PriorError(
            "pseudo-data", field="entry", found=entry, expected=f"a day in [0, {times[0]:g}), before the landmarks"
        )
    t = np.concatenate([[float(entry)], np.asarray(times, float)])
    s = np.concatenate([[1.0], np.asarray(surv, float)])
    f = {k: np.concatenate([[0.0], np.asarray(v, float)]) for k, v in cifs.items()}
    c = np.asarray(cuts, float)
    hi_c = np.append(c[1:], np.inf)
    h = float(t[-1] if horizon is None else min(horizon, t[-1]))
    exposure = np.zeros(c.size)
    events = {k: np.zeros(c.size) for k in cifs}
    for i in range(1, t.size):
        dt = t[i] - t[i - 1]
        lam = -math.log(s[i] / s[i - 1]) / dt
        drop = s[i - 1] - s[i]
        frac = {k: ((f[k][i] - f[k][i - 1]) / drop if drop > 0 else 0.0) for k in cifs}
        for j in range(c.size):
            a, b = max(c[j], t[i - 1]), min(hi_c[j], t[i], h)
            if b <= a:
                continue
            sa = s[i - 1] * math.exp(-lam * (a - t[i - 1]))
            e = n * (sa * (b - a) if lam == 0 else sa * -math.expm1(-lam * (b - a)) / lam)
            exposure[j] += e
            for k in cifs:
                events[k][j] += lam * frac[k] * e
    return events, exposure


def log_hr_normal(estimate: float, lower: float, upper: float) -> tuple[float, float]:
    r"""Normal prior on :math:`\log\mathrm{HR}`: mean :math:`\log\widehat{HR}`, sd :math:`(\log U - \log L)/(2z)`.

    :math:`z = 1.95996` for a 95% interval; the CI is taken as symmetric on the log scale (Wald).
    """
    if not (0 < lower <= estimate <= upper):
        raise PriorError("hazard ratio", found=(estimate, lower, upper), expected="0 < lower <= estimate <= upper")
    return math.log(estimate), (math.log(upper) - math.log(lower)) / (2.0 * Z_CI)


def effect_prior(key: str, sources: Sources | None = None) -> tuple[float, float]:
    """Normal prior ``(mean, sd)`` on the log hazard ratio of a ``hr_*`` figure (e.g. ``tower2017_hr_death``).

    For trial planning (effect-size scenarios); the figure must report a CI.
    """
    src = sources or load_sources()
    f = src.figure(key, where="effect prior", source=src.path)
    if not f.endpoint.startswith("hr_") or f.ci is None:
        raise PriorError(
            src.path,
            where=f"figure.{key}",
            field="endpoint",
            found=f.endpoint,
            expected="a hazard ratio (hr_death, hr_relapse) with a 95% CI",
        )
    return log_hr_normal(f.estimate, *f.ci)


def _group(figs: Sequence[Figure], src: str, where: str) -> tuple[int, Entry | None]:
    studies = {f.study for f in figs}
    arms = {f.arm for f in figs}
    ns = {f.n for f in figs}
    if len(studies) > 1 or len(arms) > 1 or len(ns) > 1:
        raise PriorError(
            src,
            where=where,
            field="figures",
            found=[f.key for f in figs],
            expected="figures of one study arm with one n (one source = one cohort)",
        )
    entries = {None if f.entry is None else (f.entry.median_day, f.entry.range) for f in figs}
    if len(entries) > 1:
        raise PriorError(
            src,
            where=where,
            field="figures",
            found=f"entry days {sorted(str(e) for e in entries)} in {[f.key for f in figs]}",
            expected="figures of one cohort with one entry (or none)",
        )
    return ns.pop(), figs[0].entry


def _convert(
    figs: Sequence[Figure],
    times: Sequence[float],
    surv: Sequence[float],
    cifs: Mapping[str, Sequence[float]],
    n: int,
    entry: Entry | None,
    cuts: Sequence[float] | np.ndarray,
    followup_months: float | None,
    src: str,
    where: str,
) -> PseudoData:
    """Run :func:`piecewise_pseudo_data` for one cohort, with its entry, and label the result."""
    fu = None if followup_months is None else followup_months * DAYS_PER_MONTH
    horizon = min(times[-1], fu or math.inf)
    m = 0.0 if entry is None else entry.median_day
    if not m < min(times[0], horizon):
        raise PriorError(
            src,
            where=where,
            field="entry",
            found=f"entry day {m:g} ({entry.declared_in if entry else ''}), first landmark day {times[0]:g}, "
            f"horizon day {horizon:g}",
            expected="an entry day before the first landmark and the horizon (median follow-up)",
        )
    ev, ex = piecewise_pseudo_data(times, surv, cifs, n, cuts, fu, entry=m)
    label = f"{figs[0].study} ({figs[0].arm})" if entry is None else f"{figs[0].study} ({figs[0].arm}; entry day {m:g})"
    return PseudoData(
        label,
        tuple(f.key for f in figs),
        n,
        ev,
        ex,
        np.asarray(cuts, float),
        horizon,
        entry=entry,
        entry_rule=ENTRY_RULE_NONE if entry is None else entry.rule,
    )


def remission_pseudo_data(
    figs: Sequence[Figure],
    cuts: Sequence[float] | np.ndarray,
    *,
    followup_months: float | None = None,
    all_events_relapse: bool = False,
    use_entry: bool = True,
    src: str = "prior set",
    where: str = "source",
) -> PseudoData:
    r"""Pseudo-data for the competing ``relapse`` and ``nrm`` transitions from one cohort's figures.

    At each landmark two of :math:`S` (``event_free``), :math:`F_{rel}` (``cir``), :math:`F_{nrm}`
    (``nrm``) are needed. With ``all_events_relapse`` a lone event-free figure is read as
    :math:`F_{rel} = 1 - S`, :math:`F_{nrm}` unknown (only the relapse transition may use it).
    A stated entry (``Figure.entry``) starts exposure and events at its median day (module
    docstring); ``use_entry=False`` ignores it (every patient at risk from day 0, for comparison).
    """
    n, entry = _group(figs, src, where)
    entry = entry if use_entry else None
    by_t: dict[float, dict[str, float]] = {}
    for fg in figs:
        if fg.endpoint not in ("event_free", "cir", "nrm"):
            raise PriorError(
                src,
                where=where,
                field="figures",
                found=f"{fg.key} ({fg.endpoint})",
                expected="event_free, cir or nrm figures for relapse/NRM",
            )
        by_t.setdefault(fg.landmark_days, {})[fg.endpoint] = fg.estimate
    times, surv, rel, nrm = [], [], [], []
    for t in sorted(by_t):
        v = by_t[t]
        if all_events_relapse and set(v) == {"event_free"}:
            v = {"event_free": v["event_free"], "cir": 1.0 - v["event_free"], "nrm": 0.0}
        if len(v) < 2:
            raise PriorError(
                src,
                where=where,
                field="figures",
                found=f"only {sorted(v)} at day {t:g}",
                expected="two of event_free, cir, nrm at each landmark (or all_events_relapse = true)",
            )
        if len(v) == 3 and abs(v["event_free"] + v["cir"] + v["nrm"] - 1.0) > SUM_TOLERANCE:
            raise PriorError(
                src,
                where=where,
                field="figures",
                found=f"S + CIR + NRM = {v['event_free'] + v['cir'] + v['nrm']:.3f} at day {t:g}",
                expected=f"1 within {SUM_TOLERANCE}",
            )
        fr = v.get("cir", 1.0 - v.get("event_free", 0.0) - v.get("nrm", 0.0))
        fn = v.get("nrm", 1.0 - v.get("event_free", 0.0) - fr)
        times.append(t)
        rel.append(fr)
        nrm.append(fn)
        surv.append(1.0 - fr - fn)
    _check_monotone(times, surv, {"relapse": rel, "nrm": nrm}, src, where)
    return _convert(figs, times, surv, {"relapse": rel, "nrm": nrm}, n, entry, cuts, followup_months, src, where)


def survival_pseudo_data(
    figs: Sequence[Figure],
    cuts: Sequence[float] | np.ndarray,
    *,
    followup_months: float | None = None,
    use_entry: bool = True,
    src: str = "prior set",
    where: str = "source",
) -> PseudoData:
    """Pseudo-data for a single transition (cause ``death``) from ``os`` landmarks and ``median_os``.

    A stated entry is handled as in :func:`remission_pseudo_data`.
    """
    n, entry = _group(figs, src, where)
    entry = entry if use_entry else None
    pts: dict[float, float] = {}
    for fg in figs:
        if fg.endpoint == "os":
            pts[fg.landmark_days] = fg.estimate
        elif fg.endpoint == "median_os":
            pts[fg.landmark_days] = 0.5
        else:
            raise PriorError(
                src,
                where=where,
                field="figures",
                found=f"{fg.key} ({fg.endpoint})",
                expected="os or median_os figures for death after relapse",
            )
    times = sorted(pts)
    surv = [pts[t] for t in times]
    cif = [1.0 - s for s in surv]
    _check_monotone(times, surv, {"death": cif}, src, where)
    return _convert(figs, times, surv, {"death": cif}, n, entry, cuts, followup_months, src, where)


def _check_monotone(
    times: Sequence[float], surv: Sequence[float], cifs: Mapping[str, Sequence[float]], src: str, where: str
) -> None:
    s = [1.0, *surv]
    if any(v <= 0 for v in surv) or any(b > a + 1e-12 for a, b in itertools.pairwise(s)):
        raise PriorError(
            src,
            where=where,
            field="figures",
            found=f"survival {list(surv)} at days {list(times)}",
            expected="survival > 0 and non-increasing over the landmarks",
        )
    for k, v in cifs.items():
        f = [0.0, *v]
        if any(x < -1e-12 for x in v) or any(b < a - 1e-12 for a, b in itertools.pairwise(f)):
            raise PriorError(
                src,
                where=where,
                field="figures",
                found=f"{k} incidence {list(v)}",
                expected="cumulative incidences >= 0 and non-decreasing over the landmarks",
            )


# ----------------------------------------------------------------------------- prior-set files

#: The shipped named prior sets.
SETS_TOML: Path = DATA_DIR / "priors" / "sets.toml"
#: Prior sets defined in code (:mod:`models.priors`) that a set file may name with ``builtin``.
BUILTIN_SETS = ("weak", "half_event_per_interval")
METHODS = ("weak", "power", "map", "commensurate", "gamma")
_SET_KEYS = {"description", "citation", "allow_unverified", "builtin"}
_TRANSITION_KEYS = {
    "method",
    "sources",
    "robust_weight",
    "tau_scale",
    "commensurability_scale",
    "max_components",
    "shape",
    "rate",
    "provenance",
    "note",
}
_SOURCE_KEYS = {"figures", "a0", "all_events_relapse"}
_ENDPOINTS_FOR = {
    "relapse": ("event_free", "cir", "nrm"),
    "nrm": ("event_free", "cir", "nrm"),
    "death_after_relapse": ("os", "median_os"),
    "gvhd": (),
}
TRANSITION_NAMES = ("relapse", "nrm", "gvhd", "death_after_relapse")


@dataclass(frozen=True)
class SourceSpec:
    """One cohort in a transition's prior: its figures, power-prior weight and reading assumption."""

    figures: tuple[str, ...]
    a0: float = 1.0
    all_events_relapse: bool = False


@dataclass(frozen=True)
class TransitionSpec:
    """How one transition's prior is built (see ``data/priors/sets.toml`` for the format)."""

    transition: str
    method: str
    sources: tuple[SourceSpec, ...] = ()
    robust_weight: float | None = None
    tau_scale: float = 0.5
    commensurability_scale: float = 1.0
    max_components: int = 4
    shape: tuple[float, ...] = ()
    rate: tuple[float, ...] = ()
    provenance: str = ""
    note: str = ""


@dataclass(frozen=True)
class SetSpec:
    """A named prior set as written in a file, checked against the sources."""

    name: str
    description: str
    citation: str
    transitions: Mapping[str, TransitionSpec]
    builtin: str | None = None
    allow_unverified: bool = False
    path: str = ""


def _weight(value: Any, src: str, where: str, fld: str, *, zero_ok: bool) -> float:
    v = _num(value, src, where, fld)
    if not (0.0 <= v <= 1.0) or (v == 0.0 and not zero_ok):
        raise PriorError(
            src, where=where, field=fld, found=v, expected="a weight in [0, 1]" if zero_ok else "a weight in (0, 1]"
        )
    return v


def _transition_spec(name: str, k: str, e: Any, sources: Sources, src: str, allow_unverified: bool) -> TransitionSpec:
    where = f"set.{name}.{k}"
    _check_keys(e, _TRANSITION_KEYS, ("method",), src, where)
    method = e["method"]
    if method not in METHODS:
        raise PriorError(src, where=where, field="method", found=method, expected=f"one of {list(METHODS)}")
    specs = []
    raw = e.get("sources", [])
    if method in ("power", "map", "commensurate") and (not isinstance(raw, list) or not raw):
        raise PriorError(src, where=where, field="sources", found=raw, expected="a non-empty list of {figures = [...]}")
    if method in ("weak", "gamma") and raw:
        raise PriorError(src, where=where, field="sources", found=raw, expected=f"no sources for method '{method}'")
    for i, s in enumerate(raw):
        w = f"{where}.sources[{i}]"
        _check_keys(s, _SOURCE_KEYS, ("figures",), src, w)
        figs = s["figures"]
        if not isinstance(figs, list) or not figs or not all(isinstance(f, str) for f in figs):
            raise PriorError(src, where=w, field="figures", found=figs, expected="a non-empty list of figure keys")
        for fk in figs:
            fg = sources.figure(fk, where=w, source=src)
            if not fg.verified and not allow_unverified:
                raise PriorError(
                    src,
                    where=w,
                    field="figures",
                    found=f"unverified figure '{fk}'",
                    expected="verified figures only (or allow_unverified = true for this set)",
                )
            if fg.endpoint not in _ENDPOINTS_FOR[k]:
                raise PriorError(
                    src,
                    where=w,
                    field="figures",
                    found=f"{fk} ({fg.endpoint})",
                    expected=f"endpoints {list(_ENDPOINTS_FOR[k])} for transition '{k}'",
                )
        a0 = _weight(s.get("a0", 1.0), src, w, "a0", zero_ok=True)
        if a0 != 1.0 and method != "power":
            raise PriorError(src, where=w, field="a0", found=a0, expected="a0 only with method 'power'")
        aer = s.get("all_events_relapse", False)
        if not isinstance(aer, bool) or (aer and k != "relapse"):
            raise PriorError(
                src,
                where=w,
                field="all_events_relapse",
                found=aer,
                expected="true only for the relapse transition (events of unknown cause read as relapses)",
            )
        specs.append(SourceSpec(tuple(figs), a0, aer))
    rw = e.get("robust_weight")
    if rw is not None:
        if method not in ("power", "map", "gamma"):
            raise PriorError(
                src,
                where=where,
                field="robust_weight",
                found=rw,
                expected="robust_weight only with methods power, map or gamma",
            )
        rw = _weight(rw, src, where, "robust_weight", zero_ok=False)
    shape, rate = e.get("shape", []), e.get("rate", [])
    if method == "gamma":
        shape = shape if isinstance(shape, list) else [shape]
        rate = rate if isinstance(rate, list) else [rate]
        if not shape or len(shape) != len(rate):
            raise PriorError(
                src,
                where=where,
                field="shape",
                found=(shape, rate),
                expected="shape and rate (events and exposure days): numbers or equal-length lists",
            )
        for f_, vals in (("shape", shape), ("rate", rate)):
            for v in vals:
                if _num(v, src, where, f_) < 0 or v == 0:
                    raise PriorError(src, where=where, field=f_, found=v, expected="counts and exposures > 0")
        _text(e, "provenance", src, where)
    return TransitionSpec(
        transition=k,
        method=method,
        sources=tuple(specs),
        robust_weight=rw,
        tau_scale=_num(e.get("tau_scale", 0.5), src, where, "tau_scale", positive=True),
        commensurability_scale=_num(
            e.get("commensurability_scale", 1.0), src, where, "commensurability_scale", positive=True
        ),
        max_components=_components(e.get("max_components", MAX_COMPONENTS), src, where),
        shape=tuple(float(v) for v in shape),
        rate=tuple(float(v) for v in rate),
        provenance=str(e.get("provenance", "")),
        note=str(e.get("note", "")),
    )


def parse_sets(doc: Mapping[str, Any], src: str, sources: Sources) -> dict[str, SetSpec]:
    """Check a prior-set document: ``[set.<name>]`` tables with one table per transition."""
    if set(doc) != {"set"} or not isinstance(doc["set"], dict) or not doc["set"]:
        raise PriorError(
            src,
            where=",".join(sorted(set(doc) - {"set"})) or None,
            found=sorted(doc),
            expected="one or more [set.<name>] tables and nothing else",
        )
    out = {}
    for name, e in doc["set"].items():
        where = f"set.{name}"
        if not isinstance(e, dict):
            raise PriorError(src, where=where, found=type(e).__name__, expected="a table")
        unknown = sorted(set(e) - _SET_KEYS - set(TRANSITION_NAMES))
        if unknown:
            raise PriorError(
                src,
                where=where,
                field=unknown[0],
                found="an unknown transition or key",
                expected=f"transitions {list(TRANSITION_NAMES)} or keys {sorted(_SET_KEYS)}",
            )
        allow = e.get("allow_unverified", False)
        if not isinstance(allow, bool):
            raise PriorError(src, where=where, field="allow_unverified", found=allow, expected="true or false")
        builtin = e.get("builtin")
        if builtin is not None and builtin not in BUILTIN_SETS:
            raise PriorError(
                src,
                where=where,
                field="builtin",
                found=builtin,
                expected=f"one of {list(BUILTIN_SETS)} (models.priors)",
            )
        trans = {k: _transition_spec(name, k, e[k], sources, src, allow) for k in TRANSITION_NAMES if k in e}
        out[name] = SetSpec(
            name=name,
            description=_text(e, "description", src, where),
            citation=str(e.get("citation", "")),
            transitions=trans,
            builtin=builtin,
            allow_unverified=allow,
            path=src,
        )
    return out
