"""Figures of the comparison with no-maintenance controls. Each function takes data and an optional
``ax`` and returns the Axes; nothing here saves a file (:func:`comparative_figures` returns
Figures that the fit's writer saves with :func:`models.plotting.save_figure`).

Conventions as :mod:`models.plotting`: posterior median with a 95% equal-tailed band; percent axes;
the treated cohort in the relapse colour, controls in grey tones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from models.constants import CI_LEVEL

if TYPE_CHECKING:
    from models.comparative.compare import Comparison
    from models.comparative.tables import ComparativeResult

TREATED_COLOUR = "#b2182b"
CONTROL_COLOURS = ("#4d4d4d", "#2166ac", "#1b7837", "#762a83", "#e08214")
#: Discounting levels shown in the forest plot (plus the headline a0).
FOREST_A0: tuple[float, ...] = (0.25, 0.5, 1.0)


def _ax(ax: Axes | None) -> Axes:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.8))
    return ax


def plot_hr_forest(
    sweep: pd.DataFrame,
    transition: str,
    *,
    a0_levels: Sequence[float] = FOREST_A0,
    names: Mapping[str, str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Posterior HR (median, 95% interval) per control and discounting level, log scale, line at HR 1.

    ``sweep`` is ``comparative_sweep.csv``; one row per control and ``a0`` in ``a0_levels``, the
    posterior probability of HR < 1 printed beside each. ``names`` labels controls in words
    (default: their ids).
    """
    ax = _ax(ax)
    rows = sweep[sweep["a0"].round(6).isin([round(a, 6) for a in a0_levels])]
    labels: list[str] = []
    pos: list[float] = []
    y = 0.0
    for i, (name, g) in enumerate(rows.groupby("control", sort=False)):
        for r in g.sort_values("a0", ascending=False).itertuples():
            med, lo, hi = (getattr(r, f"hr_{transition}_{k}") for k in ("median", "lower", "upper"))
            p = getattr(r, f"hr_{transition}_p_below_1")
            colour = CONTROL_COLOURS[i % len(CONTROL_COLOURS)]
            ax.errorbar(med, -y, xerr=[[med - lo], [hi - med]], fmt="o", color=colour, ms=4, capsize=2, lw=1.2)
            ax.annotate(
                f"P(HR<1) {p:.2f}", (hi, -y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=6.5
            )
            labels.append(f"{(names or {}).get(str(name), name)}, a0 = {r.a0:g}")
            pos.append(-y)
            y += 1
        y += 0.5
    ax.axvline(1.0, color="0.4", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(pos, labels, fontsize=7)
    ax.set_xlabel(f"Hazard ratio of {'relapse' if transition == 'relapse' else 'NRM'}, maintenance / none (log)")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_arm_incidence(
    comparison: Comparison,
    transition: str = "relapse",
    *,
    colour: str = CONTROL_COLOURS[0],
    name: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Treated against control cumulative incidence over one year from the landmark, 95% bands.

    ``name`` labels the control in words (default: its id).
    """
    ax = _ax(ax)
    lo_q, hi_q = (1 - CI_LEVEL) / 2, (1 + CI_LEVEL) / 2
    for arm, col, lab in (
        ("treated", TREATED_COLOUR, "Treated (maintenance)"),
        ("control", colour, f"Control: {name or comparison.control}"),
    ):
        v = comparison.cif[arm][transition]
        days = comparison.landmark + np.arange(v.shape[1])
        lo, med, hi = np.quantile(v, [lo_q, 0.5, hi_q], axis=0)
        ax.fill_between(days, lo, hi, color=col, alpha=0.18, lw=0)
        ax.plot(days, med, color=col, lw=1.8, label=f"{lab}, median and 95% band")
    ax.set_xlabel(f"Days from transplant (event-free at day {comparison.landmark})")
    ax.set_ylabel(f"Cumulative incidence of {'relapse' if transition == 'relapse' else 'NRM'}")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(0, None)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    return ax


def plot_a0_sweep(
    sweep: pd.DataFrame,
    tipping: dict[str, tuple[float, str]],
    level: float,
    *,
    names: Mapping[str, str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """P(HR_relapse < 1) against the power-prior weight a0, per control, with the claim level and a0*.

    ``names`` labels controls in words (default: their ids).
    """
    ax = _ax(ax)
    for i, (name, g) in enumerate(sweep.groupby("control", sort=False)):
        colour = CONTROL_COLOURS[i % len(CONTROL_COLOURS)]
        g = g.sort_values("a0")
        tip, _how = tipping[name]
        word = (names or {}).get(str(name), name)
        lab = f"{word} (a0* = {tip:.2f})" if np.isfinite(tip) else f"{word} (never reaches {level:g})"
        ax.plot(g["a0"], g["hr_relapse_p_below_1"], "o-", color=colour, ms=3, lw=1.2, label=lab)
        if np.isfinite(tip):
            ax.axvline(tip, color=colour, lw=0.8, ls=":")
    ax.axhline(level, color="0.4", lw=0.8, ls="--", label=f"Claim level {level:g}")
    ax.set_xlabel("Power-prior weight a0 of the control (0: ignored, 1: full borrowing)")
    ax.set_ylabel("P(HR of relapse < 1)")
    ax.set_ylim(0, 1)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=7)
    return ax


def comparative_figures(cr: ComparativeResult, title: str) -> dict[str, Any]:
    """The forest plot (relapse, NRM), the incidence curves per control and the a0 sweep, by file stem."""
    import matplotlib.pyplot as plt

    from models.comparative.compare import CLAIM_LEVEL

    sweep = cr.tables()["comparative_sweep.csv"]
    names = {k: pack.title.split(" (")[0] for k, pack in cr.packs.items()}
    levels = tuple(sorted({*FOREST_A0, cr.a0}))
    figs: dict[str, Any] = {}
    n_rows = len(cr.packs) * len(levels)
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 1.2 + 0.32 * n_rows), layout="constrained")
    for ax, k in zip(axes, ("relapse", "nrm"), strict=True):
        plot_hr_forest(sweep, k, a0_levels=levels, names=names, ax=ax)
    fig.suptitle(f"{title} — hazard ratio against each no-maintenance control, by borrowing a0", fontsize=10)
    figs["comparative_hr_forest"] = fig
    n = len(cr.packs)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 3.8), layout="constrained", squeeze=False)
    for i, (ax, name) in enumerate(zip(axes[0], cr.packs, strict=True)):
        colour = CONTROL_COLOURS[i % len(CONTROL_COLOURS)]
        plot_arm_incidence(cr.headline(name), "relapse", colour=colour, name=names[name], ax=ax)
    fig.suptitle(f"{title} — 1-year relapse, treated against control (a0 = {cr.a0:g})", fontsize=10)
    figs["comparative_incidence"] = fig
    fig, ax = plt.subplots(figsize=(5.6, 3.8), layout="constrained")
    plot_a0_sweep(sweep, cr.tipping, CLAIM_LEVEL, names=names, ax=ax)
    figs["comparative_a0_sweep"] = fig
    return figs
