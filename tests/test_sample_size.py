"""Sample size by root search (models.sample_size): closed forms, the search itself, reproducibility.

Known answers and their provenance:
- Schoenfeld (1983): d = (z_{0.975} + z_{0.8})^2 / (0.25 log^2 0.5) = 65.35 relapses for HR 0.5, 1:1;
- Freedman (1982): d = (z_{0.975} + z_{0.8})^2 (1 + 0.5)^2 / (1 - 0.5)^2 = 70.64 relapses;
- the probability of observing a relapse under uniform accrual, fixed follow-up, exponential
  dropout and competing NRM (closed form) against the simulated mean number of relapses;
- a brute-force reading of the same simulated trials at every admissible N.

What the closed-form check asserts, and why: for HR 0.5 Schoenfeld's asymptotic formula is known
to be slightly anti-conservative (too few patients) and Freedman's conservative (too many; Hsieh,
Stat Med 1992), so the exact N for 80% log-rank power lies between them, and the two differ by
about 6% here. The root search estimates that exact N to within +-2% (its 95% Monte Carlo
interval). The right check is therefore that the Monte Carlo interval *meets* the closed-form
bracket [N_Schoenfeld, N_Freedman] (n_lower <= N_Freedman and n_upper >= N_Schoenfeld), and that
the simulated relapses at the searched N lie between the two formulas' event counts up to the 2%
precision; requiring the +-2% interval to *contain* a bracket 8% wide would be impossible for a
precise search and would reward an imprecise one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_design import BASE

from models import design as dz
from models import sample_size as ssz

#: No interim, constant cause-specific hazards (relapse and competing NRM), exponential dropout,
#: calendar-time analysis, two-sided alpha 0.05 (one-sided 0.025), target 80%, HR 0.5, 1:1.
#: Higher hazards and slower accrual than the shipped design keep N (about 180) cheap to simulate.
CLOSED_FORM = (
    BASE.replace("relapse_cif = 0.23", "relapse_cif = 0.6")
    .replace("nrm_cif = 0.11", "nrm_cif = 0.15")
    .replace("accrual_per_month = 10.0", "accrual_per_month = 6.0")
    .replace("n = [60, 120]", "n = [120, 160, 200, 240]")
    .replace("n_sims = 200", "n_sims = 2000")
    .replace("chunk_trials = 100", "chunk_trials = 500")
)
SEARCH = ssz.SearchSettings(rel_tol=0.02, n_trials=2000, max_trials=16000)


@pytest.fixture(scope="module")
def closed_form_design(tmp_path_factory) -> dz.Design:
    path = tmp_path_factory.mktemp("ss") / "closed_form.toml"
    path.write_text(CLOSED_FORM, encoding="utf-8")
    return dz.load_design(path, design_priors=False)


@pytest.fixture(scope="module")
def searched(closed_form_design):
    """Grid, sampler and root search (both analyses) of the closed-form design, run once."""
    d = closed_form_design
    oc = dz.summarise(dz.run_design(d, workers=1), d)
    sampler = ssz.CrnSampler(d, seed=11, workers=1)
    out = {}
    for analysis in ("frequentist", "bayesian"):
        col = "p_success_freq" if analysis == "frequentist" else "p_success"
        br = ssz._bracket(oc[oc["scenario"] == "alternative"], col, d.target, 2)
        out[analysis] = ssz.find_sample_size(sampler, 1, analysis, br, target=d.target, n_cap=240, settings=SEARCH)
    return d, sampler, out


# -------------------------------------------------------------------------------------- closed forms
def test_schoenfeld_and_freedman_event_counts():
    z2 = (1.959963984540054 + 0.8416212335729143) ** 2
    assert z2 / (0.25 * math.log(0.5) ** 2) == pytest.approx(65.3457, abs=1e-4)
    assert ssz.freedman_events(0.5, 0.05, 0.8) == pytest.approx(z2 * 1.5**2 / 0.5**2, rel=1e-12)
    assert ssz.freedman_events(0.5, 0.05, 0.8) == pytest.approx(70.6399, abs=1e-4)
    # unequal allocation phi = 2: (z + z)^2 (1 + 2 * 0.5)^2 / (2 * 0.5^2)
    assert ssz.freedman_events(0.5, 0.05, 0.8, ratio=2.0) == pytest.approx(z2 * 4 / 0.5, rel=1e-12)


def test_relapse_probability_matches_simulated_relapses(closed_form_design):
    d = closed_form_design
    n = 180
    alt = dz.summarise(dz.run_design(d, workers=1, n_grid=[n], n_sims=2000), d).query("scenario == 'alternative'")
    expected = n * ssz.relapse_probability(d, n, 0.5, 1.0)
    sim, se = alt["mean_relapses"].iloc[0], alt["mean_relapses_mcse"].iloc[0]
    assert abs(sim - expected) < 4 * se, (sim, expected, se)


def test_events_to_n_inverts_the_expected_events(closed_form_design):
    d = closed_form_design
    for events in (20.0, 65.3, 140.0):
        n = ssz.events_to_n(d, events, 0.5)
        assert n * ssz.relapse_probability(d, n, 0.5) == pytest.approx(events, rel=1e-9)


def test_allocation_step_and_rounding(closed_form_design):
    d = closed_form_design
    assert ssz.allocation_step(d) == 2
    assert ssz.allocation_step(type(d)(**{**d.__dict__, "allocation_ratio": 2.0})) == 3
    assert ssz.allocation_step(type(d)(**{**d.__dict__, "allocation_ratio": 1.5})) == 5
    assert ssz.allocation_step(type(d)(**{**d.__dict__, "kind": "single_arm"})) == 1
    assert [ssz.round_up(v, 2) for v in (401.0, 402.0, 402.0000000001, 400.2)] == [402, 402, 402, 402]


# ------------------------------------------------------------------------------------------ the search
def test_logrank_sample_size_agrees_with_schoenfeld_and_freedman(searched):
    d, _, res = searched
    r = res["frequentist"]
    cf = ssz.closed_form_sample_sizes(d, d.scenarios[1])
    assert (cf["schoenfeld_n"], cf["freedman_n"]) == (174.0, 184.0)
    assert r["within_tolerance"] and r["rel_halfwidth"] <= 0.02
    # the 95% Monte Carlo interval meets the bracket [Schoenfeld, Freedman] (see the module docstring)
    assert r["n_lower"] <= cf["freedman_n"] and r["n_upper"] >= cf["schoenfeld_n"], (r, cf)
    # no interim here: the simulated relapses at the searched N lie between the formulas' counts (2% precision)
    assert 0.98 * cf["schoenfeld_relapses"] <= r["mean_relapses_at_n"] <= 1.02 * cf["freedman_relapses"], r
    assert abs(r["p_at_n"] - 0.8) < 3 * r["p_at_n_mcse"] + 0.01
    assert r["n_point"] % 2 == 0 and r["n_lower"] <= r["n_point"] <= r["n_upper"]


def test_root_search_matches_a_dense_grid_of_the_same_trials(searched):
    d, sampler, res = searched
    r = res["bayesian"]
    T = int(r["n_trials"])
    ns = list(range(ssz.round_up(0.9 * r["n_point"], 2), ssz.round_up(1.1 * r["n_point"], 2) + 1, 2))
    sampler.ensure(1, ns, T)
    p = np.array([sampler.get(1, n, T, "success").mean() for n in ns])
    brute = ns[int(np.flatnonzero(p >= d.target)[0])]
    assert abs(r["n_point"] - brute) <= 0.02 * brute, (r["n_point"], brute)
    assert r["n_lower"] <= brute <= r["n_upper"]
    # common random numbers: the simulated curve is close to monotone over the dense grid
    assert np.all(np.diff(p) > -0.01)


def test_common_random_numbers_nest_the_patients(closed_form_design):
    d = closed_form_design
    small = ssz.crn_patients(d, d.scenarios[1], 10, 4, 3, (0, 1, 0))
    large = ssz.crn_patients(d, d.scenarios[1], 14, 4, 3, (0, 1, 0))
    n1 = small["n1"]  # treatment arm first; the first ten patients are the same people in both trials
    assert n1 == 5 and large["n1"] == 7
    np.testing.assert_array_equal(small["u"][:, :n1], large["u"][:, :n1])
    np.testing.assert_array_equal(small["u"][:, n1:], large["u"][:, 7:12])
    np.testing.assert_array_equal(small["cause"][:, :n1], large["cause"][:, :n1])


def test_probit_fit_recovers_known_parameters():
    from scipy import special

    x = np.log([100.0, 120.0, 140.0, 160.0]) - math.log(130.0)
    y = 1000.0 * special.ndtr(0.3 + 4.0 * x)
    a, b = ssz.probit_fit(x, y, 1000.0)
    assert float(a) == pytest.approx(0.3, abs=1e-8) and float(b) == pytest.approx(4.0, abs=1e-8)
    assert float(ssz.probit_root(a, b, 0.8)) == pytest.approx((special.ndtri(0.8) - 0.3) / 4.0, abs=1e-8)


# ----------------------------------------------------------------------------------- the table, seeds
def _tiny(design_file_text: str, write) -> dz.Design:
    return dz.load_design(write("tiny.toml", design_file_text))


TINY = (
    CLOSED_FORM.replace("n_sims = 2000", "n_sims = 100")
    .replace("chunk_trials = 500", "chunk_trials = 100")
    .replace("n = [120, 160, 200, 240]", "n = [100, 200, 260]")
)
TINY_SEARCH = ssz.SearchSettings(rel_tol=0.05, n_trials=100, max_trials=400, n_boot=200)


def test_table_keeps_grid_columns_and_reports_unreachable_targets(write):
    d = _tiny(TINY, write)
    oc = dz.summarise(dz.run_design(d, workers=1), d)
    ss = ssz.sample_size_table(oc, d, seed=5, workers=1, settings=TINY_SEARCH)
    old = ["design", "scenario", "metric", "analysis", "target", "n_point", "n_conservative", "max_in_grid"]
    assert list(ss.columns[:9]) == [*old, "schoenfeld_relapses"]
    assert {"grid_n_point", "n_lower", "n_upper", "p_at_n", "freedman_n", "within_tolerance"} <= set(ss.columns)
    cur = ss[ss["scenario"] == "current"].iloc[0]  # the current study's posterior never reaches 80%
    assert math.isnan(cur["n_point"]) and cur["max_in_grid"] < 0.8
    alt = ss[(ss["scenario"] == "alternative") & (ss["analysis"] == "frequentist")].iloc[0]
    assert math.isfinite(alt["schoenfeld_n"]) and math.isfinite(alt["freedman_n"])
    assert ss[ss["analysis"] == "bayesian"]["schoenfeld_n"].isna().all()


def test_same_seed_gives_identical_tables_with_one_or_two_workers(write):
    d = _tiny(TINY, write)
    oc = dz.summarise(dz.run_design(d, workers=1), d)
    one = ssz.sample_size_table(oc, d, seed=5, workers=1, settings=TINY_SEARCH)
    again = ssz.sample_size_table(oc, d, seed=5, workers=1, settings=TINY_SEARCH)
    two = ssz.sample_size_table(oc, d, seed=5, workers=2, settings=TINY_SEARCH)
    pd.testing.assert_frame_equal(one, again, check_exact=True)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    other = ssz.sample_size_table(oc, d, seed=6, workers=1, settings=TINY_SEARCH)
    assert not one["n_root"].equals(other["n_root"])


def test_dask_cluster_gives_the_same_sample_sizes(write):
    distributed = pytest.importorskip("dask.distributed", reason="dask[distributed] is not installed")
    d = _tiny(TINY, write)
    oc = dz.summarise(dz.run_design(d, workers=1), d)
    local = ssz.sample_size_table(oc, d, seed=5, workers=1, settings=TINY_SEARCH)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        remote = ssz.sample_size_table(oc, d, seed=5, dask_address=cl.scheduler_address, settings=TINY_SEARCH)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
