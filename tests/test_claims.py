"""Claims as cited data: benchmarks computed from sources.toml figures, bad files rejected."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.claims import load_claims, parse_claims
from models.errors import ConfigError


def test_shipped_claims_and_their_benchmarks():
    claims = {c.name: c for c in load_claims()}
    lenient = claims["relapse_1y_below_benchmark_lenient"]
    assert lenient.threshold == 0.187 and lenient.figures == ("xu2014_relapse_3y_haplo",)
    strict = claims["relapse_1y_below_benchmark_strict"]
    # hand computation: Chang 2020 haplo arm, 3-year CIR 0.23 and NRM 0.11, constant hazards
    t = 3 * 365.25
    lam = -math.log(1 - 0.23 - 0.11) / t
    expected = 0.23 / 0.34 * (1 - math.exp(-lam * 365))
    assert strict.threshold == pytest.approx(expected, rel=1e-12)
    assert round(100 * strict.threshold, 1) == 8.7
    assert strict.holds(np.array([0.05, 0.2])).tolist() == [True, False]
    assert claims["os_1y_above_80pct"].holds(np.array([0.85, 0.7])).tolist() == [True, False]


BASE = {"name": "c", "quantity": "relapse_cif", "day": 365, "op": "<", "threshold": 0.1, "reason": "a clinical value"}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"quantity": "pfs"}, "key 'claim.0.quantity'"),
        ({"op": "<="}, "key 'claim.0.op'"),
        ({"threshold": 1.2}, "key 'claim.0.threshold'"),
        ({"day": 0}, "key 'claim.0.day'"),
        ({"benchmark": {"relapse": "xu2014_relapse_3y_haplo", "conversion": "as_reported"}}, "exactly one"),
        ({"reason": "x"}, "key 'claim.0.reason'"),
        ({"colour": 1}, "key 'claim.0.colour'"),
    ],
)
def test_bad_claims_are_one_line_errors(change, fragment):
    with pytest.raises(ConfigError) as err:
        parse_claims([{**BASE, **change}], "claims.toml")
    assert fragment in str(err.value) and "claims.toml" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("bench", "fragment"),
    [
        ({"relapse": "no_such_figure", "conversion": "as_reported"}, "figure key"),
        ({"relapse": "xu2014_relapse_3y_haplo", "conversion": "magic"}, "conversion"),
        ({"relapse": "chang2020_cir_3y_haplo", "conversion": "constant_hazard"}, "figure key"),
    ],
)
def test_bad_benchmarks(bench, fragment):
    entry = {k: v for k, v in BASE.items() if k != "threshold"} | {"benchmark": bench}
    with pytest.raises(ConfigError, match=fragment):
        parse_claims([entry], "claims.toml")


def test_a_claim_may_carry_its_own_words_for_readers(tmp_path):
    from models.labels import claim_entries

    text = (
        '[[claim]]\nname = "os_good"\nquantity = "os"\nop = ">"\nthreshold = 0.8\n'
        'reason = "a round clinical value for survival"\ndescription = "one-year survival above 80%"\n'
    )
    path = tmp_path / "claims.toml"
    path.write_text(text)
    (claim,) = load_claims(path)
    assert claim.description == "one-year survival above 80%"
    assert claim_entries(path) == {"os_good": {"description": "one-year survival above 80%"}}
    path.write_text(text.replace('"one-year survival above 80%"', '""'))
    with pytest.raises(ConfigError, match=r"description"):
        load_claims(path)
