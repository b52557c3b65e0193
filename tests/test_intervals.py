"""Events and exposure per transition and interval, against tables computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.data import validate_outcomes
from models.errors import ConfigError
from models.intervals import interval_labels, split_exposure, transition_data, validate_cuts

CUTS = (0, 100, 180, 365)
RCUTS = (0, 90)


@pytest.mark.parametrize(
    ("cuts", "fragment"),
    [
        ((), "at least the cut point 0"),
        ((10, 100), "starting at 0"),
        ((0, 100, 100), "strictly increasing"),
        ((0, 180, 100), "strictly increasing"),
        ((0, float("inf")), "finite"),
        ((0, float("nan")), "finite"),
        (("a",), "numbers of days"),
    ],
)
def test_bad_cut_points_raise_config_error_naming_the_option(cuts, fragment):
    with pytest.raises(ConfigError) as err:
        validate_cuts(cuts, option="--cuts")
    msg = str(err.value)
    assert msg.startswith("--cuts") and fragment in msg and "\n" not in msg


def test_good_cut_points_and_labels():
    np.testing.assert_array_equal(validate_cuts([0, 100.5, 200]), [0.0, 100.5, 200.0])
    assert interval_labels((0, 100, 180)) == ["0-100", "100-180", "180+"]
    assert interval_labels((0,)) == ["0+"]


def test_split_exposure_by_hand():
    # A: (0, 150] event; B: (50, 100] event exactly on a cut (counted in the interval ending there);
    # C: (120, 300] censored; D: (200, 200] zero-length, censored.
    start = np.array([0.0, 50.0, 120.0, 200.0])
    stop = np.array([150.0, 100.0, 300.0, 200.0])
    event = np.array([True, True, False, False])
    d, e = split_exposure(start, stop, event, (0, 100, 180))
    np.testing.assert_array_equal(e, [100 + 50, 50 + 60, 120])
    np.testing.assert_array_equal(d, [1, 1, 0])


def _hand_table() -> pd.DataFrame:
    rows = [
        # P1 relapses on day 150 and dies of relapse on day 250
        ["P1", "60", "150", "", "250", "relapse", "250"],
        # P2 event-free, followed to day 400
        ["P2", "100", "", "", "", "", "400"],
        # P3 GvHD on day 120, NRM on day 200
        ["P3", "80", "", "120", "200", "nrm", "200"],
        # P4 GvHD and relapse on the same day 90: counted once, as relapse; alive at day 300
        ["P4", "50", "90", "90", "", "", "300"],
    ]
    cols = ["patient", "entry_day", "relapse_day", "gvhd_day", "death_day", "death_cause", "last_followup_day"]
    return validate_outcomes(pd.DataFrame(rows, columns=cols), "hand table")


def test_transition_data_with_delayed_entry_by_hand():
    td = transition_data(_hand_table(), CUTS, RCUTS)
    # remission exposure: P1 (60,150], P2 (100,400], P3 (80,200], P4 (50,90]
    np.testing.assert_allclose(td.exposure["relapse"], [40 + 20 + 40, 50 + 80 + 80, 185 + 20, 35])
    np.testing.assert_allclose(td.exposure["nrm"], td.exposure["relapse"])
    np.testing.assert_array_equal(td.events["relapse"], [1, 1, 0, 0])  # P4 day 90, P1 day 150
    np.testing.assert_array_equal(td.events["nrm"], [0, 0, 1, 0])  # P3 day 200
    # GvHD: P1 (60,150], P2 (100,400], P3 (80,120] event, P4 (50,90] no event (tie with relapse)
    np.testing.assert_allclose(td.exposure["gvhd"], [40 + 20 + 40, 50 + 80 + 20, 185, 35])
    np.testing.assert_array_equal(td.events["gvhd"], [0, 1, 0, 0])
    # death after relapse, days since relapse: P1 (0,100] death, P4 (0,210] alive
    np.testing.assert_allclose(td.exposure["death_after_relapse"], [90 + 90, 10 + 120])
    np.testing.assert_array_equal(td.events["death_after_relapse"], [0, 1])


def test_transition_data_from_transplant_by_hand():
    td = transition_data(_hand_table(), CUTS, RCUTS, from_transplant=True)
    # everyone at risk from day 0: P1 (0,150], P2 (0,400], P3 (0,200], P4 (0,90]
    np.testing.assert_allclose(td.exposure["relapse"], [100 + 100 + 100 + 90, 50 + 80 + 80, 185 + 20, 35])
    np.testing.assert_array_equal(td.events["relapse"], [1, 1, 0, 0])
    np.testing.assert_allclose(td.exposure["gvhd"], [100 + 100 + 100 + 90, 50 + 80 + 20, 185, 35])
    # the clock after relapse does not depend on the entry convention
    np.testing.assert_allclose(td.exposure["death_after_relapse"], [180, 130])
    table = td.table()
    assert list(table.columns) == ["transition", "interval", "events", "exposure_days"]
    assert len(table) == 4 * 3 + 2


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 1000), st.booleans()), min_size=1, max_size=30),
    st.lists(st.floats(1, 900), min_size=0, max_size=5, unique=True),
)
def test_exposure_sums_to_time_at_risk_and_events_are_conserved(periods, inner):
    start = np.array([min(a, b) for a, b, _ in periods])
    stop = np.array([max(a, b) for a, b, _ in periods])
    event = np.array([e for *_, e in periods])
    cuts = np.concatenate([[0.0], np.sort(inner)])
    d, e = split_exposure(start, stop, event, cuts)
    assert e.sum() == pytest.approx(float((stop - start).sum()), rel=1e-9, abs=1e-9)
    assert d.sum() == event.sum()
    assert (e >= 0).all()
