"""The study and its data (methods), and the reconstruction audit (an appendix).

Everything about the study comes from its pack (:class:`models.study.StudyPack`): title, citation,
files, Table 1 populations. The published-figure parts appear only when the pack has published
figures, the reconstruction audit only when its outcome tables were reconstructed.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from models import report_text as say
from models.report_html import Section, esc, figure_of, p, table, ul
from models.report_sections_common import (
    code,
    entry_phrase,
    event_counts,
    landmark,
    plural,
    shown,
    tables_phrase,
)

#: Published outcome figures the report cites, in this order, with their names in prose
OUTCOME_NAMES = {
    "relapse": "relapse incidence",
    "nrm": "non-relapse mortality",
    "efs": "EFS",
    "os": "OS",
    "grfs": "GRFS",
}


def published_outcomes(pub: Any) -> list[Any]:
    """The whole-cohort outcome figures of a letter (survival and incidences), in a fixed order."""
    if pub is None:
        return []
    keep = [
        f
        for f in pub.figures.values()
        if f.population == "cohort"
        and f.endpoint in OUTCOME_NAMES
        and f.statistic in ("km_survival", "cumulative_incidence")
    ]
    order = list(OUTCOME_NAMES)
    return sorted(keep, key=lambda f: (order.index(f.endpoint), f.landmark_days or 0))


def _outcome_phrase(f: Any) -> str:
    when = f"{say.horizon(int(f.landmark_days))} " if f.landmark_days is not None else ""
    ci = f" (95% CI {f.ci[0]:g}–{f.ci[1]:g})" if f.ci else ""
    count = f", {plural(str(f.count), 'patient')}" if f.count is not None else ""
    return f"{when}{OUTCOME_NAMES[f.endpoint]} {f.value:g}%{ci}{count}"


def _study_rows(out: Any, n: int) -> pd.DataFrame:
    pack, info = out.study, out.study.info
    pub = out.published.study if out.published is not None else {}
    rows = [{"item": "title", "value": esc(info.title)}, {"item": "citation", "value": esc(info.citation)}]
    if info.doi:
        rows.append({"item": "DOI", "value": f'<a href="https://doi.org/{esc(info.doi)}">{esc(info.doi)}</a>'})
    if info.licence:
        rows.append({"item": "licence", "value": esc(info.licence)})
    rows.append({"item": "patients", "value": str(n)})
    if pub.get("transplant_window"):
        rows.append({"item": "transplants", "value": esc(" to ".join(map(str, pub["transplant_window"])))})
    last = info.last_followup_date or pub.get("last_followup_date")
    if last:
        rows.append({"item": "last follow-up", "value": esc(str(last))})
    origin = info.time_origin + (f" — “{pub['quote_origin']}”" if pub.get("quote_origin") else "")
    rows.append({"item": "time origin", "value": esc(origin)})
    rows.append({"item": "study entry", "value": esc(info.entry)})
    methods = " ".join(str(pub[k]) for k in ("quote_methods", "quote_software") if pub.get(k))
    if methods:
        rows.append({"item": "original analysis", "value": esc(methods)})
    how = "reconstructed from the published figures" if out.reconstructed else "the study's own per-patient data"
    rows.append({"item": "outcome tables", "value": f"{code(out.outcomes)} ({esc(how)})"})
    rows.append({"item": "study pack", "value": code(pack.toml)})
    return pd.DataFrame(rows)


def study(out: Any) -> Section:
    """The study, why a Bayesian analysis, the goals and the data variables (the question is in the summary)."""
    pack = out.study
    n = out.n_patients
    ev = event_counts(out)
    lmk = landmark(out)
    pub = out.published
    outcomes = published_outcomes(pub)
    if out.reconstructed:
        provenance = (
            "The per-patient outcome table was never published, so the event times analysed here are "
            "reconstructions (audited in the appendix on the reconstruction)."
        )
    else:
        provenance = (
            f"The outcome tables ({code(out.outcomes)}) are the study's own per-patient data: nothing is reconstructed."
        )
    letter = ""
    if pub is not None:
        reported = (
            f"The letter reports, for the whole cohort, {'; '.join(esc(_outcome_phrase(f)) for f in outcomes)}. "
            if outcomes
            else ""
        )
        letter = (
            f"{reported}It gives {len(pub.figures)} numbers in all; each is held in {code(pub.path)} with its "
            "verbatim quote. "
        )
    ci_top = max((f.ci[1] for f in outcomes if f.ci and f.statistic == "km_survival"), default=None)
    boundary = (
        f"the published confidence intervals run to the boundary (upper limits of {ci_top:g}%), and "
        if ci_top is not None and ci_top >= 100
        else ""
    )
    flag_cols = [c for c in (out.baseline.columns if out.baseline is not None else []) if c.startswith("is_")]
    flags = (
        table(
            pd.DataFrame(
                [
                    {
                        "characteristic": pack.population_label(c.removeprefix("is_")),
                        "patients": int(out.baseline[c].sum()),
                    }
                    for c in flag_cols
                ]
            ),
            caption=f"Cohort characteristics computed from Table 1 ({shown(pack.baseline_path)})",
        )
        if flag_cols
        else ""
    )
    table1 = ""
    if out.baseline is not None:
        table1 = " Table 1 characteristics describe the cohort" + (
            " and define the published subgroups used as reconstruction constraints." if out.reconstructed else "."
        )
    stored = (
        f"The pack's published figures and Table 1 are in {code(pack.root)}; the reconstructed tables are "
        "committed with them."
        if out.reconstructed
        else f"The study's per-patient outcome tables are in {code(out.outcomes)}."
    )
    body = (
        table(_study_rows(out, n), html_columns=["value"], formats={"value": str})
        + p(letter + provenance)
        + "<h3>Why a Bayesian analysis</h3>"
        + p(
            f"With {n} patients, {plural(ev['relapse'], 'relapse')} and "
            f"{plural(ev['nrm'], 'non-relapse death')}, {boundary}a significance test answers no clinical "
            "question. A Bayesian analysis gives the probability of each claim (for example, "
            "that 1-year relapse incidence is below a no-maintenance benchmark), states openly how much earlier "
            "studies are allowed to contribute, and lets a reviewer see which conclusions depend on that choice "
            "(sensitivity section). Its posterior then serves directly as a design prior for the next trial."
        )
        + "<h3>Goals</h3>"
        + ul(
            [
                "Estimate the 6-month, 1-year and 2-year relapse incidence, NRM, EFS, OS and GRFS, counted from "
                f"transplant and for patients alive in remission at study entry (day {lmk}).",
                "Give the posterior probability of stated clinical claims against cited benchmarks.",
                "Show which conclusions survive other priors"
                + (", models and reconstructions." if out.reconstructed else " and models."),
                "Size a prospective single-arm or randomised trial by power and Bayesian assurance.",
            ]
        )
        + "<h3>Data variables</h3>"
        + p(
            f"Outcomes per patient ({'reconstructed' if out.reconstructed else 'as recorded by the study'}): day "
            "of relapse, day of GRFS-qualifying GvHD, day and cause of death, last follow-up, and the day of study "
            f"entry ({esc(entry_phrase(out))}). There are no predictors: the model has no covariates, single-arm "
            f"cohorts of this size being too small for them.{table1}"
        )
        + flags
        + p(f"{stored} Every input file with its SHA-256 is in the appendix on provenance.")
    )
    data_note = (
        f"aggregate data in the study pack; {tables_phrase(out)} with hashes"
        if out.reconstructed
        else f"the study's own per-patient data ({tables_phrase(out)}) with hashes"
    )
    return Section(
        "study",
        "The study and its data",
        body,
        barg={
            "P.A": f"why Bayesian, given {n} patients and {plural(ev['events'], 'event')}",
            "P.B": "four goals: estimation, claim probabilities, sensitivity, trial size",
            "1.A": "outcomes are event times per patient; no predictors (single arm)",
            "6.B": data_note,
        },
    )


# ----------------------------------------------------------------------------- reconstruction audit


def _audit(out: Any) -> tuple[dict[str, Any], list[Any]]:
    from models.reconstruct import load_constraints, verify_table

    rec = out.manifests["reconstruction"]
    cons = load_constraints(out.study.constraints_path, out.published, out.baseline, study=out.study)
    chosen = rec.get("chosen_definition")
    qualifying = tuple(next((d["qualifying"] for d in rec["gvhd_definitions"] if d["name"] == chosen), ()))
    per_draw = [verify_table(t, cons, qualifying=qualifying) for t in out.draws]
    return rec, per_draw


def _km_figure(out: Any, m: int) -> str:
    """KM of OS and EFS for every table, over the published whole-cohort estimates."""
    from models.endpoints import derive
    from models.nonparametric import km_curve
    from models.plotting import plot_reconstructed_km

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, ep, label in ((axes[0], "os", "Overall survival"), (axes[1], "efs", "Event-free survival")):
        steps = []
        for t in out.draws:
            d = derive(t, ep, from_transplant=True)
            steps.append(km_curve(d["duration"], d["event"]))
        points = [
            (f.landmark_days, f.value / 100, f.ci[0] / 100, f.ci[1] / 100)
            for f in published_outcomes(out.published)
            if f.endpoint == ep and f.statistic == "km_survival" and f.landmark_days is not None and f.ci
        ]
        plot_reconstructed_km(steps, published=points, ylabel=label, ax=ax)
    fig.tight_layout()
    return figure_of(
        fig,
        "Kaplan-Meier curves of overall and event-free survival for every reconstructed table with the published "
        "estimates",
        f"Kaplan–Meier OS and EFS from transplant for all {m} reconstructed tables (blue, overlaid) and the published "
        "whole-cohort estimates with 95% CI (red).",
    )


def reconstruction(out: Any) -> Section:
    rec, per_draw = _audit(out)
    names = [c.name for c in per_draw[0]]
    m = len(per_draw)
    rows, matrix = [], {}
    for i, name in enumerate(names):
        checks = [d[i] for d in per_draw]
        values = sorted({c.reproduced for c in checks})
        ok = sum(c.ok for c in checks)
        fig = out.published.figures.get(name)
        rows.append(
            {
                "figure": name,
                "published": checks[0].published,
                "reproduced (distinct values over draws)": "; ".join(values),
                "draws reproducing": f"{ok}/{m}",
                "quote": (fig.quote[:140] + "…")
                if fig is not None and len(fig.quote) > 140
                else (fig.quote if fig else ""),
            }
        )
        matrix[name] = [("✓ " if c.ok else "✗ ") + c.reproduced for c in checks]
    n_failed = sum(not c.ok for d in per_draw for c in d)
    recorded = sum(
        1
        for d, checks in zip(rec["draws"], per_draw, strict=False)
        for a, b in zip(d["checks"], checks, strict=False)
        if a["reproduced"] != b.reproduced or a["ok"] != b.ok
    )
    mat = pd.DataFrame(matrix, index=[f.name for f in out.draw_files]).T.reset_index(names="figure")
    used = set(names)
    unused = pd.DataFrame(
        [
            {"figure": k, "statistic": f.statistic, "value": f"{f.value:g} {f.unit}", "population": f.population}
            for k, f in out.published.figures.items()
            if k not in used
        ]
    )
    gv = pd.DataFrame(
        [
            {
                "GvHD definition": d["name"],
                "qualifying categories": ", ".join(d["qualifying"]),
                "consistent orderings": d["orderings"],
                "table found": d["table_found"],
            }
            for d in rec["gvhd_definitions"]
        ]
    )
    fu = pd.DataFrame(
        [
            {
                "follow-up reading": r["reading"],
                "primary": r["primary"],
                "orderings": r["orderings"],
                "table found": r["table_found"],
            }
            for r in rec["followup_readings"]
        ]
    )
    free = [
        f"The order of events: {rec['orderings_consistent']:,} orderings ({esc(rec['ordering_definition'])}) satisfy "
        f"every constraint; they fall into {len(rec['risk_set_signatures'])} distinct risk-set signatures. Tables are "
        "drawn uniformly over orderings.",
        "Exact days within the windows each ordering allows (sampled uniformly subject to the order statistics of "
        "follow-up and study entry).",
        f"Which patients had GRFS-qualifying GvHD: the definition used is '{esc(str(rec.get('chosen_definition')))}'; "
        "the alternatives and their counts are tabulated below.",
        "How the median follow-up was computed (all patients or censored only): both readings are satisfiable.",
        "Same-day ties are not enumerated (each ordering has distinct days).",
    ]
    body = (
        p(esc(say.reconstruction(len(names), m, n_failed, rec["orderings_consistent"])), "claim")
        + p(
            "Each figure below was recomputed now from the committed tables with lifelines (Kaplan–Meier with the "
            "log-transformed Greenwood interval; Aalen–Johansen for incidences), not read from the reconstruction's "
            f"own record; {recorded} value(s) differ from the values recorded in "
            f"{code(out.step_dir('reconstruction') / 'manifest.json')}. A value reproduces a figure when it rounds "
            "to the printed decimals."
        )
        + table(pd.DataFrame(rows), caption=f"Published figures against the {m} reconstructed tables")
        + _km_figure(out, m)
        + f"<details><summary>Every figure in every draw ({len(names)} × {m})</summary>"
        + table(mat, caption="✓ reproduces the published value; ✗ does not")
        + "</details>"
        + "<h3>What the published record leaves free</h3>"
        + ul(free)
        + table(gv, caption="GvHD definitions tried")
        + table(fu, caption="Readings of the published median follow-up")
        + f"<details><summary>Published numbers that do not constrain event times ({len(unused)})</summary>"
        + p("Figures of the letter that are not constraints on event times (treatment, toxicity, baseline).")
        + table(unused)
        + "</details>"
    )
    return Section(
        "reconstruction",
        "Reconstruction audit",
        body,
        barg={
            "6.B": f"reconstructed per-patient times: {len(names)} figures × {m} tables re-verified, "
            f"{n_failed} failures",
        },
    )


__all__ = ["published_outcomes", "reconstruction", "study"]
