"""Prior sensitivity analysis: which conclusions survive which priors.

Question
    With 21 patients and 4 events, priors move results. How does every headline number and every
    clinical claim move across plausible priors, modelling choices and reconstructions, and where
    does a conclusion flip?

Data
    A study pack's outcome tables (``--study``, default ``data/huang2024``: the reconstructed
    tables of Huang et al., Blood Cancer Journal 2024;14:109), or any outcome CSV / folder given
    with ``--data``.

Model
    The piecewise-exponential illness–death model of ``models/pwe.py`` with the exact conjugate
    engine; the scenario grid (``data/sensitivity/default.toml``) varies the prior set, power-prior
    weight a0, robust-mixture weight w, the relapse prior's centre and weight, the cut points, the
    time origin and the reconstructed table. See ``models/sensitivity/`` for the formulas.

Outputs (``results/STUDY/sensitivity/``, written all at once; figures also in ``figures/STUDY/sensitivity/``)
    scenarios.csv, tipping_points.csv, power_scaling.csv, verdict.txt, manifest.json, and the
    tornado and tipping-point figures (PNG and SVG). An interrupted run leaves the previous outputs
    intact and resumes from its per-scenario cache.

References
    Greenland 2006; Spiegelhalter, Abrams & Myles 2004 (ch. 5, sensitivity analysis);
    Kallioinen et al. 2023 (power-scaling).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":  # Ctrl-C during the imports below: exit quietly
    from models.cli import interrupt_quietly

    interrupt_quietly()

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from models.claims import CLAIMS_TOML
from models.cli import (
    ArgumentParser,
    add_study_option,
    command_line,
    default_output,
    finish,
    int_at_least,
    run_guarded,
)
from models.data import load_outcome_draws, outcome_files
from models.errors import StudyError
from models.executor import MAX_WORKERS
from models.io import (
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
    check_output_folder,
    manifest,
    sha256_paths,
    staged_directory,
)
from models.plotting import save_figure
from models.prior_library import load_prior_set
from models.prior_sources import SETS_TOML, SOURCES_TOML
from models.progress import reporter
from models.sensitivity import DEFAULT_CONFIG, load_config, prior_files, run_grid, tornado_table
from models.sensitivity.transforms import grid_position
from models.sensitivity_plots import tipping_heatmap, tornado
from models.study import load_study

LABELS = {
    "relapse_cif": "relapse incidence",
    "nrm_cif": "non-relapse mortality",
    "efs": "EFS",
    "os": "OS",
    "grfs": "GRFS",
}


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="sensitivity.py", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="scenario grid TOML (default data/sensitivity/default.toml)"
    )
    add_study_option(p)
    p.add_argument(
        "--data", type=Path, default=None, help="outcome CSV or folder of draw_*.csv (default: the pack's tables)"
    )
    p.add_argument("--out", type=Path, default=None, help="output folder (default: results/STUDY/sensitivity)")
    p.add_argument(
        "--figures", type=Path, default=None, help="copy of the figures (default: figures/STUDY/sensitivity)"
    )
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--no-resume", action="store_true", help="ignore the per-scenario cache of an interrupted run")
    p.add_argument(
        "--workers",
        type=int_at_least(1, MAX_WORKERS),
        default=1,
        help="local worker processes for the scenarios (default 1; the table is the same with any number)",
    )
    p.add_argument("--dask", metavar="ADDRESS", help="run the scenarios on a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--quiet", action="store_true", help="no progress, no report")
    return p


def _save(fig, stage: Path, name: str) -> list[str]:
    fig.tight_layout()
    out = []
    for ext in ("png", "svg"):
        save_figure(fig, stage / f"{name}.{ext}", dpi=200)
        out.append(f"{name}.{ext}")
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        study = load_study(args.study)
        if args.data is None:
            if study.outcomes_path is None:
                raise StudyError(
                    study.source,
                    where="files",
                    field="outcomes",
                    found="missing",
                    expected="outcome tables in the pack (reconstruct.py writes them), or --data",
                )
            study.check_outcomes_exist()
            args.data = study.outcomes_path
        args.out = args.out or default_output(study, args.data, "results", "sensitivity")
        args.figures = args.figures or default_output(study, args.data, "figures", "sensitivity")
        check_output_folder(args.out, "--out")  # before the grid runs, not after
        if not args.no_figures:
            check_output_folder(args.figures, "--figures")
        cfg = load_config(args.config)
        files = outcome_files(args.data)
        tables = load_outcome_draws(args.data)
        hashes = sha256_paths([args.config, *files])
        digest = hashlib.sha256("".join(sorted(hashes.values())).encode()).hexdigest()
        cache = args.out.parent / f".{args.out.name}-cache"
        if args.no_resume and cache.exists():
            shutil.rmtree(cache)
        res = run_grid(
            cfg,
            tables,
            progress=reporter("sensitivity.py", quiet=args.quiet),
            cache_dir=cache,
            data_digest=digest,
            workers=args.workers,
            dask=args.dask,
        )
        written: list[str] = []
        with staged_directory(args.out) as stage:
            atomic_write_csv(stage / "scenarios.csv", res.table)
            atomic_write_csv(stage / "tipping_points.csv", res.tipping)
            atomic_write_csv(stage / "power_scaling.csv", res.power_scaling)
            atomic_write_text(stage / "verdict.txt", "\n".join(res.verdict) + "\n")
            written += ["scenarios.csv", "tipping_points.csv", "power_scaling.csv", "verdict.txt"]
            if not args.no_figures:
                fig, ax = plt.subplots(figsize=(7.2, 3.8))
                tornado(
                    tornado_table(res.table, "relapse_cif_median"),
                    ax=ax,
                    xlabel="posterior median 1-year relapse incidence (%)",
                )
                written += _save(fig, stage, "tornado_relapse_1y")
                if cfg.grid is not None:
                    col = f"P[{cfg.grid.claim}]"
                    claim = cfg.claim(cfg.grid.claim)
                    fig, ax = plt.subplots(figsize=(7.2, 3.8))
                    tornado(
                        tornado_table(res.table, col),
                        ax=ax,
                        percent=False,
                        xlabel=f"posterior probability that {LABELS.get(claim.quantity, claim.quantity)} "
                        f"at day {claim.day} {claim.op} {100 * claim.threshold:.1f}%",
                        reference=cfg.decision_thresholds,
                    )
                    written += _save(fig, stage, "tornado_claim")
                    fig, ax = plt.subplots(figsize=(7.0, 4.6))
                    grid = res.table[(res.table["kind"] == "grid") & (res.table["status"] == "ok")]
                    tipping_heatmap(
                        grid,
                        col,
                        thresholds=cfg.decision_thresholds,
                        base=grid_position(
                            load_prior_set(cfg.prior, cfg.cuts, cfg.relapse_death_cuts), cfg.cuts, cfg.day
                        ),
                        base_label=f"base prior '{cfg.prior}' (informative part)",
                        ax=ax,
                        title=f"P(1-year relapse incidence < {100 * claim.threshold:g}%) by relapse prior",
                    )
                    written += _save(fig, stage, "tipping_heatmap")
            doc = manifest(
                command=command_line(argv, "scripts/sensitivity.py"),
                seed=cfg.seed,
                inputs=[args.config, *files, SOURCES_TOML, SETS_TOML, CLAIMS_TOML, *prior_files(cfg)],
                outputs=[*written, "manifest.json"],
                extra={
                    "study": study.id,
                    "data_is_study_outcomes": study.owns_outcomes(args.data),
                    "n_scenarios": len(res.table),
                    "n_tables": res.n_tables,
                    "seconds": round(res.seconds, 2),
                },
            )
            atomic_write_json(stage / "manifest.json", doc)
        if not args.no_figures:
            args.figures.mkdir(parents=True, exist_ok=True)
            for f in written:
                if f.endswith((".png", ".svg")):
                    shutil.copy2(args.out / f, args.figures / f)
        shutil.rmtree(cache, ignore_errors=True)
        if not args.quiet:
            print("\n".join(res.verdict))
            print(f"outputs: {args.out} ({res.seconds:.1f} s)")
        return 0

    return run_guarded("sensitivity.py", body)


if __name__ == "__main__":
    raise SystemExit(finish(main()))
