"""Outputs of a sensitivity run: the tornado and tipping-point figures and the all-or-nothing output folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.workflows.sensitivity import SensitivityResult


def sensitivity_figures(result: SensitivityResult) -> dict[str, Any]:
    """Tornado of the 1-year relapse incidence; with a heat-map grid, the claim's tornado and heat map.

    * ``tornado_relapse_1y``: the base scenario's posterior median 1-year relapse incidence and the
      range of each one-at-a-time factor's medians, over the base scenario's 95% credible interval
      (:func:`models.sensitivity_plots.tornado`);
    * ``tornado_claim``: the same for the posterior probability of the grid's claim, with the
      decision thresholds;
    * ``tipping_heatmap``: that probability over the relapse prior's centre x weight, with the
      tipping-point contours and the base prior's place (:func:`models.sensitivity_plots.tipping_heatmap`).

    Each figure is laid out (``tight_layout``) and ready to save.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from models.labels import PRIOR_SET, QUANTITY
    from models.prior_library import load_prior_set
    from models.sensitivity import tornado_table
    from models.sensitivity.transforms import grid_position
    from models.sensitivity_plots import fit_level_names, tipping_heatmap, tornado

    cfg, table = result.config, result.tables["scenarios.csv"]
    figs: dict[str, Any] = {}
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    ok = table[(table["status"] == "ok") & (table["kind"] == "base")].iloc[0]
    tornado(
        tornado_table(table, "relapse_cif_median"),
        ax=ax,
        xlabel="posterior median 1-year relapse incidence (%)",
        base_interval=(float(ok["relapse_cif_lower"]), float(ok["relapse_cif_upper"])),
    )
    fig.tight_layout()
    fit_level_names(ax)
    figs["tornado_relapse_1y"] = fig
    if cfg.grid is None:
        return figs
    col = f"P[{cfg.grid.claim}]"
    claim = cfg.claim(cfg.grid.claim)
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    tornado(
        tornado_table(table, col),
        ax=ax,
        percent=False,
        xlabel=f"posterior probability that {QUANTITY.get(claim.quantity, claim.quantity)} "
        f"at day {claim.day} {claim.op} {100 * claim.threshold:.1f}%",
        reference=cfg.decision_thresholds,
    )
    fig.tight_layout()
    fit_level_names(ax)
    figs["tornado_claim"] = fig
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    grid = table[(table["kind"] == "grid") & (table["status"] == "ok")]
    tipping_heatmap(
        grid,
        col,
        thresholds=cfg.decision_thresholds,
        base=grid_position(load_prior_set(cfg.prior, cfg.cuts, cfg.relapse_death_cuts), cfg.cuts, cfg.day),
        base_label=f"base prior: {PRIOR_SET.get(cfg.prior, cfg.prior)} (informative part)",
        ax=ax,
        title=f"P(1-year relapse incidence < {100 * claim.threshold:g}%) by relapse prior",
    )
    fig.tight_layout()
    figs["tipping_heatmap"] = fig
    return figs


def write_sensitivity(
    result: SensitivityResult, folder: Path, *, figures: bool = True, command: str = ""
) -> list[Path]:
    """The tables, ``verdict.txt``, the figures (PNG and SVG) and ``manifest.json``, all in ``folder``.

    The folder is assembled aside and replaces ``folder`` only when complete (the previous outputs
    stay intact otherwise); ``command`` is recorded in the manifest (the command line, or the call
    that produced the result).
    """
    import matplotlib.pyplot as plt

    from models.io import atomic_write_csv, atomic_write_json, atomic_write_text, manifest, staged_directory
    from models.plotting import save_figure
    from models.workflows.sensitivity import TABLES

    s = result.settings
    with staged_directory(folder) as stage:
        extra = [n for n in result.tables if n not in TABLES]  # comparative.csv with a [comparative] grid
        for name in [*TABLES, *extra]:
            atomic_write_csv(stage / name, result.tables[name])
        atomic_write_text(stage / "verdict.txt", "\n".join(result.verdict) + "\n")
        written = [*TABLES, *extra, "verdict.txt"]
        if figures:
            figs = result.figures()
            try:
                for name, fig in figs.items():
                    for ext in ("png", "svg"):
                        save_figure(fig, stage / f"{name}.{ext}", dpi=200)
                        written.append(f"{name}.{ext}")
            finally:
                for fig in figs.values():
                    plt.close(fig)
        from models.executor import where_run

        doc = manifest(
            command=command or f"models.workflows.sensitivity.run_sensitivity({s!r})",
            seed=result.config.seed,
            inputs=result.inputs,
            outputs=[*written, "manifest.json"],
            extra={
                "study": result.study.id,
                "data_is_study_outcomes": result.own_data,
                "n_scenarios": len(result.tables["scenarios.csv"]),
                "n_tables": result.n_tables,
                "seconds": round(result.seconds, 2),
                **where_run(s.workers, s.dask),
            },
        )
        atomic_write_json(stage / "manifest.json", doc)
    return [folder / name for name in [*written, "manifest.json"]]
