r"""Digitised Kaplan–Meier curves with numbers at risk as reconstruction constraints (``[[curve]]``).

The input is that of Guyot et al. (2012) and of the R packages IPDfromKM (``preprocess(dat,
trisk, nrisk)``) and survHE (``digitise(surv_inp, nrisk_inp)``): the digitised coordinates
:math:`(t_k, s_k)` of one curve and the printed risk table :math:`(\tau_i, n_i)`. Guyot's
algorithm *estimates* censoring between the risk-table times from them; here they are
*constraints* that every reconstructed table must meet, beside every printed figure:

* **Numbers at risk, exactly.** :math:`n(\tau_i) = \#\{j \in P : T_j \ge \tau_i\}`, the number of
  members of the curve's population :math:`P` still at risk of its endpoint at :math:`\tau_i` (R
  ``summary(survfit, times=)`` and the risk tables printed under KM plots; Guyot's
  ``n.risk`` at the start of each interval). With whole days and no two items on one day this is
  the count after a threshold marker at :math:`\lceil\tau_i\rceil - \tfrac12`.
* **The curve, within the digitisation tolerance.** A digitised point is only known to within
  :math:`\pm\delta_t` in time and :math:`\pm\delta_s` in survival (the pixel resolution and line
  width of the plot). The step function :math:`\hat S` passes within that box around
  :math:`(t_k, s_k)` iff

  .. math:: \hat S(t_k - \delta_t) \ge s_k - \delta_s \quad\text{and}\quad
            \hat S(t_k + \delta_t) \le s_k + \delta_s,

  because :math:`\hat S` is non-increasing (a point digitised on a vertical drop is met when the
  drop lies within :math:`\delta_t` of it and spans :math:`s_k`). With event days whole numbers,
  :math:`\hat S(x) = \hat S(\lfloor x\rfloor)`, so each side is checked exactly at a marker at
  :math:`\lfloor x\rfloor + \tfrac12`.

Since :math:`\hat S` only falls, a lower bound at day :math:`a` implies it at every earlier day and
an upper bound at :math:`b` at every later day: only the lower bounds exceeding every later one and
the upper bounds below every earlier one bind (:func:`curve_bounds`); hundreds of digitised points
reduce to a few markers, about two per step of the curve.

Input checks follow IPDfromKM's ``preprocess``, which makes the digitised times non-decreasing and
the survival non-increasing: here times out of order are an error, and a survival rising by more
than the tolerance over the running minimum is an error (a smaller rise is digitisation noise and
is kept; the box constraints absorb it).

References
----------
Guyot P, Ades AE, Ouwens MJ, Welton NJ. Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan–Meier survival curves. BMC Med Res Methodol
2012;12:9. Liu N, Zhou Y, Lee JJ. IPDfromKM: reconstruct individual patient data from published
Kaplan–Meier survival curves. BMC Med Res Methodol 2021;21:111.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from models.errors import ConfigError, DataError
from models.reconstruct.constraints import CurveTarget

#: Days per unit of a curve's time axis (a month is a twelfth of a Julian year)
DAYS_PER_UNIT: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}
#: Survival per unit of a curve's survival axis
SURVIVAL_SCALE: dict[str, float] = {"probability": 1.0, "percent": 100.0}
POINT_COLUMNS = ("time", "survival")
RISK_COLUMNS = ("time", "at_risk")
#: Slack for comparing the KM estimate (exact fraction or lifelines float) with a float bound
EPS = 1e-9


def _rows(path: Path, columns: tuple[str, ...], src: str, where: str, field: str) -> list[tuple[int, list[str]]]:
    """Data rows of a CSV whose header is exactly ``columns``: (file line, cells); the header is line 1."""
    if not path.is_file():
        raise ConfigError(
            src, where=where, field=field, found=f"{path} (no such file)", expected="a CSV file in the pack folder"
        )
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        lines = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    if not lines or [c.strip() for c in lines[0][1]] != list(columns):
        raise DataError(
            str(path),
            where="header",
            found=lines[0][1] if lines else "an empty file",
            expected=f"columns {', '.join(columns)}",
        )
    out = []
    for line, r in lines[1:]:
        if len(r) != len(columns):
            raise DataError(
                str(path),
                where=f"row {line}",
                found=f"{len(r)} cells",
                expected=f"{len(columns)} cells ({', '.join(columns)})",
            )
        out.append((line, [c.strip() for c in r]))
    if not out:
        raise DataError(str(path), where="rows", found="no data rows", expected="at least one row")
    return out


def _number(path: Path, row: int, field: str, text: str, expected: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = math.nan
    if not math.isfinite(x):
        raise DataError(str(path), where=f"row {row}", field=field, found=text, expected=expected)
    return x


def read_points(
    path: Path, src: str, where: str, *, time_unit: str, survival_unit: str, tol: float
) -> tuple[tuple[float, float], ...]:
    """Digitised (day, survival probability) points; ``tol`` is the survival tolerance in the file's unit."""
    scale, per_day = SURVIVAL_SCALE[survival_unit], DAYS_PER_UNIT[time_unit]
    rows = _rows(path, POINT_COLUMNS, src, where, "points")
    out: list[tuple[float, float]] = []
    low = math.inf  # running minimum of the survival so far
    for i, (t_s, s_s) in rows:
        t = _number(path, i, "time", t_s, f"a time >= 0 in {time_unit}")
        s = _number(path, i, "survival", s_s, f"a survival in {survival_unit} (0 to {scale:g})")
        if t < 0:
            raise DataError(
                str(path), where=f"row {i}", field="time", found=t_s, expected=f"a time >= 0 in {time_unit}"
            )
        if not -tol <= s <= scale + tol:
            raise DataError(
                str(path),
                where=f"row {i}",
                field="survival",
                found=s_s,
                expected=f"a survival in {survival_unit} between 0 and {scale:g} (within the tolerance {tol:g})",
            )
        if out and t * per_day < out[-1][0] - EPS:
            raise DataError(
                str(path),
                where=f"row {i}",
                field="time",
                found=f"{t_s} after {out[-1][0] / per_day:g}",
                expected="times in non-decreasing order",
            )
        if s > low + tol + EPS:
            raise DataError(
                str(path),
                where=f"row {i}",
                field="survival",
                found=f"{s_s} after {low:g}",
                expected=f"a non-increasing curve (a rise of at most the tolerance {tol:g})",
            )
        low = min(low, s)
        out.append((t * per_day, s / scale))
    return tuple(out)


