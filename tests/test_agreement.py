"""The one verdict on prior-data agreement, selective power-scaling, and the prior-driven flag."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.agreement import DATA, DISAGREE, SOURCES_OVERRULED, STRONG, agreement_table, verdict
from models.constants import DEFAULT_CUTS, RECONSTRUCTED_DIR
from models.data import load_outcomes, outcome_files
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS
from models.power_scaling import fit_power_scaling
from models.prior_library import load_prior_set
from models.prior_weight_tables import ess_table, prior_driven_table
from models.priors import weak
from models.pwe import Model, hazard_draws


def test_rule_order():
    assert verdict(0.01, 0.01, 0.5) == DISAGREE  # Box's p decides disagreement first
    assert verdict(0.20, 0.03, 0.5) == SOURCES_OVERRULED
    assert verdict(0.20, 0.30, 0.05) == STRONG  # power-scaling decides strength
    assert verdict(0.20, float("nan"), 0.049) == DATA
    assert verdict(float("nan"), float("nan"), float("nan")) == DATA


def test_table_uses_the_smallest_p_of_the_transitions_a_quantity_depends_on():
    conflict = pd.DataFrame(
        {
            "transition": ["relapse", "nrm", "gvhd", "death_after_relapse"],
            "p_value": [0.30, 0.04, 0.9, 0.5],
            "sources_p_value": [0.2, np.nan, np.nan, np.nan],
        }
    )
    power = pd.DataFrame(
        {
            "quantity": ["relapse_cif@365", "efs@365", "os@365|102"],
            "prior_sensitivity": [0.01, 0.2, 0.2],
            "likelihood_sensitivity": [0.3, 0.3, 0.3],
        }
    )
    t = agreement_table(conflict, power).set_index("quantity")
    assert t.loc["relapse_cif@365", "verdict"] == DATA and t.loc["relapse_cif@365", "box_p"] == 0.30
    assert t.loc["efs@365", "verdict"] == DISAGREE and t.loc["efs@365", "box_p"] == 0.04
    assert t.loc["os@365|102", "transitions"] == "relapse, nrm, death_after_relapse"


@pytest.fixture(scope="module")
def fitted():
    tables = [load_outcomes(f) for f in outcome_files(RECONSTRUCTED_DIR)[:3]]
    out = {}
    for name in ("weak", "literature"):
        prior = load_prior_set(name)
        model = Model(tables, priors=prior)
        idata = model.fit(engine="exact", draws=1000, chains=2, seed=3)
        hz, ti = hazard_draws(idata, max_draws=None)
        out[name] = (prior, model, hz, ti)
    return out


def test_the_weak_baseline_is_not_power_scaled(fitted):
    prior, model, hz, ti = fitted["weak"]
    ps = fit_power_scaling(prior, model.stats, hz, ti, model.cuts, model.relapse_death_cuts, 365, 102)
    # only the departure from the weak baseline is scaled: for the baseline itself it is zero
    assert np.allclose(ps["prior_sensitivity"], 0.0, atol=1e-6)  # floating-point residue of log p - log p0
    prior, model, hz, ti = fitted["literature"]
    ps = fit_power_scaling(prior, model.stats, hz, ti, model.cuts, model.relapse_death_cuts, 365, 102)
    assert (ps["prior_sensitivity"] > 0.05).all()  # an informative prior on 21 patients moves the answer


def test_prior_driven_flags_intervals_without_data(fitted):
    prior, model, _, _ = fitted["weak"]
    w = ess_table(prior, model.cuts, model.relapse_death_cuts, model.stats)
    flags = prior_driven_table(w, DEFAULT_CUTS, DEFAULT_RELAPSE_DEATH_CUTS, [180, 365], 102)
    rel = flags[(flags.quantity == "relapse_cif") & (flags.scale == "from_transplant")]
    assert not rel["prior_driven"].any()  # the weak baseline never outweighs relapse data here
    # death after relapse beyond day 90 since relapse: nobody at risk in any table -> OS is flagged
    dar = w[(w.transition == "death_after_relapse") & (w.interval == "90-365")]
    assert float(dar["data_exposure_days"].iloc[0]) == 0.0
    os1 = flags[(flags.quantity == "os") & (flags.day == 365) & (flags.scale == "from_transplant")].iloc[0]
    assert os1.prior_driven and "death_after_relapse 90-365" in os1.prior_driven_intervals
    assert weak().name == "weak"
