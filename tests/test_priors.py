"""Prior dataclasses, prior sets, the default prior's clinical reading, prior simulation."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import PriorError
from models.intervals import TRANSITIONS
from models.priors import (
    GammaMixture,
    LogNormalHazard,
    PriorSet,
    RandomWalkLogHazard,
    half_event_per_interval,
    sample_prior_hazards,
    weak,
    weak_shapes,
)

CUTS = (0, 100, 180, 365, 730)
RCUTS = (0, 90, 365)
NINT = {k: 5 for k in TRANSITIONS} | {"death_after_relapse": 3}


def test_gamma_mixture_normalises_weights_and_has_the_mixture_mean():
    g = GammaMixture((2.0, 6.0), (1.0, 3.0), (100.0, 1000.0))
    assert g.weights == pytest.approx((0.25, 0.75))
    assert g.mean == pytest.approx(0.25 * 1 / 100 + 0.75 * 3 / 1000)
    assert GammaMixture.single(2, 4).n_components == 1


@pytest.mark.parametrize(
    "args",
    [
        ((1.0,), (0.0,), (1.0,)),
        ((1.0,), (1.0,), (-2.0,)),
        ((1.0, 1.0), (1.0,), (1.0,)),
        ((), (), ()),
        ((float("nan"),), (1.0,), (1.0,)),
    ],
)
def test_bad_gamma_mixture_raises_prior_error(args):
    with pytest.raises(PriorError):
        GammaMixture(*args)


def test_bad_lognormal_and_random_walk_raise_prior_error():
    with pytest.raises(PriorError):
        LogNormalHazard(float("inf"), 1.0)
    with pytest.raises(PriorError):
        LogNormalHazard(-6.0, 0.0)
    with pytest.raises(PriorError):
        RandomWalkLogHazard(-6.0, 1.0, -0.5)


def test_prior_set_requires_every_transition_and_known_names():
    g = GammaMixture.single(1, 100)
    with pytest.raises(PriorError, match="nrm"):
        PriorSet("p", {"relapse": g, "gvhd": g, "death_after_relapse": g})
    with pytest.raises(PriorError, match="unknown transition"):
        PriorSet("p", {k: g for k in TRANSITIONS} | {"cure": g})
    with pytest.raises(PriorError):
        PriorSet("p", {k: g for k in TRANSITIONS} | {"nrm": "gamma"})


def test_per_interval_lists_are_checked_against_the_cut_points():
    g = GammaMixture.single(1, 100)
    ps = PriorSet("p", {k: g for k in TRANSITIONS} | {"relapse": [g, g, g]})
    with pytest.raises(PriorError, match="one per interval"):
        ps.validate(NINT)
    ok = PriorSet("p", {k: g for k in TRANSITIONS} | {"relapse": [g] * 5})
    ok.validate(NINT)
    assert len(ok.per_interval("relapse", 5)) == 5


def test_conjugate_property():
    assert half_event_per_interval().conjugate
    ln = half_event_per_interval().with_transition("nrm", LogNormalHazard(-7.0, 1.0))
    assert not ln.conjugate and ln.name == "half_event_per_interval+nrm"
    rw = half_event_per_interval().with_transition("relapse", RandomWalkLogHazard(-7.0, 1.0, 0.5))
    assert not rw.conjugate
    mix = half_event_per_interval().with_transition("relapse", [GammaMixture((0.5, 0.5), (1, 2), (100, 300))] * 5)
    assert mix.conjugate


def test_lookup_by_name():
    """One lookup for every named set, the built-in baselines included."""
    from models.prior_library import load_prior_set

    assert load_prior_set("weak").name == "weak"
    assert load_prior_set("half_event_per_interval").name == "half_event_per_interval"
    with pytest.raises(PriorError, match=r"^prior: found 'optimistic'"):  # the setting; scripts show --prior
        load_prior_set("optimistic")


def test_prior_sampling_matches_moments():
    rng = np.random.default_rng(0)
    ps = (
        half_event_per_interval()
        .with_transition("nrm", LogNormalHazard(-7.0, 0.5))
        .with_transition("gvhd", RandomWalkLogHazard(-6.0, 0.3, 0.2))
    )
    hz = sample_prior_hazards(ps, NINT, 40_000, rng)
    assert hz["relapse"].shape == (40_000, 5) and hz["death_after_relapse"].shape == (40_000, 3)
    a, b = 0.5, 182.5
    se = np.sqrt(a / b**2 / 40_000)
    assert abs(hz["relapse"][:, 0].mean() - a / b) < 5 * se
    assert np.log(hz["nrm"]).mean(axis=0) == pytest.approx(np.full(5, -7.0), abs=0.02)
    steps = np.diff(np.log(hz["gvhd"]), axis=1)
    assert steps.std() == pytest.approx(0.2, rel=0.03)


def test_weak_baseline_information_does_not_grow_with_the_cuts():
    # default cuts: widths 100, 80, 185, 365 and the open interval's nominal 365 days, total 1095:
    # shapes 100/1095, 80/1095, 185/1095, 365/1095, 365/1095 of one pseudo-event
    shapes = weak_shapes(CUTS)
    assert shapes == pytest.approx(np.array([100, 80, 185, 365, 365]) / 1095)
    fine = (0, 50, 100, 140, 180, 272.5, 365, 547.5, 730)  # every finite interval halved
    assert weak_shapes(fine).sum() == pytest.approx(1.0) and shapes.sum() == pytest.approx(1.0)
    assert weak_shapes(fine)[:2] == pytest.approx([shapes[0] / 2] * 2)
    ps = weak(CUTS, RCUTS)
    for k in TRANSITIONS:
        spec = ps.per_interval(k, 3 if k == "death_after_relapse" else 5)
        # mean one event per patient-year on every interval; total information one event in 365 days
        assert all(g.mean == pytest.approx(1 / 365) for g in spec)
        assert sum(g.shapes[0] for g in spec) == pytest.approx(1.0)
        assert sum(g.rates[0] for g in spec) == pytest.approx(365.0)
    # the old default repeats half an event on every interval: 2.5 events over five intervals
    old = half_event_per_interval().per_interval("relapse", 5)
    assert sum(g.shapes[0] for g in old) == pytest.approx(2.5)
    with pytest.raises(PriorError, match="total_events"):
        weak_shapes(CUTS, total_events=0)


def test_params_are_json_ready():
    import json

    doc = json.loads(json.dumps(half_event_per_interval().params()))
    assert doc["transitions"]["relapse"]["family"] == "gamma_mixture"
    assert doc["transitions"]["relapse"]["rates_per_day"] == [182.5]
