"""Independent verification of a table against every constraint, with lifelines.

:func:`verify_table` recomputes each figure with :mod:`models.nonparametric` (not the solver's
arithmetic); :func:`median_range` and :func:`reverse_km_median` read follow-up summaries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from models.constants import EVENT_RELAPSE
from models.data import validate_outcomes
from models.endpoints import derive
from models.nonparametric import cif_at, kaplan_meier, km_at
from models.reconstruct.constraints import Constraints, CurveTarget, OrderStat
from models.reconstruct.curves import EPS


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
    for curve in cons.curves:
        checks += _verify_curve(t, cons, curve)
    return checks


def _verify_curve(t: pd.DataFrame, cons: Constraints, curve: CurveTarget) -> list[Check]:
    r"""A digitised curve against the table's KM from lifelines: every point's box, every number at risk.

    For each digitised point :math:`(t_k, s_k)`: :math:`\hat S(t_k-\delta_t) \ge s_k-\delta_s` and
    :math:`\hat S(t_k+\delta_t) \le s_k+\delta_s` (lifelines' ``survival_function_at_times``); the
    number at risk at :math:`\tau` is lifelines' ``at_risk`` at the first event-table time
    :math:`\ge \tau` (0 past the last), i.e. :math:`\#\{T_j \ge \tau\}`.
    """
    mask = t["patient"].map(cons.membership[curve.population]).to_numpy(bool)
    d = derive(t[mask], curve.endpoint, from_transplant=True)
    kmf = kaplan_meier(d["duration"], d["event"])
    times = [p for day, _s in curve.points for p in (day - curve.tol_days, day + curve.tol_days)]
    surv = kmf.survival_function_at_times(times).to_numpy(float)
    worst = 0.0  # largest excess over a box edge (<= 0 when every point is met)
    for k, (_day, s) in enumerate(curve.points):
        below, above = surv[2 * k], surv[2 * k + 1]
        worst = max(worst, (s - curve.tol_survival) - below, above - (s + curve.tol_survival))
    points_ok = worst <= EPS
    table = kmf.event_table
    at = table.index.to_numpy(float)
    counts = []
    for day, _n in curve.risk:
        later = at >= day
        counts.append(int(table["at_risk"].to_numpy()[later][0]) if later.any() else 0)
    want = [n for _d, n in curve.risk]
    box = f"{len(curve.points)} digitised points within +-{curve.tol_survival:g} survival, +-{curve.tol_days:g} days"
    return [
        Check(f"{curve.name} points", box, "all met" if points_ok else f"missed by {worst:.4f}", points_ok),
        Check(
            f"{curve.name} numbers at risk",
            ", ".join(f"{n}@{day:g}" for day, n in curve.risk),
            ", ".join(f"{n}@{day:g}" for (day, _n), n in zip(curve.risk, counts, strict=True)),
            counts == want,
        ),
    ]


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


def reverse_km_median(table: pd.DataFrame) -> float | None:
    """Median follow-up by the reverse Kaplan–Meier method (deaths censor, last contacts are events).

    Reported for the alternative reading of "median follow-up"; None when not reached.
    """
    from models.nonparametric import kaplan_meier

    alive = table["death_day"].isna().to_numpy(int)
    kmf = kaplan_meier(table["last_followup_day"].to_numpy(float), alive)
    med = float(kmf.median_survival_time_)
    return med if math.isfinite(med) else None
