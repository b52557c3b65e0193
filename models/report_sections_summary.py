"""The report's first section: a one-page summary for a clinical reader.

The question, the answer in plain words (1-year relapse incidence, NRM, EFS and OS with 95%
credible intervals; each claim's probability in words), what drives it (the prior's weight given
the data, the prior–data agreement verdict, the sensitivity verdict), the planning answer (sample
sizes) and the main caveats (reconstructed or own data, prior-driven intervals, small
numbers, no concurrent control). Every number is read from the step outputs the later sections
tabulate, formatted the same way, so the summary and the tables always agree; nothing names a
study but through its pack.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from models import report_text as say
from models.report_html import Section, esc, p, prob, table, ul
from models.report_sections_common import ci_cell, event_counts, landmark, plural, tables_phrase

#: The quantities whose 1-year values the summary gives
KEY_QUANTITIES = ("relapse_cif", "nrm_cif", "efs", "os")
#: A verdict line of the sensitivity step: ``DEPENDS at 0.9: ...``
_VERDICT = re.compile(r"^(?P<kind>HOLDS|DEPENDS|NOT SUPPORTED) at (?P<thr>[\d.]+): ")


def _key_numbers(out: Any) -> pd.DataFrame:
    """1-year posterior median (95% interval) of the key quantities, on both time scales."""
    s = out.fit["summary"]
    one = s[s["day"] == 365].set_index(["quantity", "scale"])
    rows = []
    for q in KEY_QUANTITIES:
        if (q, "from_transplant") not in one.index:
            continue
        row = {"at 1 year": out.labels.of("quantity", q), "from transplant": ci_cell(one.loc[(q, "from_transplant")])}
        if (q, "conditional") in one.index and landmark(out) > 0:
            row[f"from study entry (alive in remission at day {landmark(out)})"] = ci_cell(one.loc[(q, "conditional")])
        rows.append(row)
    return pd.DataFrame(rows)


def _claims(out: Any) -> tuple[pd.DataFrame, str]:
    """Each claim's probability, from transplant (and from study entry), in words; and the decision verdict."""
    from models.sensitivity import load_config

    cl = out.fit["claims"]
    lowest = min(load_config().decision_thresholds)
    by = cl.set_index(["claim", "scale"])["probability"]
    rows = []
    names = [n for n in dict.fromkeys(cl["claim"]) if (n, "from_transplant") in by.index]
    for name in names:
        p_ft = float(by[(name, "from_transplant")])
        row = {"claim": out.labels.claim(name), "from transplant": prob(p_ft)}
        if (name, "conditional") in by.index and landmark(out) > 0:
            row["from study entry"] = prob(float(by[(name, "conditional")]))
        row["in words (from transplant)"] = say.likelihood(p_ft)
        rows.append(row)
    reaching = sum(float(by[(n, "from_transplant")]) >= lowest for n in names)
    return pd.DataFrame(rows), say.claims_against_threshold(reaching, len(names), lowest)


def _drivers(out: Any) -> list[str]:
    """What the answer depends on: the prior's weight, prior–data agreement, the sensitivity verdict."""
    ess = out.fit["prior_ess"].set_index("transition")
    agreement = out.fit["prior_agreement"].set_index("quantity")
    items = []
    if "relapse" in ess.index:
        items.append(
            say.prior_weight(
                "relapse",
                float(ess.loc["relapse", "pull_events"]),
                float(ess.loc["relapse", "pull_patients"]),
                plural(event_counts(out)["relapse"], "relapse"),
                agreement.loc["relapse_cif@365"] if "relapse_cif@365" in agreement.index else None,
            )
        )
    verdicts = [(m, line) for line in out.verdict if (m := _VERDICT.match(line))]
    if verdicts:
        lowest = min(float(m["thr"]) for m, _ in verdicts)
        at = [(m, line) for m, line in verdicts if float(m["thr"]) == lowest]
        never = sum(m["kind"] == "NOT SUPPORTED" for m, _ in at)
        items += [
            "Sensitivity: " + _short(out.labels.text(line[m.end() :])) for m, line in at if m["kind"] != "NOT SUPPORTED"
        ]
        if never:
            which = "all" if never == len(at) else "the other"
            items.append(f"Sensitivity: {which} {plural(str(never), 'claim')} stay below {lowest:g} in every scenario.")
    return items


