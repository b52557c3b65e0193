"""Literature prior library: conversions, discounting, MAP, commensurate priors, ESS, conflict, bad files.

Hand computations are written out in each test; tolerances are stated next to the assertions.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from models.constants import DEFAULT_CUTS
from models.errors import PriorError
from models.intervals import TransitionData
from models.prior_conflict import conflict_pvalue, conflict_table, predictive_pmf
from models.prior_library import (
    MAP_KS_TOL,
    MAP_QUANTILE_TOL,
    CommensuratePrior,
    LibraryPriorSet,
    best_gamma_mixture,
    fit_map,
    landmark_summary,
    load_prior_set,
    mixture_fit_quality,
    mixture_posterior,
    power_prior,
    read_sets,
    robust_component,
    robustify,
    set_names,
)
from models.prior_sources import (
    load_sources,
    log_hr_normal,
    piecewise_pseudo_data,
    remission_pseudo_data,
    survival_pseudo_data,
)
from models.prior_weight_tables import ess_summary, ess_table
from models.priors import GammaMixture, weak_shapes

CUTS = (0.0, 100.0, 180.0, 365.0, 730.0)
RCUTS = (0.0, 90.0, 365.0)
RD_CUTS = (0.0, 90.0, 365.0)


@pytest.fixture(scope="module")
def sources():
    return load_sources()


# ----------------------------------------------------------------------------- conversions


def test_single_landmark_competing_risks_matches_hand_computation():
    # Gaballa: PFS 71%, NRM 0% at 365 days, n = 21 -> F_rel = 0.29, constant hazard
    lam = -math.log(0.71) / 365.0
    ev, ex = piecewise_pseudo_data([365.0], [0.71], {"relapse": [0.29], "nrm": [0.0]}, 21, CUTS)
    e0 = 21 * (1 - math.exp(-100 * lam)) / lam  # n * int_0^100 S(u) du
    e1 = 21 * (math.exp(-100 * lam) - math.exp(-180 * lam)) / lam
    assert ex[0] == pytest.approx(e0, rel=1e-12)
    assert ex[1] == pytest.approx(e1, rel=1e-12)
    assert ex.sum() == pytest.approx(21 * 0.29 / lam, rel=1e-12)  # n (1 - S) / Lambda
    assert ev["relapse"].sum() == pytest.approx(21 * 0.29, rel=1e-12)  # n F_rel(t)
    assert ev["relapse"][0] / ex[0] == pytest.approx(lam, rel=1e-12)
    assert ev["nrm"].sum() == 0.0  # zero-event figure: no events, exposure above
    assert ex[3] == 0.0 and ex[4] == 0.0  # intervals after the landmark get nothing


def test_cause_specific_hazards_follow_the_brief_formula():
    s, f1, f2, t = 0.6, 0.3, 0.1, 730.0
    ev, ex = piecewise_pseudo_data([t], [s], {"a": [f1], "b": [f2]}, 50, (0.0,))
    lam_all = -math.log(s) / t
    assert ev["a"][0] / ex[0] == pytest.approx(lam_all * f1 / (1 - s), rel=1e-12)
    assert ev["b"][0] / ex[0] == pytest.approx(lam_all * f2 / (1 - s), rel=1e-12)


def test_followup_caps_the_horizon():
    # median follow-up 200 days < landmark 365: exposure n int_0^200 S, events n F(200)
    lam = -math.log(0.71) / 365.0
    ev, ex = piecewise_pseudo_data([365.0], [0.71], {"relapse": [0.29]}, 21, CUTS, horizon=200.0)
    assert ex.sum() == pytest.approx(21 * (1 - math.exp(-200 * lam)) / lam, rel=1e-12)
    assert ev["relapse"].sum() == pytest.approx(21 * (1 - math.exp(-200 * lam)), rel=1e-12)
    assert ex[2] == pytest.approx(21 * (math.exp(-180 * lam) - math.exp(-200 * lam)) / lam, rel=1e-12)  # straddles H
    assert ex[3] == 0.0


def test_median_gives_log2_over_median(sources):
    f = sources.figures["tower2017_median_os_blin"]  # 7.7 months -> round(7.7 * 365.25 / 12) = 234 days
    p = survival_pseudo_data([f], RD_CUTS)
    m = 234.0
    assert p.events["death"].sum() / p.exposure.sum() == pytest.approx(math.log(2) / m, rel=1e-12)
    assert p.events["death"].sum() == pytest.approx(271 / 2, rel=1e-12)
    assert p.exposure.sum() == pytest.approx(271 * m / (2 * math.log(2)), rel=1e-12)


def test_several_landmarks_give_piecewise_hazards(sources):
    figs = [sources.figures[k] for k in ("stein2019_median_os", "stein2019_os_1y", "stein2019_os_3y")]
    p = survival_pseudo_data(figs, (0.0, 259.0, 365.0))
    # 8.5 months = 259 days (S = 0.5), 12 months = 365 days (S = 0.36), 36 months = 1096 (S = 0.18)
    assert p.events["death"][0] / p.exposure[0] == pytest.approx(math.log(2) / 259, rel=1e-12)
    assert p.events["death"][1] / p.exposure[1] == pytest.approx(-math.log(0.36 / 0.5) / 106, rel=1e-12)
    assert p.events["death"][2] / p.exposure[2] == pytest.approx(-math.log(0.18 / 0.36) / 731, rel=1e-12)
    assert p.events["death"].sum() == pytest.approx(64 * 0.82, rel=1e-12)


def test_gaballa_figures_and_santoro_consistency(sources):
    g = remission_pseudo_data(
        [sources.figures["gaballa2022_pfs_1y"], sources.figures["gaballa2022_nrm_1y"]], CUTS, followup_months=14.3
    )
    assert g.events["relapse"].sum() == pytest.approx(21 * 0.29)
    # patients entered at a median of day 78: at risk on [78, 365], constant hazard -log(0.71)/287
    assert g.followup_per_patient == pytest.approx(287 * 0.29 / -math.log(0.71), rel=1e-12)
    figs = [sources.figures[k] for k in ("santoro2017_ri", "santoro2017_nrm", "santoro2017_lfs_3y")]
    s = remission_pseudo_data(figs, CUTS)  # 0.31 + 0.37 + 0.32 = 1 within the tolerance
    assert s.events["relapse"].sum() == pytest.approx(208 * 0.37)


def test_inconsistent_figures_are_refused(sources):
    bad = [sources.figures["gaballa2022_pfs_1y"], sources.figures["gaballa2022_os_1y"]]
    with pytest.raises(PriorError, match="event_free, cir or nrm"):
        remission_pseudo_data(bad, CUTS)
    with pytest.raises(PriorError, match="one study arm"):
        remission_pseudo_data([sources.figures["gaballa2022_pfs_1y"], sources.figures["metheny2024_nrm_1y"]], CUTS)


def test_hazard_ratio_to_log_normal():
    mu, sd = log_hr_normal(0.71, 0.55, 0.93)
    assert mu == pytest.approx(-0.342490, abs=1e-6)
    assert sd == pytest.approx((math.log(0.93) - math.log(0.55)) / (2 * 1.959963984540054), rel=1e-12)
    assert sd == pytest.approx(0.13402, abs=1e-4)
    with pytest.raises(PriorError):
        log_hr_normal(0.5, 0.6, 0.9)


# ----------------------------------------------------------------------------- discounting


def test_power_prior_scales_pseudo_data():
    base = GammaMixture.single(0.2, 73.0)  # e.g. a weak-baseline interval: 0.2 events in 73 days
    g = power_prior(6.0, 6000.0, 0.5, base)
    assert (g.shapes[0], g.rates[0]) == (0.2 + 3.0, 73.0 + 3000.0)
    v = power_prior(6.0, 6000.0, 0.0, base)
    assert (v.shapes[0], v.rates[0]) == (0.2, 73.0)
    with pytest.raises(PriorError, match="a0"):
        power_prior(6.0, 6000.0, 1.5, base)


def test_posterior_weights_are_scipys_logsumexp_bit_for_bit():
    """The hand-written log-sum-exp of :meth:`GammaMixture.posterior` (written for speed) gives the
    weights scipy's would, to the last bit, so outputs did not move when it replaced scipy's."""
    from scipy.special import gammaln, logsumexp

    rng = np.random.default_rng(20261130)
    for _ in range(2000):
        k = int(rng.integers(1, 6))
        mix = GammaMixture(
            tuple(rng.dirichlet(np.ones(k))), tuple(rng.gamma(1.0, 3.0, k) + 0.05), tuple(rng.gamma(1.0, 3000.0, k) + 1)
        )
        d, e = int(rng.integers(0, 30)), float(rng.gamma(2.0, 2000.0))
        w, a, b = np.asarray(mix.weights), np.asarray(mix.shapes), np.asarray(mix.rates)
        logm = np.log(w) + gammaln(a + d) - gammaln(a) + a * np.log(b) - (a + d) * np.log(b + e)
        want = np.clip(np.exp(logm - logsumexp(logm)), 1e-300, None)
        assert mix.posterior(d, e).weights == tuple(want)


def test_robust_mixture_posterior_weights_by_hand():
    informative = GammaMixture.single(3.0, 3000.0)
    # robust component: the interval's weakly informative baseline (here Gamma(0.5, 182.5 days))
    rob = robust_component(informative, GammaMixture.single(0.5, 182.5))
    assert (rob.shapes[0], rob.rates[0]) == (0.5, 182.5)
    prior = robustify(informative, 0.8, rob)
    assert prior.weights == pytest.approx((0.8, 0.2)) and prior.shapes == (3.0, 0.5)
    d, e = 4, 1000.0

    def log_m(a, b):  # negative-binomial marginal likelihood, written out
        return (
            math.lgamma(a + d)
            - math.lgamma(a)
            - math.lgamma(d + 1)
            + a * math.log(b / (b + e))
            + d * math.log(e / (b + e))
        )

    w1 = 0.8 * math.exp(log_m(3.0, 3000.0))
    w2 = 0.2 * math.exp(log_m(0.5, 182.5))
    post = mixture_posterior(prior, d, e)
    assert post.weights[0] == pytest.approx(w1 / (w1 + w2), rel=1e-10)
    assert post.shapes == (7.0, 4.5) and post.rates == (4000.0, 1182.5)
    # conflicting data move weight to the robust component
    assert mixture_posterior(prior, 30, 1000.0).weights[1] > 0.99
    with pytest.raises(PriorError):
        robustify(informative, 0.0, rob)


# ----------------------------------------------------------------------------- MAP prior


@pytest.fixture(scope="module")
def map_fit():
    d = np.array([[10.0], [25.0], [6.0], [14.0]])
    e = np.array([[10_000.0], [15_000.0], [9_000.0], [9_000.0]])
    return fit_map(d, e, tau_scale=0.5, seed=3)


def test_map_mixture_reproduces_hierarchical_predictive(map_fit):
    mix, draws, q = map_fit.mixtures[0], map_fit.draws[0], map_fit.quality[0]
    assert q["ks"] < MAP_KS_TOL  # 0.03
    assert q["max_quantile_rel_error"] < MAP_QUANTILE_TOL  # 10% at the 2.5 ... 97.5% quantiles
    assert mix.mean == pytest.approx(draws.mean(), rel=0.05)
    # the predictive is centred between the source rates and wider than the pooled estimate
    rates = np.array([10 / 10_000, 25 / 15_000, 6 / 9_000, 14 / 9_000])
    assert rates.min() < np.median(draws) < rates.max()
    assert np.quantile(draws, 0.975) / np.quantile(draws, 0.025) > 2.0


def test_fit_quality_detects_a_bad_approximation():
    rng = np.random.default_rng(1)
    bimodal = np.concatenate([rng.gamma(50, 1 / 50_000, 5000), rng.gamma(50, 1 / 5_000, 5000)])
    q = mixture_fit_quality(GammaMixture.single(*ess_gamma_from_draws(bimodal)), bimodal)
    assert q["ks"] > MAP_KS_TOL
    mix, q2 = best_gamma_mixture(bimodal)
    assert mix.n_components >= 2 and q2["ks"] < MAP_KS_TOL


def ess_gamma_from_draws(x: np.ndarray) -> tuple[float, float]:
    m, v = x.mean(), x.var()
    return m * m / v, m / v


# ----------------------------------------------------------------------------- commensurate prior


def _fit_commensurate(cp: CommensuratePrior, d: float, e: float, seed: int) -> float:
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model():
        lam = cp.build_pymc("relapse", 1)
        pm.Potential("lik", pt.sum(d * pt.log(lam) - lam * e))
        idata = pm.sample(
            600,
            tune=600,
            chains=2,
            cores=1,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
            target_accept=0.95,
        )
    lh = idata.posterior["relapse_historical_hazard"].values.ravel()
    z = idata.posterior["relapse_commensurate_z"].values.ravel()
    sd = idata.posterior["relapse_commensurability_sd"].values.ravel()
    return float(np.mean(lh * np.exp(sd * z)))


def test_commensurate_prior_borrows_when_data_agree_and_discounts_when_they_conflict():
    cp = CommensuratePrior((20.0,), (20_000.0,), scale=1.0)  # historical rate 1e-3 per day
    agree = _fit_commensurate(cp, 10.0, 10_000.0, seed=1)
    pooled = (0.5 + 30) / (182.5 + 30_000)
    assert agree == pytest.approx(pooled, rel=0.15)
    conflict = _fit_commensurate(cp, 40.0, 10_000.0, seed=2)  # current rate 4e-3
    pooled_conflict = (0.5 + 60) / (182.5 + 30_000)  # ~2e-3 under full pooling
    assert conflict > pooled_conflict * 1.4  # moves most of the way to the current data
    assert conflict < 4.2e-3


def test_commensurate_prior_samples_and_checks_interval_count():
    cp = CommensuratePrior((2.0, 3.0), (2000.0, 3000.0), scale=0.5)
    x = cp.sample(np.random.default_rng(0), 1000)
    assert x.shape == (1000, 2) and np.all(x > 0)
    with pytest.raises(PriorError, match="intervals"):
        cp.sample(np.random.default_rng(0), 10, 3)


# ----------------------------------------------------------------------------- ESS and conflict


def test_ess_table_of_md_anderson_by_hand(sources):
    ps = load_prior_set("md_anderson", sources=sources)
    t = ess_table(ps)
    g = remission_pseudo_data(
        [sources.figures["gaballa2022_pfs_1y"], sources.figures["gaballa2022_nrm_1y"]], CUTS, followup_months=14.3
    )
    a0 = weak_shapes(CUTS)  # the weak baseline under the power prior: Gamma(a0_j, 365 a0_j)
    row = t[(t.transition == "relapse") & (t.interval == "0-100")].iloc[0]
    # one gamma Gamma(a, b): its ESS is (a events, b days) whether by ELIR (a > 1) or by moments
    assert row.ess_events == pytest.approx(a0[0] + 0.5 * g.events["relapse"][0], rel=1e-9)
    assert row.ess_days == pytest.approx(365 * a0[0] + 0.5 * g.exposure[0], rel=1e-9)
    assert row.part == "informative" and row.informative_ess_events == pytest.approx(row.ess_events)
    tot = ess_summary(t).set_index("transition")
    # first year: (365 (a0_1 + a0_2 + a0_3) + 0.5 E) / (E / 21) patients; entry at day 78 leaves
    # intervals 100-180 and 180-365 informed, and 0-100 from day 78
    e = g.exposure.sum()
    b0 = 365 * a0[:3].sum()
    assert tot.loc["relapse", "ess_patients"] == pytest.approx((b0 + 0.5 * e) / (e / 21), rel=1e-9)


def test_conflict_pvalue_equals_negative_binomial():
    a, b, e, y = 2.0, 2000.0, 1500.0, 4
    pmf = predictive_pmf([GammaMixture.single(a, b)], [e], 200)
    lo, hi, p = conflict_pvalue(pmf, y)
    nb = stats.nbinom(a, b / (b + e))
    assert lo == pytest.approx(nb.cdf(y), rel=1e-9)
    assert hi == pytest.approx(nb.sf(y - 1), rel=1e-9)
    assert p == pytest.approx(min(1.0, 2 * min(nb.cdf(y), nb.sf(y - 1))), rel=1e-9)


def test_conflict_table_flags_a_conflict():
    g = GammaMixture.single(20.0, 20_000.0)  # prior rate 1e-3 per day
    ps = LibraryPriorSet("t", {k: g for k in ("relapse", "nrm", "gvhd", "death_after_relapse")})
    one = np.array([0.0])
    td = TransitionData(
        events={"relapse": np.array([12.0]), "nrm": np.array([1.0]), "gvhd": one, "death_after_relapse": one},
        exposure={
            "relapse": np.array([2000.0]),
            "nrm": np.array([2000.0]),
            "gvhd": np.array([2000.0]),
            "death_after_relapse": np.array([10.0]),
        },
        cuts={k: np.array([0.0]) for k in ("relapse", "nrm", "gvhd", "death_after_relapse")},
    )
    tab = conflict_table(ps, td).set_index("transition")
    nb = stats.nbinom(20.0, 20_000 / 22_000)
    assert tab.loc["relapse", "p_ge"] == pytest.approx(nb.sf(11), rel=1e-9)
    assert bool(tab.loc["relapse", "conflict"]) and not bool(tab.loc["nrm", "conflict"])
    assert tab.loc["nrm", "prior_predictive_mean"] == pytest.approx(2.0)


# ----------------------------------------------------------------------------- named sets


@pytest.mark.parametrize(
    "name",
    ["weak", "half_event_per_interval", "md_anderson", "literature", "literature_blast", "md_anderson_commensurate"],
)
def test_named_sets_load_and_report_ess(name, sources):
    ps = load_prior_set(name, sources=sources)
    tot = ess_summary(ess_table(ps))
    assert set(tot.transition) == {"relapse", "nrm", "gvhd", "death_after_relapse"}
    assert np.all(np.isfinite(tot.ess_events)) and np.all(tot.ess_events > 0)
    lm = landmark_summary(ps, n=2000).set_index("quantity")
    assert 0 < lm.loc["relapse_cif", "median"] < 1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["skeptical", "enthusiastic"])
def test_map_sets_load_with_good_mixture_fits(name, sources):
    ps = load_prior_set(name, sources=sources)
    for k in ("relapse", "nrm"):
        for q in ps.provenance[k].map_quality:
            if q is not None:
                assert q["ks"] < MAP_KS_TOL and q["max_quantile_rel_error"] < MAP_QUANTILE_TOL


def test_literature_set_is_what_the_file_says(sources):
    ps = load_prior_set("literature", sources=sources)
    assert ps.provenance["relapse"].w == 0.8 and ps.provenance["gvhd"].method == "weak"
    rel = ps.transitions["relapse"][0]
    assert rel.weights == pytest.approx((0.8, 0.2))
    lm = landmark_summary(ps, n=4000).set_index("quantity")
    assert 0.2 < lm.loc["relapse_cif", "median"] < 0.4  # Gaballa's 1-year relapse 29%
    assert ps.conjugate


def test_every_shipped_name_is_found_by_the_one_lookup():
    names = set_names()
    assert {"weak", "literature", "md_anderson", "skeptical", "enthusiastic"} <= set(names)
    assert load_prior_set("md_anderson").name == "md_anderson"


# ----------------------------------------------------------------------------- bad files

GOOD_SET = """
[set.mine]
description = "test"
[set.mine.relapse]
method = "power"
sources = [{ figures = ["gaballa2022_pfs_1y", "gaballa2022_nrm_1y"], a0 = 0.5 }]
"""


def _sources_text() -> str:
    return Path(load_sources().path).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("a0 = 0.5", "a0 = 1.5", r"set\.mine\.relapse\.sources\[0\], field 'a0'"),
        ("a0 = 0.5", "a0 = -0.1", "field 'a0'"),
        ('"gaballa2022_pfs_1y", ', '"gaballa2099_pfs_1y", ', "unknown source 'gaballa2099_pfs_1y'"),
        ("[set.mine.relapse]", "[set.mine.relapsee]", "set.mine, field 'relapsee'.*unknown transition"),
        ('method = "power"', 'method = "magic"', "field 'method'"),
        ('"gaballa2022_pfs_1y", "gaballa2022_nrm_1y"', '"lu2024_cir_2y_cart"', "unverified figure"),
        ('"gaballa2022_pfs_1y", "gaballa2022_nrm_1y"', '"stein2019_os_1y"', "endpoints"),
        ("description", "descr = 1\ndescription", "field 'descr'"),
        ("[set.mine]", "[set.mine", "malformed TOML"),
    ],
)
def test_bad_set_files_raise_one_line_prior_errors(write, old, new, match):
    path = write("mine.toml", GOOD_SET.replace(old, new))
    with pytest.raises(PriorError, match=match) as exc:
        load_prior_set(path)
    assert "\n" not in str(exc.value) and str(path) in str(exc.value)


def test_good_user_file_loads(write):
    ps = load_prior_set(write("mine.toml", GOOD_SET))
    assert ps.name == "mine" and ps.provenance["relapse"].a0 == (0.5,)


def test_a0_zero_borrows_nothing_and_components_are_bounded(write):
    """a0 = 0 is a valid discount (the source lends nothing: the weak baseline); max_components is 1-4."""
    ps = load_prior_set(write("zero.toml", GOOD_SET.replace("a0 = 0.5", "a0 = 0")))
    base = load_prior_set("weak")
    assert ps.per_interval("relapse", len(DEFAULT_CUTS)) == base.per_interval("relapse", len(DEFAULT_CUTS))
    text = (
        '[set.m]\ndescription = "x"\n[set.m.death_after_relapse]\nmethod = "map"\nmax_components = 10\n'
        'sources = [{ figures = ["stein2019_median_os"] }]\n'
    )
    with pytest.raises(PriorError, match=r"max_components'.*found 10; expected a whole number from 1 to 4"):
        load_prior_set(write("m.toml", text))


def test_gamma_method_requires_positive_counts_and_provenance(write):
    text = '[set.g]\ndescription = "x"\n[set.g.nrm]\nmethod = "gamma"\nshape = -1\nrate = 100\nprovenance = "hand"\n'
    with pytest.raises(PriorError, match=r"set\.g\.nrm, field 'shape'"):
        load_prior_set(write("g.toml", text))
    with pytest.raises(PriorError, match="field 'provenance'"):
        load_prior_set(write("g.toml", text.replace("shape = -1", "shape = 1").replace('provenance = "hand"\n', "")))


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("ci = [0.17, 0.29]", "ci = [0.25, 0.29]", r"figure\.chang2020_cir_3y_haplo, field 'ci'.*containing"),
        ('n = 169\nquote = "higher', 'n = -169\nquote = "higher', r"chang2020_cir_3y_haplo, field 'n'"),
        ('quote = "One-year nonrelapse mortality was 5.6%."\n', "", r"metheny2024_nrm_1y, field 'quote'"),
        (
            'url = "https://pubmed.ncbi.nlm.nih.gov/34914826/"\nverified = true\nnote = "zero',
            'verified = true\nnote = "zero',
            r"gaballa2022_nrm_1y, field 'url'",
        ),
        ("estimate = 0.71\nn = 21", "estimate = 1.71\nn = 21", "field 'estimate'"),
        ('study = "stein2019"', 'study = "stein2091"', "field 'study'"),
        ("\nverified = true\n", '\nverified = "yes"\n', "field 'verified'"),
        ("[figure.gaballa2022_os_1y]", "[figure.gaballa2022_os_1y", "malformed TOML"),
    ],
)
def test_bad_sources_files_raise_one_line_prior_errors(write, old, new, match):
    text = _sources_text()
    assert old in text
    path = write("sources.toml", text.replace(old, new, 1))
    with pytest.raises(PriorError, match=match) as exc:
        load_sources(path)
    assert "\n" not in str(exc.value) and str(path) in str(exc.value)


def test_shipped_files_are_complete_and_cited(sources):
    for f in sources.figures.values():
        assert f.quote and f.url.startswith("http")
    sets = read_sets()
    for s in sets.values():
        for t in s.transitions.values():
            for src in t.sources:
                assert all(sources.figures[k].verified for k in src.figures)


def test_informative_component_weight_by_hand(sources):
    ps = load_prior_set("literature", sources=sources)
    g = remission_pseudo_data(
        [sources.figures["gaballa2022_pfs_1y"], sources.figures["gaballa2022_nrm_1y"]], CUTS, followup_months=14.3
    )
    a0 = weak_shapes(CUTS)[0]
    a_inf, b_inf = a0 + g.events["relapse"][0], 365 * a0 + g.exposure[0]
    d, e = 1.0, 800.0  # one relapse in 800 days at risk in days 0-100
    td = TransitionData(
        {
            k: np.array([d, 0, 0, 0, 0.0]) if k == "relapse" else np.zeros(3 if k == "death_after_relapse" else 5)
            for k in ("relapse", "nrm", "gvhd", "death_after_relapse")
        },
        {
            k: np.array([e, 0, 0, 0, 0.0]) if k == "relapse" else np.zeros(3 if k == "death_after_relapse" else 5)
            for k in ("relapse", "nrm", "gvhd", "death_after_relapse")
        },
        {
            k: np.asarray(RCUTS if k == "death_after_relapse" else CUTS, float)
            for k in ("relapse", "nrm", "gvhd", "death_after_relapse")
        },
    )
    row = ess_table(ps, stats=[td]).set_index(["transition", "interval"]).loc[("relapse", "0-100")]
    assert row.part == "robust mixture" and row.prior_weight == pytest.approx(0.8)
    # the informative component is the power prior Gamma(a0 + d_G, 365 a0 + E_G)
    assert row.informative_ess_events == pytest.approx(a_inf, rel=1e-9)
    assert row.informative_ess_days == pytest.approx(b_inf, rel=1e-9)
    # the robust component has the baseline's shape a0 < 1: the whole mixture's ESS is by moments
    assert row.ess_method == "moment" and row.ess_events < row.informative_ess_events

    def log_m(a, b):  # negative-binomial marginal likelihood of d events in e days
        return (
            math.lgamma(a + d)
            - math.lgamma(a)
            - math.lgamma(d + 1)
            + a * math.log(b / (b + e))
            + d * math.log(e / (b + e))
        )

    w1 = 0.8 * math.exp(log_m(a_inf, b_inf))
    w2 = 0.2 * math.exp(log_m(a0, 365 * a0))  # the robust component is the baseline Gamma(a0, 365 a0)
    assert row.posterior_weight == pytest.approx(w1 / (w1 + w2), rel=1e-9)


def test_map_hierarchical_fit_matches_quadrature(map_fit):
    """The MAP fit (adaptive quadrature, models/map_prior.py) against an independent fixed grid over
    (mu, tau) with non-adaptive Gauss-Hermite integration of z."""
    d = np.array([10.0, 25.0, 6.0, 14.0])
    e = np.array([10_000.0, 15_000.0, 9_000.0, 9_000.0])
    mu = np.linspace(-10.0, -4.0, 241)[:, None]
    tau = np.linspace(1e-4, 2.5, 200)[None, :]
    z, wz = np.polynomial.hermite_e.hermegauss(60)
    wz = wz / wz.sum()
    loglik = np.zeros((mu.size, tau.size))
    for ds, es in zip(d, e, strict=True):
        ll = ds * (mu[..., None] + tau[..., None] * z) - es * np.exp(mu[..., None] + tau[..., None] * z)
        m = ll.max(axis=-1, keepdims=True)
        loglik += m[..., 0] + np.log(np.exp(ll - m) @ wz)
    logpost = loglik + stats.norm.logpdf(mu, math.log(1 / 365), 2.0) + stats.halfnorm.logpdf(tau, scale=0.5)
    post = np.exp(logpost - logpost.max())
    post /= post.sum()
    draws = map_fit.draws[0]
    for p in (0.025, 0.5, 0.975):
        x = math.log(np.quantile(draws, p))
        cdf = float((post * stats.norm.cdf((x - mu) / tau)).sum())  # predictive P(log lambda* <= x)
        assert cdf == pytest.approx(p, abs=0.01)  # 4 Monte Carlo SDs of 40,000 independent draws


def test_override_rule_resets_provenance(sources):
    ps = load_prior_set("md_anderson", sources=sources)
    new = ps.with_transition("relapse", GammaMixture.single(2.0, 2000.0))
    assert new.provenance["relapse"].method == "user override" and new.provenance["nrm"].method == "power"
    row = ess_table(new).set_index(["transition", "interval"]).loc[("relapse", "0-100")]
    assert row.ess_events == pytest.approx(2.0)


def test_conflict_over_tables_takes_medians():
    g = GammaMixture.single(20.0, 20_000.0)
    ps = LibraryPriorSet("t", {k: g for k in ("relapse", "nrm", "gvhd", "death_after_relapse")})
    ks = ("relapse", "nrm", "gvhd", "death_after_relapse")

    def td(n_rel: float) -> TransitionData:
        return TransitionData(
            events={k: np.array([n_rel if k == "relapse" else 1.0]) for k in ks},
            exposure={k: np.array([2000.0]) for k in ks},
            cuts={k: np.array([0.0]) for k in ks},
        )

    from models.prior_conflict import conflict_table_draws

    tab = conflict_table_draws(ps, [td(1.0), td(2.0), td(12.0)]).set_index("transition")
    singles = [conflict_table(ps, td(x)).set_index("transition").loc["relapse", "p_value"] for x in (1.0, 2.0, 12.0)]
    assert tab.loc["relapse", "p_value"] == pytest.approx(np.median(singles))
    assert tab.loc["relapse", "p_value_min"] == pytest.approx(min(singles))
    assert tab.loc["relapse", "observed_events"] == 2.0 and tab.loc["relapse", "n_tables"] == 3


# ----------------------------------------------------------------------------- on-disk MAP cache


def test_map_fit_disk_cache_round_trip_and_reuse(tmp_path, monkeypatch):
    """A MAP fit is computed once per distinct input and read back identically from disk."""
    import models.map_prior as pl  # fit_map and its cache live there (re-exported by prior_library)

    monkeypatch.setenv("TXBAYES_CACHE", str(tmp_path))
    calls = []
    fake = pl.MapFit(
        (pl.GammaMixture((0.7, 0.3), (2.0, 5.0), (900.0, 3000.0)), None),
        (np.linspace(1e-4, 1e-2, 50), None),
        ({"ks": 0.01, "max_quantile_rel_error": 0.02}, None),
        0.5,
    )

    def fake_fit(*args):
        calls.append(args)
        return fake

    monkeypatch.setattr(pl, "_map_fit_cached", fake_fit)
    monkeypatch.setattr(pl, "_map_cache_path", lambda args: tmp_path / f"{abs(hash(args))}.npz")
    d, e = np.array([[2.0, 0.0]]), np.array([[1000.0, 0.0]])
    first = pl.fit_map(d, e)
    again = pl.fit_map(d, e)
    assert len(calls) == 1  # the second call read the file
    assert again.mixtures[0] == first.mixtures[0] and again.mixtures[1] is None
    np.testing.assert_array_equal(again.draws[0], first.draws[0])
    assert again.quality[0] == first.quality[0] and again.tau_scale == 0.5
    pl.fit_map(d * 2, e)
    assert len(calls) == 2  # other inputs, another fit


def test_map_cache_key_depends_on_inputs_and_can_be_disabled(monkeypatch, tmp_path):
    import models.map_prior as pl

    monkeypatch.setenv("TXBAYES_CACHE", str(tmp_path))
    a = pl._map_cache_path(((1.0,), (100.0,), 0.5, 1, 1000, 4))
    b = pl._map_cache_path(((1.0,), (100.0,), 0.25, 1, 1000, 4))
    assert a != b and a.parent == tmp_path / "map"
    monkeypatch.setenv("TXBAYES_CACHE", "off")
    assert pl._map_cache_path(((1.0,), (100.0,), 0.5, 1, 1000, 4)) is None
