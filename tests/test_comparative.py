"""The comparative model: control packs, the exact HR engine, its limits and its failure cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from models.comparative.compare import Treated, compare, conditional_incidence, tipping_point
from models.comparative.engine import Grid, hazard_draws, hr_posterior, treated_conditional
from models.comparative.packs import CONTROLS_DIR, control_names, effective_size, load_control
from models.constants import DEFAULT_CUTS
from models.errors import ConfigError, StudyError
from models.priors import GammaMixture
from models.pwe import gamma_mixture_posterior

CUTS = np.array([0.0, 100.0, 365.0])


def simulate_arm(rng, n, rel, nrm, cuts=CUTS, follow=900.0):
    """Per-patient piecewise-exponential competing risks: exact events and exposure per interval."""
    hi = np.append(cuts[1:], np.inf)
    ev = {"relapse": np.zeros(cuts.size), "nrm": np.zeros(cuts.size)}
    ex = np.zeros(cuts.size)
    rows = []
    for _ in range(n):
        t, cause = 0.0, 0
        for j in range(cuts.size):
            tot = rel[j] + nrm[j]
            w = rng.exponential(1.0 / tot)
            end = min(hi[j], follow)
            if t + w < end:
                t += w
                cause = 1 if rng.random() < rel[j] / tot else 2
                ex[j] += w
                ev["relapse" if cause == 1 else "nrm"][j] += 1
                break
            ex[j] += end - t
            t = end
            if t >= follow:
                break
        rows.append((t, cause))
    return ev, ex, pd.DataFrame(rows, columns=["time", "cause"])


def flat_priors(j):
    return [GammaMixture.single(1e-3, 1e-3)] * j


# ----------------------------------------------------------------------------- (a) a0 = 0


def test_a0_zero_returns_the_single_arm_conjugate_posterior_exactly():
    prior = [GammaMixture((0.7, 0.3), (2.0, 0.5), (4000.0, 300.0)), GammaMixture.single(1.0, 2000.0)]
    ev, ex = np.array([1.0, 0.0]), np.array([2500.0, 1300.0])
    d, e = np.array([12.0, 9.0]), np.array([30000.0, 40000.0])
    for beta in (-3.0, 0.0, 1.7):
        got = treated_conditional(prior, ev, ex, d, e, 0.0, beta)
        for j, p in enumerate(prior):
            want = gamma_mixture_posterior(p, ev[j], ex[j])
            assert got[j].shapes == pytest.approx(want.shapes, rel=0, abs=0)
            assert got[j].rates == pytest.approx(want.rates, rel=0, abs=0)
            assert got[j].weights == pytest.approx(want.weights, rel=1e-12)
    # the HR posterior is its prior, N(0, sd^2), to quadrature precision (1e-6)
    post = hr_posterior(prior, ev, ex, d, e, a0=0.0, sd=2.0)
    assert np.abs(post.pooled - norm.pdf(post.beta, 0, 2.0)).max() < 1e-6
    assert post.prob_below(1.0) == pytest.approx(0.5, abs=1e-9)
    # and the draws of the treated hazards are the single-arm posterior's (KS at 0.001 over 20,000 draws)
    from scipy.stats import kstest

    _, lam = hazard_draws(post, prior, ev, ex, d, e, a0=0.0, n_per_table=20_000, rng=np.random.default_rng(3))
    post0 = gamma_mixture_posterior(prior[0], ev[0], ex[0])
    from models.prior_library.mixture_fit import mixture_cdf

    assert kstest(lam[:, 0], lambda x: mixture_cdf(post0, np.asarray(x))).pvalue > 0.001


def test_a0_one_borrows_and_draws_match_the_grid():
    prior = [GammaMixture.single(0.5, 500.0)] * 2
    ev, ex = np.array([2.0, 3.0]), np.array([4000.0, 6000.0])
    d, e = np.array([20.0, 30.0]), np.array([20000.0, 30000.0])
    post = hr_posterior(prior, ev, ex, d, e, a0=1.0)
    beta, _ = hazard_draws(post, prior, ev, ex, d, e, a0=1.0, n_per_table=40_000, rng=np.random.default_rng(1))
    # Monte Carlo CDF at HR 1 within 4 binomial SE of the quadrature's
    p = post.prob_below(1.0)
    assert abs(np.mean(beta < 0) - p) < 4 * np.sqrt(p * (1 - p) / beta.size)
    assert post.edge_mass() < 1e-9


# ----------------------------------------------------------------------------- (b) likelihood fit


def pwe_mle(ev_t, ex_t, ev_c, ex_c):
    """Closed-form profile MLE of log HR (treated / control) of a PWE model with shared baseline."""
    from scipy.optimize import brentq

    def score(b):  # d/d beta of the profile log likelihood, control hazard = treated * exp(-beta)
        lam = (ev_t + ev_c) / (ex_t + np.exp(-b) * ex_c)
        return -ev_c.sum() + (lam * np.exp(-b) * ex_c).sum()

    b = brentq(score, -5, 5)
    h = 1e-4
    info = -(score(b + h) - score(b - h)) / (2 * h)
    return b, 1 / np.sqrt(info)


def test_hr_posterior_matches_pwe_mle_and_cox_with_per_patient_controls():
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(2026)
    base_rel, base_nrm = np.array([1.2e-3, 6e-4, 2e-4]), np.array([3e-4, 2e-4, 1e-4])
    hr = 0.6
    ev_t, ex_t, df_t = simulate_arm(rng, 400, base_rel * hr, base_nrm)
    ev_c, ex_c, df_c = simulate_arm(rng, 400, base_rel, base_nrm)
    post = hr_posterior(flat_priors(3), ev_t["relapse"], ex_t, ev_c["relapse"], ex_c, a0=1.0, sd=10.0)
    b_mle, se = pwe_mle(ev_t["relapse"], ex_t, ev_c["relapse"], ex_c)
    mode = post.beta[np.argmax(post.pooled)]
    assert abs(mode - b_mle) < 0.02 * se  # mode = profile MLE up to the grid (0.005) and the 1e-3 prior shape
    med = float(np.log(post.hr_quantile(0.5)))
    assert abs(med - b_mle) < 0.1 * se
    sd = float(np.sqrt(np.trapezoid(post.pooled * (post.beta - med) ** 2, post.beta)))
    assert sd == pytest.approx(se, rel=0.05)
    df = pd.concat([df_t.assign(arm=1), df_c.assign(arm=0)])
    cox = CoxPHFitter().fit(
        pd.DataFrame({"T": df["time"], "E": (df["cause"] == 1).astype(int), "arm": df["arm"]}), "T", "E"
    )
    b_cox, se_cox = float(cox.params_["arm"]), float(cox.standard_errors_["arm"])
    assert abs(med - b_cox) < 0.2 * se_cox  # Cox (NRM censored) and the PWE agree to a fifth of an SE
    assert sd == pytest.approx(se_cox, rel=0.1)


# ----------------------------------------------------------------------------- (c) coverage (slow)


@pytest.mark.slow
def test_coverage_of_the_95_interval_over_simulated_pairs():
    rng = np.random.default_rng(18)
    base_rel, base_nrm = np.array([1.5e-3, 8e-4, 3e-4]), np.array([4e-4, 2e-4, 1e-4])
    true = np.log(0.6)
    hits, n_pairs, meds = 0, 1000, []
    for _ in range(n_pairs):
        ev_t, ex_t, _ = simulate_arm(rng, 60, base_rel * 0.6, base_nrm)
        ev_c, ex_c, _ = simulate_arm(rng, 120, base_rel, base_nrm)
        post = hr_posterior([GammaMixture.single(0.5, 500.0)] * 3, ev_t["relapse"], ex_t, ev_c["relapse"], ex_c, a0=1.0)
        lo, med, hi = np.log(post.hr_quantile(np.array([0.025, 0.5, 0.975])))
        hits += lo <= true <= hi
        meds.append(med)
    assert 0.93 <= hits / n_pairs <= 0.97
    assert abs(np.median(meds) - true) < 0.05  # recovery: the median of the medians within 0.05 of log 0.6


# ----------------------------------------------------------------------------- packs


def test_shipped_packs_load_and_reference_sources():
    names = control_names()
    assert {"chang2020_haplo", "chang2020_msd", "xu2014_haplo"} <= set(names)
    for n in names:
        pack = load_control(n)
        assert pack.verified
        data = pack.data(DEFAULT_CUTS)
        for k in ("relapse", "nrm"):
            # the pseudo-events reproduce n_k * F_k(3 years) (piecewise_pseudo_data's identity)
            fig = next(f for f in pack.figures if f.endpoint == {"relapse": "cir", "nrm": "nrm"}[k])
            assert data.events[k].sum() == pytest.approx(pack.sizes[k] * fig.estimate, rel=1e-9)
            assert pack.sizes[k] <= pack.spec.control.n
    assert load_control(CONTROLS_DIR / "xu2014_haplo").id == "xu2014_haplo"  # a folder path works


def test_effective_size_from_the_printed_ci():
    assert effective_size(0.11, (0.06, 0.16), 169) == pytest.approx(0.11 * 0.89 * (1.959964 / 0.05) ** 2, rel=1e-5)
    assert effective_size(0.23, (0.17, 0.29), 169) == 169  # narrower than n gives: capped at n
    assert effective_size(0.2, None, 50) == 50


@pytest.fixture
def pack(tmp_path):
    text = (CONTROLS_DIR / "chang2020_haplo" / "control.toml").read_text()

    def make(old: str, new: str):
        assert old in text
        d = tmp_path / "c"
        d.mkdir(exist_ok=True)
        (d / "control.toml").write_text(text.replace(old, new, 1))
        return d

    return make


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('"chang2020_nrm_3y_haplo"]', '"chang2020_nrm_9y_haplo"]', "control.figures[1]'"),
        ("n = 169", "n = 170", "has n 169"),
        ('arm = "haploidentical donor"', 'arm = "haplo"', "has arm 'haploidentical donor'"),
        (', "chang2020_nrm_3y_haplo"]', "]", "expected a nrm figure"),
        ('"chang2020_nrm_3y_haplo"]', '"chang2020_nrm_3y_msd"]', "has arm 'matched sibling donor'"),
        ("entry_day = 0", "entry_day = 30", "key 'clock.entry_day'"),
        ('size = "ci"', 'size = "exact"', "key 'summary.size'"),
        ("[population]", "[population]\nregion = 'x'", "key 'population.region'"),
        ('study = "chang2020"', 'study = "chang2021"', "key 'control.study'"),
        ('figures = ["chang2020_cir_3y_haplo", ', 'figures = ["gaballa2022_os_1y", ', "control.figures[0]"),
    ],
)
def test_bad_packs_give_one_line_errors(pack, old, new, needle):
    with pytest.raises(StudyError) as exc:
        load_control(pack(old, new))
    msg = str(exc.value)
    assert "\n" not in msg and "control.toml" in msg and needle in msg and "expected" in msg


def test_unknown_names_and_folders(tmp_path):
    with pytest.raises(StudyError, match="a shipped control"):
        load_control("nope2020")
    with pytest.raises(StudyError, match=r"a folder without control\.toml"):
        load_control(tmp_path)


def test_bad_options():
    prior = [GammaMixture.single(1.0, 1000.0)]
    one = np.array([1.0])
    with pytest.raises(ConfigError, match="a0"):
        hr_posterior(prior, one, one, one, one, a0=1.5)
    with pytest.raises(ConfigError, match="hr_prior_sd"):
        Grid.for_prior(0.0)
    with pytest.raises(ConfigError, match="one per prior"):
        hr_posterior(prior, np.ones(2), np.ones(2), one, one, a0=0.5)


# ----------------------------------------------------------------------------- incidence and tipping point


def test_conditional_incidence_matches_a_direct_computation():
    lam_rel, lam_nrm = np.array([[2e-3, 1e-3, 5e-4]]), np.array([[1e-3, 5e-4, 2e-4]])
    out = conditional_incidence(lam_rel, lam_nrm, CUTS, 102, 365)
    # from day 102: 263 days at (1e-3, 5e-4), then 102 days at (5e-4, 2e-4)
    t1, l1, t2, l2 = 263, 1.5e-3, 102, 7e-4
    s1 = np.exp(-l1 * t1)
    want = (1e-3 / l1) * (1 - s1) + s1 * (5e-4 / l2) * (1 - np.exp(-l2 * t2))
    assert out["relapse"][0, -1] == pytest.approx(want, rel=1e-12)


def test_tipping_point_found_and_equal_hazards_never_claimed():
    cuts = np.array([0.0, 100.0])
    prior = {k: [GammaMixture.single(0.5, 500.0)] * 2 for k in ("relapse", "nrm")}

    def treated(d):
        return Treated(
            {k: np.array([[0.0, d]]) for k in prior}, {k: np.array([[500.0, 5000.0]]) for k in prior}, prior, cuts, 50
        )

    from models.comparative.packs import ControlData

    base = load_control("chang2020_haplo").data(cuts).base
    ctl = ControlData(
        "c",
        {k: np.array([5.0, 30.0]) for k in prior},
        {k: np.array([2000.0, 25000.0]) for k in prior},
        cuts,
        900.0,
        base,
    )
    a0, how = tipping_point(treated(1.0), ctl)  # 1 event in 5000 days against 30 in 25000: benefit once borrowed
    assert how == "root" and 0.0 < a0 < 1.0
    from models.comparative.compare import p_relapse_benefit

    assert p_relapse_benefit(treated(1.0), ctl, a0) == pytest.approx(0.9, abs=1e-5)
    assert tipping_point(treated(6.0), ctl) == (pytest.approx(float("nan"), nan_ok=True), "never")
    res = compare(treated(1.0), ctl, 1.0, draws=2000, rng=np.random.default_rng(0))
    assert res.hr_row("relapse")["p_below_1"] > 0.9 and res.cif_row("difference", "relapse")["median"] < 0
    # A sweep keeps full curves at one a0 only; the 1-year values are the same numbers either way.
    short = compare(treated(1.0), ctl, 1.0, draws=2000, rng=np.random.default_rng(0), full_curves=False)
    for arm in ("treated", "control"):
        for k in ("relapse", "nrm"):
            assert short.cif[arm][k].shape == (2000, 1)
            assert np.array_equal(short.cif[arm][k][:, 0], res.cif[arm][k][:, -1])
    assert short.cif_row("difference", "relapse") == res.cif_row("difference", "relapse")
