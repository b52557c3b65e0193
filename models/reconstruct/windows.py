"""Day windows: earliest and latest day of each step, threshold markers, follow-up anchors.

An ordering carries one marker per threshold day (landmarks, the inner ends of step windows and
the days of digitised-curve checks, :func:`threshold_days`); exits pinned by the follow-up median
and range are anchors checked against those markers (:func:`_anchors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from models.reconstruct.constraints import Constraints, OrderStat
from models.reconstruct.vocabulary import C, D, G, N, R


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
    """Days at which the ordering carries a marker: landmarks, the inner ends of step windows and
    the days a digitised curve is checked at (:attr:`CurveTarget.marker_days`, half-integers)."""
    lo_all = min(w[0] for w in windows.values())
    hi_all = max(w[1] for w in windows.values())
    days = set(cons.landmarks)
    for curve in cons.curves:
        days |= curve.marker_days
    for a, b in windows.values():
        if a > lo_all:
            days.add(a - 0.5)
        if b < hi_all:
            days.add(b + 0.5)
    return tuple(sorted(days))


def _reading_stat(cons: Constraints, reading: str) -> OrderStat | None:
    if cons.followup is None:
        return None
    n = cons.n if reading == "all" else cons.counts.get("alive", cons.n)
    fu = cons.followup
    return OrderStat(fu.name, n, fu.median, fu.lo, fu.hi)
