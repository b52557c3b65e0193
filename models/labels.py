"""Plain labels for the names in the toolkit's outputs: the one table the report reads.

Output files name things by identifiers: quantities (``relapse_cif``), transitions
(``death_after_relapse``), time scales (``from_transplant``), claims
(``relapse_1y_below_benchmark_lenient``), designs (``single_arm``), design scenarios and design
priors (``relapse_halved``, ``current_study``), prior sets (``md_anderson_commensurate``) and
pipeline steps (``fit_nuts``). A reader sees plain words instead; the identifiers appear only in
the report's appendix table that maps one to the other (:meth:`Labels.table`).

Where a label comes from, by kind:

* quantities, transitions, time scales, operators, steps and the shipped prior sets, designs and
  scenarios: the dictionaries below (the fixed vocabulary of the toolkit and of its data files);
* claims: the claim's own ``description`` in its TOML file when it carries one; otherwise the
  claim's parts, ``quantity(day) op threshold`` (``1-year relapse incidence below 8.7%``), with
  ``(cited benchmark)`` when the threshold was computed from cited figures;
* any other name (a design file or prior library of one's own): the name with its underscores read
  as spaces (:func:`humanise`).

Percentages print with one decimal (:func:`percent`: ``0.0874397`` → ``8.7%``), as everywhere in
the report, so a label always agrees with the table beside it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

#: Quantities as a sentence names them ("the 1-year relapse incidence")
QUANTITY: dict[str, str] = {
    "relapse_cif": "relapse incidence",
    "nrm_cif": "non-relapse mortality",
    "efs": "event-free survival",
    "os": "overall survival",
    "grfs": "GvHD-free relapse-free survival",
}
#: Quantities as a table row or an axis names them
QUANTITY_SHORT: dict[str, str] = {
    "relapse_cif": "relapse incidence",
    "nrm_cif": "NRM",
    "efs": "EFS",
    "os": "OS",
    "grfs": "GRFS",
}
#: Quantities as a figure's axis names them
AXIS: dict[str, str] = {
    "relapse_cif": "Cumulative incidence of relapse",
    "nrm_cif": "Non-relapse mortality",
    "efs": "Event-free survival",
    "os": "Overall survival",
    "grfs": "GvHD-free, relapse-free survival",
}
#: Transitions of the illness–death model (events of each hazard)
TRANSITION: dict[str, str] = {
    "relapse": "relapse",
    "nrm": "non-relapse death",
    "gvhd": "GRFS-qualifying GvHD",
    "death_after_relapse": "death after relapse",
}
#: Time scales of the derived quantities
SCALE: dict[str, str] = {
    "from_transplant": "from transplant",
    "conditional": "from study entry",
}
#: Comparison operators of claims
OPERATOR: dict[str, str] = {"<": "below", ">": "above", "<=": "at most", ">=": "at least"}
#: Prior sets of the prior library (``data/priors/sets.toml``)
PRIOR_SET: dict[str, str] = {
    "weak": "weakly informative",
    "half_event_per_interval": "half an event per interval",
    "literature": "literature",
    "literature_blast": "literature with BLAST",
    "md_anderson": "MD Anderson phase 2",
    "md_anderson_commensurate": "MD Anderson phase 2, commensurate",
    "skeptical": "sceptical",
    "enthusiastic": "enthusiastic",
}
#: Trial designs (``data/designs/*.toml``)
DESIGN: dict[str, str] = {"single_arm": "single-arm", "randomised": "randomised"}
#: Scenarios and design priors of the trial designs
SCENARIO: dict[str, str] = {
    "no_effect": "no effect",
    "relapse_halved": "relapse hazard halved",
    "decitabine_analogue": "effect as in a decitabine maintenance study",
    "current_study": "this study's posterior, discounted and robustified",
    "literature": "literature prior",
    "skeptical": "sceptical prior",
    "enthusiastic": "enthusiastic prior",
    "literature_vs_skeptical": "literature vs sceptical prior",
    "enthusiastic_vs_skeptical": "enthusiastic vs sceptical prior",
}
#: Pipeline steps (``models.pipeline.default_steps``)
STEP: dict[str, str] = {
    "reconstruction": "reconstruction",
    "priors": "prior set",
    "fit": "fit (exact engine)",
    "fit_nuts": "NUTS cross-check",
    "sensitivity": "sensitivity grid",
    "plan": "trial planning",
}
#: Column names of the output tables as a table header in the report shows them
COLUMN: dict[str, str] = {
    "quantity": "quantity",
    "scale": "time scale",
    "transition": "transition",
    "interval": "interval (days)",
    "events": "events",
    "observed": "observed events",
    "observed_events": "observed events",
    "exposure_days": "patient-days at risk",
    "patient_years": "patient-years at risk",
    "predicted_mean": "predicted events (mean)",
    "predicted_lower": "predicted, 2.5%",
    "predicted_upper": "predicted, 97.5%",
    "prior_predictive_mean": "prior predicted events (mean)",
    "predicted_informative": "from the sources",
    "predicted_robust": "from the robust component",
    "predicted_baseline": "from the weak baseline",
    "sources_observed_events": "observed where the sources inform",
    "sources_predicted_mean": "predicted by the sources alone",
    "sources_p_value": "p, sources alone",
    "p_value": "p",
    "p_value_min": "smallest p over tables",
    "p_value_max": "largest p over tables",
    "conflict": "conflict at 0.05",
    "sources": "sources",
    "n_tables": "tables",
    "between_share": "share of variance between tables",
    "variable": "parameter",
    "table": "table",
    "r_hat": "R-hat",
    "ess_bulk": "bulk ESS",
    "ess_tail": "tail ESS",
    "divergences": "divergences",
    "max_r_hat": "largest R-hat",
    "min_ess_bulk": "smallest bulk ESS",
    "min_ess_tail": "smallest tail ESS",
    "failing": "rows failing",
    "claim": "claim",
    "threshold": "threshold",
    "probability": "probability",
    "note": "reason for the threshold",
    "prior": "prior set",
    "engine": "engine",
    "prior_sensitivity": "prior sensitivity",
    "likelihood_sensitivity": "likelihood sensitivity",
    "priorsense_diagnosis": "priorsense's label",
    "box_p": "Box's p",
    "sources_p": "Box's p, sources alone",
    "verdict": "verdict",
    "weight": "prior weight (patient-years)",
    "tipping_centre": "centre at which the claim reaches the threshold",
    "side": "probability over the grid",
    "design": "design",
    "scenario": "scenario or design prior",
    "metric": "metric",
    "analysis": "analysis",
    "target": "target",
    "n_point": "N",
    "n_lower": "N, 2.5%",
    "n_upper": "N, 97.5%",
    "p_at_n": "probability of success at N",
    "grid_n_point": "N read from the grid",
    "schoenfeld_n": "N (Schoenfeld)",
    "freedman_n": "N (Freedman)",
    "n_sims": "simulated trials",
    "p_success": "probability of success",
    "p_success_mcse": "Monte Carlo SE",
    "p_stop_futility": "probability of stopping for futility",
    "mean_relapses": "mean relapses",
    "mean_duration_days": "mean duration (days)",
}
#: Kinds of name, in the order the appendix lists them
KINDS: tuple[str, ...] = ("quantity", "transition", "time scale", "claim", "prior set", "design", "scenario", "step")

_FIXED: dict[str, Mapping[str, str]] = {
    "quantity": QUANTITY,
    "transition": TRANSITION,
    "time scale": SCALE,
    "prior set": PRIOR_SET,
    "design": DESIGN,
    "scenario": SCENARIO,
    "step": STEP,
}
_HORIZON = {180: "6-month", 365: "1-year", 730: "2-year", 1095: "3-year"}
#: A snake_case identifier: lower-case words joined by underscores (not part of a path or file name)
IDENTIFIER = re.compile(r"(?<![\w/.\-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/\-]|\.\w)")


def humanise(name: str) -> str:
    """A name with no label of its own, read as words: ``relapse_halved`` → ``relapse halved``."""
    return str(name).replace("_", " ").strip()


def percent(x: float, digits: int = 1) -> str:
    """A proportion as a percentage with one decimal (``0.0874397`` → ``8.7%``); missing as an en dash."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * float(x):.{digits}f}%"


