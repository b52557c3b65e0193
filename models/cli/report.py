"""Build the reviewer's report of a study pack: one self-contained HTML file from an up-to-date run.

Runs any pipeline step of the pack (reconstruction when the pack has constraints, priors, fit, NUTS
cross-check, sensitivity, trial planning) whose outputs are missing or stale (see
``models/pipeline.py``), then writes ``results/STUDY/report.html`` with every figure embedded; no
network is needed to open it. STUDY is the pack's id; the steps write ``results/STUDY/<step>`` and
``figures/STUDY/<step>``.

Examples
--------
python scripts/report.py                         # results/huang2024/report.html, re-running what is stale
python scripts/report.py --study data/my_cohort  # results/<id>/report.html for another study pack
python scripts/report.py --pdf                   # also results/huang2024/report.pdf (needs Chromium)
python scripts/report.py --no-run                # refuse to run anything; fail if a step is stale
python scripts/report.py --force fit,sensitivity # re-run these steps even when up to date
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from models.cli import ArgumentParser, add_study_option, command_line, run_guarded
from models.constants import FIGURES_DIR, RESULTS_DIR

PROG = "report.py"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog=PROG, description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_study_option(p)
    p.add_argument(
        "--results",
        type=Path,
        default=RESULTS_DIR,
        help="results root: the steps write RESULTS/STUDY/<step> (default: results)",
    )
    p.add_argument(
        "--figures", type=Path, default=FIGURES_DIR, help="figure copies root: FIGURES/STUDY/<step> (default: figures)"
    )
    p.add_argument("--out", type=Path, default=None, help="report file (default: RESULTS/STUDY/report.html)")
    p.add_argument("--no-run", action="store_true", help="never run a step; exit 2 if any is missing or stale")
    p.add_argument("--force", default="", help="comma-separated steps to re-run, or 'all'")
    p.add_argument("--pdf", action="store_true", help="also print the report to PDF with headless Chromium")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def _say(args, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from models.workflows.report import ReportSettings, build_report

        t0 = time.perf_counter()
        force = [f.strip() for f in args.force.split(",") if f.strip()]
        settings = ReportSettings(
            study=args.study, results=args.results, figures=args.figures, run=not args.no_run, force=force
        )
        report = build_report(
            settings,
            say=lambda s: _say(args, s),
            quiet=args.quiet,
            generated_by=command_line(argv, "scripts/report.py"),
        )
        out = report.write(args.out)
        print(out)
        if args.pdf:
            from models.browser import ensure_chromium, print_pdf, why_unavailable

            if ensure_chromium(install=False) is None:
                _say(args, f"no PDF: headless Chromium unavailable ({why_unavailable()})")
            else:
                print(print_pdf(out, out.with_suffix(".pdf")))
        _say(args, f"report written in {time.perf_counter() - t0:.1f} s ({len(report.html) / 1e6:.1f} MB)")
        return 0

    return run_guarded(PROG, body)
