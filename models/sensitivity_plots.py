"""Figures of the sensitivity analysis: tornado and tipping-point heat map.

Functions take data and an optional ``ax``, return the Axes and never save (scripts save).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from models.plotting import SAVE_DPI

#: a white box behind a level's name, so a threshold line never runs through it
_CLEAR = {"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85}


def tornado(
    tor: pd.DataFrame,
    *,
    xlabel: str,
    ax: Axes | None = None,
    reference: float | Sequence[float] | None = None,
    percent: bool = True,
    base_interval: tuple[float, float] | None = None,
) -> Axes:
    """Horizontal bars from the lowest to the highest value of each factor around the base value.

    ``tor`` is :func:`models.sensitivity.tornado_table` output (sorted, widest bar on top); each bar
    spans the factor's levels (named at its ends). ``reference`` draws one dashed line per decision
    threshold. ``base_interval`` (lower, upper) shades the base scenario's 95% credible interval
    behind the bars, so the shifts the factors cause can be read against the posterior's own
    uncertainty. The legend sits below the axes, so it never covers a bar.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.45 * max(len(tor), 3) + 1.2))
    scale = 100.0 if percent else 1.0
    y = np.arange(len(tor))
    base = float(tor["base"].iloc[0]) * scale if len(tor) else 0.0
    for i, r in enumerate(tor.itertuples()):
        lo, hi = r.low * scale, r.high * scale
        if hi - lo > 1e-12:
            ax.barh(i, hi - lo, left=lo, height=0.55, color="#4C72B0", alpha=0.85, edgecolor="none")
            label: dict[str, Any] = {"va": "center", "fontsize": 7.5, "color": "#333333", "zorder": 3}
            ax.text(lo, i, f"{level_name(r.low_level)}  ", ha="right", gid=_LEFT, **label)
            ax.text(hi, i, f"  {level_name(r.high_level)}", ha="left", bbox=_CLEAR, gid=_RIGHT, **label)
        else:  # every level gives the same value
            ax.plot([lo], [i], marker="|", ms=12, color="#4C72B0")
            ax.text(hi, i, "  no change", va="center", ha="left", fontsize=7.5, color="#777777", gid=_RIGHT)
    ax.axvline(base, color="black", lw=1.0, label="base scenario")
    if base_interval is not None:
        ax.axvspan(
            base_interval[0] * scale,
            base_interval[1] * scale,
            color="0.9",
            zorder=0,
            lw=0,
            label="base scenario's 95% credible interval",
        )
    refs = [] if reference is None else [reference] if isinstance(reference, int | float) else list(reference)
    for k, ref in enumerate(sorted(refs)):
        style = ("--", ":", "-.")[k % 3]
        ax.axvline(ref * scale, color="#C44E52", lw=1.0, ls=style, label=f"decision threshold {ref * scale:g}")
    ax.set_yticks(y, tor["factor"])
    ax.set_xlabel(xlabel)
    spans = [*(r * scale for r in refs), *(v * scale for v in base_interval or ())]
    lo_all = min(tor["low"].min() * scale, base, *spans) if len(tor) else 0
    hi_all = max(tor["high"].max() * scale, base, *spans) if len(tor) else 1
    pad = 0.1 * (hi_all - lo_all + 1e-9)
    ax.set_xlim(lo_all - pad, hi_all + pad)
    fit_level_names(ax)
    top = 100.0 if percent else 1.0  # ticks only where the quantity lives
    ax.set_xticks([t for t in ax.get_xticks() if -1e-9 <= t <= top + 1e-9])
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(
        frameon=False,
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncols=1 + len(refs) + (base_interval is not None),
    )
    return ax


def level_name(level: Any) -> str:
    """A level as the figure shows it: a shipped prior set by its plain label, other levels as written."""
    from models.labels import PRIOR_SET

    return PRIOR_SET.get(str(level), str(level))


_LEFT, _RIGHT = "tornado-level-left", "tornado-level-right"


