"""Posterior checks used by the report: predictive event counts and derived-value diagnostics.

The posterior predictive distribution of a count under a gamma prior is negative binomial
in closed form, which the pooled mid-p value and interval must reproduce (tolerance: Monte Carlo
error of 20,000 draws, at most 0.0035 on a probability, so 0.01 is used).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models.checks import landmark_diagnostics, posterior_predictive_counts
from models.intervals import TRANSITIONS
from models.priors import half_event_per_interval
from models.pwe import Model, interval_dim
from models.simulate import simulate_cohort

CUTS = (0, 100, 180, 365, 730)
RCUTS = (0, 90, 365)
TRUE = {
    "relapse": [0.0012, 0.0009, 0.0006, 0.0003, 0.0002],
    "nrm": [0.0006, 0.0004, 0.0003, 0.0002, 0.0001],
    "gvhd": [0.001, 0.0008, 0.0005, 0.0003, 0.0002],
    "death_after_relapse": [0.01, 0.004, 0.002],
}


def _exposure(idata) -> pd.DataFrame:
    rows = []
    c = idata.constant_data
    for k in TRANSITIONS:
        dim = interval_dim(k)
        for t in c["table"].to_numpy():
            for lab in c[dim].to_numpy():
                rows.append(
                    {
                        "table": int(t),
                        "transition": k,
                        "interval": str(lab),
                        "events": float(c[f"events_{k}"].sel(table=t, **{dim: lab})),
                        "exposure_days": float(c[f"exposure_{k}"].sel(table=t, **{dim: lab})),
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def fitted():
    df = simulate_cohort(40, TRUE, CUTS, RCUTS, entry_range=(40, 200), followup_range=(200, 800), seed=3)
    idata = Model(df, priors=half_event_per_interval()).fit(engine="exact", draws=5_000, chains=4, seed=11)
    return idata, _exposure(idata)


def test_predictive_counts_match_the_negative_binomial(fitted):
    idata, ex = fitted
    ppc = posterior_predictive_counts(idata, ex)
    assert len(ppc) == 3 * len(CUTS) + len(RCUTS)
    a0, b0 = 0.5, 182.5  # Gamma(0.5, 0.5 patient-years) on every interval (half_event_per_interval)
    checked = 0
    for _, r in ppc.iterrows():
        d, e = r["observed"], r["exposure_days"]
        if e <= 0:
            continue
        nb = stats.nbinom(a0 + d, (b0 + e) / (b0 + 2 * e))
        mid_p = nb.sf(d) + 0.5 * nb.pmf(d)
        assert r["p_value"] == pytest.approx(mid_p, abs=0.01), r
        assert r["predicted_mean"] == pytest.approx(nb.mean(), rel=0.03)
        assert abs(r["predicted_lower"] - nb.ppf(0.025)) <= 1 and abs(r["predicted_upper"] - nb.ppf(0.975)) <= 1
        checked += 1
    assert checked >= 12


def test_landmark_diagnostics_of_independent_draws(fitted):
    idata, _ = fitted
    idata.posterior.attrs.setdefault("landmark_day", 102)
    d = landmark_diagnostics(idata, day=365)
    assert set(d["scale"]) == {"from_transplant", "conditional"}
    assert set(d["quantity"]) == {"relapse_cif", "nrm_cif", "efs", "os", "grfs"}
    # independent draws: R-hat within 1 +- 0.01, bulk ESS near the 20,000 draws
    assert d["r_hat"].between(0.99, 1.01).all()
    assert (d["ess_bulk"] > 0.8 * 20_000).all()


def test_landmark_diagnostics_flag_chains_that_disagree(fitted):
    idata, _ = fitted
    bad = idata.copy()
    for k in TRANSITIONS:
        v = bad.posterior[f"hazard_{k}"]
        scale = np.ones(v.sizes["chain"])
        scale[0] = 3.0  # one chain on a different hazard level
        bad.posterior[f"hazard_{k}"] = v * scale.reshape(-1, *([1] * (v.ndim - 1)))
    d = landmark_diagnostics(bad, day=365, landmark=102)
    assert (d.loc[d["quantity"] == "relapse_cif", "r_hat"] > 1.05).all()
