"""Plain-language sentences generated from the numbers of a run (never typed by hand).

Every function takes values read from the run's tables and returns one sentence of plain text
(the report escapes it). Percentages carry one decimal, probabilities two (three near 0 or 1),
so a sentence always agrees with the table beside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from models.labels import OPERATOR, QUANTITY, TRANSITION, horizon
from models.labels import quantity as quantity_label
from models.labels import transition as transition_label
from models.report_html import pct, prob

#: Words for a probability (the calibrated likelihood scale of Mastrandrea et al. 2010, IPCC guidance
#: note): lower bound of each band, highest first
LIKELIHOOD_WORDS: tuple[tuple[float, str], ...] = (
    (0.99, "virtually certain"),
    (0.90, "very likely"),
    (0.66, "likely"),
    (0.33, "about as likely as not"),
    (0.10, "unlikely"),
    (0.01, "very unlikely"),
    (0.0, "exceptionally unlikely"),
)


def likelihood(p: float) -> str:
    """A probability in words: ``0.09`` → ``very unlikely``, ``0.43`` → ``about as likely as not``."""
    return next(words for low, words in LIKELIHOOD_WORDS if float(p) >= low)


def scale_phrase(scale: str, landmark: int | None) -> str:
    """How a time scale reads in a sentence."""
    if scale == "from_transplant":
        return "counted from transplant"
    return f"for patients alive in remission at day {landmark} (the median day of study entry)"


def estimate(quantity: str, scale: str, day: int, median: float, lower: float, upper: float, landmark=None) -> str:
    """``The 1-year relapse incidence, counted from transplant, is 22.4% (95% credible interval 9.2% to 41.9%).``"""
    return (
        f"The {horizon(day)} {quantity_label(quantity)}, {scale_phrase(scale, landmark)}, is "
        f"{pct(median)} (posterior median; 95% credible interval {pct(lower)} to {pct(upper)})."
    )


def claim(prior: str, quantity: str, scale: str, day: int, op: str, threshold: float, p: float, landmark=None) -> str:
    """``Given the literature prior, the probability that ... is below 10% is 0.04.``"""
    return (
        f"Given the {prior} prior, the probability that the {horizon(day)} {quantity_label(quantity)} "
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
        f"{transition_label(r['transition'])} events in the "
        f"{float(r['exposure_days']) / 365.25:.1f} patient-years at risk"
        + (f" ({'; '.join(parts)})" if parts else "")
        + f"; {float(r['observed_events']):g} occurred (prior predictive p = {prob(p)}: {flag}).{own}"
    )


def ess(r: Mapping[str, Any]) -> str:
    """The prior's weight in words, leading with its pull given the data."""
    t = transition_label(r["transition"])
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
    what = f"{horizon(int(day))} {quantity_label(name)} ({scale_phrase(scale, int(landmark) if landmark else None)})"
    src = r.get("sources_p")
    src_txt = f", the sources alone p = {prob(float(src))}" if src == src and src is not None else ""
    return (
        f"{what[0].upper()}{what[1:]}: {r['verdict']} (Box's p = {prob(float(r['box_p']))}{src_txt}; power-scaling "
        f"prior sensitivity {float(r['prior_sensitivity']):.2f})."
    )


