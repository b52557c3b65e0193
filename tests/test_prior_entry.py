"""Delayed entry of a literature source: pseudo-data on the analysis clock.

A study may state when its patients entered the risk set (``entry`` in ``data/priors/sources.toml``).
Rule (``models/prior_sources.py``, "Entry"): every pseudo-patient enters at the median entry day m,
survival is 1 on [0, m], the first piece runs over (m, t_1] at -log S(t_1)/(t_1 - m), and nothing
accrues before m. Hand computations are written out in each test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from models.constants import DEFAULT_CUTS
from models.errors import PriorError
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS
from models.prior_sources import (
    ENTRY_RULE_NONE,
    SOURCES_TOML,
    load_sources,
    parse_sources,
    piecewise_pseudo_data,
    read_toml,
    remission_pseudo_data,
    survival_pseudo_data,
)

CUTS = (0.0, 100.0, 180.0, 365.0, 730.0)
GABALLA = ("gaballa2022_pfs_1y", "gaballa2022_nrm_1y")
ENTRY_QUOTE = "The median time from HCT to the first cycle of blinatumomab was 78 days (range, 44 to 105)."


@pytest.fixture(scope="module")
def sources():
    return load_sources()


def _gaballa(sources, **kw):
    return remission_pseudo_data([sources.figures[k] for k in GABALLA], CUTS, followup_months=14.3, **kw)


# ----------------------------------------------------------------------------- the rule by hand


def test_default_cuts_are_the_ones_computed_by_hand():
    assert tuple(DEFAULT_CUTS) == CUTS


def test_single_landmark_with_entry_matches_hand_computation():
    # Gaballa: PFS 71% at day 365, NRM 0%, n = 21, entry at day 78.
    # Hazard over (78, 365]: -log(0.71) / 287 = 0.0011933 per day (old rule: -log(0.71) / 365 = 0.00093833).
    lam = -math.log(0.71) / (365.0 - 78.0)
    assert lam == pytest.approx(0.00119335, rel=1e-5)
    ev, ex = piecewise_pseudo_data([365.0], [0.71], {"relapse": [0.29], "nrm": [0.0]}, 21, CUTS, entry=78.0)
    # exposure n * int S(u) du over each interval from day 78, S(u) = exp(-lam (u - 78))
    e0 = 21 * (1 - math.exp(-lam * 22)) / lam  # [78, 100]
    e1 = 21 * (math.exp(-lam * 22) - math.exp(-lam * 102)) / lam  # [100, 180]
    e2 = 21 * (math.exp(-lam * 102) - math.exp(-lam * 287)) / lam  # [180, 365]
    assert ex[:3] == pytest.approx([e0, e1, e2], rel=1e-12)
    assert ex[:3] == pytest.approx([455.988, 1560.781, 3086.529], abs=1e-3)
    assert ex[3] == 0.0 and ex[4] == 0.0
    # events = hazard x exposure per interval; all relapses (NRM 0%)
    assert ev["relapse"][:3] == pytest.approx([lam * e0, lam * e1, lam * e2], rel=1e-12)
    assert ev["relapse"][:3] == pytest.approx([0.5442, 1.8626, 3.6833], abs=1e-4)
    assert ev["nrm"].sum() == 0.0
    # totals: events n F(365) = 6.09 exactly; exposure n (1 - S) (t - m) / -log S = 5103.3 days
    assert ev["relapse"].sum() == pytest.approx(21 * 0.29, rel=1e-12)
    assert ex.sum() == pytest.approx(21 * 0.29 * 287 / -math.log(0.71), rel=1e-12)
    assert ex.sum() == pytest.approx(5103.298, abs=1e-3)


def test_no_exposure_and_no_events_before_entry():
    cuts = (0.0, 30.0, 78.0, 90.0, 365.0)
    ev, ex = piecewise_pseudo_data([365.0], [0.71], {"relapse": [0.29], "nrm": [0.0]}, 21, cuts, entry=78.0)
    assert ex[0] == 0.0 and ex[1] == 0.0
    assert ev["relapse"][0] == 0.0 and ev["relapse"][1] == 0.0
    lam = -math.log(0.71) / 287
    assert ex[2] == pytest.approx(21 * (1 - math.exp(-12 * lam)) / lam, rel=1e-12)  # [78, 90]
    # an interval straddling the entry day gets only its part after it
    ev2, ex2 = piecewise_pseudo_data([365.0], [0.71], {"relapse": [0.29]}, 21, (0.0, 100.0), entry=78.0)
    assert ex2[0] == pytest.approx(21 * (1 - math.exp(-22 * lam)) / lam, rel=1e-12)
    assert ev2["relapse"][0] == pytest.approx(lam * ex2[0], rel=1e-12)


@pytest.mark.parametrize("entry", [0.0, 1.0, 44.0, 78.0, 105.0, 300.0])
def test_events_sum_to_n_times_incidence_for_any_entry(entry):
    # two landmarks, two causes: sum_j d_kj = n F_k(t_M) whatever the entry day
    times, surv, cifs = [365.0, 1096.0], [0.6, 0.4], {"a": [0.3, 0.45], "b": [0.1, 0.15]}
    ev, ex = piecewise_pseudo_data(times, surv, cifs, 50, CUTS, entry=entry)
    assert ev["a"].sum() == pytest.approx(50 * 0.45, rel=1e-12)
    assert ev["b"].sum() == pytest.approx(50 * 0.15, rel=1e-12)
    # the first piece's all-cause hazard is -log S(t_1) / (t_1 - m); cause a takes 0.3 / 0.4 of it
    lam1 = -math.log(0.6) / (365.0 - entry)
    j = int(np.searchsorted(CUTS, entry, side="right")) - 1
    assert ev["a"][j] / ex[j] == pytest.approx(lam1 * 0.3 / 0.4, rel=1e-12)
    # later pieces do not depend on the entry: exposure after the first landmark is unchanged
    ev0, ex0 = piecewise_pseudo_data(times, surv, cifs, 50, CUTS)
    assert ex[3:] == pytest.approx(ex0[3:], rel=1e-12)
    assert ev["a"][3:] == pytest.approx(ev0["a"][3:], rel=1e-12)


def test_entry_with_a_horizon_before_the_landmark():
    # median follow-up 200 days < landmark 365; entry 78: events n (1 - exp(-lam (200 - 78)))
    lam = -math.log(0.71) / 287
    ev, ex = piecewise_pseudo_data([365.0], [0.71], {"relapse": [0.29]}, 21, CUTS, horizon=200.0, entry=78.0)
    assert ev["relapse"].sum() == pytest.approx(21 * (1 - math.exp(-122 * lam)), rel=1e-12)
    assert ex.sum() == pytest.approx(21 * (1 - math.exp(-122 * lam)) / lam, rel=1e-12)
    assert ex[3] == 0.0


def test_median_survival_with_entry(sources):
    # TOWER blinatumomab median OS 7.7 months = 234 days; a (hypothetical) entry at day 30 on the
    # same clock: hazard log 2 / (234 - 30), events n / 2, exposure n (234 - 30) / (2 log 2)
    doc = read_toml(SOURCES_TOML)
    doc["figure"]["tower2017_median_os_blin"]["entry"] = {"median_day": 30, "quote": "q", "url": "https://x"}
    src = parse_sources(doc, "s.toml")
    p = survival_pseudo_data([src.figures["tower2017_median_os_blin"]], DEFAULT_RELAPSE_DEATH_CUTS)
    assert p.events["death"].sum() == pytest.approx(271 / 2, rel=1e-12)
    assert p.exposure.sum() == pytest.approx(271 * 204 / (2 * math.log(2)), rel=1e-12)
    assert p.events["death"][0] / p.exposure[0] == pytest.approx(math.log(2) / 204, rel=1e-12)
    assert "figure.tower2017_median_os_blin" in p.entry_rule


# ----------------------------------------------------------------------------- Gaballa 2022 before and after


def test_gaballa_entry_is_read_from_the_file(sources):
    e = sources.studies["gaballa2022"].entry
    assert (e.median_day, e.range) == (78.0, (44.0, 105.0))
    assert e.quote == ENTRY_QUOTE and e.url == "https://pubmed.ncbi.nlm.nih.gov/34914826/"
    assert all(sources.figures[k].entry == e for k in (*GABALLA, "gaballa2022_os_1y"))
    # the second-hand subgroup claim (study huang2024) has no entry of its own
    assert sources.figures["gaballa2022_matched_subgroup_claim"].entry is None


def test_gaballa_pseudo_data_before_and_after(sources):
    before, after = _gaballa(sources, use_entry=False), _gaballa(sources)
    lam0, lam1 = -math.log(0.71) / 365, -math.log(0.71) / 287
    # before: exposure from day 0 (values of the day-0 rule, unchanged)
    assert before.exposure == pytest.approx([2004.486, 1473.532, 3012.238, 0, 0], abs=1e-3)
    assert before.events["relapse"] == pytest.approx([1.8809, 1.3827, 2.8265, 0, 0], abs=1e-4)
    assert before.exposure.sum() == pytest.approx(21 * 0.29 / lam0, rel=1e-12)  # 6490.3 days
    # after: exposure from day 78
    assert after.exposure == pytest.approx([455.988, 1560.781, 3086.529, 0, 0], abs=1e-3)
    assert after.events["relapse"] == pytest.approx([0.5442, 1.8626, 3.6833, 0, 0], abs=1e-4)
    assert after.exposure.sum() == pytest.approx(21 * 0.29 / lam1, rel=1e-12)  # 5103.3 days
    # same events in total, n F_rel(365) = 6.09; NRM stays 0 events
    assert after.events["relapse"].sum() == pytest.approx(before.events["relapse"].sum(), rel=1e-12)
    assert after.events["relapse"].sum() == pytest.approx(6.09, rel=1e-12)
    assert after.events["nrm"].sum() == 0.0
    # at-risk days per patient: 0.29 x 287 / 0.34249 = 243.0 (was 309.1)
    assert after.followup_per_patient == pytest.approx(0.29 * 287 / -math.log(0.71), rel=1e-12)


def test_gaballa_share_of_exposure_in_the_first_100_days(sources):
    before, after = _gaballa(sources, use_entry=False), _gaballa(sources)
    share_before = before.exposure[0] / before.exposure.sum()
    share_after = after.exposure[0] / after.exposure.sum()
    # before: (1 - exp(-100 lam0)) / (1 - S) = 30.9%; after: (1 - exp(-22 lam1)) / (1 - S) = 8.9%
    assert share_before == pytest.approx((1 - 0.71 ** (100 / 365)) / 0.29, rel=1e-12)
    assert share_after == pytest.approx((1 - 0.71 ** (22 / 287)) / 0.29, rel=1e-12)
    assert share_before == pytest.approx(0.3088, abs=1e-4)
    assert share_after == pytest.approx(0.0894, abs=1e-4)


def test_pseudo_data_record_the_entry_rule(sources):
    after, before = _gaballa(sources), _gaballa(sources, use_entry=False)
    assert after.entry == sources.studies["gaballa2022"].entry and after.entry_day == 78.0
    assert "study.gaballa2022" in after.entry_rule and "median day 78" in after.entry_rule
    assert after.label == "gaballa2022 (blinatumomab maintenance; entry day 78)"
    assert before.entry is None and before.entry_day == 0.0 and before.entry_rule == ENTRY_RULE_NONE
    assert before.label == "gaballa2022 (blinatumomab maintenance)"
    half = after.scaled(0.5)  # power-prior discounting keeps the rule
    assert half.entry_rule == after.entry_rule and half.exposure[0] == pytest.approx(0.5 * after.exposure[0])


def test_named_sets_use_the_entry(sources):
    from models.prior_library import load_prior_set

    ps = load_prior_set("md_anderson", sources=sources)  # Gaballa at a0 = 0.5
    prov = ps.provenance["relapse"]
    assert prov.sources == ("gaballa2022 (blinatumomab maintenance; entry day 78)",)
    assert prov.pseudo_exposure[0] == pytest.approx(0.5 * _gaballa(sources).exposure[0], rel=1e-12)


# ----------------------------------------------------------------------------- sources without entry: unchanged

# Pseudo-data of the day-0 rule for the shipped sources without entry (and for Gaballa with its entry
# ignored), default cut points: (exposure, relapse events, NRM events). Computed with the conversion
# as it was before entry was recorded; compared bit for bit.
GOLDEN_DAY0 = {
    ("gaballa2022_pfs_1y", "gaballa2022_nrm_1y"): (
        [2004.4860555393489, 1473.5322748486121, 3012.2383044222156, 0.0, 0.0],
        [1.8808686258662357, 1.3826589700162928, 2.8264724041174722, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0],
    ),
    ("chang2020_cir_3y_haplo", "chang2020_nrm_3y_haplo"): (
        [16583.65402567837, 12821.604613843117, 28202.032201551363, 50162.63175316058, 43791.616008432786],
        [4.253101663661645, 3.2882733702421967, 7.232791391410547, 12.864883229755305, 11.23095034493031],
        [2.034092100012091, 1.5726524814201808, 3.4591611002398266, 6.152770240317754, 5.371324078010147],
    ),
    ("chang2020_cir_3y_msd", "chang2020_nrm_3y_msd"): (
        [3753.622327244776, 2801.5833133259794, 5854.263508418448, 9368.876146330042, 7090.071793805036],
        [2.383362310651855, 1.7788651859478515, 3.7171643245287935, 5.9487674447840355, 4.501840734087462],
        [0.5070983639684798, 0.37848195445698973, 0.7908860264954881, 1.2656952010178804, 0.9578384540611624],
    ),
    ("xu2014_relapse_3y_haplo", "xu2014_nrm_haplo"): (
        [7730.757173842021, 5947.152247567717, 12985.895902745322, 22751.791102809486, 19462.80270406972],
        [1.658088416252268, 1.2755418427507033, 2.7852075918068167, 4.8797912582489715, 4.174370890941242],
        [1.7024223311253235, 1.3096472396156955, 2.859678383031598, 5.010266960341191, 4.285985085886196],
    ),
    ("santoro2017_ri", "santoro2017_nrm", "santoro2017_lfs_3y"): (
        [19727.209051235477, 14332.221556969675, 28805.71039315431, 42561.65306115275, 18205.049161170115],
        [11.304008595078818, 8.21259384669078, 16.506136120211824, 24.388512879570357, 10.431786455814496],
        [9.776439866014114, 7.102783867408242, 14.275577185048066, 21.092767895844634, 9.022085583407133],
    ),
    ("metheny2024_pfs_1y", "metheny2024_nrm_1y"): (
        [1771.569010411255, 1377.089747404644, 3052.9745810656027, 0.0, 0.0],
        [0.2776631548537027, 0.21583527456957416, 0.47850157057672305, 0.0, 0.0],
        [0.2879469754038399, 0.22382917362770655, 0.4962238509684536, 0.0, 0.0],
    ),
    ("liu2021_cir_2y", "liu2021_dfs_2y"): (
        [3329.6061398475845, 2564.8326933524895, 5611.34491324154, 9870.862772839653, 0.0],
        [1.0697531508437028, 0.8240427665797022, 1.8028420327473635, 3.1713620498292308, 0.0],
        [0.32834007600153253, 0.2529240174650571, 0.5533475546056265, 0.9733883519277837, 0.0],
    ),
    ("blast2018_rfs_18m",): (
        [10404.107303002404, 7520.773852279812, 15006.400800609124, 12069.405703082348, 0.0],
        [11.698661885379911, 8.456563148751615, 16.873606160536152, 13.571168805332318, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0],
    ),
}
# Death after relapse, cut points (0, 90, 365): (exposure, death events).
GOLDEN_DEATH_DAY0 = {
    ("stein2019_median_os", "stein2019_os_1y", "stein2019_os_3y"): (
        [5118.813121010363, 9729.410019296294, 12149.108062730867],
        [13.699192597071765, 27.260807402928233, 11.520000000000003],
    ),
    ("tower2017_median_os_blin",): (
        [21409.511751833317, 24334.019909633047, 0.0],
        [63.41855858097555, 72.08144141902444, 0.0],
    ),
}


@pytest.mark.parametrize("keys", list(GOLDEN_DAY0))
def test_sources_without_entry_give_the_day0_pseudo_data_bit_for_bit(sources, keys):
    figs = [sources.figures[k] for k in keys]
    fu = sources.studies[figs[0].study].followup_months
    aer = keys == ("blast2018_rfs_18m",)
    use_entry = keys != GABALLA  # Gaballa: with its entry ignored
    p = remission_pseudo_data(figs, CUTS, followup_months=fu, all_events_relapse=aer, use_entry=use_entry)
    exposure, relapse, nrm = GOLDEN_DAY0[keys]
    assert p.exposure.tolist() == exposure
    assert p.events["relapse"].tolist() == relapse
    assert p.events["nrm"].tolist() == nrm
    assert p.entry is None and p.entry_rule == ENTRY_RULE_NONE


@pytest.mark.parametrize("keys", list(GOLDEN_DEATH_DAY0))
def test_death_sources_without_entry_are_unchanged(sources, keys):
    figs = [sources.figures[k] for k in keys]
    fu = sources.studies[figs[0].study].followup_months
    p = survival_pseudo_data(figs, DEFAULT_RELAPSE_DEATH_CUTS, followup_months=fu)
    exposure, death = GOLDEN_DEATH_DAY0[keys]
    assert p.exposure.tolist() == exposure and p.events["death"].tolist() == death
    assert p.entry_rule == ENTRY_RULE_NONE


def test_entry_zero_is_the_day0_rule():
    args = ([365.0, 1096.0], [0.6, 0.4], {"a": [0.3, 0.45], "b": [0.1, 0.15]}, 50, CUTS, 800.0)
    ev0, ex0 = piecewise_pseudo_data(*args)
    ev1, ex1 = piecewise_pseudo_data(*args, entry=0.0)
    assert ex0.tobytes() == ex1.tobytes() and all(ev0[k].tobytes() == ev1[k].tobytes() for k in ev0)


def test_only_sources_with_a_quoted_number_have_entry(sources):
    with_entry = {k for k, s in sources.studies.items() if s.entry is not None}
    assert with_entry == {"gaballa2022", "lu2024"}
    for k in with_entry:
        e = sources.studies[k].entry
        assert e.quote.strip() and e.url.startswith("http") and e.range is not None


# ----------------------------------------------------------------------------- malformed entry data


def _sources_text() -> str:
    return Path(SOURCES_TOML).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (f'quote = "{ENTRY_QUOTE}"\n', "", r"study\.gaballa2022\.entry, field 'quote': found 'missing'"),
        (f'quote = "{ENTRY_QUOTE}"', 'quote = "  "', r"study\.gaballa2022\.entry, field 'quote'"),
        (
            'url = "https://pubmed.ncbi.nlm.nih.gov/34914826/"\nnote = "the 1-year',
            'note = "the 1-year',
            r"study\.gaballa2022\.entry, field 'url': found 'missing'",
        ),
        ("range = [44, 105]", "range = [80, 105]", r"study\.gaballa2022\.entry, field 'range'.*median_day 78"),
        ("range = [44, 105]", "range = [44, 70]", r"study\.gaballa2022\.entry, field 'range'.*median_day 78"),
        ("range = [44, 105]", "range = [44]", r"study\.gaballa2022\.entry, field 'range'.*\[first, last\]"),
        ("median_day = 78", "median_day = -78", r"study\.gaballa2022\.entry, field 'median_day'.*day >= 0"),
        ("range = [44, 105]", "range = [-44, 105]", r"study\.gaballa2022\.entry, field 'range'.*day >= 0"),
        ("median_day = 78", 'median_day = "78"', r"study\.gaballa2022\.entry, field 'median_day'.*finite number"),
        ("median_day = 78", "median_day = 78\nmedian = 78", r"study\.gaballa2022\.entry, field 'median'.*unknown key"),
        (
            "median_day = 78\nrange = [44, 105]",
            "median_day = 400\nrange = [44, 500]",
            r"figure\.gaballa2022_os_1y, field 'entry'.*entry day 400 \(study\.gaballa2022\).*landmark day 365",
        ),
        (
            "median_day = 78\nrange = [44, 105]",
            "median_day = 365\nrange = [44, 500]",
            r"figure\.gaballa2022_os_1y, field 'entry'.*on or after the landmark day 365",
        ),
    ],
)
def test_malformed_entry_is_a_one_line_prior_error(write, old, new, match):
    text = _sources_text()
    assert old in text
    path = write("sources.toml", text.replace(old, new, 1))
    with pytest.raises(PriorError, match=match) as exc:
        load_sources(path)
    assert "\n" not in str(exc.value) and str(path) in str(exc.value)


def test_entry_that_is_not_a_table_is_refused():
    doc = read_toml(SOURCES_TOML)
    doc["study"]["gaballa2022"]["entry"] = 78
    with pytest.raises(PriorError, match=r"s\.toml, study\.gaballa2022, field 'entry': found 78; expected a table"):
        parse_sources(doc, "s.toml")


def test_unknown_key_in_a_figure_entry_is_refused():
    doc = read_toml(SOURCES_TOML)
    doc["figure"]["gaballa2022_pfs_1y"]["entry"] = {"median_day": 78, "quote": "q", "url": "u", "days": 1}
    with pytest.raises(PriorError, match=r"figure\.gaballa2022_pfs_1y\.entry, field 'days'"):
        parse_sources(doc, "s.toml")


def test_figure_entry_overrides_the_study_and_must_agree_within_a_cohort():
    doc = read_toml(SOURCES_TOML)
    doc["figure"]["gaballa2022_pfs_1y"]["entry"] = {"median_day": 60, "quote": "q", "url": "https://x"}
    src = parse_sources(doc, "s.toml")
    assert src.figures["gaballa2022_pfs_1y"].entry.median_day == 60.0
    assert src.figures["gaballa2022_pfs_1y"].entry.declared_in == "figure.gaballa2022_pfs_1y"
    assert src.figures["gaballa2022_nrm_1y"].entry.median_day == 78.0
    figs = [src.figures[k] for k in GABALLA]
    with pytest.raises(PriorError, match=r"s\.toml, relapse, field 'figures'.*one entry") as exc:
        remission_pseudo_data(figs, CUTS, src="s.toml", where="relapse")
    assert "\n" not in str(exc.value)
    doc["figure"]["gaballa2022_nrm_1y"]["entry"] = {"median_day": 60, "quote": "q", "url": "https://x"}
    p = remission_pseudo_data([parse_sources(doc, "s.toml").figures[k] for k in GABALLA], CUTS)
    assert p.entry_day == 60.0 and p.events["relapse"][0] / p.exposure[0] == pytest.approx(-math.log(0.71) / 305)


def test_entry_after_the_horizon_is_refused(sources):
    # median follow-up 2 months = 60.875 days < entry day 78: nothing would be informed
    with pytest.raises(PriorError, match=r"prior set, source, field 'entry'.*horizon day 60\.875") as exc:
        remission_pseudo_data([sources.figures[k] for k in GABALLA], CUTS, followup_months=2.0)
    assert "\n" not in str(exc.value)


def test_entry_outside_the_landmarks_is_refused_by_the_conversion():
    with pytest.raises(PriorError, match="field 'entry'"):
        piecewise_pseudo_data([365.0], [0.71], {"relapse": [0.29]}, 21, CUTS, entry=365.0)
    with pytest.raises(PriorError, match="field 'entry'"):
        piecewise_pseudo_data([365.0], [0.71], {"relapse": [0.29]}, 21, CUTS, entry=-1.0)
