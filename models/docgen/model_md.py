"""Generated passages of ``docs/model.md``: the weak-baseline results on the reconstructed cohort."""

from __future__ import annotations

import json

import pandas as pd

from models.docgen.core import Block, prose
from models.docgen.runs import Runs
from models.labels import QUANTITY_SHORT

DOC = "docs/model.md"

_LABELS = QUANTITY_SHORT  # the report's table labels (models.labels)


def _cell(r: pd.Series) -> str:
    return f"{100 * r['median']:.1f}% ({100 * r['lower']:.1f}–{100 * r['upper']:.1f})"


def _at_year(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[summary["day"] == 365].set_index(["quantity", "scale"])


def weak_results(runs: Runs) -> str:
    """Diagnostics sentence, the 1-year table (weak, with the previous default in brackets), claims."""
    weak = _at_year(runs.csv("fit.py", "--prior", "weak", name="summary"))
    old = _at_year(runs.csv("fit.py", "--prior", "half_event_per_interval", name="summary"))
    diag = runs.csv("fit.py", "--prior", "weak", name="diagnostics")
    claims = runs.csv("fit.py", "--prior", "weak", name="claims").set_index(["claim", "scale"])["probability"]
    rv = runs.csv("fit.py", "--prior", "weak", name="reconstruction_variance")
    rv = rv[rv["day"] == 365]
    verdict = "All diagnostics passed" if bool(diag["ok"].all()) else "Diagnostics FAILED"
    divs = int(diag.groupby("table")["divergences"].first().sum())
    lines = [
        prose(
            f"{verdict} (max R-hat {diag['r_hat'].max():.3f}, min bulk ESS {diag['ess_bulk'].min():,.0f}, "
            + ("no divergences" if divs == 0 else f"{divs} divergences")
            + "). Posterior median (95% interval) at one year (previous default `half_event_per_interval` "
            "in brackets):"
        ),
        "",
        f"| quantity | from transplant | alive in remission at day {_landmark(runs)} |",
        "|---|---|---|",
    ]
    for q, label in _LABELS.items():
        cells = [f"{_cell(weak.loc[(q, s)])} [{_cell(old.loc[(q, s)])}]" for s in ("from_transplant", "conditional")]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")

    def p(claim: str) -> str:
        return f"{claims[(claim, 'from_transplant')]:.2f} / {claims[(claim, 'conditional')]:.2f}"

    share = rv.set_index(["quantity", "scale"])["between_share"]
    others = share.drop(index="grfs", level="quantity")
    lines += [
        "",
        prose(
            f"Posterior probabilities (from transplant / conditional): P(1-year relapse < 10%) "
            f"{p('relapse_1y_below_10pct')}; P(1-year relapse < lenient benchmark 18.7%) "
            f"{p('relapse_1y_below_benchmark_lenient')}; P(1-year relapse < strict benchmark 8.7%) "
            f"{p('relapse_1y_below_benchmark_strict')}; P(1-year NRM < 10%) {p('nrm_1y_below_10pct')}; "
            f"P(1-year OS > 80%) {p('os_1y_above_80pct')}. The reconstruction contributes "
            f"{100 * others.min():.0f}–{100 * others.max():.0f}% of the posterior variance of the one-year "
            f"quantities ({100 * share.xs('grfs', level='quantity').max():.0f}% for GRFS): the uncertainty is "
            "the cohort's size, not the reconstruction."
        ),
    ]
    return "\n".join(lines)


def _landmark(runs: Runs) -> int:
    doc = json.loads((runs.out("fit.py", "--prior", "weak") / "manifest.json").read_text(encoding="utf-8"))
    return round(float(doc["landmark_day"]))


BLOCKS = [Block("model-weak-results", DOC, weak_results)]
