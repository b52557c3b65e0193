r"""Posterior relapse, NRM, EFS, OS and GRFS of a study pack (default: Huang et al. 2024).

Question
    What do a small transplant cohort's patients say about relapse, non-relapse mortality and
    survival — by default the 21 patients of Huang et al. (Blood Cancer Journal 2024;14:109) given
    blinatumomab maintenance — once the immortal time before maintenance is handled and the
    uncertainty of reconstructed per-patient data is carried through?
Data
    The study pack's outcome tables (``--study``, default ``data/huang2024``: reconstructed
    ``reconstructed/draw_*.csv``; one row per patient, days from transplant), or any outcome CSV
    or folder (``--data``).
Model
    Piecewise-exponential illness–death model (remission → relapse → death; remission → NRM; GvHD
    for GRFS) with delayed entry at the start of maintenance, fitted to each reconstructed table and
    pooled with equal weight (:mod:`models.pwe`, :mod:`models.derived`). Engines: ``exact``
    (conjugate gamma / gamma-mixture priors) and ``nuts`` (PyMC or nutpie, any prior).
Outputs (``--out``, default ``results/STUDY/fit/``, written all-or-nothing)
    summary.csv, curves.csv, claims.csv, diagnostics.csv, reconstruction_variance.csv,
    exposure.csv, posterior.nc, manifest.json and figures (also copied to ``figures/STUDY/fit/``);
    with ``--control PACK`` (repeatable) also comparative.csv, comparative_sweep.csv and the
    comparison's figures (:mod:`models.comparative`, ``docs/comparative.md``).
    STUDY is the pack's id, or ``data-NAME`` for tables given with ``--data``.
References
    Friedman M. Ann Stat 1982;10:101–13. Andersen PK, Keiding N. Stat Methods Med Res
    2002;11:91–115. Putter H, Fiocco M, Geskus RB. Stat Med 2007;26:2389–430.

Exit status: 0 success; 1 convergence checks failed with ``--strict``; 2 bad input.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from models.cli import (
    EXIT_FAILED,
    EXIT_OK,
    ArgumentParser,
    add_study_option,
    command_line,
    default_output,
    nonneg_int,
    option_text,
    parse_float_list,
    positive_int,
    run_guarded,
)
from models.constants import DATA_DIR, DEFAULT_SEED
from models.fit_recipe import FIT_CHAINS, FIT_DRAWS, FIT_TUNE, SUMMARY_DRAWS

PROG = "fit.py"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog=PROG, description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_study_option(p)
    p.add_argument(
        "--data",
        default=None,
        help="an outcome CSV or a folder of reconstructed draw_*.csv (default: the study pack's own outcome "
        "tables; other tables write to results/data-NAME and figures/data-NAME)",
    )
    p.add_argument(
        "--prior",
        default="literature",
        help="prior set: a name from data/priors/sets.toml (weak, literature, md_anderson, skeptical, "
        "enthusiastic, ...) or a prior-set TOML file (default: literature)",
    )
    p.add_argument("--cuts", default=None, help="cut points in days from transplant, e.g. 0,100,180,365,730 (default)")
    p.add_argument(
        "--relapse-death-cuts",
        default=None,
        help="cut points in days since relapse for death after relapse (default 0,90,365)",
    )
    p.add_argument("--engine", choices=["exact", "nuts"], default="exact")
    p.add_argument(
        "--sampler",
        choices=["auto", "pymc", "nutpie"],
        default="auto",
        help="NUTS implementation (auto: nutpie when installed, else PyMC; nutpie compiles once per "
        "process in ~15 s, then samples a table in under a second)",
    )
    p.add_argument("--draws", type=positive_int, default=FIT_DRAWS, help="draws per chain and table")
    p.add_argument("--tune", type=nonneg_int, default=FIT_TUNE, help="NUTS tuning steps per chain")
    p.add_argument("--chains", type=positive_int, default=FIT_CHAINS)
    p.add_argument("--seed", type=nonneg_int, default=DEFAULT_SEED)
    p.add_argument("--out", default=None, help="output folder, replaced on success (default: results/STUDY/fit)")
    p.add_argument("--figures-dir", default=None, help="where figures are copied (default: figures/STUDY/fit)")
    p.add_argument(
        "--from-transplant",
        action="store_true",
        help="at risk from day 0 (published convention) instead of from the start of maintenance",
    )
    p.add_argument(
        "--landmark-day",
        type=nonneg_int,
        default=None,
        help="condition on alive in remission at this day (default: the median entry day of the outcome tables; "
        "102 for the default study)",
    )
    p.add_argument(
        "--claims",
        default=str(DATA_DIR / "claims.toml"),
        help="claims TOML whose posterior probabilities are reported (thresholds and cited benchmarks; "
        "default: data/claims.toml), or 'builtin' for the built-in claims with a placeholder 0.20 benchmark",
    )
    p.add_argument(
        "--max-summary-draws",
        type=positive_int,
        default=SUMMARY_DRAWS,
        help="pooled draws used for curves and summaries (equal per table)",
    )
    p.add_argument(
        "--control",
        action="append",
        default=None,
        metavar="PACK",
        help="compare with a no-maintenance control pack (a name under data/controls, e.g. chang2020_haplo, or a "
        "folder holding control.toml); repeatable, replaces the study's [comparison] controls. Adds "
        "comparative.csv, comparative_sweep.csv and figures",
    )
    p.add_argument(
        "--no-control",
        action="store_true",
        help="no comparison with control cohorts, not even the study's own [comparison] controls",
    )
    p.add_argument(
        "--control-a0",
        type=float,
        default=1.0,
        help="power-prior weight of the controls in the headline comparison (0: ignored, 1: full borrowing; "
        "the sweep over 0, 0.05, ..., 1 always runs)",
    )
    p.add_argument(
        "--hr-prior-sd",
        type=float,
        default=None,
        help="prior sd of each log hazard ratio of the comparison (default 2: 95%% of HRs in 0.02-50)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 if convergence checks fail")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr and no report")
    p.add_argument("--no-figures", action="store_true")
    return p


def settings_from(args: argparse.Namespace):
    """The workflow settings these options ask for."""
    from models.workflows import FitSettings

    def cuts(text: str | None, option: str) -> tuple[float, ...] | None:
        return None if text is None else tuple(parse_float_list(text, option=option))

    return FitSettings(
        study=args.study,
        data=args.data,
        prior=args.prior,
        cuts=cuts(args.cuts, "--cuts"),
        relapse_death_cuts=cuts(args.relapse_death_cuts, "--relapse-death-cuts"),
        engine=args.engine,
        sampler=args.sampler,
        draws=args.draws,
        chains=args.chains,
        tune=args.tune,
        seed=args.seed,
        from_transplant=args.from_transplant,
        landmark_day=args.landmark_day,
        claims=args.claims,
        max_summary_draws=args.max_summary_draws,
        controls=() if args.no_control else None if args.control is None else tuple(args.control),
        control_a0=args.control_a0,
        hr_prior_sd=args.hr_prior_sd,
    )


def check_comparison_options(args: argparse.Namespace) -> None:
    """``--control-a0`` in [0, 1] and ``--hr-prior-sd`` positive, named by their options."""
    import math

    from models.errors import ConfigError

    if args.no_control and args.control:
        raise ConfigError("--no-control", found=f"with --control {args.control[0]}", expected="one of the two")
    if not 0.0 <= args.control_a0 <= 1.0:
        raise ConfigError("--control-a0", found=args.control_a0, expected="a power-prior weight in [0, 1]")
    if args.hr_prior_sd is not None and not (math.isfinite(args.hr_prior_sd) and args.hr_prior_sd > 0):
        raise ConfigError("--hr-prior-sd", found=args.hr_prior_sd, expected="a positive, finite sd of log HR")


def run(args: argparse.Namespace, argv: list[str] | None) -> int:
    from models.io import check_output_folder, staged_directory
    from models.progress import reporter
    from models.study import load_study
    from models.workflows import fit_study

    check_comparison_options(args)
    study = load_study(args.study)
    args.out = args.out or default_output(study, args.data, "results", "fit")
    args.figures_dir = args.figures_dir or default_output(study, args.data, "figures", "fit")
    out = check_output_folder(args.out, "--out")  # before any computation: never after it
    if not args.no_figures:
        check_output_folder(args.figures_dir, "--figures-dir")

    progress = reporter(PROG, quiet=args.quiet)
    result = fit_study(settings_from(args), progress=progress)  # errors name settings; run_guarded shows options
    progress.note("writing outputs" + ("" if args.no_figures else " and drawing figures"))
    result.write(out, figures=not args.no_figures, command=command_line(argv, "scripts/fit.py"))
    if not args.no_figures:
        with staged_directory(Path(args.figures_dir)) as fstage:
            for f in sorted((out / "figures").iterdir()):
                shutil.copy2(f, fstage / f.name)
    if not args.quiet:
        print(result.report())
        print(f"outputs: {out}" + ("" if result.ok else "  (convergence checks FAILED: see diagnostics.csv)"))
        for line in [] if result.ok else result.advice:
            print(option_text(line))
    return EXIT_FAILED if (args.strict and not result.ok) else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded(PROG, lambda: run(args, argv))
