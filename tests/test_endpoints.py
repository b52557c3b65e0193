"""Endpoint derivation on hand-made rows with known answers, and property tests of validation."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.data import OUTCOME_COLUMNS, load_outcomes, validate_outcomes
from models.endpoints import derive
from models.errors import ConfigError, DataError

ROWS = pd.DataFrame(
    {
        "patient": ["P1", "P2", "P3", "P4"],
        "entry_day": [100.0, 60.0, 90.0, 45.0],
        "relapse_day": [np.nan, 200.0, np.nan, 80.0],
        "gvhd_day": [150.0, np.nan, 120.0, 90.0],
        "death_day": [np.nan, 300.0, 250.0, np.nan],
        "death_cause": ["", "relapse", "nrm", ""],
        "last_followup_day": [400.0, 300.0, 250.0, 500.0],
    }
)


@pytest.mark.parametrize(
    ("endpoint", "durations", "events"),
    [
        ("os", [400, 300, 250, 500], [0, 1, 1, 0]),
        ("efs", [400, 200, 250, 80], [0, 1, 1, 1]),
        ("grfs", [150, 200, 120, 80], [1, 1, 1, 1]),
        ("relapse", [400, 200, 250, 80], [0, 1, 2, 1]),
    ],
)
def test_endpoints_known_answers(endpoint, durations, events):
    out = derive(validate_outcomes(ROWS), endpoint)
    assert out["duration"].tolist() == durations
    assert out["event"].tolist() == events
    assert out["entry"].tolist() == [100, 60, 90, 45]
    assert derive(ROWS, endpoint, from_transplant=True)["entry"].tolist() == [0, 0, 0, 0]


def test_death_after_relapse_clock_starts_at_relapse():
    out = derive(ROWS, "death_after_relapse")
    assert out["patient"].tolist() == ["P2", "P4"]
    assert out["duration"].tolist() == [100, 420]
    assert out["event"].tolist() == [1, 0]
    assert out["entry"].tolist() == [0, 0]


def test_unknown_endpoint_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^endpoint: found 'pfs'; expected one of"):
        derive(ROWS, "pfs")


# ----------------------------------------------------------------------------- property tests


@st.composite
def outcome_tables(draw, min_size: int = 1, max_size: int = 30) -> pd.DataFrame:
    n = draw(st.integers(min_size, max_size))
    rows = []
    for i in range(n):
        entry = draw(st.integers(0, 300))
        last = entry + draw(st.integers(0, 800))
        relapse = draw(st.one_of(st.none(), st.integers(entry, last)))
        gvhd = draw(st.one_of(st.none(), st.integers(entry, last)))
        died = draw(st.booleans())
        cause = ("relapse" if relapse is not None else "nrm") if died else ""
        rows.append(
            {
                "patient": f"P{i + 1}",
                "entry_day": entry,
                "relapse_day": relapse,
                "gvhd_day": gvhd,
                "death_day": last if died else None,
                "death_cause": cause,
                "last_followup_day": last,
            }
        )
    return pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS))


def _csv(df: pd.DataFrame) -> str:
    out = df.copy()
    for c in ("entry_day", "relapse_day", "gvhd_day", "death_day", "last_followup_day"):
        out[c] = ["" if v is None or pd.isna(v) else str(int(v)) for v in out[c]]
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=outcome_tables())
def test_random_valid_tables_always_load(tmp_path, table):
    path = tmp_path / "valid.csv"
    path.write_text(_csv(table))
    df = load_outcomes(path)
    assert len(df) == len(table)
    for endpoint in ("os", "efs", "grfs", "relapse"):
        ep = derive(df, endpoint)
        assert (ep["duration"] >= ep["entry"]).all()
        assert set(ep["event"]).issubset({0, 1, 2})
    efs, os_ = derive(df, "efs"), derive(df, "os")
    assert (efs["duration"] <= os_["duration"]).all()


CORRUPTIONS = (
    "negative_entry",
    "text_time",
    "empty_last",
    "unknown_cause",
    "relapse_after_last",
    "entry_after_last",
    "duplicate_id",
    "drop_column",
    "death_not_last",
    "infinite_time",
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=outcome_tables(min_size=2), kind=st.sampled_from(CORRUPTIONS), data=st.data())
def test_random_corruptions_are_rejected_with_one_line(tmp_path, table, kind, data):
    i = data.draw(st.integers(0, len(table) - 1))
    t = table.astype(object)
    last = int(t.loc[i, "last_followup_day"])
    if kind == "negative_entry":
        t.loc[i, "entry_day"] = -1 - data.draw(st.integers(0, 50))
    elif kind == "text_time":
        col = data.draw(st.sampled_from(["entry_day", "relapse_day", "gvhd_day", "last_followup_day"]))
        t.loc[i, col] = "x" + str(data.draw(st.integers(0, 9)))
    elif kind == "empty_last":
        t.loc[i, "last_followup_day"] = None
    elif kind == "unknown_cause":
        t.loc[i, "death_cause"] = data.draw(st.sampled_from(["gvhd", "other", "Relapse", "NRM"]))
    elif kind == "relapse_after_last":
        t.loc[i, "relapse_day"] = last + 1 + data.draw(st.integers(0, 100))
    elif kind == "entry_after_last":
        t.loc[i, "entry_day"] = last + 1
    elif kind == "duplicate_id":
        t.loc[i, "patient"] = t.loc[(i + 1) % len(t), "patient"]
    elif kind == "drop_column":
        t = t.drop(columns=data.draw(st.sampled_from(list(OUTCOME_COLUMNS))))
    elif kind == "death_not_last":
        t.loc[i, "death_day"] = last + 1
        t.loc[i, "death_cause"] = (
            "relapse" if t.loc[i, "relapse_day"] is not None and not pd.isna(t.loc[i, "relapse_day"]) else "nrm"
        )
    elif kind == "infinite_time":
        t.loc[i, "gvhd_day"] = "inf"
    path = tmp_path / "corrupt.csv"
    if kind in ("text_time", "infinite_time"):
        buf = io.StringIO()
        t.to_csv(buf, index=False, lineterminator="\n")
        text = buf.getvalue().replace(".0,", ",").replace(".0\n", "\n")
    else:
        text = _csv(t) if "drop" not in kind else t.to_csv(index=False, lineterminator="\n")
    path.write_text(text)
    with pytest.raises(DataError) as err:
        load_outcomes(path)
    msg = str(err.value)
    assert "\n" not in msg and "corrupt.csv" in msg