def horizon(day: int) -> str:
    """``365`` → ``1-year``; other days as ``day-200``-style phrases."""
    return _HORIZON.get(int(day), f"day-{int(day)}")


def quantity(name: str, *, short: bool = False) -> str:
    """A quantity's label (``short``: as a table row names it)."""
    return (QUANTITY_SHORT if short else QUANTITY).get(name, humanise(name))


def transition(name: str) -> str:
    """A transition's label."""
    return TRANSITION.get(name, humanise(name))


def scale(name: str) -> str:
    """A time scale's label."""
    return SCALE.get(name, humanise(name))


def claim_label(
    quantity_name: str,
    day: int,
    op: str,
    threshold: float,
    *,
    description: str | None = None,
    benchmark: bool = False,
) -> str:
    """A claim in words: its own description, or ``1-year relapse incidence below 8.7%``."""
    if description:
        return description
    text = f"{horizon(day)} {quantity(quantity_name)} {OPERATOR.get(op, op)} {percent(threshold)}"
    return text + (" (cited benchmark)" if benchmark else "")


def claim_entries(path: str | Path) -> dict[str, dict[str, Any]]:
    """Per claim of a claims TOML (read by :func:`models.claims.load_claims`): its ``description``
    and whether its threshold is a cited ``benchmark``; empty when the file is missing or invalid
    (the fit that used it has already refused an invalid one)."""
    from models.claims import load_claims
    from models.errors import ToolkitError

    try:
        claims = load_claims(path)
    except ToolkitError:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for c in claims:
        entry: dict[str, Any] = {"description": c.description}
        if c.figures:
            entry["benchmark"] = True
        out[c.name] = entry
    return out


