"""Reconstruct per-patient outcome tables consistent with every published figure.

Reads a study pack's (``--study``, default ``data/huang2024``) published.toml, its Table 1 and a
constraints file that references the published keys; finds every consistent ordering of events
and censorings; writes ``--draws`` distinct tables (``draw_001.csv`` ...) and ``manifest.json``
into ``--out`` in one atomic step. Every table is re-verified with lifelines before anything is
written. Impossible or malformed constraints end with a one-line message and exit status 2, leaving ``--out`` untouched.
The work is :func:`models.workflows.reconstruct.reconstruct_study`; this module parses and writes.

Example::

    python scripts/reconstruct.py --draws 20 --seed 1
    python scripts/reconstruct.py --study data/synthetic_aml_letter
"""

from __future__ import annotations

import argparse
from pathlib import Path

from models.cli import (
    ArgumentParser,
    add_executor_options,
    add_study_option,
    command_line,
    nonneg_int,
    positive_int,
    run_guarded,
)
from models.reconstruct.chain_run import BUDGET_PER_ITEM, DEFAULT_CHAINS, THIN_PER_ITEM
from models.reconstruct.vocabulary import DEFAULT_MAX_STATES, DEFAULT_MAX_TRIES
from models.workflows.reconstruct import RECONSTRUCT_DRAWS, RECONSTRUCT_SEED

PROG = "reconstruct.py"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--draws",
        type=positive_int,
        default=RECONSTRUCT_DRAWS,
        help=f"number of distinct tables to write (default {RECONSTRUCT_DRAWS})",
    )
    p.add_argument(
        "--seed", type=nonneg_int, default=RECONSTRUCT_SEED, help=f"random seed (default {RECONSTRUCT_SEED})"
    )
    add_study_option(p)
    p.add_argument(
        "--constraints", type=Path, default=None, help="constraints TOML of published keys (default: the pack's)"
    )
    p.add_argument("--published", type=Path, default=None, help="published-figures TOML (default: the pack's)")
    p.add_argument("--baseline", type=Path, default=None, help="Table 1 CSV (default: the pack's)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder, replaced atomically (default: the pack's outcomes folder, else PACK/reconstructed)",
    )
    p.add_argument(
        "--gvhd-definition",
        action="append",
        default=None,
        metavar="NAME",
        help="solve only this GRFS GvHD definition of the constraints file (repeatable)",
    )
    p.add_argument(
        "--method",
        choices=("auto", "exact", "chain"),
        default="auto",
        help="exact counting, Metropolis chains over the orderings, or auto: exact unless its bound "
        "is hit, then the chains (default auto)",
    )
    p.add_argument(
        "--chains",
        type=positive_int,
        default=DEFAULT_CHAINS,
        help=f"chains of the chain method (default {DEFAULT_CHAINS})",
    )
    p.add_argument(
        "--thin",
        type=positive_int,
        default=THIN_PER_ITEM,
        help=f"chain proposals per item of the ordering in a round, one state per chain (default {THIN_PER_ITEM})",
    )
    p.add_argument(
        "--chain-budget",
        type=positive_int,
        default=BUDGET_PER_ITEM,
        metavar="N",
        help="the chains run until split R-hat <= 1.01 and bulk ESS suffice, or N proposals per item "
        f"of the ordering per chain (default {BUDGET_PER_ITEM}); past N the text warns",
    )
    p.add_argument("--max-states", type=positive_int, default=DEFAULT_MAX_STATES, help="search bound per configuration")
    p.add_argument("--max-tries", type=positive_int, default=DEFAULT_MAX_TRIES, help="day-sampling attempts bound")
    add_executor_options(p, "the searches")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def settings_from(args: argparse.Namespace):
    """The workflow settings these options ask for."""
    from models.workflows.reconstruct import ReconstructSettings

    return ReconstructSettings(
        study=args.study,
        draws=args.draws,
        seed=args.seed,
        constraints=args.constraints,
        published=args.published,
        baseline=args.baseline,
        gvhd_definitions=None if args.gvhd_definition is None else tuple(args.gvhd_definition),
        max_states=args.max_states,
        max_tries=args.max_tries,
        workers=args.workers,
        dask=args.dask,
        method=args.method,
        chains=args.chains,
        thin=args.thin,
        chain_budget=args.chain_budget,
    )


def run(args: argparse.Namespace, argv: list[str] | None) -> int:
    from models.io import check_output_folder
    from models.progress import reporter
    from models.study import load_study
    from models.workflows.reconstruct import default_output_folder, reconstruct_study, require_constraints

    study = load_study(args.study)
    require_constraints(study, args.constraints)
    out = args.out or default_output_folder(study)
    check_output_folder(out, "--out")  # before the search, not after
    progress = reporter("reconstruct", quiet=args.quiet)  # the progress lines' prefix since the first release
    result = reconstruct_study(
        settings_from(args), progress=progress
    )  # errors name settings; run_guarded shows options
    result.write(out, command=command_line(argv, "scripts/reconstruct.py"))
    progress.note(
        f"wrote {len(result.tables)} tables and manifest.json to {out} "
        + (
            f"({result.orderings} consistent orderings, {result.seconds:.1f} s)"
            if result.orderings is not None
            else f"(Metropolis chains, {result.seconds:.1f} s)"
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded(PROG, lambda: run(args, argv))
