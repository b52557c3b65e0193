"""Figures of the PWE fit. Every function takes data and an optional ``ax`` and returns the Axes;
nothing here saves a file (scripts do).

Conventions: x axis in days from transplant; probabilities on [0, 1] shown as percent; posterior
median line with a 95% equal-tailed band; nonparametric estimates as thin grey steps (one per
reconstructed table); published estimates as black points with 95% CI bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter
from scipy.stats import gaussian_kde

from models.constants import CI_LEVEL
from models.labels import AXIS

#: One colour per quantity, used by every figure.
COLOURS: dict[str, str] = {
    "relapse_cif": "#b2182b",
    "nrm_cif": "#2166ac",
    "efs": "#1b7837",
    "os": "#762a83",
    "grfs": "#e08214",
    "prior": "#7f7f7f",
}
LABELS = AXIS  # axis titles: one home, models.labels
STEP_COLOUR = "#4d4d4d"


def _ax(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.8))
    return ax


def _style(ax: Axes, ylabel: str, xmax: float) -> None:
    ax.set_xlabel("Days from transplant")
    ax.set_ylabel(ylabel)
    ax.set_xlim(0, xmax)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.spines[["top", "right"]].set_visible(False)


def plot_posterior_curve(
    curves: pd.DataFrame,
    quantity: str,
    *,
    steps: Sequence[pd.DataFrame] = (),
    step_label: str = "Nonparametric (reconstructed data)",
    published: Sequence[tuple[float, float, float, float]] = (),
    published_label: str = "Published 1-year estimate (95% CI)",
    scale: str = "from_transplant",
    ylim: tuple[float, float] | None = None,
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Posterior median and 95% band of one quantity over nonparametric steps.

    Parameters
    ----------
    curves
        Daily bands (:func:`models.derived.curve_table`): quantity, scale, day, median, lower, upper.
    quantity
        One of :data:`models.derived.QUANTITIES`.
    steps
        Nonparametric step functions (columns ``time``, ``estimate``), e.g. Aalen–Johansen or
        Kaplan–Meier per reconstructed table.
    published
        Points ``(day, value, lower, upper)`` as proportions.
    """
    ax = _ax(ax)
    colour = COLOURS[quantity]
    c = curves[(curves["quantity"] == quantity) & (curves["scale"] == scale)]
    for i, st in enumerate(steps):
        ax.step(
            st["time"],
            st["estimate"],
            where="post",
            color=STEP_COLOUR,
            lw=0.7,
            alpha=max(0.15, 1.0 / max(1, len(steps)) ** 0.5),
            label=step_label if i == 0 else None,
            zorder=2,
        )
    ax.fill_between(
        c["day"],
        c["lower"],
        c["upper"],
        color=colour,
        alpha=0.22,
        lw=0,
        label=f"{int(CI_LEVEL * 100)}% credible band",
        zorder=1,
    )
    ax.plot(c["day"], c["median"], color=colour, lw=1.8, label="Posterior median (PWE model)", zorder=3)
    for i, (day, val, lo, hi) in enumerate(published):
        ax.errorbar(
            [day],
            [val],
            yerr=[[val - lo], [hi - val]],
            fmt="o",
            color="black",
            ms=4,
            capsize=3,
            lw=1,
            label=published_label if i == 0 else None,
            zorder=4,
        )
    _style(ax, LABELS[quantity], float(c["day"].max()) if len(c) else 1.0)
    if ylim is None and len(c):
        ylim = (0.0, min(1.02, 1.05 * float(c["upper"].max())))
    if ylim is not None:
        ax.set_ylim(*ylim)
    if legend:
        ax.legend(frameon=False, fontsize=7.5, loc="best")
    return ax


def _at_risk(entry: Any, exit_: Any, times: Sequence[float]) -> list[int]:
    e, x = np.asarray(entry, float), np.asarray(exit_, float)
    return [int(np.sum((e < t) & (x >= t))) if t > 0 else int(np.sum((e <= 0) & (x >= 0))) for t in times]


def sparse_from(
    entry: Sequence[np.ndarray], exit_: Sequence[np.ndarray], *, start: float, end: float, fewer_than: int = 5
) -> float | None:
    """First whole day in ``[start, end]`` at which the median number at risk over tables is below ``fewer_than``.

    Beyond it the curve is mostly the prior (the interval's hazard has little exposure); ``None``
    when at least ``fewer_than`` patients stay at risk up to ``end``. The count is :func:`add_at_risk`'s.
    """
    days = np.arange(np.ceil(start), np.floor(end) + 1)
    if days.size == 0:
        return None
    counts = np.median([_at_risk(e, x, days.tolist()) for e, x in zip(entry, exit_, strict=True)], axis=0)
    below = np.flatnonzero(counts < fewer_than)
    return None if below.size == 0 else float(days[below[0]])


