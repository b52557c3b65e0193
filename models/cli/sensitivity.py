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
    time origin and the reconstructed table. See ``models/sensitivity/`` for the formulas and
    :mod:`models.workflows.sensitivity` for the workflow this command runs.

Outputs (``results/STUDY/sensitivity/``, written all at once; figures also in ``figures/STUDY/sensitivity/``)
    scenarios.csv, tipping_points.csv, power_scaling.csv, verdict.txt, manifest.json, and the
    tornado and tipping-point figures (PNG and SVG). An interrupted run leaves the previous outputs
    intact and resumes from its per-scenario cache (``.NAME-cache`` beside the output folder).

References
    Greenland 2006; Spiegelhalter, Abrams & Myles 2004 (ch. 5, sensitivity analysis);
    Kallioinen et al. 2023 (power-scaling).

Exit status: 0 success; 2 bad input; 130 interrupted.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from models.cli import (
    EXIT_OK,
    ArgumentParser,
    add_executor_options,
    add_study_option,
    command_line,
    default_output,
    run_guarded,
)
from models.sensitivity.config import DEFAULT_CONFIG

PROG = "sensitivity.py"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
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
    add_executor_options(p, "the scenarios")
    p.add_argument("--quiet", action="store_true", help="no progress, no report")
    return p


def settings_from(args: argparse.Namespace):
    """The workflow settings these options ask for."""
    from models.workflows.sensitivity import SensitivitySettings

    return SensitivitySettings(
        config=args.config,
        study=args.study,
        data=args.data,
        workers=args.workers,
        dask=args.dask,
        resume=not args.no_resume,
    )


def run(args: argparse.Namespace, argv: list[str] | None) -> int:
    from models.errors import StudyError
    from models.io import check_output_folder
    from models.progress import reporter
    from models.study import load_study
    from models.workflows.sensitivity import default_cache_dir, run_sensitivity

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

    cache = default_cache_dir(args.out)  # kept until the outputs are written: an interrupted run resumes
    progress = reporter(PROG, quiet=args.quiet)
    result = run_sensitivity(settings_from(args), progress=progress, cache_dir=cache)
    command = command_line(argv, "scripts/sensitivity.py")
    written = result.write(args.out, figures=not args.no_figures, command=command)
    if not args.no_figures:
        args.figures.mkdir(parents=True, exist_ok=True)
        for f in written:
            if f.suffix in (".png", ".svg"):
                shutil.copy2(f, args.figures / f.name)
    shutil.rmtree(cache, ignore_errors=True)
    if not args.quiet:
        print(result.report())
        print(f"outputs: {args.out} ({result.seconds:.1f} s)")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded(PROG, lambda: run(args, argv))
