"""Check (default) or rewrite the numbers the docs quote from the toolkit's commands.

Question
    Does every generated passage of ``docs/*.md`` still say what its commands print today?

Data
    The documents' ``<!-- generated: NAME -->`` passages and the commands their renderers run
    (``models/docgen``); each command runs once, as a subprocess, into a temporary folder.

Commands
    ``python scripts/docs.py``            check: list stale passages, exit 1 if any
    ``python scripts/docs.py --write``    rewrite the stale passages
    ``--only NAME`` (repeatable) restricts to named passages; ``--fast`` skips the slow ones
    (those that run the sensitivity grid, trial planning or every prior set).

Exit status 0 when every checked passage is current (or was rewritten), 1 when some are stale,
2 for an unknown passage name.
"""

from __future__ import annotations

import argparse

from models.cli import EXIT_FAILED, EXIT_OK, ArgumentParser, run_guarded
from models.constants import REPO_ROOT
from models.errors import ConfigError

PROG = "docs.py"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog=PROG, description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--write", action="store_true", help="rewrite stale passages instead of failing")
    p.add_argument("--only", action="append", default=[], metavar="NAME", help="only this passage (repeatable)")
    p.add_argument("--fast", action="store_true", help="skip the passages whose commands take minutes")
    return p


def run(args: argparse.Namespace) -> int:
    from models.docgen import Runs, blocks, check, render, write

    known = {b.name: b for b in blocks()}
    for name in args.only:
        if name not in known:
            raise ConfigError("--only", found=name, expected=f"one of {sorted(known)}")
    selected = [b for b in known.values() if (not args.only or b.name in args.only) and not (args.fast and b.slow)]
    runs = Runs()
    try:
        if args.write:
            for path in write(render(runs, selected)):
                print(f"rewrote {path.relative_to(REPO_ROOT)}")
            return EXIT_OK
        stale = check(runs, selected)
    finally:
        runs.close()
    for name in stale:
        print(f"stale: {known[name].doc} passage '{name}' (python scripts/docs.py --write --only {name})")
    print(f"{len(selected) - len(stale)} of {len(selected)} generated passages current")
    return EXIT_FAILED if stale else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded(PROG, lambda: run(args))
