"""Plain-language sentences generated from the numbers of a run (never typed by hand).

Every function takes values read from the run's tables and returns one sentence of plain text
(the report escapes it). Percentages carry one decimal, probabilities two (three near 0 or 1),
so a sentence always agrees with the table beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.report_html import pct, prob

QUANTITY = {
    "relapse_cif": "relapse incidence",
    "nrm_cif": "non-relapse mortality",
    "efs": "event-free survival",
    "os": "overall survival",
    "grfs": "GvHD-free relapse-free survival",
}
TRANSITION = {
    "relapse": "relapse",
    "nrm": "non-relapse death",
    "gvhd": "GRFS-qualifying GvHD",
    "death_after_relapse": "death after relapse",
}
OPERATOR = {"<": "below", ">": "above", "<=": "at most", ">=": "at least"}


def horizon(day: int) -> str:
    """``365`` → ``1-year``; other days as ``day-180``-style phrases."""
    named = {180: "6-month", 365: "1-year", 730: "2-year", 1095: "3-year"}
    return named.get(int(day), f"day-{int(day)}")


def scale_phrase(scale: str, landmark: int | None) -> str:
    """How a time scale reads in a sentence."""
    if scale == "from_transplant":
        return "counted from transplant"
    return f"for patients alive in remission at day {landmark} (the median day of study entry)"


def estimate(quantity: str, scale: str, day: int, median: float, lower: float, upper: float, landmark=None) -> str:
    """``The 1-year relapse incidence, counted from transplant, is 22.4% (95% credible interval 9.2% to 41.9%).``"""
    return (
        f"The {horizon(day)} {QUANTITY.get(quantity, quantity)}, {scale_phrase(scale, landmark)}, is "
        f"{pct(median)} (posterior median; 95% credible interval {pct(lower)} to {pct(upper)})."
    )


def claim(prior: str, quantity: str, scale: str, day: int, op: str, threshold: float, p: float, landmark=None) -> str:
    """``Given the literature prior, the probability that ... is below 10% is 0.04.``"""
    return (
        f"Given the {prior} prior, the probability that the {horizon(day)} {QUANTITY.get(quantity, quantity)} "
        f"({scale_phrase(scale, landmark)}) is {OPERATOR.get(op, op)} {pct(threshold)} is {prob(p)}."
    )


def conflict(prior: str, r: Mapping[str, Any]) -> str:
    """Prior–data conflict for one transition in words, with the prediction attributed to its parts."""
    p = float(r["p_value"])
    flag = "a conflict at the 0.05 level" if p < 0.05 else "no conflict at the 0.05 level"
    parts = [
        f"{float(r[c]):.1f} {what}"
        for c, what in (
            ("predicted_informative", f"from the sources ({r['sources']})" if r.get("sources") else "from the sources"),
            ("predicted_robust", "from the robust component"),
            ("predicted_baseline", "from the weak baseline where no source informs"),
        )
        if float(r.get(c, 0.0) or 0.0) > 0.05
    ]
    own = ""
    if r.get("sources_p_value") == r.get("sources_p_value") and r.get("sources_p_value") is not None:
        own = (
            f" The sources alone predicted {float(r['sources_predicted_mean']):.1f} in the intervals they inform, "
            f"where {float(r['sources_observed_events']):g} occurred (p = {prob(float(r['sources_p_value']))})."
        )
    return (
        f"Before seeing the data, the {prior} prior predicted {float(r['prior_predictive_mean']):.1f} "
        f"{TRANSITION.get(r['transition'], r['transition'])} events in the "
        f"{float(r['exposure_days']) / 365.25:.1f} patient-years at risk"
        + (f" ({'; '.join(parts)})" if parts else "")
        + f"; {float(r['observed_events']):g} occurred (prior predictive p = {prob(p)}: {flag}).{own}"
    )


def ess(r: Mapping[str, Any]) -> str:
    """The prior's weight in words, leading with its pull given the data."""
    t = TRANSITION.get(r["transition"], r["transition"])
    text = (
        f"Given these data the {t} prior is worth about {float(r['pull_events']):.1f} events "
        f"({float(r['pull_patients']):.1f} patients followed for the first year)"
    )
    if float(r["informative_ess_events"]) > 0:
        text += (
            f"; its informative component carries {float(r['informative_ess_events']):.1f} events and keeps "
            f"{float(r['posterior_weight_min']):.2f}–{float(r['posterior_weight_max']):.2f} of the posterior weight"
        )
    method = "ELIR" if r["ess_method"] == "elir" else "moment matching, ELIR being undefined"
    return text + f"; the whole prior, by {method}, carries {float(r['ess_events']):.1f} events."


def agreement(r: Mapping[str, Any]) -> str:
    """The agreement verdict of one quantity in words."""
    q = str(r["quantity"])
    name, _, rest = q.partition("@")
    day, _, landmark = rest.partition("|")
    scale = "conditional" if landmark else "from_transplant"
    what = (
        f"{horizon(int(day))} {QUANTITY.get(name, name)} ({scale_phrase(scale, int(landmark) if landmark else None)})"
    )
    src = r.get("sources_p")
    src_txt = f", the sources alone p = {prob(float(src))}" if src == src and src is not None else ""
    return (
        f"{what[0].upper()}{what[1:]}: {r['verdict']} (Box's p = {prob(float(r['box_p']))}{src_txt}; power-scaling "
        f"prior sensitivity {float(r['prior_sensitivity']):.2f})."
    )


def sample_size(design: str, scenario: str, metric: str, analysis: str, target: float, n: float | None, best: float):
    """Sample size for a target power or assurance, or the statement that the grid never reaches it."""
    what = "power" if metric == "power" else "assurance (probability of success averaged over the design prior)"
    rule = "Bayesian decision rule" if analysis == "bayesian" else "frequentist test"
    if n is None or n != n:
        return (
            f"The {design.replace('_', '-')} design never reaches {target:.0%} {what} under '{scenario}' with the "
            f"{rule} within the simulated sizes (best {prob(best)})."
        )
    return (
        f"The {design.replace('_', '-')} design reaches {target:.0%} {what} under '{scenario}' with the {rule} "
        f"at N = {int(n)} patients."
    )


def diagnostics(
    n_tables: int,
    chains: int,
    max_rhat: float,
    min_ess: float,
    divergences: int,
    engine: str,
    *,
    kind: str = "reconstructed",
) -> str:
    """MCMC diagnostics in one sentence (``kind``: "reconstructed" or "outcome" tables)."""
    verdict = "all within the thresholds" if (max_rhat <= 1.01 and min_ess >= 400 and divergences == 0) else "FAILED"
    return (
        f"Across {n_tables} {kind} table{'' if n_tables == 1 else 's'} × {chains} chains ({engine}), "
        f"the largest R-hat is {max_rhat:.3f}, "
        f"the smallest bulk ESS {min_ess:,.0f}, and there were {divergences} divergent transitions: {verdict} "
        f"(R-hat ≤ 1.01, ESS ≥ 400, no divergences)."
    )


def reconstruction(n_figures: int, n_draws: int, n_failed: int, orderings: int) -> str:
    """The reconstruction audit in one sentence."""
    status = "every one reproduces every figure" if n_failed == 0 else f"{n_failed} checks FAILED"
    return (
        f"{orderings:,} event orderings are consistent with the {n_figures} published outcome figures used as "
        f"constraints; of the {n_draws} tables drawn from them, {status}."
    )
