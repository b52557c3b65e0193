"""No two pieces of text overlap in the figures the toolkit draws (rendered, boxes measured).

Each figure is drawn as the commands draw it: the fit's from a short exact fit on the default and
the bmt pack, the sensitivity figures from the default grid's own factors and levels (the longest
names a user sees) with values spread over the axis, the planning figures from a small planning run
and the prior figures of two shipped sets.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from figure_text import overlapping_texts

from models.sensitivity import DEFAULT_CONFIG, build_scenarios, load_config, tornado_table
from models.sensitivity_plots import fit_level_names, tipping_heatmap, tornado


@pytest.mark.parametrize(
    "settings",
    [{}, {"study": "data/bmt_scrucca2007", "from_transplant": True, "prior": "weak"}],
    ids=["default", "bmt-from-transplant"],
)
def test_fit_figures_have_no_overlapping_text(settings):
    from models.workflows import FitSettings, fit_study

    figures = fit_study(FitSettings(draws=200, max_summary_draws=400, **settings)).figures()
    for name, fig in figures.items():
        assert overlapping_texts(fig) == [], name
        plt.close(fig)


def _default_grid_table() -> pd.DataFrame:
    """The default grid's scenarios (real factor and level names) with values spread over [0.02, 0.98]."""
    cfg = load_config(DEFAULT_CONFIG)
    rows = []
    rng = np.random.default_rng(1)
    for sc in build_scenarios(cfg, 20):
        value = float(rng.uniform(0.02, 0.98))
        rows.append(
            {
                "kind": sc.kind,
                "factor": sc.factor,
                "level": sc.level,
                "status": "ok",
                "centre": getattr(sc, "centre", None),
                "weight": getattr(sc, "weight", None),
                "relapse_cif_median": value,
                "P[claim]": value,
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("percent", [True, False], ids=["incidence", "probability"])
def test_tornado_of_the_default_grid_has_no_overlapping_text(percent):
    table = _default_grid_table()
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    column = "relapse_cif_median" if percent else "P[claim]"
    tornado(
        tornado_table(table, column),
        ax=ax,
        xlabel="x",
        percent=percent,
        reference=None if percent else (0.9, 0.95),
        base_interval=(0.05, 0.6) if percent else None,
    )
    fig.tight_layout()
    fit_level_names(ax)  # as the sensitivity figures are drawn
    assert overlapping_texts(fig) == []
    plt.close(fig)


def test_tipping_heatmap_of_the_default_grid_has_no_overlapping_text():
    table = _default_grid_table()
    grid = table[table["kind"] == "grid"]
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    tipping_heatmap(grid, "P[claim]", thresholds=(0.9, 0.95), base=(0.35, 14.0), ax=ax, title="t")
    fig.tight_layout()
    assert overlapping_texts(fig) == []
    plt.close(fig)


def test_planning_figures_have_no_overlapping_text():
    from models.workflows import PlanSettings, plan_trial

    result = plan_trial(PlanSettings(posterior="none", n_sims=200, n_grid=(40, 120), workers=1))
    for name, fig in result.figures().items():
        assert overlapping_texts(fig) == [], name
        plt.close(fig)


@pytest.mark.parametrize("prior", ["literature", "md_anderson_commensurate"])
def test_prior_figures_have_no_overlapping_text(prior):
    from models.workflows import PriorSettings, plot_prior

    for name, fig in plot_prior(PriorSettings(prior=prior, draws=2000)).figures().items():
        assert overlapping_texts(fig) == [], name
        plt.close(fig)
