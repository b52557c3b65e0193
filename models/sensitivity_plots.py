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

#: a white box behind a level's name, so a threshold line never runs through it
_CLEAR = {"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85}


def tornado(
    tor: pd.DataFrame,
    *,
    xlabel: str,
    ax: Axes | None = None,
    reference: float | Sequence[float] | None = None,
    percent: bool = True,
) -> Axes:
    """Horizontal bars from the lowest to the highest value of each factor around the base value.

    ``tor`` is :func:`models.sensitivity.tornado_table` output (sorted, widest bar on top); each bar
    spans the factor's levels (named at its ends). ``reference`` draws one dashed line per decision
    threshold. The legend sits below the axes, so it never covers a bar.
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
            ax.text(lo, i, f"{r.low_level}  ", ha="right", **label)
            ax.text(hi, i, f"  {r.high_level}", ha="left", bbox=_CLEAR, **label)
        else:  # every level gives the same value
            ax.plot([lo], [i], marker="|", ms=12, color="#4C72B0")
            ax.text(hi, i, "  no change", va="center", ha="left", fontsize=7.5, color="#777777")
    ax.axvline(base, color="black", lw=1.0, label="base scenario")
    refs = [] if reference is None else [reference] if isinstance(reference, int | float) else list(reference)
    for k, ref in enumerate(sorted(refs)):
        style = ("--", ":", "-.")[k % 3]
        ax.axvline(ref * scale, color="#C44E52", lw=1.0, ls=style, label=f"decision threshold {ref * scale:g}")
    ax.set_yticks(y, tor["factor"])
    ax.set_xlabel(xlabel)
    lo_all = min(tor["low"].min() * scale, base, *(r * scale for r in refs)) if len(tor) else 0
    hi_all = max(tor["high"].max() * scale, base, *(r * scale for r in refs)) if len(tor) else 1
    pad = 0.35 * (hi_all - lo_all + 1e-9)
    upper = hi_all + pad if percent else min(hi_all + pad, 1.0)  # a probability axis ends at 1
    ax.set_xlim(max(lo_all - 1.7 * pad, 0), upper)  # room on the left for the low levels' names
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=1 + len(refs))
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
