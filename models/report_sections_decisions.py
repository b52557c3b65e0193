"""Results: the sensitivity of the conclusions, and trial planning."""

from __future__ import annotations

from typing import Any

from models import report_text as say
from models.report_html import Section, esc, p, pct, pct_ci, prob, table, ul
from models.report_sections_common import fig_or_note, plain_table, tables_phrase


def sensitivity(out: Any) -> Section:
    lab = out.labels
    sc = out.sensitivity["scenarios"]
    fac = sc[sc["kind"].isin(["base", "factor"])].copy()
    fac["1-year relapse"] = [
        pct_ci(r["relapse_cif_median"], r["relapse_cif_lower"], r["relapse_cif_upper"]) for _, r in fac.iterrows()
    ]
    fac["1-year NRM"] = [pct_ci(r["nrm_cif_median"], r["nrm_cif_lower"], r["nrm_cif_upper"]) for _, r in fac.iterrows()]
    pcols = [c for c in sc.columns if c.startswith("P[")]
    for c in pcols:
        fac[c] = fac[c].map(prob)
    if "prior" in fac.columns:  # a prior-set level is the scenario's prior set: its label
        fac["level"] = [lab.prior(lv) if lv == pr else lv for lv, pr in zip(fac["level"], fac["prior"], strict=True)]
    fac = fac.rename(columns={c: f"P({lab.claim(c[2:-1])})" for c in pcols})
    pcols = [f"P({lab.claim(c[2:-1])})" for c in pcols]
    tip = out.sensitivity["tipping_points"].copy()
    tip["tipping_centre"] = tip["tipping_centre"].map(lambda v: "not reached" if v != v else pct(v))
    ps = out.sensitivity["power_scaling"]
    d = out.step_dir("sensitivity")
    body = (
        p(
            f"{len(sc)} scenarios over {tables_phrase(out, int(sc['n_tables'].max()))}: other prior sets, "
            "power-prior discounts, robust-mixture weights, cut points, time origin, "
            + ("each reconstructed table alone, " if out.reconstructed else "each outcome table alone, ")
            + "and a grid of relapse priors by centre and weight (configuration "
            "<code>data/sensitivity/default.toml</code>)."
        )
        + "<h3>Verdict</h3>"
        + ul(esc(lab.text(v)) for v in out.verdict)
        + fig_or_note(
            d / "tornado_relapse_1y.png",
            "tornado plot of 1-year relapse incidence",
            "Posterior median 1-year relapse incidence: each bar spans the lowest to the highest median over "
            "a factor's levels (named at the bar's ends); the vertical line is the base scenario and the grey band "
            "its 95% credible interval, against which the shifts can be read. The bars are medians: every "
            "scenario's own 95% interval is in scenarios.csv.",
        )
        + fig_or_note(
            d / "tornado_claim.png",
            "tornado plot of the claim probability",
            "Posterior probability of the benchmark claim: each bar spans its lowest to highest value over a "
            "factor's levels; the solid line is the base scenario and the dashed and dotted lines are the "
            "decision thresholds the verdict uses.",
        )
        + "<h3>Tipping points</h3>"
        + p(
            "Where a relapse prior of a given weight (patient-years) must be centred for the claim to reach "
            "each threshold."
        )
        + fig_or_note(
            d / "tipping_heatmap.png",
            "tipping-point heat map",
            "Claim probability over the grid of relapse-prior centre × prior weight, with the contours where it "
            "crosses each decision threshold and a star where the base prior's informative part sits.",
        )
        + plain_table(
            tip,
            values={
                "claim": lab.claim,
                "side": lambda v: {"crosses": "crosses the threshold", "below": "below", "above": "above"}.get(v, v),
            },
        )
        + "<h3>Every scenario</h3>"
        + table(fac[["factor", "level", "1-year relapse", "1-year NRM", *pcols, "status"]])
        + "<h3>Power-scaling sensitivity</h3>"
        + p(
            "Cumulative Jensen–Shannon distance when the prior's departure from the weak baseline, or the "
            "likelihood, is raised to a power (priorsense; Kallioinen et al. 2023). A prior sensitivity above 0.05 "
            "says the prior is strong relative to these data; whether prior and data disagree is Box's check "
            "(the verdict column applies the rule of docs/priors.md; priorsense's own label is kept for reference)."
        )
        + plain_table(
            ps.drop(columns=[c for c in ("prior_pareto_k", "likelihood_pareto_k") if c in ps.columns]),
            values={"prior": lab.prior, "quantity": lambda v: lab.text(str(v))},
            formats={"prior_sensitivity": lambda v: f"{v:.3f}", "likelihood_sensitivity": lambda v: f"{v:.3f}"},
        )
    )
    base = sc[sc["kind"] == "base"].iloc[0]
    lo, hi = fac["relapse_cif_median"].min(), fac["relapse_cif_median"].max()
    return Section(
        "sensitivity",
        "Sensitivity analysis",
        body,
        barg={
            "5.A": f"1-year relapse median ranges {pct(lo)}–{pct(hi)} over scenarios "
            f"(base {pct(base['relapse_cif_median'])})",
            "5.B": f"each claim's verdict across {len(sc)} scenarios, with tipping points",
            "5.C": "not applicable: no Bayes factors",
        },
    )