def sample_size(
    design: str, scenario: str, metric: str, analysis: str, target: float, n: float | None, best: float
) -> str:
    """Sample size for a target power or assurance, or the statement that the grid never reaches it.

    ``design`` and ``scenario`` are plain labels (:mod:`models.labels`): ``single-arm``, ``relapse
    hazard halved``.
    """
    what = "power" if metric == "power" else "assurance (probability of success averaged over the design prior)"
    rule = "Bayesian decision rule" if analysis == "bayesian" else "frequentist test"
    if n is None or n != n:
        return (
            f"The {design} design never reaches {target:.0%} {what} under '{scenario}' with the "
            f"{rule} within the simulated sizes (best {prob(best)})."
        )
    return (
        f"The {design} design reaches {target:.0%} {what} under '{scenario}' with the {rule} at N = {int(n)} patients."
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


def claims_against_threshold(n_reaching: int, n_claims: int, threshold: float) -> str:
    """How many claims reach the decision threshold, from transplant."""
    if n_reaching == 0:
        return f"No claim reaches the decision threshold of {threshold:g} (from transplant)."
    if n_reaching == n_claims:
        return f"Every claim reaches the decision threshold of {threshold:g} (from transplant)."
    verb = "reaches" if n_reaching == 1 else "reach"
    return f"{n_reaching} of {n_claims} claims {verb} the decision threshold of {threshold:g} (from transplant)."


def plan_in_words(
    design: str, power: Mapping[str, Any] | None, own: Mapping[str, Any] | None, scenario: Callable[[str], str]
) -> str:
    """One design's planning answer: N for the target power, and the assurance under this study's posterior.

    ``design`` is a label, ``scenario`` a function from a scenario's name to its label; ``power`` and
    ``own`` are rows of ``sample_size.csv`` (or None).
    """
    parts = []
    for r in (power, own):
        if r is None:
            continue
        what = "power" if r["metric"] == "power" else "assurance"
        rule = "Bayesian rule" if r["analysis"] == "bayesian" else "frequentist test"
        n = r["n_point"]
        under = (
            f"under '{scenario(r['scenario'])}'"
            if what == "power"
            else f"with '{scenario(r['scenario'])}' as design prior"
        )
        if n is None or n != n:
            parts.append(f"{r['target']:.0%} {what} {under} is not reached (best {prob(r['max_in_grid'])})")
        else:
            parts.append(f"N = {int(n)} for {r['target']:.0%} {what} {under} ({rule})")
    return f"{design[0].upper()}{design[1:]} design: " + "; ".join(parts) + "."


def prior_weight(
    transition: str,
    pull_events: float,
    pull_patients: float,
    observed: str,
    agreement: Mapping[str, Any] | None = None,
) -> str:
    """``Given these data the relapse prior is worth about 5.0 events (...), against 1 relapse observed: ...``

    ``agreement`` is the quantity's row of ``prior_agreement.csv``: its verdict, Box's p and the
    power-scaling prior sensitivity follow (formatted as :func:`agreement` formats them).
    """
    text = (
        f"Given these data the {transition_label(transition)} prior is worth about {pull_events:.1f} events "
        f"({pull_patients:.1f} patients followed a year), against {observed} observed"
    )
    if agreement is None:
        return text + "."
    return (
        f"{text}: {agreement['verdict']} (Box's p = {prob(float(agreement['box_p']))}; power-scaling prior "
        f"sensitivity {float(agreement['prior_sensitivity']):.2f})."
    )


#: One interval of ``summary.csv``'s ``prior_driven_intervals``: ``relapse 0-100 (294 days at risk vs prior 391)``
_PRIOR_DRIVEN = re.compile(
    r"(?P<t>[a-z_]+) (?P<a>[\d.]+)-(?P<b>[\d.]+) \((?P<d>[\d.,]+) days at risk vs prior (?P<p>[\d.,]+)\)"
)


def prior_driven_rows(intervals: str) -> list[dict[str, str]]:
    """The prior-driven intervals as table rows (transition, interval, data and prior patient-days as written)."""
    return [
        {
            "transition": transition_label(m["t"]),
            "interval (days)": f"{m['a']}–{m['b']}{_since(m['t'])}",
            "patient-days at risk": m["d"],
            "prior's patient-days": m["p"],
        }
        for m in _PRIOR_DRIVEN.finditer(intervals)
    ]


def _since(transition: str) -> str:
    """Death after relapse is timed from relapse, every other transition from transplant."""
    return " after relapse" if transition == "death_after_relapse" else ""


def prior_driven_short(intervals: str) -> str:
    """The prior-driven intervals by transition: ``relapse, days 0–100, 100–180; non-relapse death, days 0–100``."""
    by: dict[str, list[str]] = {}
    for m in _PRIOR_DRIVEN.finditer(intervals):
        by.setdefault(transition_label(m["t"]), []).append(f"{m['a']}–{m['b']}{_since(m['t'])}")
    return "; ".join(f"{t}, days {', '.join(spans)}" for t, spans in by.items())


__all__ = [
    "LIKELIHOOD_WORDS",
    "OPERATOR",
    "QUANTITY",
    "TRANSITION",
    "agreement",
    "claim",
    "claims_against_threshold",
    "conflict",
    "diagnostics",
    "ess",
    "estimate",
    "horizon",
    "likelihood",
    "plan_in_words",
    "prior_driven_rows",
    "prior_driven_short",
    "prior_weight",
    "reconstruction",
    "sample_size",
    "scale_phrase",
]
