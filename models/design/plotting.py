"""Figure of a design's operating characteristics against N (matplotlib is imported when called)."""

from __future__ import annotations

import math

import pandas as pd

from models.design.schema import Design
from models.labels import DESIGN, SCENARIO, humanise


def plot_oc(oc: pd.DataFrame, design: Design, axes=None, sample_sizes: pd.DataFrame | None = None):
    """Power and assurance (left) and type I error (right) vs N, with 95% Monte Carlo bands.

    Each power curve's label states its analysis's type I error over the N grid, and the legend's
    title says when the Bayesian rule and the frequentist test run at type I errors whose ranges over
    N do not overlap (their sample sizes are then not comparable). With ``sample_sizes``
    (:func:`models.sample_size.sample_size_table`) each root-searched N is marked at the target with
    its 95% Monte Carlo interval. Returns the two Axes; never saves.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9.5, 4.6), constrained_layout=True)
    ax, bx = axes
    z = 1.959963984540054
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    test = "log-rank" if design.kind == "randomised" else "one-sample log-rank"
    t1 = type1_ranges(oc)
    curves = []
    for s in design.scenarios:
        if s.role == "alternative":
            name = SCENARIO.get(s.name, humanise(s.name))
            curves.append((s.name, "p_success", f"power, Bayesian ({name}; type I error {t1['bayesian']})", "-"))
            curves.append((s.name, "p_success_freq", f"power, {test} ({name}; type I error {t1['frequentist']})", "--"))
        elif s.role == "design_prior":
            curves.append((s.name, "p_success", f"assurance ({SCENARIO.get(s.name, humanise(s.name))})", "-."))
    for i, (name, col, label, ls) in enumerate(curves):
        df = oc[oc["scenario"] == name].sort_values("N")
        c = colours[i % len(colours)]
        ax.plot(df["N"], df[col], ls, color=c, lw=1.6, label=label)
        ax.fill_between(
            df["N"], df[col] - z * df[f"{col}_mcse"], df[col] + z * df[f"{col}_mcse"], color=c, alpha=0.2, lw=0
        )
        analysis = "frequentist" if col == "p_success_freq" else "bayesian"
        hit = (
            sample_sizes[(sample_sizes["scenario"] == name) & (sample_sizes["analysis"] == analysis)]
            if sample_sizes is not None
            else None
        )
        if hit is not None and len(hit) and math.isfinite(hit["n_point"].iloc[0]):
            r = hit.iloc[0]
            lo, hi = r["n_point"] - r["n_lower"], r["n_upper"] - r["n_point"]
            err = [[lo], [hi]] if math.isfinite(lo) and math.isfinite(hi) else None
            first = not any(h.get_label().startswith("N by root search") for h in ax.containers)
            err_label = "N by root search (95% MC interval)" if first else None
            style = {"fmt": "o", "ms": 3.5, "color": c, "capsize": 2.5, "lw": 1, "zorder": 5}
            ax.errorbar(r["n_point"], design.target, xerr=err, label=err_label, **style)
    ax.axhline(design.target, color="0.4", lw=0.8, ls=":", label=f"target {design.target:g}")
    ax.set(
        xlabel="patients randomised (N)" if design.kind == "randomised" else "patients enrolled (N)",
        ylabel="probability of success",
        ylim=(0, 1),
        title=f"{DESIGN.get(design.name, humanise(design.name))} design: power and assurance",
    )
    note = None
    nul = oc[oc["role"] == "null"]
    apart = (
        len(nul) > 0
        and "p_success_freq" in nul
        and not nul["p_success_freq"].isna().all()
        and (
            nul["p_success"].min() > nul["p_success_freq"].max() or nul["p_success_freq"].min() > nul["p_success"].max()
        )
    )
    if apart and any(s.role == "alternative" for s in design.scenarios):  # type I error ranges do not overlap
        note = f"Not comparable as drawn: type I error {t1['bayesian']} (Bayesian) vs {t1['frequentist']} ({test})"
    leg = ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1, title=note)
    if note is not None:
        leg.get_title().set_fontsize(7)
    null = oc[oc["role"] == "null"].sort_values("N")
    for i, (col, label) in enumerate((("p_success", "Bayesian rule"), ("p_success_freq", test))):
        c = colours[i]
        bx.plot(null["N"], null[col], "-o", ms=3, color=c, lw=1.4, label=label)
        bx.fill_between(
            null["N"],
            null[col] - z * null[f"{col}_mcse"],
            null[col] + z * null[f"{col}_mcse"],
            color=c,
            alpha=0.2,
            lw=0,
        )
    bx.axhline(design.alpha / 2, color="0.4", lw=0.8, ls=":", label=f"{test}: nominal one-sided {design.alpha / 2:g}")
    if not math.isclose(design.type1_target, design.alpha / 2):
        bx.axhline(
            design.type1_target, color="0.4", lw=0.8, ls="--", label=f"Bayesian rule: target {design.type1_target:g}"
        )
    bx.set(
        xlabel="patients randomised (N)" if design.kind == "randomised" else "patients enrolled (N)",
        ylabel="type I error",
        ylim=(0, max(0.1, float(null["p_success"].max()) * 1.2)),
        title="type I error (null)",
    )
    bx.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    for a in axes:
        a.spines[["top", "right"]].set_visible(False)
        a.grid(alpha=0.25, lw=0.5)
    return axes


def type1_ranges(oc: pd.DataFrame) -> dict[str, str]:
    """Type I error of each analysis over the N grid, as printed (``"0.10–0.13"``, or one value)."""
    null = oc[oc["role"] == "null"]
    out = {}
    for analysis, col in (("bayesian", "p_success"), ("frequentist", "p_success_freq")):
        if col not in null or null[col].isna().all():
            out[analysis] = "n/a"
            continue
        lo, hi = float(null[col].min()), float(null[col].max())
        a, b = f"{lo:.3f}", f"{hi:.3f}"
        out[analysis] = a if a == b else f"{a}–{b}"
    return out
