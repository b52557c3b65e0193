"""Inspect, audit and plot the literature prior sets.

Question
    What does each prior set say, where does every number come from, how much is it worth in
    events and patients, and does it conflict with the study's data?

Data
    ``data/priors/sources.toml`` (published figures with quotes and addresses, from
    ``/work/shared/literature/sources.md``) and ``data/priors/sets.toml`` (named sets); a user's
    own set file in the same format can be given instead of a name.

Model
    Figures become pseudo-events and exposure on the model's intervals (constant hazards between
    landmarks), then gamma priors by power prior (Ibrahim & Chen 2000), robust mixture (Schmidli et
    al. 2014), MAP prior (Neuenschwander et al. 2010) or commensurate prior (Hobbs et al. 2011); see
    :mod:`models.workflows.priors`, :mod:`models.prior_sources` and :mod:`models.prior_library`.

Commands
    ``list``                 the named sets, the figures and the hazard-ratio effect priors
    ``show NAME|FILE``       a table per transition: sources, a0/w, prior hazard, 1-year incidence
                             and ESS, then every figure used with its citation, quote and address;
                             ``--outcomes`` adds the prior-data conflict check
    ``plot NAME|FILE``       prior densities and prior-predictive incidence curves (PNG 200 dpi +
                             SVG) in ``--out`` (default figures/priors/NAME), tables in
                             ``--results`` (default results/priors/NAME)

Exit status 0 on success, 2 with a one-line message naming file and key for a bad prior file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from models.cli import ArgumentParser, command_line, int_at_least, nonneg_int, parse_float_list, run_guarded
from models.constants import DEFAULT_CUTS, DEFAULT_SEED, FIGURES_DIR, RECONSTRUCTED_DIR, RESULTS_DIR
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS, validate_cuts
from models.prior_sources import SOURCES_TOML
from models.workflows.priors import MAX_PRIOR_DRAWS, MIN_PRIOR_DRAWS, PRIOR_DRAWS, PriorSettings

PROG = "priors.py"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="named sets, figures and effect priors")
    ls.add_argument(
        "--sources", type=Path, default=SOURCES_TOML, help="figures TOML (default data/priors/sources.toml)"
    )
    for name in ("show", "plot"):
        s = sub.add_parser(name, help=f"{name} a prior set")
        s.add_argument("prior", help="a set name of data/priors/sets.toml, or a prior-set TOML file")
        s.add_argument(
            "--sources", type=Path, default=SOURCES_TOML, help="figures TOML (default data/priors/sources.toml)"
        )
        s.add_argument("--cuts", default=",".join(f"{c:g}" for c in DEFAULT_CUTS), help="cut points (days)")
        s.add_argument(
            "--relapse-death-cuts",
            default=",".join(f"{c:g}" for c in DEFAULT_RELAPSE_DEATH_CUTS),
            help="cut points (days since relapse) for death after relapse",
        )
        s.add_argument("--seed", type=nonneg_int, default=DEFAULT_SEED, help="seed of MAP fits and prior draws")
        s.add_argument(
            "--draws",
            type=int_at_least(MIN_PRIOR_DRAWS, MAX_PRIOR_DRAWS),
            default=PRIOR_DRAWS,
            help=f"prior draws for landmark summaries ({MIN_PRIOR_DRAWS} to {MAX_PRIOR_DRAWS:,})",
        )
        if name == "show":
            s.add_argument(
                "--outcomes",
                type=Path,
                default=RECONSTRUCTED_DIR if RECONSTRUCTED_DIR.is_dir() else None,
                help="an outcome CSV or a folder of draw_*.csv for the conflict check (default: the reconstructed "
                "draws when present; 'none' to skip)",
            )
        else:
            s.add_argument("--out", type=Path, default=None, help="figure folder (default figures/priors/NAME)")
            s.add_argument("--results", type=Path, default=None, help="table folder (default results/priors/NAME)")
    return p


def _cuts(text: str, option: str) -> tuple[float, ...]:
    """Cut points as typed, checked here so that errors come in option order."""
    return tuple(float(c) for c in validate_cuts(parse_float_list(text, option=option), option=option))


def settings_from(args: argparse.Namespace) -> PriorSettings:
    """The workflow settings the ``show`` or ``plot`` options ask for."""
    outcomes = getattr(args, "outcomes", None)
    return PriorSettings(
        prior=args.prior,
        sources=args.sources,
        cuts=_cuts(args.cuts, "--cuts"),
        relapse_death_cuts=_cuts(args.relapse_death_cuts, "--relapse-death-cuts"),
        seed=args.seed,
        draws=args.draws,
        outcomes=None if outcomes is None or str(outcomes) == "none" else outcomes,
    )


def default_folder_name(prior: str) -> str:
    """``NAME`` of the default folders: the set's name, or a set file's stem."""
    return Path(prior).stem if Path(prior).suffix == ".toml" else prior


def run(args: argparse.Namespace, argv: list[str] | None) -> int:
    from models.workflows.priors import audit_prior, plot_prior, prior_catalog

    if args.command == "list":
        print(prior_catalog(args.sources).report())
        return 0
    settings = settings_from(args)
    if args.command == "show":
        print(audit_prior(settings).report())
        return 0
    from models.io import check_output_folder

    name = default_folder_name(args.prior)
    fig_dir = check_output_folder(args.out or FIGURES_DIR / "priors" / name, "--out")  # before any computation
    res_dir = check_output_folder(args.results or RESULTS_DIR / "priors" / name, "--results")
    result = plot_prior(settings)
    for p in result.write(fig_dir, res_dir, command=command_line(argv, "scripts/priors.py")):
        print(p)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded(PROG, lambda: run(args, argv))
