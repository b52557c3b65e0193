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
    get_prior_set,
    prior_landmarks,
    sample_prior_hazards,
    vague,
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
    assert vague().conjugate
    ln = vague().with_transition("nrm", LogNormalHazard(-7.0, 1.0))
    assert not ln.conjugate and ln.name == "vague+nrm"
    rw = vague().with_transition("relapse", RandomWalkLogHazard(-7.0, 1.0, 0.5))
    assert not rw.conjugate
    mix = vague().with_transition("relapse", [GammaMixture((0.5, 0.5), (1, 2), (100, 300))] * 5)
    assert mix.conjugate


def test_lookup_by_name():
    assert get_prior_set("vague").name == "vague"
    with pytest.raises(PriorError, match="--prior"):
        get_prior_set("optimistic")


def test_prior_sampling_matches_moments():
    rng = np.random.default_rng(0)
    ps = (
        vague()
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


def test_vague_prior_clinical_reading_stated_in_its_docstring():
    # vague(): "1-year relapse incidence from transplant has prior median ≈ 37% and 95% interval
    # ≈ (4%, 85%)" — simulation with 20,000 draws; MC error of these quantiles < 1 point.
    draws = prior_landmarks(vague(), CUTS, RCUTS, day=365, n=20_000, seed=0)["relapse_cif"]
    lo, med, hi = np.quantile(draws, [0.025, 0.5, 0.975])
    assert med == pytest.approx(0.37, abs=0.02)
    assert lo == pytest.approx(0.04, abs=0.01)
    assert hi == pytest.approx(0.85, abs=0.02)
    assert "37%" in vague.__doc__ and "(4%, 85%)" in vague.__doc__


def test_params_are_json_ready():
    import json

    doc = json.loads(json.dumps(vague().params()))
    assert doc["transitions"]["relapse"]["family"] == "gamma_mixture"
    assert doc["transitions"]["relapse"]["rates_per_day"] == [182.5]