@dataclass
class Labels:
    """The labels of one run: the fixed tables plus the claims, designs and scenarios it names.

    ``names`` maps a kind (:data:`KINDS`) to ``{identifier: label}`` for the names the run's outputs
    use; :meth:`of` looks a name up (falling back to the fixed tables and to :func:`humanise`),
    :meth:`text` rewrites a line written by a step (a verdict, a sentence) in plain words, and
    :meth:`table` is the appendix's table.
    """

    names: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def for_run(
        cls,
        *,
        claims: pd.DataFrame | None = None,
        claim_toml: Mapping[str, Mapping[str, Any]] | None = None,
        designs: Mapping[str, Mapping[str, Any]] | None = None,
        scenarios: Iterable[str] = (),
        prior_sets: Iterable[str] = (),
        quantities: Iterable[str] = (),
        transitions: Iterable[str] = (),
        steps: Iterable[str] = (),
    ) -> Labels:
        """The labels of the names a run's outputs use.

        Parameters
        ----------
        claims : DataFrame, optional
            ``claims.csv`` of a fit (``claim``, ``quantity``, ``day``, ``operator``, ``threshold``).
        claim_toml : mapping, optional
            The raw ``[[claim]]`` tables by name (:func:`claim_entries`): a ``description`` there is the
            claim's label, a ``benchmark`` marks a threshold computed from cited figures.
        designs : mapping, optional
            Design TOML documents by design name; their scenarios and design priors are labelled too.
        scenarios, prior_sets, quantities, transitions, steps : iterable of str
            Further names the outputs use (e.g. the scenarios of ``sample_size.csv``).
        """
        out: dict[str, dict[str, str]] = {k: {} for k in KINDS}
        for q in (*QUANTITY, *quantities):
            out["quantity"][q] = quantity(q)
        for t in (*TRANSITION, *transitions):
            out["transition"][t] = transition(t)
        out["time scale"].update(SCALE)
        toml = claim_toml or {}
        if claims is not None and not claims.empty:
            for _, r in claims.drop_duplicates("claim").iterrows():
                entry = toml.get(str(r["claim"]), {})
                out["claim"][str(r["claim"])] = claim_label(
                    str(r["quantity"]),
                    int(r["day"]),
                    str(r["operator"]),
                    float(r["threshold"]),
                    description=entry.get("description"),
                    benchmark="benchmark" in entry,
                )
        for name, doc in (designs or {}).items():
            out["design"][name] = DESIGN.get(name, humanise(name))
            for section in ("scenarios", "design_priors"):
                for s in doc.get(section) or {}:
                    out["scenario"][s] = SCENARIO.get(s, humanise(s))
        for s in scenarios:
            out["scenario"].setdefault(str(s), SCENARIO.get(str(s), humanise(str(s))))
        for p in prior_sets:
            out["prior set"][str(p)] = PRIOR_SET.get(str(p), humanise(str(p)))
        for s in steps:
            out["step"][str(s)] = STEP.get(str(s), humanise(str(s)))
        return cls({k: v for k, v in out.items() if v})

    def of(self, kind: str, name: object) -> str:
        """The label of ``name`` as a ``kind`` (one of :data:`KINDS`)."""
        key = str(name)
        if key in self.names.get(kind, {}):
            return self.names[kind][key]
        fixed = _FIXED.get(kind, {})
        return fixed.get(key, humanise(key))

    def claim(self, name: str) -> str:
        """A claim's label."""
        return self.of("claim", name)

    def prior(self, name: str) -> str:
        """A prior set's label."""
        return self.of("prior set", name)

    def identifiers(self) -> dict[str, str]:
        """Every snake_case name of the run with its label (for rewriting free text)."""
        out: dict[str, str] = {}
        for kind in KINDS:
            for k, v in self.names.get(kind, {}).items():
                if "_" in k:
                    out.setdefault(k, v)
        return out

    def text(self, line: str) -> str:
        """A line written by a step, with its identifiers in plain words (its numbers unchanged).

        ``P(relapse_cif at day 365 < 18.7%)`` becomes ``the probability that the 1-year relapse
        incidence is below 18.7%``; ``relapse_cif@365|102`` becomes ``1-year relapse incidence (from
        study entry)``; a quoted or listed prior set becomes its label; any other snake_case name
        of the run becomes its label.
        """

        def prob(m: re.Match[str]) -> str:
            return (
                f"the probability that the {horizon(int(m['day']))} {quantity(m['q'])} is "
                f"{OPERATOR.get(m['op'], m['op'])} {m['x']}%"
            )

        def at(m: re.Match[str]) -> str:
            return f"{horizon(int(m['day']))} {quantity(m['q'])}" + (f" ({scale('conditional')})" if m["lmk"] else "")

        claim = r"P\((?P<q>\w+) at day (?P<day>\d+) (?P<op>[<>]=?) (?P<x>[\d.]+)%\)"
        line = re.sub(claim + r" < (?P<t>[\d.]+) in every", lambda m: f"{prob(m)} stays below {m['t']} in every", line)
        line = re.sub(claim + r" >= (?P<t>[\d.]+) in every", lambda m: f"{prob(m)} is at least {m['t']} in every", line)
        line = re.sub(claim, prob, line)
        line = re.sub(r"\b(?P<q>[a-z_]+)@(?P<day>\d+)(?:\|(?P<lmk>\d+))?", at, line)
        line = re.sub(r"'(?P<p>\w+)'", lambda m: f"'{self.prior(m['p'])}'", line)
        line = re.sub(r"(prior set: )(\w+)", lambda m: m[1] + self.prior(m[2]), line)
        ids = self.identifiers()
        return IDENTIFIER.sub(lambda m: ids.get(m[0], m[0]), line)

    def table(self) -> pd.DataFrame:
        """The appendix table: kind, name in the output files, plain label."""
        rows = [
            {"kind": kind, "name in the output files": name, "label in this report": label}
            for kind in KINDS
            for name, label in self.names.get(kind, {}).items()
        ]
        return pd.DataFrame(rows, columns=["kind", "name in the output files", "label in this report"])


__all__ = [
    "COLUMN",
    "DESIGN",
    "IDENTIFIER",
    "KINDS",
    "OPERATOR",
    "PRIOR_SET",
    "QUANTITY",
    "QUANTITY_SHORT",
    "SCALE",
    "SCENARIO",
    "STEP",
    "TRANSITION",
    "Labels",
    "claim_entries",
    "claim_label",
    "horizon",
    "humanise",
    "percent",
    "quantity",
    "scale",
    "transition",
]