def fit_level_names(ax: Axes) -> Axes:
    """Widen a tornado's x-range until every level name lies inside the axes (clear of the factor names).

    Text has a fixed size in points while the axes map data to points, so the names are measured
    as drawn and the limits moved by the shortfall, a few times as each move rescales the axis.
    :func:`tornado` calls it; call it again after anything that resizes the axes (``tight_layout``).
    """
    ends = [(t, t.get_gid()) for t in ax.texts if t.get_gid() in (_LEFT, _RIGHT)]
    if not ends:
        return ax
    fig = ax.figure
    screen_dpi = fig.dpi
    fig.set_dpi(SAVE_DPI)  # text is measured as it will be saved (hinting makes widths depend on dpi)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for _ in range(8):
        box = ax.get_window_extent(renderer)
        lo, hi = ax.get_xlim()
        per_px = (hi - lo) / max(box.width, 1.0)
        left = [box.x0 + 4 - t.get_window_extent(renderer).x0 for t, side in ends if side == _LEFT]
        right = [t.get_window_extent(renderer).x1 - box.x1 + 4 for t, side in ends if side == _RIGHT]
        short_left, short_right = max([0.0, *left]), max([0.0, *right])
        if short_left <= 0 and short_right <= 0:
            break
        ax.set_xlim(lo - 1.15 * short_left * per_px, hi + 1.15 * short_right * per_px)
    fig.set_dpi(screen_dpi)
    return ax


def tipping_heatmap(
    grid: pd.DataFrame,
    column: str,
    *,
    thresholds: Sequence[float],
    ax: Axes | None = None,
    title: str | None = None,
    base: tuple[float, float] | None = None,
    base_label: str = "base prior",
) -> Axes:
    """Heat map of ``P(claim)`` over (prior centre x prior weight) with tipping-point contours.

    ``grid`` holds the grid scenarios (columns ``centre``, ``weight`` and ``column``). ``base`` =
    (centre, weight) of the base scenario's relapse prior
    (:func:`models.sensitivity.transforms.grid_position`) is marked with a star, placed by linear
    interpolation of the centre and log-linear of the weight between the grid's values (on the
    edge, with "beyond the grid" in the legend, when outside).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.8, 4.6))
    piv = grid.pivot_table(index="weight", columns="centre", values=column)
    centres = piv.columns.to_numpy(float) * 100
    weights = piv.index.to_numpy(float)
    z = piv.to_numpy(float)
    xi = np.arange(len(centres))
    yi = np.arange(len(weights))
    im = ax.imshow(
        z,
        origin="lower",
        aspect="auto",
        cmap="viridis",
        vmin=0,
        vmax=1,
        extent=(-0.5, len(centres) - 0.5, -0.5, len(weights) - 0.5),
    )
    styles = ["-", "--", ":", "-."]
    for k, thr in enumerate(thresholds):
        if np.nanmin(z) < thr < np.nanmax(z):
            cs = ax.contour(xi, yi, z, levels=[thr], colors="white", linewidths=1.6, linestyles=styles[k % 4])
            ax.clabel(cs, fmt={thr: f"{thr:g}"}, fontsize=8)
    if base is not None:
        bc, bw = 100 * base[0], base[1]
        inside = centres[0] <= bc <= centres[-1] and weights[0] <= bw <= weights[-1]
        x = float(np.interp(bc, centres, xi))
        y = float(np.interp(np.log(max(bw, 1e-9)), np.log(weights), yi))
        ax.plot(
            x,
            y,
            marker="*",
            ms=15,
            color="#d62728",
            mec="white",
            mew=1.2,
            ls="none",
            label=f"{base_label}: centre {bc:.0f}%, weight {bw:.0f}" + ("" if inside else " (beyond the grid)"),
        )
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, fontsize=8)
    ax.set_xticks(xi, [f"{c:g}" for c in centres])
    ax.set_yticks(yi, [f"{w:g}" for w in weights])
    ax.set_xlabel("prior centre: assumed 1-year relapse incidence (%)")
    ax.set_ylabel("prior weight (patients followed 1 year)")
    cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    cb.set_label("posterior probability of the claim")
    if title:
        ax.set_title(title, fontsize=10)
    return ax
