"""Plan a prospective trial of maintenance after allogeneic HCT: sample size, error rates, assurance.

Question
    Huang et al. (Blood Cancer Journal 2024;14:109; 21 patients, 1 relapse and 2 non-relapse deaths
    in about a year) end by asking for prospective randomised trials. How many patients would a
    single-arm phase 2 or a randomised trial need, what are its error rates, and how likely is it
    to succeed given what is known now?
Designs
    TOML files (default: ``data/designs/single_arm.toml`` and ``data/designs/randomised.toml``):
    accrual, delayed entry, minimum follow-up, dropout, analysis at calendar time or at a target
    number of relapses, an optional interim, the Bayesian success rule and the no-maintenance
    benchmark with its citation.
Model
    Trials are simulated from piecewise-exponential hazards of relapse, non-relapse mortality and
    death after relapse (:mod:`models.trial_sim`); the Bayesian decision is the exact conjugate
    posterior probability (F / beta distribution for the hazard ratio), the frequentist companion
    the cause-specific log-rank test (one-sample log-rank for the single-arm design).
Sample size
    Operating characteristics are simulated on the grid of N (the curves); the sample size for the
    target power or assurance is then found by root search (:mod:`models.sample_size`): a probit fit
    of simulated success on log N with common random numbers, refined around the root and given
    with its Monte Carlo 95% interval, to within +-2% of N. For the randomised design the
    Schoenfeld (1983) and Freedman (1982) log-rank answers are given alongside.
Outputs (all-or-nothing)
    ``results/STUDY/plan/``: oc.csv, sample_size.csv, calibration.csv, manifest.json and the figures;
    ``figures/STUDY/plan/``: the figures (PNG 200 dpi and SVG). A short report goes to stdout.

References: Schoenfeld 1983; Freedman 1982; O'Hagan, Stevens & Campbell 2005; Spiegelhalter, Abrams &
Myles 2004; Berry, Carlin, Lee & Müller 2010; Gray 1988.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from models.cli import (
    EXIT_OK,
    ArgumentParser,
    add_executor_options,
    add_study_option,
    command_line,
    default_output,
    int_at_least,
    nonneg_int,
    parse_float_list,
    run_guarded,
)
from models.constants import DEFAULT_SEED
from models.errors import ConfigError

PROG = "plan_trial.py"
#: Most simulated trials per (N, scenario) (models.design.MAX_SIMS; not imported here, so --help needs no numpy)
MAX_SIMS = 1_000_000


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--design",
        action="append",
        metavar="TOML",
        help="design file (repeatable; default: the shipped single_arm and randomised designs)",
    )
    p.add_argument("--n-grid", metavar="N,N,...", help="sample sizes to simulate (default: the design's [grid] n)")
    p.add_argument(
        "--n-sims",
        type=int_at_least(10, MAX_SIMS),
        help="simulated trials per (N, scenario), 10 to 1,000,000 (default: the design's)",
    )
    p.add_argument(
        "--ss-tolerance",
        type=_tolerance,
        default=0.02,
        metavar="FRACTION",
        help="relative half-width of the sample size's 95%% Monte Carlo interval to reach (default 0.02)",
    )
    p.add_argument(
        "--ss-max-trials",
        type=int_at_least(10, 16 * MAX_SIMS),
        metavar="T",
        help="most simulated trials per N in the sample-size search (default 16 x the trials per grid N)",
    )
    p.add_argument("--seed", type=nonneg_int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    add_executor_options(p, "the grid and the sample-size search", workers=2)
    p.add_argument(
        "--posterior",
        metavar="NC",
        help="posterior file of the current study (default: results/STUDY/fit/posterior.nc if present; for the "
        "default study else its published totals); 'none' for the default study's published totals",
    )
    add_study_option(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default results/STUDY/plan)")
    p.add_argument("--figures", type=Path, default=None, help="figure folder (default figures/STUDY/plan)")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    p.add_argument(
        "--benchmark",
        action="store_true",
        help="only time the fast path (two-arm trials/second) against NUTS per trial; writes nothing",
    )
    return p


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 0.5), found {text!r}") from None
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 0.5), found {value}")
    return value


def _n_grid(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    from models.workflows.plan import grid_sizes

    values = parse_float_list(text, option="--n-grid")
    try:
        return grid_sizes(values)
    except ConfigError as exc:
        raise ConfigError("--n-grid", found=text, expected=exc.expected) from None


def settings_from(args: argparse.Namespace, n_grid: tuple[int, ...] | None):
    """The workflow settings these options ask for."""
    from models.workflows.plan import PlanSettings

    return PlanSettings(
        designs=tuple(args.design) if args.design else None,
        study=args.study,
        posterior=args.posterior,
        n_grid=n_grid,
        n_sims=args.n_sims,
        ss_tolerance=args.ss_tolerance,
        ss_max_trials=args.ss_max_trials,
        seed=args.seed,
        workers=args.workers,
        dask=args.dask,
    )


def _note_fallback(shown):
    """Show the workflow's fall-back to the published totals as a note, as ever; other warnings as before."""
    from models.workflows.plan import PosteriorFallbackWarning

    def show(message, category, *where):
        if not issubclass(category, PosteriorFallbackWarning):
            return shown(message, category, *where)
        sys.stderr.write(f"{PROG}: note: {message}\n")

    return show


def run(args: argparse.Namespace, argv: list[str] | None) -> int:
    from models.workflows import plan as wf

    if args.benchmark:
        sys.stdout.write(wf.benchmark_report(args.workers))
        return EXIT_OK
    n_grid = _n_grid(args.n_grid)
    from models.io import check_output_folder
    from models.progress import reporter
    from models.study import load_study

    study = load_study(args.study)
    out = args.out or default_output(study, None, "results", "plan")
    figures = args.figures or default_output(study, None, "figures", "plan")
    wf.check_posterior(study, args.posterior)
    check_output_folder(out, "--out")  # before any computation: never after it
    check_output_folder(figures, "--figures")
    warnings.showwarning = _note_fallback(warnings.showwarning)  # run_guarded's one-line form
    result = wf.plan_trial(settings_from(args, n_grid), progress=reporter(PROG, quiet=args.quiet))
    written = time.perf_counter()
    result.write(out, command=command_line(argv, "scripts/plan_trial.py"), figure_folder=figures)
    report = result.report().replace("raise ss_max_trials", "raise --ss-max-trials")
    sys.stdout.write(
        f"\n{report}\nwritten: {wf.shown_path(out)}/ ({result.seconds + time.perf_counter() - written:.1f} s)\n"
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded(PROG, lambda: run(args, argv))