def _short(verdict: str, most: int = 3) -> str:
    """A verdict line whose list of scenarios is long, with the list left to the sensitivity section."""
    head, sep, names = verdict.partition(" only under ")
    if not sep or (names.count(",") < most and not names.rstrip(".").endswith("...")):
        return verdict
    return f"{head} only under some scenarios (listed in the sensitivity section)."


def _planning(out: Any) -> list[str]:
    """Per design: the smallest N for the target power, and the assurance under this study's posterior."""
    ss = out.plan["sample_size"]
    from_posterior = {
        s
        for doc in out.designs.values()
        for s, prior in (doc.get("design_priors") or {}).items()
        if isinstance(prior, dict) and prior.get("treatment") == "posterior"
    }
    items = []
    for design, rows in ss.groupby("design", sort=False):
        power = rows[rows["metric"] == "power"]
        if (power["analysis"] == "bayesian").any():
            power = power[power["analysis"] == "bayesian"]
        own = rows[rows["scenario"].isin(from_posterior)]
        items.append(
            say.plan_in_words(
                out.labels.of("design", design),
                power.iloc[0] if len(power) else None,
                own.iloc[0] if len(own) else None,
                lambda s: out.labels.of("scenario", s),
            )
        )
    return items


def _caveats(out: Any) -> list[str]:
    """The main caveats: what the data are, prior-driven early follow-up, small numbers, no control."""
    n = out.n_patients
    counts = event_counts(out)
    items = []
    if out.reconstructed:
        rec = out.manifests["reconstruction"]
        items.append(
            f"Reconstructed data: the event times are {tables_phrase(out)} drawn from "
            f"{rec['orderings_consistent']:,} event orderings that fit every published figure, not the study's "
            "records (appendix: reconstruction audit)."
        )
    else:
        items.append("The outcome tables are the study's own per-patient records: nothing is reconstructed.")
    s = out.fit["summary"]
    row = s[(s["quantity"] == "relapse_cif") & (s["scale"] == "from_transplant") & (s["day"] == 365)]
    if "prior_driven" in s.columns and len(row) and bool(row["prior_driven"].iloc[0]):
        where = say.prior_driven_short(str(row["prior_driven_intervals"].iloc[0]))
        items.append(
            "Prior-driven intervals: the prior carries more patient-days than the data"
            + (f" ({where})" if where else "")
            + "; there the posterior largely restates the prior."
        )
    items.append(
        f"Small numbers: {n} patients, {plural(counts['relapse'], 'relapse')} and "
        f"{plural(counts['nrm'], 'non-relapse death')}; every interval is wide."
    )
    items.append("Single arm, no concurrent control: a benchmark claim compares with a number from other cohorts.")
    return items


def summary(out: Any) -> Section:
    """The one-page summary (the report's first section)."""
    info = out.study.info
    prior = out.labels.prior(out.manifests["fit"]["prior_set"])
    n_tables = int(out.idata.posterior.sizes["table"])
    claims, verdict = _claims(out)
    body = (
        p(
            f"<strong>Question.</strong> What do the {out.n_patients} patients of {esc(info.short_name)} show about "
            "relapse, non-relapse mortality (NRM), event-free survival (EFS) and overall survival (OS) one year "
            "after transplant; how probable are the clinical claims; and how large must a trial be to settle them?"
        )
        + p(
            f"<strong>Answer.</strong> Posterior median (95% credible interval) under the {esc(prior)} prior, "
            f"{esc(tables_phrase(out, n_tables))}" + (" pooled." if n_tables > 1 else ".")
        )
        + table(_key_numbers(out))
        + p(
            "<strong>Claims:</strong> posterior probabilities, in the words of a calibrated likelihood scale. "
            + esc(verdict)
        )
        + table(claims)
        + p("<strong>What drives them.</strong>")
        + ul(esc(d) for d in _drivers(out))
        + p("<strong>Planning.</strong>")
        + ul(esc(s) for s in _planning(out))
        + p("<strong>Main caveats.</strong>")
        + ul(esc(c) for c in _caveats(out))
    )
    return Section("summary", "Summary", body)


__all__ = ["KEY_QUANTITIES", "summary"]
