"""Simulate a synthetic study and publish it as a study pack, the way a letter would print it.

Question
    Does reconstruction recover per-patient tables consistent with every printed figure of a study
    whose true patients are known? This script writes such a study: simulated outcomes, published
    as a pack that ``scripts/reconstruct.py`` and ``scripts/fit.py`` read like any other.

Data
    A generator file (TOML: ``[generator]`` settings — patients, seed, hazards, what the letter
    prints —, ``[study]``, ``[[columns]]`` of Table 1, ``[populations.<name>]``), e.g.
    ``data/synthetic_aml_letter/generator.toml``.

Outputs (``--out FOLDER``)
    baseline.csv, published.toml, constraints.toml, study.toml and (``letter = true``) letter.txt.
    ``study.toml`` names the pack's outcome tables (``[generator] outcomes``) only once that folder
    holds ``draw_*.csv``: generate, reconstruct, generate again.

Example::

    python scripts/synthetic_study.py data/synthetic_aml_letter/generator.toml --out data/synthetic_aml_letter

Exit status 0 on success; 2 with a one-line message naming file and key for a bad generator file.
"""

from __future__ import annotations

from pathlib import Path

from models.cli import ArgumentParser, run_guarded

PROG = "synthetic_study.py"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("generator", type=Path, help="generator TOML ([generator], [study], [[columns]], [populations])")
    p.add_argument("--out", type=Path, required=True, help="the pack's folder (files written into it)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from models.synthetic_study import generate

        paths = generate(args.generator, args.out)
        print("wrote " + ", ".join(sorted(p.name for p in paths.values())) + f" to {args.out}")
        return 0

    return run_guarded(PROG, body)
