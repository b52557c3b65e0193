"""Derived quantities against closed forms (constant hazards) and numerical integration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from models.derived import (
    Claim,
    claims_table,
    conditional_curves,
    cumulative_hazard,
    curves,
    default_claims,
    reconstruction_variance,
    summary_table,
)

CUTS = (0, 100, 180, 365, 730)
RCUTS = (0, 90, 365)
LR, LN, LG, MU = 1 / 800, 1 / 2000, 1 / 1500, 1 / 200


def _constant(n: int = 2, scale: np.ndarray | None = None) -> dict[str, np.ndarray]:
    s = np.ones((n, 1)) if scale is None else scale[:, None]
    return {
        "relapse": LR * s * np.ones((n, len(CUTS))),
        "nrm": LN * s * np.ones((n, len(CUTS))),
        "gvhd": LG * s * np.ones((n, len(CUTS))),
        "death_after_relapse": MU * s * np.ones((n, len(RCUTS))),
    }


def _os_closed_form(t: np.ndarray, lr: float, ln: float, mu: float) -> np.ndarray:
    """Illness–death OS with constant hazards: e^{-l0 t} + lr/(l0-mu) (e^{-mu t} - e^{-l0 t})."""
    l0 = lr + ln
    return np.exp(-l0 * t) + lr / (l0 - mu) * (np.exp(-mu * t) - np.exp(-l0 * t))


def test_cumulative_hazard_by_hand():
    lam = np.array([[0.01, 0.02, 0.03]])
    got = cumulative_hazard(lam, (0, 10, 20), np.array([0, 5, 10, 15, 30]))
    np.testing.assert_allclose(got, [[0, 0.05, 0.1, 0.2, 0.1 + 0.2 + 0.3]])


def test_constant_hazards_match_closed_forms():
    cv = curves(_constant(), CUTS, RCUTS, 900)
    t = np.arange(901.0)
    l0 = LR + LN
    np.testing.assert_allclose(cv.efs[0], np.exp(-l0 * t), atol=1e-13)
    np.testing.assert_allclose(cv.relapse_cif[0], LR / l0 * (1 - np.exp(-l0 * t)), atol=1e-13)
    np.testing.assert_allclose(cv.nrm_cif[0], LN / l0 * (1 - np.exp(-l0 * t)), atol=1e-13)
    np.testing.assert_allclose(cv.grfs[0], np.exp(-(l0 + LG) * t), atol=1e-13)
    # discrete convolution (midpoint rule): error O(h^2), below 1e-6 for these hazards
    np.testing.assert_allclose(cv.os[0], _os_closed_form(t, LR, LN, MU), atol=1e-6)


@pytest.mark.parametrize("mu", [1 / 30, 1 / 200, 1 / 5000])
def test_os_convolution_for_fast_and_slow_death_after_relapse(mu):
    hz = _constant(1)
    hz["death_after_relapse"][:] = mu
    cv = curves(hz, CUTS, RCUTS, 730)
    t = np.arange(731.0)
    np.testing.assert_allclose(cv.os[0], _os_closed_form(t, LR, LN, mu), atol=2e-6)


def test_piecewise_hazards_with_non_integer_cuts_match_numerical_integration():
    cuts = (0, 50.5, 200.25)
    rcuts = (0, 30.5)
    hz = {
        "relapse": np.array([[0.004, 0.001, 0.0005]]),
        "nrm": np.array([[0.002, 0.0003, 0.0001]]),
        "gvhd": np.array([[0.003, 0.002, 0.001]]),
        "death_after_relapse": np.array([[0.02, 0.004]]),
    }
    cv = curves(hz, cuts, rcuts, 400)

    def lam(k, t):
        return hz[k][0][np.searchsorted(cuts, t, side="right") - 1]

    def s0(t):
        return np.exp(-cumulative_hazard(hz["relapse"] + hz["nrm"], cuts, np.array([t]))[0, 0])

    def sr(x):
        return np.exp(-cumulative_hazard(hz["death_after_relapse"], rcuts, np.array([x]))[0, 0])

    for t in (30, 50, 51, 120, 200, 201, 365):
        pts = [c for c in cuts if 0 < c < t]
        cif = quad(lambda u: s0(u) * lam("relapse", u), 0, t, points=pts, limit=200)[0]
        nrm = quad(lambda u: s0(u) * lam("nrm", u), 0, t, points=pts, limit=200)[0]
        os_ = (
            s0(t)
            + quad(
                lambda u, t=t: s0(u) * lam("relapse", u) * sr(t - u),
                0,
                t,
                points=pts + [t - 30.5] * (t > 30.5),
                limit=400,
            )[0]
        )
        assert cv.relapse_cif[0, t] == pytest.approx(cif, abs=1e-10)
        assert cv.nrm_cif[0, t] == pytest.approx(nrm, abs=1e-10)
        assert cv.os[0, t] == pytest.approx(os_, abs=5e-6)


def test_probabilities_are_coherent():
    rng = np.random.default_rng(1)
    cv = curves(_constant(50, rng.gamma(2.0, 0.5, 50)), CUTS, RCUTS, 800)
    np.testing.assert_allclose(cv.relapse_cif + cv.nrm_cif + cv.efs, 1.0, atol=1e-12)
    assert (cv.os >= cv.efs - 1e-12).all() and (cv.os <= 1).all()
    assert (np.diff(cv.os, axis=1) <= 1e-12).all() and (np.diff(cv.relapse_cif, axis=1) >= 0).all()
    assert (cv.grfs <= cv.efs + 1e-15).all()


def test_conditional_curves_are_memoryless_for_constant_hazards():
    cv = curves(_constant(), CUTS, RCUTS, 900)
    s = 102
    cc = conditional_curves(cv, s)
    assert np.isnan(cc.os[0, :s]).all() and not np.isnan(cc.os[0, s:]).any()
    tt = np.arange(901.0)[s:] - s
    l0 = LR + LN
    np.testing.assert_allclose(cc.relapse_cif[0, s:], LR / l0 * (1 - np.exp(-l0 * tt)), atol=1e-12)
    np.testing.assert_allclose(cc.efs[0, s:], np.exp(-l0 * tt), atol=1e-12)
    np.testing.assert_allclose(cc.grfs[0, s:], np.exp(-(l0 + LG) * tt), atol=1e-12)
    np.testing.assert_allclose(cc.os[0, s:], _os_closed_form(tt, LR, LN, MU), atol=1e-6)


def test_claims_are_fractions_of_draws():
    cv = curves(_constant(4, np.array([0.2, 1.0, 3.0, 10.0])), CUTS, RCUTS, 400)
    rel = cv.relapse_cif[:, 365]
    claim = Claim("x", "relapse_cif", 365, "<", float(np.sort(rel)[1]) + 1e-12)
    assert claim.probability(cv) == 0.5
    tab = claims_table({"from_transplant": cv}, default_claims())
    assert list(tab["claim"]) == [c.name for c in default_claims()]
    assert tab["probability"].between(0, 1).all()
    assert tab.loc[tab["claim"] == "relapse_1y_below_no_maintenance_benchmark", "threshold"].item() == 0.20


def test_reconstruction_variance_by_hand():
    # two tables: relapse scale factors give known CIF values; within/between computed directly
    scale = np.array([0.5, 1.5, 3.0, 5.0])
    cv = curves(_constant(4, scale), CUTS, RCUTS, 400)
    table = np.array([0, 0, 1, 1])
    rv = reconstruction_variance({"from_transplant": cv}, table, days=(365,))
    v = cv.relapse_cif[:, 365]
    within = (v[:2].var() + v[2:].var()) / 2
    between = np.var([v[:2].mean(), v[2:].mean()])
    row = rv[rv["quantity"] == "relapse_cif"].iloc[0]
    assert row["within_variance"] == pytest.approx(within)
    assert row["between_variance"] == pytest.approx(between)
    assert row["between_share"] == pytest.approx(between / (within + between))
    one = reconstruction_variance({"from_transplant": cv}, np.zeros(4, int), days=(365,))
    assert (one["between_share"] == 0).all()


def test_summary_table_is_tidy_with_equal_tailed_intervals():
    rng = np.random.default_rng(3)
    cv = curves(_constant(400, rng.gamma(5.0, 0.2, 400)), CUTS, RCUTS, 800)
    tab = summary_table({"from_transplant": cv, "conditional": conditional_curves(cv, 102)})
    assert list(tab.columns) == ["quantity", "scale", "day", "mean", "median", "lower", "upper"]
    assert set(tab["day"]) == {180, 365, 730}
    row = tab[(tab["quantity"] == "os") & (tab["scale"] == "from_transplant") & (tab["day"] == 365)].iloc[0]
    assert row["lower"] == pytest.approx(np.quantile(cv.os[:, 365], 0.025))
    assert row["upper"] == pytest.approx(np.quantile(cv.os[:, 365], 0.975))
    assert (tab["lower"] <= tab["median"]).all() and (tab["median"] <= tab["upper"]).all()