def read_risk(path: Path, src: str, where: str, *, time_unit: str, size: int) -> tuple[tuple[float, int], ...]:
    """The risk table as (day, number at risk); ``size`` is the curve's population size."""
    per_day = DAYS_PER_UNIT[time_unit]
    out: list[tuple[float, int]] = []
    for i, (t_s, n_s) in _rows(path, RISK_COLUMNS, src, where, "risk_table"):
        t = _number(path, i, "time", t_s, f"a time >= 0 in {time_unit}")
        n = _number(path, i, "at_risk", n_s, "a whole number of patients")
        if t < 0:
            raise DataError(
                str(path), where=f"row {i}", field="time", found=t_s, expected=f"a time >= 0 in {time_unit}"
            )
        if n != int(n) or n < 0:
            raise DataError(
                str(path), where=f"row {i}", field="at_risk", found=n_s, expected="a whole number of patients >= 0"
            )
        if out and t * per_day <= out[-1][0]:
            raise DataError(
                str(path),
                where=f"row {i}",
                field="time",
                found=f"{t_s} after {out[-1][0] / per_day:g}",
                expected="times in increasing order",
            )
        if out and n > out[-1][1]:
            raise DataError(
                str(path),
                where=f"row {i}",
                field="at_risk",
                found=f"{n_s} after {out[-1][1]}",
                expected="numbers at risk that never increase",
            )
        if n > size or (t == 0 and n != size):
            raise DataError(
                str(path),
                where=f"row {i}",
                field="at_risk",
                found=n_s,
                expected=f"{'exactly' if t == 0 else 'at most'} the curve population's {size} patients"
                + (" at time 0" if t == 0 else ""),
            )
        out.append((t * per_day, int(n)))
    return tuple(out)


def curve_bounds(
    points: Sequence[tuple[float, float]], risk: Sequence[tuple[float, int]], tol_survival: float, tol_days: float
) -> tuple[tuple[tuple[float, float], ...], tuple[tuple[float, float], ...], tuple[tuple[float, int], ...]]:
    r"""The binding marker constraints of a curve: lower and upper survival bounds and at-risk counts.

    Each point gives :math:`\hat S(\lfloor t-\delta_t\rfloor+\tfrac12) \ge s-\delta_s` and
    :math:`\hat S(\lfloor t+\delta_t\rfloor+\tfrac12) \le s+\delta_s` (module docstring); bounds that
    always hold (:math:`s-\delta_s \le 0`, :math:`s+\delta_s \ge 1`, a lower bound before day 0) are
    dropped, then only the lower bounds exceeding all later ones and the upper bounds below all
    earlier ones are kept. A risk-table time :math:`\tau > 0` is a marker at
    :math:`\lceil\tau\rceil-\tfrac12` (time 0 is the population size, checked on loading).
    Returns ``(lower, upper, at_risk)``, each sorted by marker day.
    """
    lo: dict[float, float] = {}
    hi: dict[float, float] = {}
    for t, s in points:
        a, bound = t - tol_days, s - tol_survival
        if a >= 0 and bound > 0:
            day = math.floor(a) + 0.5
            lo[day] = max(lo.get(day, 0.0), bound)
        b, cap = t + tol_days, s + tol_survival
        if cap < 1:
            day = math.floor(b) + 0.5
            hi[day] = min(hi.get(day, 1.0), cap)
    lower: list[tuple[float, float]] = []
    best = 0.0
    for day in sorted(lo, reverse=True):
        if lo[day] > best:
            best = lo[day]
            lower.append((day, best))
    upper: list[tuple[float, float]] = []
    best = 1.0
    for day in sorted(hi):
        if hi[day] < best:
            best = hi[day]
            upper.append((day, best))
    at_risk = tuple(sorted({(math.ceil(t) - 0.5, n) for t, n in risk if t > 0}))
    return tuple(sorted(lower)), tuple(upper), at_risk


def build_curve(
    name: str,
    endpoint: str,
    population: str,
    points: tuple[tuple[float, float], ...],
    risk: tuple[tuple[float, int], ...],
    tol_survival: float,
    tol_days: float,
    *,
    src: str,
    where: str,
) -> CurveTarget:
    """A :class:`CurveTarget` with its marker bounds (two risk-table times on one marker must agree)."""
    lower, upper, at_risk = curve_bounds(points, risk, tol_survival, tol_days)
    days = [d for d, _n in at_risk]
    if len(days) != len(set(days)):
        raise ConfigError(
            src,
            where=where,
            field="risk_table",
            found="two times within one day with different counts",
            expected="at most one number at risk per day",
        )
    return CurveTarget(name, endpoint, population, points, risk, tol_survival, tol_days, lower, upper, at_risk)
