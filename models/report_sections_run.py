"""Limitations, and the appendices: provenance and hashes, software versions, names and labels, BARG.

The appendices hold the audit material a clinical reader may skip: every input with its SHA-256,
the commands and seeds of the pipeline steps, the versions of the software, the table mapping the
names in the output files to the labels the report uses (the one place those names appear) and the
checklist of the Bayesian Analysis Reporting Guidelines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from models import report_text as say
from models.report_html import Section, esc, p, table, ul
from models.report_sections_common import code, event_counts, plural, shown, tables_phrase


def _data_limitation(out: Any) -> str:
    """What the outcome tables are and how much their differences matter."""
    if not out.reconstructed:
        return (
            f"The outcome tables are the study's own per-patient records ({shown(out.outcomes)}): the analysis is "
            "only as good as their event days, causes of death and follow-up."
        )
    rec = out.manifests["reconstruction"]
    rv = out.fit["reconstruction_variance"]
    return (
        f"The per-patient data are reconstructions: {rec['orderings_consistent']:,} orderings fit every published "
        f"figure and {len(out.draw_files)} are analysed. Differences between them account for "
        + "; ".join(
            f"up to {100 * g['between_share'].max():.1f}% of the posterior variance at {say.horizon(day)} "
            f"({out.labels.of('quantity', g.loc[g['between_share'].idxmax(), 'quantity'])}, "
            f"{out.labels.of('time scale', g.loc[g['between_share'].idxmax(), 'scale'])})"
            for day, g in rv.groupby("day")
        )
        + ". No reconstruction can recover information the letter does not contain (exact days, ties, covariates)."
    )


def limitations(out: Any) -> Section:
    n = out.n_patients
    relapses = event_counts(out)["relapse"]
    ess = out.fit["prior_ess"].set_index("transition")
    items = [
        _data_limitation(out),
        f"{n} patients and {plural(relapses, 'relapse')}: every interval is wide, and the "
        "1-year relapse posterior moves with the prior (sensitivity section). Given these data the prior is worth "
        f"{ess.loc['relapse', 'pull_events']:.1f} relapse events ({ess.loc['relapse', 'pull_patients']:.1f} "
        f"patients), against {relapses} observed.",
        "Single arm, no concurrent control: the benchmarks are historical cohorts with different patients, donors and "
        "eras; a benchmark claim is a comparison with a number, not a treatment effect.",
        "The hazards are piecewise constant on fixed cut points; other cut points are a sensitivity scenario.",
        "Relapse and NRM hazards are assumed unchanged by a preceding GvHD (GRFS only).",
        "Several prior figures are second-hand abstracts; figures marked unverified are refused by default.",
        "Staleness of outputs is judged from input hashes and settings, not from the code; after changing the "
        "toolkit, run the report with --force.",
    ]
    return Section("limitations", "Limitations", ul(esc(i) for i in items))


# ----------------------------------------------------------------------------- appendices


def _data_files(out: Any) -> pd.DataFrame:
    recorded: dict[str, str] = {}
    for name in ("reconstruction", "fit"):
        recorded.update(out.manifests.get(name, {}).get("inputs_sha256", {}))
    files = [*out.study.input_files(), *out.draw_files]
    return pd.DataFrame([{"file": shown(f), "SHA-256": recorded.get(shown(f), "")} for f in files])


def provenance(out: Any) -> Section:
    """Where every number comes from: data files, pipeline steps with commands and seeds, input hashes."""
    steps = []
    for r in out.runs:
        m = out.manifests[r.status.step.name]
        steps.append(
            {
                "step": out.labels.of("step", r.status.step.name),
                "what": r.status.step.title,
                "command": m.get("command", ""),
                "seed": m.get("seed"),
                "created (UTC)": m.get("created_utc", ""),
                "this report": {"used": "outputs up to date", "ran": "re-run: " + "; ".join(r.because[:2])}.get(
                    r.action, r.action
                ),
            }
        )
    inputs: dict[tuple[str, str], list[str]] = {}
    for name, m in out.manifests.items():
        for k, v in m.get("inputs_sha256", {}).items():
            inputs.setdefault((k, v), []).append(out.labels.of("step", name))
    inp = pd.DataFrame([{"input": k, "SHA-256": v, "read by": ", ".join(s)} for (k, v), s in sorted(inputs.items())])
    stored = (
        f"The pack's published figures and Table 1 are in {code(out.study.root)}; the reconstructed tables are "
        "committed with them."
        if out.reconstructed
        else f"The study's per-patient outcome tables are in {code(out.outcomes)}."
    )
    data_note = (
        f"aggregate data in the study pack; {tables_phrase(out)} with hashes"
        if out.reconstructed
        else f"the study's own per-patient data ({tables_phrase(out)}) with hashes"
    )
    body = (
        p(
            f"Everything in this report is regenerated by one command, <code>{esc(out.command)}</code>, which "
            "re-runs any step whose outputs are missing or whose recorded inputs or settings no longer match. Same "
            "inputs and seeds give identical tables."
        )
        + p(f"Code revision: <code>{esc(out.revision or 'not a git checkout')}</code>.")
        + "<h3>Data files</h3>"
        + p(f"{stored} Their SHA-256 hashes as recorded by the runs:")
        + table(_data_files(out), formats={"SHA-256": lambda v: v}, caption="Input data and their hashes")
        + "<h3>Pipeline steps</h3>"
        + table(pd.DataFrame(steps), caption="Pipeline steps, their commands and seeds")
        + table(inp, caption="Every input file and its SHA-256")
        + p(
            "Code: the <code>models/</code> package (one concern per module, numpydoc with the mathematics and "
            "references), the <code>scripts/</code> that produced each step, and <code>docs/</code> (model, priors, "
            "reconstruction, sensitivity, trial planning). Posterior samples: <code>posterior.nc</code> of each fit "
            "(ArviZ InferenceData, with the data hashes, prior and sampler settings as attributes; no patient rows)."
        )
    )
    return Section(
        "provenance",
        "Provenance: commands, seeds and input hashes",
        body,
        barg={
            "6.A": "code in the repository; one command regenerates the report",
            "6.B": data_note,
            "6.C": "seeds, commands, settings and posterior files recorded per step",
            "6.D": "numpydoc modules with the mathematics, docs/ pages, and this report",
        },
    )


def versions(out: Any) -> Section:
    """The software that made each step's outputs, and the report's own."""
    import platform
    import sys

    from models.io import versions as now_versions

    vers = {out.labels.of("step", name): m.get("versions", {}) for name, m in out.manifests.items()}
    now = now_versions()
    pkgs = sorted(set(now) | {k for v in vers.values() for k in v})
    vt = pd.DataFrame(
        [{"package": k, "this report": now.get(k, "–"), **{s: v.get(k, "–") for s, v in vers.items()}} for k in pkgs]
    )
    body = p(f"This report: Python {esc(sys.version.split()[0])} on {esc(platform.platform())}.") + table(
        vt, caption="Software versions recorded by each step"
    )
    return Section(
        "versions",
        "Software versions",
        body,
        barg={"2.A": f"versions of Python and {len(pkgs) - 2} packages per step"},
    )


def label_table(out: Any) -> Section:
    """The names the output files use, with the plain label this report gives each."""
    body = p(
        "The output files (CSV tables, manifests) name quantities, claims, prior sets, designs, scenarios and "
        "steps by short identifiers; this report uses plain labels instead. The table maps one to the other, so "
        "a reader can find a number of the report in the files."
    ) + table(out.labels.table(), caption="Names in the output files and their labels in this report")
    return Section("labels", "Names in the output files", body)


# ----------------------------------------------------------------------------- BARG checklist


def barg_checklist(out: Any, sections: Sequence[Section]) -> Section:
    rows = []
    for item in out.barg:
        where = [(s.id, s.title, s.barg[item.id]) for s in sections if item.id in s.barg]
        rows.append(
            {
                "item": item.id,
                "guideline": f"{item.step}: {item.title}",
                "asks for": item.asks,
                "answered in": "<br>".join(f'<a href="#{esc(i)}">{esc(t)}</a>' for i, t, _ in where)
                or "<span class='bad'>NOT ANSWERED</span>",
                "how": "<br>".join(esc(h) for *_, h in where),
            }
        )
    tab = pd.DataFrame(rows)
    missing = [r["item"] for r in rows if "NOT ANSWERED" in r["answered in"]]
    body = (
        p(
            "Kruschke JK. Bayesian Analysis Reporting Guidelines. <i>Nat Hum Behav</i> 2021;5:1282–1291 "
            '(<a href="https://doi.org/10.1038/s41562-021-01177-7">doi:10.1038/s41562-021-01177-7</a>). '
            "Items follow the article's Table 1; the wording of what each asks is paraphrased "
            "(<code>data/report/barg.toml</code>)."
        )
        + p(
            f"{len(rows) - len(missing)} of {len(rows)} items answered"
            + (f"; missing: {esc(', '.join(missing))}." if missing else ".")
        )
        + table(tab, html_columns=["answered in", "how"])
    )
    return Section("barg", "BARG checklist", body)
