"""Wall-clock benchmark of the performance targets: prints a table and writes results/benchmark.csv.

What is timed, and the targets: :mod:`models.benchmarks`. This is a benchmark, not a test: nothing
here asserts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from models.cli import EXIT_OK, ArgumentParser, run_guarded
from models.constants import RESULTS_DIR

PROG = "benchmark.py"


def run(args: argparse.Namespace) -> int:
    import sys

    import pandas as pd

    from models.benchmarks import run_benchmarks
    from models.io import atomic_write_csv

    def say(text: str) -> None:
        sys.stderr.write(f"{PROG}: {text}\n")

    table = run_benchmarks(skip_nutpie=args.skip_nutpie, skip_sensitivity=args.skip_sensitivity, say=say)
    out = Path(args.out)
    atomic_write_csv(out, table)
    with pd.option_context("display.width", 160, "display.max_colwidth", 70):
        print(table.drop(columns="machine").to_string(index=False))
    print(f"machine: {table['machine'].iloc[0]}; written to {out}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    import models.benchmarks

    p = ArgumentParser(
        prog=PROG,
        description=__doc__.split("\n")[0],
        epilog=models.benchmarks.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default=str(RESULTS_DIR / "benchmark.csv"))
    p.add_argument("--skip-nutpie", action="store_true", help="skip nutpie (its first compilation takes ~15 s)")
    p.add_argument("--skip-sensitivity", action="store_true", help="skip the sensitivity grid (about a minute)")
    args = p.parse_args(argv)
    return run_guarded(PROG, lambda: run(args))
