"""Results: the comparison with no-maintenance control cohorts (present only when the fit ran with ``--control``).

Every number comes from the fit's ``comparative.csv`` and ``comparative_sweep.csv`` (one
computation per control and discounting level, :mod:`models.comparative.tables`); the figures are
the fit's own files. The section states, per control, the hazard ratios of relapse and NRM, the
1-year relapse difference on the conditional scale, and the fragility of "maintenance reduces
relapse" to the discounting (the tipping point).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.report_html import Section, esc, p, table, ul
from models.report_sections_common import fig_or_note


def _hr(r: pd.Series) -> str:
    return f"{r['median']:.2f} ({r['lower']:.2f}–{r['upper']:.2f})"


def _points(r: pd.Series) -> str:
    return f"{100 * r['median']:+.1f} ({100 * r['lower']:+.1f} to {100 * r['upper']:+.1f})"


def comparative_tables(fit_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``comparative.csv`` and ``comparative_sweep.csv`` of a fit folder, or ``None`` without them."""
    head, sweep = fit_dir / "comparative.csv", fit_dir / "comparative_sweep.csv"
    if not (head.is_file() and sweep.is_file()):
        return None
    return pd.read_csv(head), pd.read_csv(sweep)


def comparison_rows(head: pd.DataFrame) -> pd.DataFrame:
    """One row per control with plain headers: HRs, probabilities, the relapse difference, the tipping point."""
    rows = []
    for _name, g in head.groupby("control", sort=False):
        q = g.set_index("quantity")
        rel, nrm, diff, tip = q.loc["hr_relapse"], q.loc["hr_nrm"], q.loc["relapse_1y_difference"], q.loc["tipping_a0"]
        rows.append(
            {
                "control": str(g["title"].iloc[0]),
                "a0": f"{rel['a0']:g}",
                "HR of relapse (95% interval)": _hr(rel),
                "P(HR < 1)": f"{rel['p_below_1']:.2f}",
                "P(HR < 0.7)": f"{rel['p_below_0_7']:.2f}",
                "1-year relapse, treated minus control (points)": _points(diff),
                "HR of NRM (95% interval)": _hr(nrm),
                "a0 at which P(HR < 1) reaches 0.9": "never"
                if not np.isfinite(tip["median"])
                else f"{tip['median']:.3f}",
            }
        )
    return pd.DataFrame(rows)


def population_notes(controls: list[dict[str, Any]], study: Any, sources: Any = None) -> list[str]:
    """Per control of the fit: who its patients were, its own caveats and how this study differs.

    ``controls`` are the records of the fit's ``manifest.json`` (``controls``: each names its
    ``control.toml``), ``sources`` the loaded ``sources.toml`` (read here when None); the differences
    are the study's ``[comparison] differences`` for that control's folder name.
    """
    from models.comparative.packs import load_control
    from models.errors import ToolkitError
    from models.io import resolve_input_key

    out = []
    for rec in controls:
        file = resolve_input_key(rec["file"])
        try:
            pop = load_control(file.parent, sources=sources).spec.population
        except (ToolkitError, OSError):
            out.append(f"{rec['title']}: its pack ({rec['file']}) is no longer readable; see the fit's manifest.")
            continue
        own = "; ".join(pop.caveats)
        text = (
            f"{rec['title']}: {pop.disease}; {pop.disease_status}; MRD {pop.mrd}; donor {pop.donor}; "
            f"{pop.era_country}. Caveats: {own}."
        )
        diffs = study.control_differences.get(file.parent.name, ()) if study is not None else ()
        if diffs:
            text += " Against this study: " + "; ".join(diffs) + "."
        out.append(text)
    return out


def comparative(out: Any) -> Section | None:
    """The section, or ``None`` when the fit compared with no control."""
    fit_dir = out.step_dir("fit")
    found = comparative_tables(fit_dir)
    if found is None:
        return None
    head, sweep = found
    rows = comparison_rows(head)
    landmark = int(head["landmark_day"].iloc[0])
    borrowed = sweep[sweep["a0"] > 0]  # at a0 = 0 the probability is the HR prior's, 0.5
    best = borrowed.loc[borrowed["hr_relapse_p_below_1"].idxmax()]
    titles = dict(zip(head["control"], head["title"], strict=True))
    figs = fit_dir / "figures"
    notes = population_notes(
        out.manifests["fit"].get("controls", []), getattr(out, "study", None), getattr(out, "sources", None)
    )
    body = (
        p(
            esc(
                "Each no-maintenance control cohort enters through its published figures (events and exposure per "
                "interval, with its size or the size its printed CI implies); a hazard ratio per transition links "
                "this cohort's hazards to the control's (maintenance over no maintenance), and a power prior a0 "
                "discounts the control (0: ignored, 1: full borrowing). The 1-year incidences run from day "
                f"{landmark} to day {landmark + 365}, given event-free at day {landmark}."
            )
        )
        + table(rows, caption="Hazard ratios against each control at the headline discounting level")
        + ul(
            [
                esc(
                    f"Across the controls and every a0 above 0 up to 1, P(HR of relapse < 1) is at most "
                    f"{best['hr_relapse_p_below_1']:.2f} ({titles[best['control']]}, a0 = {best['a0']:g}); "
                    "at a0 = 0 it is the prior's 0.5."
                ),
                esc(
                    "The controls differ from this cohort in ways nothing here adjusts for (listed below): the "
                    "hazard ratio is a crude external comparison."
                ),
            ]
        )
        + (ul([esc(t) for t in notes]) if notes else "")
        + fig_or_note(
            figs / "comparative_hr_forest.png",
            "Forest plot of hazard ratios",
            "Posterior hazard ratio of relapse (left) and NRM (right), median and 95% interval, per control and a0.",
        )
        + fig_or_note(
            figs / "comparative_incidence.png",
            "Treated against control relapse incidence",
            f"Cumulative incidence of relapse over one year from day {landmark}, treated against each control, "
            "posterior median and 95% band.",
        )
        + fig_or_note(
            figs / "comparative_a0_sweep.png",
            "Probability of benefit against a0",
            "Posterior probability that the relapse hazard ratio is below 1, against the control's weight a0; "
            "the dashed line is the 0.9 level.",
        )
    )
    return Section("comparative", "Comparison with no-maintenance cohorts", body)
