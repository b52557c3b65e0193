"""Box's prior-predictive check: exact, bounded in cost, and attributed to the prior's parts."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import stats

from models.intervals import TRANSITIONS, TransitionData
from models.prior_conflict import box_check, conflict_pvalue, conflict_table, interval_parts, predictive_pmf
from models.prior_library import LibraryPriorSet, TransitionProvenance, robustify
from models.priors import GammaMixture, weak

CUTS = (0.0, 100.0, 180.0, 365.0, 730.0)
RCUTS = (0.0, 90.0, 365.0)


def _td(rel_events, rel_exposure) -> TransitionData:
    ev = {k: np.zeros(3 if k == "death_after_relapse" else 5) for k in TRANSITIONS}
    ex = {k: np.zeros(3 if k == "death_after_relapse" else 5) for k in TRANSITIONS}
    ev["relapse"], ex["relapse"] = np.asarray(rel_events, float), np.asarray(rel_exposure, float)
    cuts = {k: np.asarray(RCUTS if k == "death_after_relapse" else CUTS) for k in TRANSITIONS}
    return TransitionData(ev, ex, cuts)


def test_truncated_pmf_gives_the_exact_tails():
    # one gamma, one interval: the predictive is NegBin(a, b/(b+E)); the tails need the pmf up to y only
    a, b, e, y = 2.0, 2000.0, 1500.0, 4
    nb = stats.nbinom(a, b / (b + e))
    res = box_check([GammaMixture.single(a, b)], [y], [e])
    assert res["p_le"] == pytest.approx(nb.cdf(y), rel=1e-12)
    assert res["p_ge"] == pytest.approx(nb.sf(y - 1), rel=1e-12)
    assert res["p_value"] == pytest.approx(min(1, 2 * min(nb.cdf(y), nb.sf(y - 1))), rel=1e-12)
    assert res["prior_predictive_mean"] == pytest.approx(a / b * e)


def test_sum_of_intervals_matches_a_long_convolution():
    priors = [GammaMixture((0.7, 0.3), (3.0, 0.2), (3000.0, 70.0)), GammaMixture.single(0.5, 182.5)]
    e = [900.0, 1400.0]
    long = predictive_pmf(priors, e, 400)
    for y in (0, 1, 3, 7):
        short = predictive_pmf(priors, e, y)
        np.testing.assert_allclose(short, long[: y + 1], rtol=1e-10, atol=1e-15)
        assert conflict_pvalue(short, y) == pytest.approx(conflict_pvalue(long, y), abs=1e-10)


def test_near_improper_priors_and_huge_cohorts_are_fast():
    # Gamma(0.01, 1 day) and Gamma(1e-3, 1e-3 days): support rules based on the prior's spread
    # would need millions of terms; the truncated pmf needs observed + 1, whatever the exposure
    for g in (GammaMixture.single(0.01, 1.0), GammaMixture.single(1e-3, 1e-3)):
        t0 = time.perf_counter()
        res = box_check([g] * 5, [3, 0, 2, 1, 0], [2e6, 1e6, 5e5, 3e5, 1e5])
        assert time.perf_counter() - t0 < 2.0
        assert 0 <= res["p_value"] <= 1
    # 20,000 patients' worth of exposure and 2,000 events: the FFT path
    t0 = time.perf_counter()
    res = box_check([GammaMixture.single(50.0, 5e5)] * 5, [400] * 5, [1e6] * 5)
    assert time.perf_counter() - t0 < 2.0
    assert res["prior_predictive_mean"] == pytest.approx(500.0)
    assert res["p_value"] < 1e-6  # 2,000 observed against 500 predicted


def _robust_set(w: float = 0.8) -> LibraryPriorSet:
    base = weak(CUTS, RCUTS)
    b = base.transitions["relapse"]
    inf = GammaMixture.single(b[0].shapes[0] + 2.0, b[0].rates[0] + 2000.0)
    rel = [robustify(inf, w, b[0]), robustify(inf, w, b[1]), b[2], b[3], b[4]]
    prov = {k: TransitionProvenance("weak") for k in TRANSITIONS}
    prov["relapse"] = TransitionProvenance(
        "power", sources=("src",), w=w, pseudo_events=(2.0, 2.0, 0, 0, 0), pseudo_exposure=(2000, 2000, 0, 0, 0)
    )
    return LibraryPriorSet("r", {**base.transitions, "relapse": rel}, provenance=prov)


def test_prediction_is_attributed_to_sources_robust_component_and_baseline():
    ps = _robust_set()
    parts = interval_parts(ps, "relapse", CUTS)
    assert [p.informative is not None for p in parts] == [True, True, False, False, False]
    assert parts[0].w == pytest.approx(0.8) and parts[2].baseline is not None
    e = np.array([500.0, 800.0, 1000.0, 1200.0, 300.0])
    row = conflict_table(ps, _td([1, 0, 0, 0, 0], e)).set_index("transition").loc["relapse"]
    inf_mean = parts[0].informative.mean
    assert row.predicted_informative == pytest.approx(0.8 * inf_mean * (500 + 800))
    assert row.predicted_robust == pytest.approx(0.2 * (parts[0].robust.mean * 500 + parts[1].robust.mean * 800))
    assert row.predicted_baseline == pytest.approx(sum(parts[j].baseline.mean * e[j] for j in (2, 3, 4)))
    assert row.prior_predictive_mean == pytest.approx(
        row.predicted_informative + row.predicted_robust + row.predicted_baseline
    )
    # the sources' own check: the informative components alone on the intervals they inform
    own = box_check([parts[0].informative, parts[1].informative], [1, 0], [500.0, 800.0])
    assert row.sources_predicted_mean == pytest.approx(own["prior_predictive_mean"])
    assert row.sources_p_value == pytest.approx(own["p_value"])
    assert row.sources_observed_events == 1 and row.sources == "src"


def test_weak_prior_has_no_sources_check():
    row = conflict_table(weak(CUTS, RCUTS), _td([1, 0, 0, 0, 0], [500.0] * 5)).set_index("transition")
    assert np.isnan(row.loc["relapse", "sources_p_value"]) and row.loc["relapse", "predicted_informative"] == 0
