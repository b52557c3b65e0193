"""Validate a study pack's data files and print a summary.

Question
    Are a study pack's Table 1 (``baseline.csv``), published figures (``published.toml``, every
    quote found in the letter's text) and per-patient outcome tables well formed and mutually
    consistent?

Data
    ``--study PATH`` (default ``data/huang2024``: Huang et al., Blood Cancer Journal 2024;14:109,
    21 patients). ``--baseline``/``--published`` check edited copies against the pack's schema;
    ``--outcomes`` checks other outcome tables (one CSV, or a folder of ``draw_*.csv``) on their own.
    The pack's own outcome tables must hold exactly the patients of its Table 1.

Exit status 0 when everything is valid; 2 with a one-line message naming file, row/key and field
otherwise.
"""

from __future__ import annotations

from pathlib import Path

from models.cli import ArgumentParser, add_study_option, run_guarded
from models.data import check_outcomes_match_baseline, load_outcomes, load_published, outcome_files
from models.errors import DataError


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="validate_data.py", description=__doc__.split("\n\n")[0])
    add_study_option(p)
    p.add_argument("--baseline", type=Path, default=None, help="a Table 1 CSV to check (default: the pack's)")
    p.add_argument("--published", type=Path, default=None, help="a published-figures TOML (default: the pack's)")
    p.add_argument("--outcomes", type=Path, default=None, help="other outcome tables: a CSV or folder of draw_*.csv")
    return p


def summary_lines(study, baseline, published) -> list[str]:
    """The validated data summary, as lines of text."""
    lines = [study.citation_line()]
    n = "none" if baseline is None else str(len(baseline))
    lines.append(f"patients in Table 1: {n}; published figures: {0 if published is None else len(published.figures)}")
    if baseline is not None:
        for pop in study.population_names:
            k = int(study.population_mask(baseline, pop).sum())
            lines.append(f"  {pop:<26} n = {k}  ({study.population_label(pop)})")
    if published is not None:
        for f in published.select(statistic="km_survival"):
            ci = f" (95% CI {f.ci[0]:.1f}-{f.ci[1]:.1f})" if f.ci else ""
            lines.append(f"  {f.key:<12} {f.value:5.1f}%{ci} n = {f.denominator} at day {f.landmark_days:g}")
        for f in published.select(statistic="cumulative_incidence"):
            lines.append(f"  {f.key:<12} {f.value:5.1f}% ({f.endpoint or 'cumulative incidence'}; {f.population})")
        for f in published.select(statistic="median"):
            rng = f" (range {f.range[0]:g}-{f.range[1]:g})" if f.range else ""
            lines.append(f"  {f.key:<12} median {f.value:g} {f.unit}{rng}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from models.io import input_key
        from models.study import load_study

        study = load_study(args.study)
        baseline = study.baseline() if args.baseline is None else study.load_baseline(args.baseline)
        published = study.published() if args.published is None else load_published(args.published, study=study)
        if published is not None and baseline is not None:
            n = published.study.get("n_patients")
            if n is not None and n != len(baseline):
                raise DataError(
                    published.path,
                    where="study",
                    field="n_patients",
                    found=n,
                    expected=f"{len(baseline)}, the rows of Table 1",
                )
        print("\n".join(summary_lines(study, baseline, published)))
        checks = []
        if study.outcomes_path is not None and not study.outcomes_path.exists():
            print(f"outcome tables: not reconstructed yet (run scripts/reconstruct.py --study {input_key(study.root)})")
        elif study.outcomes_path is not None:
            checks.append((study.outcomes_path, baseline))
        if args.outcomes is not None and not study.owns_outcomes(args.outcomes):
            checks.append((args.outcomes, None))  # one's own tables: not this pack's patients
        for path, base in checks:
            files = outcome_files(path)
            for f in files:
                table = load_outcomes(f)
                if base is not None:
                    check_outcomes_match_baseline(table, base, str(f))
            print(f"outcome tables valid: {len(files)} ({input_key(path)})")
        return 0

    return run_guarded("validate_data.py", body)
