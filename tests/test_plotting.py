"""Figure functions return labelled Axes and never write files."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from models.plotting import add_at_risk, plot_posterior_curve, plot_prior_posterior, sparse_from


def _curves() -> pd.DataFrame:
    day = np.arange(0, 401)
    med = 1 - np.exp(-day / 1000)
    return pd.DataFrame(
        {
            "quantity": "relapse_cif",
            "scale": "from_transplant",
            "day": day,
            "mean": med,
            "median": med,
            "lower": med * 0.5,
            "upper": med * 1.5,
        }
    )


def test_posterior_curve_draws_band_steps_and_published_point(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fig, ax = plt.subplots()
    steps = [pd.DataFrame({"time": [0, 100, 200], "estimate": [0, 0.1, 0.2]})]
    out = plot_posterior_curve(_curves(), "relapse_cif", steps=steps, published=[(365, 0.3, 0.2, 0.4)], ax=ax)
    assert out is ax
    assert ax.get_xlabel() == "Days from transplant" and "relapse" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("credible band" in t for t in labels) and any("Published" in t for t in labels)
    assert ax.get_xlim() == (0.0, 400.0)
    add_at_risk(ax, np.array([0, 50, 150]), np.array([300, 400, 120]), [0, 100, 200])
    assert [t.get_text() for t in ax.texts][1:] == ["1", "2", "2"]  # entry < t <= exit
    n = len(ax.texts)
    # several tables: the range over tables, and a label that says so
    add_at_risk(ax, [np.array([0, 50, 150]), np.array([0, 0, 150])], [np.array([300, 400, 120])] * 2, [0, 100])
    assert [t.get_text() for t in ax.texts][n:] == ["At risk\n(range, 2 tables)", "1–2", "2"]
    plt.close(fig)
    assert list(tmp_path.iterdir()) == []


def test_prior_posterior_density_has_mass_on_zero_one():
    rng = np.random.default_rng(0)
    ax = plot_prior_posterior(rng.beta(1, 2, 4000), rng.beta(2, 30, 4000), benchmark=0.2)
    x, y = ax.lines[1].get_data()  # the posterior line
    assert abs(np.trapezoid(y, x) - 1) < 0.02  # the reflected KDE keeps its mass inside [0, 1]
    assert ax.get_ylabel() == "Density"
    plt.close(ax.figure)


def test_saved_figures_are_byte_identical_across_runs(tmp_path):
    # matplotlib stamps SVGs with the date and random ids and PNGs with its version: save_figure
    # fixes the id salt and drops both, so a re-run does not change committed figures
    import matplotlib.pyplot as plt

    from models.plotting import save_figure

    def draw(folder):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [0, 1, 0], label="a line")
        ax.fill_between([0, 1, 2], [0, 0.5, 0], [0, 1.5, 0], alpha=0.3)
        ax.legend()
        folder.mkdir()
        for ext in ("png", "svg"):
            save_figure(fig, folder / f"f.{ext}")
        plt.close(fig)

    draw(tmp_path / "a")
    draw(tmp_path / "b")
    for ext in ("png", "svg"):
        assert (tmp_path / "a" / f"f.{ext}").read_bytes() == (tmp_path / "b" / f"f.{ext}").read_bytes()
    svg = (tmp_path / "a" / "f.svg").read_text()
    assert "<dc:date>" not in svg


def test_sparse_from_is_the_first_day_the_median_at_risk_drops_below_the_bound():
    # two tables of 6 patients entering at day 0; at risk on day t: entry < t <= exit
    a = (np.zeros(6), np.array([10, 20, 30, 40, 50, 60.0]))  # 5 at risk on days 11..20, 4 from day 21
    b = (np.zeros(6), np.array([10, 10, 30, 40, 50, 60.0]))  # 4 at risk from day 11
    entry, exit_ = [a[0], b[0]], [a[1], b[1]]
    # median of (5, 4) = 4.5 < 5 from day 11; of (6, 6) = 6 before
    assert sparse_from(entry, exit_, start=1, end=100) == 11
    assert sparse_from(entry, exit_, start=1, end=100, fewer_than=4) == 31  # (3, 3) from day 31; (4, 4) on days 21-30
    assert sparse_from(entry, exit_, start=1, end=9) is None
    assert sparse_from(entry, exit_, start=5, end=4) is None
