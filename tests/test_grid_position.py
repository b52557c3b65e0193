"""The base prior's place on the sensitivity heat map: the exact inverse of the grid's prior."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from models.constants import DEFAULT_CUTS
from models.prior_library import load_prior_set
from models.sensitivity.transforms import centred_prior, grid_position
from models.sensitivity_plots import tipping_heatmap


@pytest.mark.parametrize(("centre", "weight"), [(0.05, 1.0), (0.187, 10.0), (0.4, 80.0)])
def test_grid_position_inverts_centred_prior(centre, weight):
    prior = centred_prior(load_prior_set("literature"), centre, weight, DEFAULT_CUTS)
    got = grid_position(prior, DEFAULT_CUTS)
    assert got is not None
    assert got[0] == pytest.approx(centre, rel=1e-12) and got[1] == pytest.approx(weight, rel=1e-12)


def test_priors_off_the_grid_have_no_position():
    assert grid_position(load_prior_set("weak"), DEFAULT_CUTS) is None  # adds nothing to the baseline
    assert grid_position(load_prior_set("md_anderson_commensurate"), DEFAULT_CUTS) is None  # not per interval


def test_heatmap_marks_the_base_prior():
    grid = pd.DataFrame(
        [{"centre": c, "weight": w, "P": c * w / 4} for c in (0.1, 0.2) for w in (1, 2)]  # any values in [0, 1]
    )
    ax = tipping_heatmap(grid, "P", thresholds=[0.9], base=(0.15, 1.5), base_label="base prior 'x'")
    (line,) = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert line.get_xdata()[0] == pytest.approx(0.5) and 0 < line.get_ydata()[0] < 1
    assert "base prior 'x': centre 15%, weight 2" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(ax.figure)
