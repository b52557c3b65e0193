r"""Conversion of published figures into pseudo-events and pseudo-exposure on the model's intervals.

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

import numpy as np

from models.constants import DAYS_PER_MONTH
from models.errors import PriorError
from models.prior_sources.records import Entry, Figure

#: Tolerance on :math:`S + F_{rel} + F_{nrm} = 1` when a source reports all three.
SUM_TOLERANCE: float = 0.025
#: :attr:`PseudoData.entry_rule` of a source without stated entry.
ENTRY_RULE_NONE = "no entry stated: every pseudo-patient at risk from day 0 of the source's clock"


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
