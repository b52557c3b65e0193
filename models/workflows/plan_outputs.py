"""Outputs of a plan: the figures, the text report and the all-or-nothing output folder."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from models.design import Design
    from models.workflows.plan import PlanResult


def plan_figures(result: PlanResult) -> dict[str, Any]:
    """Per design (``plan_<name>``): success probability against N per scenario, and the type I error.

    Drawn by :func:`models.design.plot_oc`, with the root-searched sample sizes marked.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from models.design import plot_oc

    figs: dict[str, Any] = {}
    for p in result.plans:
        fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.6), constrained_layout=True)
        plot_oc(p.oc, p.design, axes, sample_sizes=p.sample_sizes)
        figs[f"plan_{p.design.name}"] = fig
    return figs


def _fmt_n(value: float, best: float) -> str:
    return f"{int(value)}" if math.isfinite(value) else f"not reached (max {best:.2f} in the grid)"


def design_report(design: Design, oc: pd.DataFrame, ss: pd.DataFrame, cal: pd.DataFrame) -> str:
    """The short text report of one design: benchmark and rule, type I error, each sample size, calibration.

    ``oc`` and ``cal`` are the design's tables with their ``role`` column (null, alternative, ...).
    """
    from models.design.plotting import type1_ranges

    lines: list[str] = []
    w = lines.append
    rule = f"HR < {design.margin:g}" if design.kind == "randomised" else f"CIR < {design.benchmark_cir:.4f}"
    test = "log-rank" if design.kind == "randomised" else "one-sample log-rank"
    w(f"== {design.name} ({design.source}) ==\n")
    w(f"{design.description}\n")
    w(
        f"benchmark 1-year relapse incidence {100 * design.benchmark_cir:.1f}% (no maintenance); "
        f"success if P({rule} | data) > {design.threshold}\n"
    )
    null = oc[oc["role"] == "null"]
    w(
        f"type I error, Bayesian rule: {null['p_success'].min():.3f}-{null['p_success'].max():.3f} over N "
        f"(MC s.e. <= {null['p_success_mcse'].max():.3f}); "
        f"{test}: {null['p_success_freq'].min():.3f}-{null['p_success_freq'].max():.3f} "
        f"(nominal {design.alpha / 2:g} one-sided)\n"
    )
    t1 = type1_ranges(oc)
    for _, r in ss.iterrows():
        label = "power" if r["metric"] == "power" else "assurance"
        alpha = f"; type I error {t1[r['analysis']]}" if r["metric"] == "power" else ""
        head = f"N for {100 * design.target:.0f}% {label} ({r['scenario']}, {r['analysis']}{alpha}): "
        if not math.isfinite(r["n_point"]):
            w(head + _fmt_n(r["n_point"], r["max_in_grid"]) + "\n")
            continue
        interval = (
            f"95% MC interval {int(r['n_lower'])}-{int(r['n_upper'])}"
            if math.isfinite(r["n_lower"]) and math.isfinite(r["n_upper"])
            else "no MC interval (flat curve)"
        )
        if not r["within_tolerance"]:
            interval += ", wider than the tolerance: raise ss_max_trials"
        grid = f"grid {int(r['grid_n_point'])}" if math.isfinite(r["grid_n_point"]) else "grid: not reached"
        w(
            f"{head}{int(r['n_point'])} ({interval}; simulated {label} {r['p_at_n']:.3f} ± {r['p_at_n_mcse']:.3f} "
            f"at N, {int(r['n_trials']):,} trials at each of {int(r['n_points_fit'])} N; {grid})\n"
        )
        if r["metric"] == "power" and r["analysis"] == "bayesian":
            w(
                f"    expected {r['mean_relapses_at_n']:.0f} relapses, {r['mean_deaths_at_n']:.0f} deaths, "
                f"{r['mean_duration_days_at_n'] / 365.25:.1f} years (interim stops included)\n"
            )
        if math.isfinite(r.get("schoenfeld_n", float("nan"))):
            w(
                f"    closed forms (no interim, exponential hazards, NRM and dropout as censoring): "
                f"Schoenfeld {r['schoenfeld_relapses']:.1f} relapses, N {int(r['schoenfeld_n'])}; "
                f"Freedman {r['freedman_relapses']:.1f} relapses, N {int(r['freedman_n'])}\n"
            )
    c = cal[cal["role"] == "null"]
    if len(c):
        w(
            f"threshold holding type I error at {design.type1_target:g}: "
            f"{c['threshold_calibrated'].min():.4f}-{c['threshold_calibrated'].max():.4f} over N\n"
        )
    if design.skipped_priors:
        w(f"design priors skipped (prior set not available): {', '.join(design.skipped_priors)}\n")
    return "".join(lines)


def text_report(result: PlanResult) -> str:
    """Every design's report, a blank line between them, then the design prior's source."""
    blocks = [design_report(p.design, p.oc, p.sample_sizes, p.calibration) for p in result.plans]
    return "\n".join([*blocks, f"design-prior posterior: {result.posterior_note}"])


def write_plan(
    result: PlanResult, folder: Path, *, figures: bool = True, command: str = "", figure_folder: Path | None = None
) -> list[Path]:
    """The tables, the figures (PNG 200 dpi and SVG) and ``manifest.json``; figures also into ``figure_folder``.

    Both folders are assembled aside and replace their targets only when complete; ``command`` is
    recorded in the manifest (the command line, or the call that produced the result).
    """
    from contextlib import ExitStack

    import matplotlib.pyplot as plt

    from models.executor import where_run
    from models.io import atomic_write_csv, atomic_write_json, manifest, staged_directory
    from models.plotting import save_figure
    from models.workflows.plan import SEARCH_METHOD, TABLES, grid_sizes, shown_path

    t0 = time.perf_counter()
    s = result.settings
    with ExitStack() as stack:
        stage = stack.enter_context(staged_directory(folder))
        stages = [stage]
        if figures and figure_folder is not None:
            stages.append(stack.enter_context(staged_directory(figure_folder)))
        names = [*TABLES, "manifest.json"]
        for name in TABLES:
            atomic_write_csv(stage / name, result.tables[name], float_format="%.6g")
        if figures:
            for stem, fig in result.figures().items():
                # saved in this order on purpose: each save re-runs the constrained layout, so the
                # folders' copies of a figure differ slightly and are kept as they always were
                for target in stages:
                    save_figure(fig, target / f"{stem}.png", dpi=200)
                    save_figure(fig, target / f"{stem}.svg")
                names += [f"{stem}.png", f"{stem}.svg"]
                plt.close(fig)
        doc = manifest(
            command=command or f"models.workflows.plan_trial({s!r})",
            seed=s.seed,
            inputs=result.inputs,
            outputs=names,
            extra={
                "design_prior_posterior": result.posterior_note,
                **where_run(s.workers, s.dask),
                "seconds": round(result.seconds + time.perf_counter() - t0, 2),
                "sample_size_search": {
                    "method": SEARCH_METHOD,
                    "tolerance": s.ss_tolerance,
                    "max_trials_per_n": s.ss_max_trials or "16 x n_sims",
                },
                "designs": {
                    d.name: {
                        "source": shown_path(d.source),
                        "n_grid": list(grid_sizes(s.n_grid) if s.n_grid else d.n_grid),
                        "n_sims": s.n_sims or d.n_sims,
                        "scenarios": [sc.name for sc in d.scenarios],
                        "skipped_design_priors": list(d.skipped_priors),
                    }
                    for d in result.designs
                },
            },
        )
        atomic_write_json(stage / "manifest.json", doc)
    return [folder / n for n in sorted(names)]