def add_at_risk(
    ax: Axes,
    entry: np.ndarray | Sequence[np.ndarray],
    exit_: np.ndarray | Sequence[np.ndarray],
    times: Sequence[float],
    *,
    label: str | None = None,
    y: float = -0.24,
) -> Axes:
    """Write the number at risk (entered before and still followed at each time) under the x axis.

    ``entry`` and ``exit_`` are one table's arrays, or one array per table (reconstructed draws):
    then each time shows the range over tables (``18–19``) and the row's label says so. The count
    uses ``entry < t <= exit``.
    """
    many = len(entry) > 0 and np.ndim(entry[0]) == 1
    pairs = list(zip(entry, exit_, strict=True)) if many else [(entry, exit_)]
    counts = np.array([_at_risk(e, x, times) for e, x in pairs])
    lo, hi = counts.min(axis=0), counts.max(axis=0)
    if label is None:
        label = "At risk" if len(pairs) == 1 else f"At risk\n(range, {len(pairs)} tables)"
    trans = ax.get_xaxis_transform()
    ax.text(-0.03, y, label, transform=ax.transAxes, ha="right", va="center", fontsize=7.5)
    for t, a, b in zip(times, lo, hi, strict=True):
        ax.text(t, y, str(a) if a == b else f"{a}–{b}", transform=trans, ha="center", va="center", fontsize=7.5)
    return ax


def _bounded_kde(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Density on [0, 1] by a Gaussian KDE reflected at both bounds (no mass leaks outside)."""
    v = np.asarray(values, float)
    kde = gaussian_kde(v)
    return kde(grid) + kde(-grid) + kde(2.0 - grid)


def plot_prior_posterior(
    prior: np.ndarray,
    posterior: np.ndarray,
    *,
    xlabel: str = "1-year cumulative incidence of relapse",
    benchmark: float | None = None,
    benchmark_label: str = "No-maintenance benchmark (placeholder)",
    benchmarks: Sequence[tuple[float, str]] = (),
    ax: Axes | None = None,
) -> Axes:
    """Prior and posterior densities of a probability (e.g. 1-year relapse incidence).

    ``benchmarks`` are ``(value, label)`` pairs drawn as vertical lines (``benchmark`` adds one).
    """
    ax = _ax(ax)
    grid = np.linspace(0.0, 1.0, 801)
    fp = _bounded_kde(prior, grid)
    fq = _bounded_kde(posterior, grid)
    ax.fill_between(grid, fp, color=COLOURS["prior"], alpha=0.25, lw=0)
    ax.plot(grid, fp, color=COLOURS["prior"], lw=1.4, label="Prior")
    ax.fill_between(grid, fq, color=COLOURS["relapse_cif"], alpha=0.25, lw=0)
    ax.plot(grid, fq, color=COLOURS["relapse_cif"], lw=1.8, label="Posterior")
    lines = ([(benchmark, benchmark_label)] if benchmark is not None else []) + list(benchmarks)
    for (value, label), style in zip(lines, ["--", ":", "-.", (0, (5, 1))] * 4, strict=False):
        ax.axvline(value, color="black", lw=0.9, ls=style, label=label)
    upper = float(np.quantile(np.concatenate([posterior, prior]), 0.995))
    ax.set_xlim(0, min(1.0, max(0.3, upper)))
    ax.set_ylim(0, None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Density")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=7.5, loc="upper right")
    return ax


def plot_reconstructed_km(
    steps: Sequence[pd.DataFrame],
    *,
    published: Sequence[tuple[float, float, float, float]] = (),
    ylabel: str = "Survival",
    xmax: float = 800.0,
    ax: Axes | None = None,
) -> Axes:
    """Kaplan–Meier curves of every reconstructed table over the published landmark estimates.

    Parameters
    ----------
    steps : sequence of DataFrame
        One KM step function per table (:func:`models.nonparametric.km_curve`: time, estimate).
    published : sequence of (day, estimate, lower, upper)
        Published estimates with their 95% CI, as proportions.
    """
    ax = _ax(ax)
    for i, s in enumerate(steps):
        t = np.concatenate([[0.0], s["time"].to_numpy(float)])
        y = np.concatenate([[1.0], s["estimate"].to_numpy(float)])
        ax.step(
            t, y, where="post", color="#1f4e79", alpha=0.25, lw=1.0, label="Reconstructed tables" if i == 0 else None
        )
    for j, (day, est, lo, hi) in enumerate(published):
        ax.errorbar(
            [day],
            [est],
            yerr=[[est - lo], [hi - est]],
            fmt="o",
            color="#a61b1b",
            capsize=4,
            label="Published estimate (95% CI)" if j == 0 else None,
            zorder=5,
        )
    _style(ax, ylabel, xmax)
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, loc="lower left", fontsize=8)
    return ax


#: The fixed salt of SVG element ids: identical figures give byte-identical SVG files.
SVG_HASHSALT = "txbayes"
#: Metadata written into every figure file: no creation date, no version stamp.
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


#: Resolution of saved PNGs (dots per inch); text is measured at it where placement depends on size
SAVE_DPI = 200


def save_figure(fig, path, *, dpi: int = SAVE_DPI, bbox_inches: str | None = "tight") -> None:
    """Save ``fig`` to ``path`` (PNG or SVG by suffix) reproducibly: same figure, same bytes.

    Matplotlib stamps SVGs with the date and random element ids, and PNGs with its version; here the
    ids come from a fixed salt (``svg.hashsalt``) and the date and software entries are left out, so
    re-running a script with the same inputs and seed does not change committed figures. The saved
    area is the figure's tight bounding box, so no text placed outside the axes is cut off.
    """
    import matplotlib as mpl

    fmt = str(path).rsplit(".", 1)[-1].lower()
    with mpl.rc_context({"svg.hashsalt": SVG_HASHSALT}):
        fig.savefig(path, dpi=dpi, bbox_inches=bbox_inches, metadata=_METADATA.get(fmt))
