"""Methods: the model written out, and the priors with their conflict checks."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from models import report_text as say
from models.report_html import Section, esc, p, pct_ci, prob, table, ul
from models.report_sections_common import COUNT_FORMATS, entry_phrase, fig_or_note, landmark, plain_table

#: Prior construction methods of ``prior.json`` in words
METHOD = {
    "power": "power prior",
    "map": "meta-analytic-predictive (MAP)",
    "weak": "weakly informative",
    "commensurate": "commensurate",
}
#: Effective-sample-size methods in words
ESS_METHOD = {"elir": "ELIR", "moment": "moment matching"}


def _sentence(text: str) -> str:
    """``default informative prior: ...`` → ``Default informative prior: ...``."""
    return text[:1].upper() + text[1:]


def model(out: Any) -> Section:
    man = out.manifests["fit"]
    cuts = man["cuts"]
    rcuts = man["relapse_death_cuts"]
    ex = out.fit["exposure"]
    agg = (
        ex.groupby(["transition", "interval"], sort=False)
        .agg(events=("events", "mean"), exposure_days=("exposure_days", "mean"))
        .reset_index()
    )
    agg["patient_years"] = agg["exposure_days"] / 365.25
    kind = "reconstructed" if out.reconstructed else "outcome"
    n_tables = int(out.idata.posterior.sizes["table"])
    math_block = (
        '<div class="math">'
        "States: 0 = alive in remission, 1 = relapsed, 2 = dead. For transition <i>k</i> ∈ {relapse, NRM, GvHD} "
        "(from state 0, clock = days from transplant) and death after relapse (from state 1, clock reset at "
        "relapse), the hazard is constant on intervals:<br>"
        "λ<sub><i>k</i></sub>(<i>t</i>) = λ<sub><i>kj</i></sub> for <i>c</i><sub><i>j</i></sub> ≤ <i>t</i> &lt; "
        "<i>c</i><sub><i>j</i>+1</sub>,<br>"
        f"with cut points {esc(', '.join(f'{c:g}' for c in cuts))} days (from transplant) and "
        f"{esc(', '.join(f'{c:g}' for c in rcuts))} days (since relapse); the last interval is open.<br><br>"
        "Likelihood (Poisson kernel of the piecewise-exponential model), with <i>D</i><sub><i>kj</i></sub> events "
        "and <i>E</i><sub><i>kj</i></sub> patient-days at risk:<br>"
        "<i>L</i>(λ) = ∏<sub><i>k</i>,<i>j</i></sub> λ<sub><i>kj</i></sub><sup><i>D</i><sub><i>kj</i></sub></sup> "
        "exp(−λ<sub><i>kj</i></sub> <i>E</i><sub><i>kj</i></sub>).<br><br>"
        "Prior for each interval hazard: a mixture of gammas,<br>"
        "λ<sub><i>kj</i></sub> ~ Σ<sub><i>c</i></sub> <i>w</i><sub><i>c</i></sub> Gamma(<i>a</i><sub><i>c</i></sub>, "
        "<i>b</i><sub><i>c</i></sub>),<br>"
        "so the posterior is again a gamma mixture with <i>a</i><sub><i>c</i></sub> + <i>D</i><sub><i>kj</i></sub>, "
        "<i>b</i><sub><i>c</i></sub> + <i>E</i><sub><i>kj</i></sub> and weights ∝ <i>w</i><sub><i>c</i></sub> × "
        "negative-binomial marginal likelihood of <i>D</i><sub><i>kj</i></sub> (exact engine).<br><br>"
        "Derived quantities per posterior draw (daily grid): EFS(<i>t</i>) = <i>S</i><sub>0</sub>(<i>t</i>) = "
        "exp{−Λ<sub>rel</sub>(<i>t</i>) − Λ<sub>NRM</sub>(<i>t</i>)}; CIF<sub><i>k</i></sub>(<i>t</i>) = "
        "∫<sub>0</sub><sup><i>t</i></sup> <i>S</i><sub>0</sub>(<i>u</i>) λ<sub><i>k</i></sub>(<i>u</i>) d<i>u</i>; "
        "OS(<i>t</i>) = <i>S</i><sub>0</sub>(<i>t</i>) + ∫<sub>0</sub><sup><i>t</i></sup> "
        "<i>S</i><sub>0</sub>(<i>u</i>) "
        "λ<sub>rel</sub>(<i>u</i>) <i>S</i><sub>R</sub>(<i>t</i> − <i>u</i>) d<i>u</i>; GRFS(<i>t</i>) = "
        "exp{−Λ<sub>rel</sub> − Λ<sub>NRM</sub> − Λ<sub>GvHD</sub>}.<br>"
        f"From study entry (landmark <i>s</i> = {landmark(out)} days, the median entry day): "
        "CIF<sub><i>k</i></sub>(<i>t</i> | "
        "<i>s</i>) = {CIF<sub><i>k</i></sub>(<i>t</i>) − CIF<sub><i>k</i></sub>(<i>s</i>)} / "
        "<i>S</i><sub>0</sub>(<i>s</i>), "
        "EFS(<i>t</i>)/<i>S</i><sub>0</sub>(<i>s</i>), and OS restricted to relapses after <i>s</i>."
        "</div>"
    )
    body = (
        p(
            "A piecewise-exponential illness–death model (Holford 1980; Friedman 1982; Putter, Fiocco & Geskus "
            f"2007) fitted to each {kind} table. The parameters of primary interest are the relapse and NRM "
            "hazards; the GvHD hazard (for GRFS) and the hazard of death after relapse (for OS) are ancillary."
        )
        + math_block
        + p(
            "<strong>Delayed entry.</strong> Patients could only enter the study alive and in remission at study "
            f"entry ({esc(entry_phrase(out))}; median day {landmark(out)}); "
            + (
                "this fit nevertheless counts every patient at risk from transplant (no delayed entry)."
                if man["from_transplant"]
                else "each is at risk from that day (delayed entry), so no immortal time is counted."
            )
            + (
                f" <strong>Several {kind} tables.</strong> Each of the {n_tables} tables is "
                "fitted separately with the same number of draws and the posteriors are pooled with equal weight "
                "(multiple-imputation style); the share of posterior variance due to differences between tables is "
                "reported with the results."
                if n_tables > 1
                else ""
            )
        )
        + plain_table(
            agg,
            values={"transition": lambda v: out.labels.of("transition", v)},
            formats=COUNT_FORMATS,
            caption="Sufficient statistics: events and exposure per transition and interval (mean over tables)",
        )
        + p(
            "The full specification in code is <code>models/pwe.py</code> (exact and NUTS engines), "
            "<code>models/derived.py</code> (curves) and <code>models/priors.py</code>; the derivations are in "
            "<code>docs/model.md</code>."
        )
    )
    return Section(
        "model",
        "The model",
        body,
        barg={
            "1.B": "PWE likelihood; relapse and NRM hazards primary, GvHD and death-after-relapse ancillary",
            "1.D": "likelihood, prior and derived quantities written out; code named",
        },
    )


# ----------------------------------------------------------------------------- priors


def priors(out: Any) -> Section:
    lab = out.labels
    pr = out.prior
    prov = pr.get("provenance", {})
    ess = out.fit["prior_ess"].set_index("transition")
    conflict = out.fit["prior_conflict"]
    rows, fig_rows = [], []
    for k, pv in prov.items():
        e = ess.loc[k] if k in ess.index else None
        rows.append(
            {
                "transition": lab.of("transition", k),
                "method": METHOD.get(pv["method"], pv["method"]),
                "sources": "; ".join(pv["sources"]) or "none (weakly informative)",
                "discount a0": ", ".join(f"{a:g}" for a in pv["a0"]) or "–",
                "weight on informative part": "–" if pv["w"] is None else f"{pv['w']:g}",
                "pull given the data, events": float(e["pull_events"]) if e is not None else math.nan,
                "pull given the data, patients": float(e["pull_patients"]) if e is not None else math.nan,
                "informative component, events": float(e["informative_ess_events"]) if e is not None else math.nan,
                "posterior weight": (
                    f"{e['posterior_weight_min']:.2f}–{e['posterior_weight_max']:.2f}"
                    if e is not None and e["posterior_weight_min"] == e["posterior_weight_min"]
                    else "–"
                ),
                "whole-prior ESS, events": float(e["ess_events"]) if e is not None else math.nan,
                "ESS method": ESS_METHOD.get(str(e["ess_method"]), str(e["ess_method"])) if e is not None else "–",
            }
        )
        for key in pv["figures"]:
            f = out.sources.figures.get(key)
            if f is None:
                continue
            study = out.sources.studies.get(f.study)
            ci = f" ({f.ci[0]:g}–{f.ci[1]:g})" if f.ci else ""
            fig_rows.append(
                {
                    "figure": key,
                    "study": study.citation if study else f.study,
                    "endpoint": f.endpoint_reported or f.endpoint,
                    "estimate": f"{f.estimate:g}{ci}",
                    "n": f.n,
                    "verified": f.verified,
                    "quote": f.quote,
                    "used for": lab.of("transition", k),
                }
            )
    figs = (
        pd.DataFrame(fig_rows)
        .groupby("figure", sort=False)
        .agg(
            {
                "study": "first",
                "endpoint": "first",
                "estimate": "first",
                "n": "first",
                "verified": "first",
                "quote": "first",
                "used for": ", ".join,
            }
        )
        .reset_index()
    )
    lm = out.prior_landmarks.copy()
    lm["1-year value (prior median, 95% interval)"] = [
        pct_ci(r["median"], r["lower"], r["upper"]) for _, r in lm.iterrows()
    ]
    lm["quantity"] = lm["quantity"].map(lambda q: lab.of("quantity", q))
    prior_label = lab.prior(pr["name"])
    conf_sent = [esc(say.conflict(prior_label, r)) for _, r in conflict.iterrows() if r["transition"] != "gvhd"]
    ess_sent = [esc(say.ess(r)) for t, r in ess.reset_index().iterrows() if r["transition"] in ("relapse", "nrm")]
    agreement = out.fit["prior_agreement"]
    agree_sent = [esc(say.agreement(r)) for _, r in agreement.iterrows()]
    fdir = out.figures / "priors" / pr["name"]
    body = (
        p(f"<strong>The {esc(prior_label)} prior set.</strong> {esc(_sentence(lab.text(pr['description'])))}.")
        + p(f"Sources: {esc(pr['citation'])}.", "note")
        + p(
            "Each published figure is turned into pseudo-data (events and exposure) per interval; a power-prior "
            "discount a0 scales them on top of the weakly informative baseline (one pseudo-event per transition, "
            "spread over the intervals by width), and the informative part is mixed with that baseline (robust "
            "mixture), so that a conflicting study is down-weighted by the data themselves. The prior's weight is "
            "reported as it pulls on this posterior: each part's effective sample size weighted by its posterior "
            "weight, beside the informative component's and the whole prior's. Death after relapse, reported as "
            "survival curves and medians, is fitted by a meta-analytic-predictive (MAP) model. Conversions and "
            "their checks: <code>docs/priors.md</code>."
        )
        + table(
            pd.DataFrame(rows),
            formats={
                c: (lambda v: f"{v:.1f}")
                for c in (
                    "pull given the data, events",
                    "pull given the data, patients",
                    "informative component, events",
                    "whole-prior ESS, events",
                )
            },
            caption="Prior per transition in the first year: method, discount, its pull given these data "
            "(posterior-weighted effective sample size over the weak baseline), the informative component's ESS "
            "and its posterior weight over the tables, and the whole prior's ESS (ELIR, or moment matching where "
            "ELIR is undefined)",
        )
        + ul(ess_sent)
        + "<h3>Published figures behind the prior</h3>"
        + table(figs, caption="Each figure with its verbatim quote (data/priors/sources.toml)")
        + "<h3>What the prior implies (prior predictive check)</h3>"
        + table(
            lm[["quantity", "1-year value (prior median, 95% interval)"]],
            caption="Implied 1-year values, from transplant, before seeing the data",
        )
        + fig_or_note(
            fdir / "prior_predictive_incidence.png",
            "prior predictive incidence curves",
            "Prior predictive relapse and NRM incidence and survival (median and 95% band).",
        )
        + fig_or_note(
            fdir / "prior_densities.png", "prior densities of the hazards", "Prior densities of the interval hazards."
        )
        + "<h3>Prior–data conflict and agreement</h3>"
        + p(
            "Box's prior predictive check per transition: the exact negative-binomial (gamma-mixture) predictive "
            "distribution of the number of events given each table's exposure, against the number observed; the "
            "prediction is split into the sources, the robust component and the weak baseline, and the sources are "
            "also checked alone on the intervals they inform (medians over tables, range of p in the table). "
            "One verdict per quantity reads the two diagnostics together: Box's p decides whether prior and data "
            "disagree, power-scaling of the prior's departure from the weak baseline whether the prior is strong "
            "relative to these data (docs/priors.md, 'One verdict')."
        )
        + ul(conf_sent)
        + ul(agree_sent)
        + plain_table(
            conflict,
            values={"transition": lambda v: lab.of("transition", v), "conflict": lambda v: "yes" if v else "no"},
            formats={
                "p_value": prob,
                "p_value_min": prob,
                "p_value_max": prob,
                "prior_predictive_mean": lambda v: f"{v:.2f}",
            },
        )
    )
    worst = conflict.loc[conflict["p_value"].idxmin()]
    return Section(
        "priors",
        "Priors and prior–data conflict",
        body,
        barg={
            "1.C": "each transition's prior with source, quote, discount and weight "
            f"(relapse: worth {ess.loc['relapse', 'pull_events']:.1f} events given the data)",
            "1.E": "implied 1-year values and prior predictive event counts; smallest conflict "
            f"p = {prob(worst['p_value'])} ({lab.of('transition', worst['transition'])})",
        },
    )
