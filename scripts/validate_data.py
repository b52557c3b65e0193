"""Validate the study's data files and print a summary.

Question
    Are Table 1 (``baseline.csv``), the published figures (``published.toml``) and any per-patient
    outcome tables well formed and mutually consistent?

Data
    Huang et al., Blood Cancer Journal 2024;14:109 (21 patients, blinatumomab maintenance after
    allogeneic transplant). By default the shipped files under ``data/huang2024/``; outcome tables
    (one CSV, or a folder of reconstructed ``draw_*.csv``) are checked when given with
    ``--outcomes``.

Exit status 0 when everything is valid; 2 with a one-line message naming file, row/key and field
otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":  # Ctrl-C during the imports below: exit quietly
    from models.cli import interrupt_quietly

    interrupt_quietly()

from models.cli import ArgumentParser, finish, run_guarded
from models.constants import BASELINE_CSV, PUBLISHED_TOML
from models.data import (
    check_outcomes_match_baseline,
    load_baseline,
    load_outcomes,
    load_published,
    outcome_files,
    population_mask,
)
from models.errors import DataError


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="validate_data.py", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--baseline", type=Path, default=BASELINE_CSV, help="Table 1 CSV (default data/huang2024/baseline.csv)"
    )
    p.add_argument(
        "--published",
        type=Path,
        default=PUBLISHED_TOML,
        help="published figures TOML (default data/huang2024/published.toml)",
    )
    p.add_argument("--outcomes", type=Path, default=None, help="an outcome CSV or a folder of draw_*.csv to validate")
    return p


def summary_lines(baseline, published) -> list[str]:
    """The validated data summary, as lines of text."""
    lines = [
        f"{published.study['citation']}",
        f"patients: {len(baseline)}; published figures: {len(published.figures)}",
    ]
    for pop in ("cohort", "cr1_undetectable_mrd", "refractory_relapsed", "non_refractory_relapsed"):
        lines.append(f"  {pop:<26} n = {int(population_mask(baseline, pop).sum())}")
    lines.append(
        f"  Ph-positive: {int(baseline['is_ph_positive'].sum())}; haploidentical donor: "
        f"{int(baseline['is_haploidentical'].sum())}; aged <= 18: {int(baseline['is_aged_18_or_under'].sum())}"
    )
    for key in ("os_1y", "efs_1y", "grfs_1y", "os_1y_cr1", "efs_1y_cr1", "grfs_1y_cr1"):
        f = published[key]
        lines.append(f"  {key:<12} {f.value:5.1f}% (95% CI {f.ci[0]:.1f}-{f.ci[1]:.1f}) n = {f.denominator}")
    f = published["followup"]
    relapse = published["relapse_rate"].value
    lines.append(f"  follow-up median {f.value:g} days (range {f.range[0]:g}-{f.range[1]:g}); relapse {relapse}%")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        baseline = load_baseline(args.baseline)
        published = load_published(args.published)
        n = published.study.get("n_patients")
        if n != len(baseline):
            raise DataError(
                args.published,
                where="study",
                field="n_patients",
                found=n,
                expected=f"{len(baseline)}, the rows of {args.baseline}",
            )
        print("\n".join(summary_lines(baseline, published)))
        if args.outcomes is not None:
            files = outcome_files(args.outcomes)
            for f in files:
                check_outcomes_match_baseline(load_outcomes(f), baseline, str(f))
            print(f"outcome tables valid: {len(files)}")
        return 0

    return run_guarded("validate_data.py", body)


if __name__ == "__main__":
    raise SystemExit(finish(main()))
