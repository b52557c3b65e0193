"""Reconstruct per-patient outcome tables consistent with every published figure.

Reads a study pack's (``--study``, default ``data/huang2024``) published.toml, its Table 1 and a
constraints file that references the published keys; finds every consistent ordering of events
and censorings; writes ``--draws`` distinct tables (``draw_001.csv`` ...) and ``manifest.json``
into ``--out`` in one atomic step. Every table is re-verified with lifelines before anything is
written. Impossible or malformed constraints end with a one-line message and exit status 2, leaving ``--out`` untouched.

Example::

    python scripts/reconstruct.py --draws 20 --seed 1
    python scripts/reconstruct.py --study data/synthetic_aml_letter
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":  # Ctrl-C during the imports below: exit quietly
    from models.cli import interrupt_quietly

    interrupt_quietly()

from models.cli import (
    ArgumentParser,
    add_study_option,
    command_line,
    finish,
    int_at_least,
    nonneg_int,
    positive_int,
    run_guarded,
)
from models.data import format_outcomes, load_published
from models.errors import ConfigError, StudyError
from models.executor import MAX_WORKERS
from models.io import atomic_write_csv, atomic_write_json, check_output_folder, manifest, staged_directory
from models.reconstruct import (
    DEFAULT_MAX_STATES,
    DEFAULT_MAX_TRIES,
    Reconstruction,
    load_constraints,
    reconstruct,
    reverse_km_median,
    stderr_progress,
    verify_table,
)
from models.study import load_study

PROG = "reconstruct.py"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--draws", type=positive_int, default=20, help="number of distinct tables to write (default 20)")
    p.add_argument("--seed", type=nonneg_int, default=1, help="random seed (default 1)")
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
    p.add_argument("--max-states", type=positive_int, default=DEFAULT_MAX_STATES, help="search bound per configuration")
    p.add_argument("--max-tries", type=positive_int, default=DEFAULT_MAX_TRIES, help="day-sampling attempts bound")
    p.add_argument(
        "--workers",
        type=int_at_least(1, MAX_WORKERS),
        default=1,
        help="local worker processes for the searches (default 1; the tables are the same with any number)",
    )
    p.add_argument("--dask", metavar="ADDRESS", help="run the searches on a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def _manifest(args, rec: Reconstruction, cons, files: list[str], argv: list[str] | None, seconds: float) -> dict:
    qualifying = (
        tuple(
            next(
                d["qualifying"] for d in rec.report["gvhd_definitions"] if d["name"] == rec.report["chosen_definition"]
            )
        )
        if rec.report.get("chosen_definition")
        else ()
    )
    draws = []
    for i, d in enumerate(rec.draws, start=1):
        checks = verify_table(d.table, cons, qualifying=qualifying)
        draws.append(
            {
                "file": files[i - 1],
                "configuration": d.configuration,
                "ordering": d.ordering,
                "gvhd_roster": d.gvhd_roster,
                "reverse_km_median_followup": reverse_km_median(d.table),
                "checks": [
                    {"name": c.name, "published": c.published, "reproduced": c.reproduced, "ok": c.ok} for c in checks
                ],
            }
        )
    extra = {
        "M": len(rec.draws),
        "orderings_consistent": rec.report["orderings"],
        "ordering_definition": (
            "sequences of (class, step) labels plus threshold-day markers; patients of a class are exchangeable"
        ),
        "solve_seconds": round(seconds, 1),
        **rec.report,
        "draws": draws,
    }
    return manifest(
        command=command_line(argv, "scripts/reconstruct.py"),
        seed=args.seed,
        inputs=[args.published, args.baseline, args.constraints, args.study_toml],
        outputs=files,
        extra=extra,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        study = load_study(args.study)
        if study.constraints_path is None and args.constraints is None:
            raise StudyError(
                study.source,
                where="files",
                field="constraints",
                found="missing",
                expected="a constraints file (only a pack of a published letter is reconstructed)",
            )
        args.constraints = args.constraints or study.constraints_path
        args.published = args.published or study.published_path
        args.baseline = args.baseline or study.baseline_path
        args.study_toml = study.toml
        own = study.outcomes_path
        args.out = args.out or (own if own is not None and not own.is_file() else study.root / "reconstructed")
        check_output_folder(args.out, "--out")  # before the search, not after
        progress = stderr_progress(args.quiet)
        published = study.published() if args.published == study.published_path else None
        published = published or load_published(args.published, study=study)
        baseline = study.load_baseline(args.baseline)
        cons = load_constraints(args.constraints, published, baseline, study=study)
        if args.gvhd_definition:
            known = {name for name, _q in cons.gvhd_definitions}
            unknown = [d for d in args.gvhd_definition if d not in known]
            if unknown:
                raise ConfigError("--gvhd-definition", found=unknown[0], expected=f"one of {sorted(known)}")
            cons.gvhd_definitions = tuple(d for d in cons.gvhd_definitions if d[0] in args.gvhd_definition)
        t0 = time.perf_counter()
        rec = reconstruct(
            cons,
            draws=args.draws,
            seed=args.seed,
            max_states=args.max_states,
            max_tries=args.max_tries,
            progress=progress,
            workers=args.workers,
            dask=args.dask,
        )
        seconds = time.perf_counter() - t0
        files = [f"draw_{i:03d}.csv" for i in range(1, len(rec.draws) + 1)]
        with staged_directory(args.out) as stage:
            for name, d in zip(files, rec.draws, strict=True):
                atomic_write_csv(stage / name, format_outcomes(d.table))
            atomic_write_json(stage / "manifest.json", _manifest(args, rec, cons, files, argv, seconds))
        if progress:
            progress(
                f"wrote {len(files)} tables and manifest.json to {args.out} "
                f"({rec.report['orderings']} consistent orderings, {seconds:.1f} s)"
            )
        return 0

    return run_guarded(PROG, body)


if __name__ == "__main__":
    raise SystemExit(finish(main()))
