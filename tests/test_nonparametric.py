"""Kaplan–Meier with R's log interval and Aalen–Johansen, against hand computations.

Hand case (R: ``survfit(Surv(t, d) ~ 1, conf.type = "log")`` uses exactly these formulas):
times 2,3,3+,5,6+,7,8+,9,10+,12+ (``+`` censored). At risk 10, 9, 7, 5, 4 at the deaths
2, 3, 5, 7, 9; R (and lifelines) count a death before a censoring at the same time.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from models.constants import Z_CI
from models.nonparametric import cif_at, km_at, km_curve

T = np.array([2, 3, 3, 5, 6, 7, 8, 9, 10, 12], float)
D = np.array([1, 1, 0, 1, 0, 1, 0, 1, 0, 0])


def test_km_at_equals_hand_greenwood_log_interval():
    s = Fraction(9, 10) * Fraction(8, 9) * Fraction(6, 7) * Fraction(4, 5)
    var = Fraction(1, 90) + Fraction(1, 72) + Fraction(1, 42) + Fraction(1, 20)
    est = km_at(T, D, 8.0)
    assert est.estimate == pytest.approx(float(s), abs=1e-12)
    assert est.greenwood_var_log == pytest.approx(float(var), abs=1e-12)
    assert est.lower == pytest.approx(float(s) * math.exp(-Z_CI * math.sqrt(float(var))), abs=1e-12)
    assert est.upper == pytest.approx(min(1.0, float(s) * math.exp(Z_CI * math.sqrt(float(var)))), abs=1e-12)


def test_km_upper_bound_truncated_at_one_and_no_events():
    est = km_at(T, D, 1.0)
    assert (est.estimate, est.lower, est.upper) == (1.0, 1.0, 1.0)
    assert km_at(T, D, 2.0).upper == 1.0


def test_km_delayed_entry_changes_risk_sets():
    # Patient 4 (death at 5) enters at 4.5, so the risk sets at the deaths on days 2 and 3 are
    # 9 and 8 instead of 10 and 9.
    entry = np.zeros(len(T))
    entry[3] = 4.5
    est = km_at(T, D, 3.0, entry=entry)
    assert est.estimate == pytest.approx((1 - 1 / 9) * (1 - 1 / 8), abs=1e-12)
    assert est.greenwood_var_log == pytest.approx(1 / (9 * 8) + 1 / (8 * 7), abs=1e-12)


def test_km_curve_matches_pointwise():
    curve = km_curve(T, D)
    row = curve[curve["time"] == 7.0].iloc[0]
    est = km_at(T, D, 7.0)
    assert row["estimate"] == pytest.approx(est.estimate)
    assert row["lower"] == pytest.approx(est.lower)


def test_aalen_johansen_hand_case():
    # causes: relapse (1) at 3 and 7, competing death (2) at 2 and 5.
    ev = np.array([2, 1, 0, 2, 0, 1, 0, 0, 0, 0])
    # CIF_1(8) = S(3-)*1/9 + S(7-)*1/5 with S(3-) = 9/10, S(7-) = 9/10 * 8/9 * 6/7
    expected = 0.9 / 9 + (0.9 * 8 / 9 * 6 / 7) / 5
    assert cif_at(T, ev, 1, 8.0) == pytest.approx(expected, abs=1e-6)
    assert cif_at(T, ev, 1, 1.0) == 0.0


def test_rows_leaving_on_their_entry_day_have_no_time_at_risk():
    # whole-day data: a patient may enter and die on the same day; lifelines refuses (t <= entry),
    # and under left truncation such a row adds nothing to any risk set, so it is left out
    import numpy as np

    from models.nonparametric import aalen_johansen, km_curve

    duration = np.array([10.0, 20.0, 30.0, 15.0, 40.0])
    event = np.array([1, 0, 2, 1, 0])
    entry = np.array([0.0, 5.0, 5.0, 15.0, 10.0])  # the fourth leaves on its entry day
    keep = duration > entry
    full = km_curve(duration, event, entry)
    same = km_curve(duration[keep], event[keep], entry[keep])
    assert full.equals(same)
    a = aalen_johansen(duration, event, 1, entry)
    b = aalen_johansen(duration[keep], event[keep], 1, entry[keep])
    assert a.equals(b)