# ----------------------------------------------------------------------------- planning


def _plan_values(lab: Any) -> dict[str, Any]:
    """Labels of the planning tables' name columns."""
    return {
        "design": lambda v: lab.of("design", v),
        "scenario": lambda v: lab.of("scenario", v),
        "analysis": lambda v: {"bayesian": "Bayesian", "frequentist": "frequentist"}.get(v, v),
    }


def planning(out: Any) -> Section:
    lab = out.labels
    ss = out.plan["sample_size"]
    sent = [
        esc(
            say.sample_size(
                lab.of("design", r["design"]),
                lab.of("scenario", r["scenario"]),
                r["metric"],
                r["analysis"],
                r["target"],
                None if r["n_point"] != r["n_point"] else r["n_point"],
                r["max_in_grid"],
            )
        )
        for _, r in ss.iterrows()
    ]
    oc = out.plan["oc"]
    pieces = []
    for name, doc in out.designs.items():
        desc = doc.get("design", {}).get("description", "")
        label = lab.of("design", doc.get("design", {}).get("name", name))
        pieces.append(f"<strong>{esc(label[0].upper() + label[1:])} design</strong>: {esc(desc)}")
    d = out.step_dir("plan")
    oc_cols = [
        "design",
        "N",
        "scenario",
        "metric",
        "n_sims",
        "p_success",
        "p_success_mcse",
        "p_stop_futility",
        "mean_relapses",
        "mean_duration_days",
    ]
    man = out.manifests["plan"]
    body = (
        p(
            "Prospective designs simulated from piecewise-exponential hazards with the same model used for "
            "analysis; power under fixed scenarios, assurance (probability of success averaged over a design "
            "prior, O'Hagan et al. 2005) under the design priors, including this study's posterior "
            f"(<code>{esc(str(man.get('design_prior_posterior', '')))}</code>). Decision thresholds are calibrated "
            "to the target type I error by simulation."
        )
        + ul(pieces)
        + "<h3>Sample sizes</h3>"
        + ul(sent)
        + plain_table(
            ss[
                [
                    c
                    for c in (
                        "design",
                        "scenario",
                        "metric",
                        "analysis",
                        "target",
                        "n_point",
                        "n_lower",
                        "n_upper",
                        "p_at_n",
                        "grid_n_point",
                        "schoenfeld_n",
                        "freedman_n",
                    )
                    if c in ss.columns
                ]
            ],
            values=_plan_values(lab),
            caption="Smallest N reaching each target by root search on simulated power or assurance (common "
            "random numbers; with its 95% Monte Carlo interval), the grid's reading it replaces, and the "
            "Schoenfeld and Freedman closed forms where they apply",
        )
        + fig_or_note(
            d / "plan_single_arm.png",
            "single-arm design operating characteristics",
            "Single-arm design: probability of success by N under each scenario and design prior.",
        )
        + fig_or_note(
            d / "plan_randomised.png",
            "randomised design operating characteristics",
            "Randomised design: power and assurance by N.",
        )
        + "<details><summary>Operating characteristics at every simulated N</summary>"
        + plain_table(
            oc[[c for c in oc_cols if c in oc.columns]],
            values=_plan_values(lab),
            formats={"p_success": prob, "p_success_mcse": lambda v: f"{v:.4f}"},
        )
        + "</details>"
    )
    return Section(
        "planning",
        "Trial planning",
        body,
        barg={
            "5.B": "assurance under sceptical and enthusiastic design priors shows how planning depends on the prior"
        },
    )
