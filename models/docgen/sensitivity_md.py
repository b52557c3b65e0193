"""Generated passages of ``docs/sensitivity.md``: the default run of ``scripts/sensitivity.py``.

Every block quotes one run, ``python scripts/sensitivity.py`` with the shipped grid. How a
commensurate scenario is computed (NUTS, or the exact quadrature engine) is read from the run's
``engine`` columns, so the wording follows the code.
"""

from __future__ import annotations

import json

import pandas as pd

from models.docgen.core import Block, prose
from models.docgen.runs import Runs

DOC = "docs/sensitivity.md"

#: what each one-at-a-time factor asks, in the table of the grid
_ASKS = {
    "prior set": "which literature, and how to borrow it?",
    "power-prior weight a0": "how much of the literature to borrow",
    "robust-mixture weight w": "how much to trust it against the weakly informative baseline",
    "cut points": "does the hazard's shape matter?",
    "time origin": "the immortal-time question of the published analysis",
    "reconstruction": "does the missing per-patient record matter?",
}
#: notes on prior-set levels
_PRIOR_NOTES = {"weak": "the data alone", "half_event_per_interval": "the earlier default"}
_LABELS = {"relapse_cif": "relapse", "nrm_cif": "NRM", "efs": "EFS", "os": "OS", "grfs": "GRFS"}
_VERDICT_PHRASE = {
    "the prior is strong relative to these data": "is strong relative to these data for",
    "the data dominate": "lets the data dominate",
}


def _scenarios(runs: Runs) -> pd.DataFrame:
    return runs.csv("sensitivity.py", name="scenarios")


def _manifest(runs: Runs) -> dict:
    return json.loads((runs.out("sensitivity.py") / "manifest.json").read_text(encoding="utf-8"))


def _is_nuts(engine: str) -> bool:
    return str(engine).startswith("nuts")


def _engine_note(engine: str) -> str:
    """How a non-conjugate scenario was computed, for the reader ('' for a conjugate one)."""
    if _is_nuts(engine):
        return "NUTS"
    if "quadrature" in str(engine):
        return "exact, quadrature"
    return ""


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _number(level: str, prefix: str) -> str:
    return level.removeprefix(prefix).strip()


def grid(runs: Runs) -> str:
    """The scenario count and the table of factors with the levels the run used."""
    sc = _scenarios(runs)
    man = _manifest(runs)
    factors = sc[sc["kind"] == "factor"]
    lines = [
        prose(
            "A *scenario* is one complete analysis: prior set, cut points, time origin and the reconstructed "
            f"outcome tables it is fitted to. The shipped grid has {man['n_scenarios']} scenarios:"
        ),
        "",
        "| factor | levels | what it asks |",
        "|---|---|---|",
    ]
    for factor, rows in factors.groupby("factor", sort=False):
        levels = list(rows["level"])
        is_base = list(rows["engine"].astype(str).str.contains("the fit"))
        if factor == "prior set":
            cells = []
            for level, eng, b in zip(levels, rows["engine"], is_base, strict=True):
                notes = [n for n in (_PRIOR_NOTES.get(level, ""), "base" if b else "", _engine_note(eng)) if n]
                cells.append(f"`{level}`" + (f" ({'; '.join(notes)})" if notes else ""))
            text = ", ".join(cells)
        elif factor == "power-prior weight a0":
            text = ", ".join(_number(v, "a0 =") for v in levels)
        elif factor == "robust-mixture weight w":
            text = ", ".join(_number(v, "w =") for v in levels)
        elif factor == "cut points":
            counts = sorted((int(v.split()[0]), b) for v, b in zip(levels, is_base, strict=True))
            text = ", ".join(f"{n}{' (base)' if b else ''}" for n, b in counts) + " intervals"
        elif factor == "reconstruction":
            text = f"each of the {man['n_tables']} reconstructed tables alone"
        else:
            text = ", ".join(f"{v}{' (base)' if b else ''}" for v, b in zip(levels, is_base, strict=True))
        lines.append(f"| {factor} | {text} | {_ASKS.get(str(factor), '')} |")
    g = sc[sc["kind"] == "grid"]
    if len(g):
        lines.append(
            f"| grid | prior centre (1-year relapse {100 * g['centre'].min():g}%–{100 * g['centre'].max():g}%) × "
            f"weight ({g['weight'].min():g}–{g['weight'].max():g} patient-years) | where does the decision flip? |"
        )
    return "\n".join(lines)


def engines(runs: Runs) -> str:
    """How the scenarios are computed; for NUTS scenarios, their convergence in the default run."""
    sc = _scenarios(runs)
    man = _manifest(runs)
    nuts = sc[sc["engine"].map(_is_nuts)]
    quad = sc[sc["engine"].astype(str).str.contains("quadrature")]
    head = (
        "Conjugate scenarios are fitted with the exact engine to every reconstructed table (pooled with equal "
        "draws per table), with **common random numbers** across scenarios so that differences between "
        "scenarios reflect the priors and data rather than Monte Carlo noise."
    )
    if len(quad):
        names = _join(sorted(f"`{p}`" for p in quad["prior"].unique()))
        head += (
            f" Commensurate priors ({names}) are fitted exactly too, without MCMC: the posterior given the "
            "commensurability scale factorises over intervals, so it is computed by quadrature over the scale "
            "and a grid of each log hazard (`models/commensurate_exact.py`; engine "
            f"`{quad['engine'].iloc[0]}` in `scenarios.csv`), from the same random numbers."
        )
    if len(nuts):
        names = _join(sorted(f"`{p}`" for p in nuts["prior"].unique()))
        ok = bool(nuts["diagnostics_ok"].astype(bool).all()) if "diagnostics_ok" in nuts else True
        divs = int(nuts["divergences"].sum())
        head += (
            f" Scenarios whose prior the exact engine cannot fit ({names}) run on the NUTS engine (`nuts_draws`, "
            "`nuts_chains`, `nuts_tune` in `[base]`; nutpie when installed, target acceptance 0.99 for the "
            "hierarchical funnel): one model is compiled per prior structure and reused for every table and "
            "scenario, data and gamma hyperparameters being swapped in as shared data. Their R-hat, bulk ESS and "
            "divergences are columns of `scenarios.csv`; a scenario whose diagnostics fail keeps its numbers with "
            "status `ok, NUTS diagnostics failed` and a line in the verdict. Default run: "
            f"{len(nuts)} NUTS scenario{'s' if len(nuts) > 1 else ''} over {man['n_tables']} tables, max R-hat "
            f"{nuts['rhat_max'].max():.3f}, min bulk ESS {nuts['ess_bulk_min'].min():.0f}, "
            + ("no divergences" if divs == 0 else f"{divs} divergences")
            + ("" if ok else "; diagnostics FAILED")
            + "."
        )
    else:
        head += (
            " Only a prior the exact engine cannot fit (log-normal or random-walk hazards) would run on the NUTS "
            "engine (`nuts_draws`, `nuts_chains`, `nuts_tune` in `[base]`), with its R-hat, bulk ESS and "
            "divergences as columns of `scenarios.csv` and a line in the verdict when they fail; the default grid "
            f"has none: its {man['n_scenarios']} scenarios are all exact."
        )
    return prose(head)


def _range(x: pd.Series) -> str:
    x = x.dropna()
    lo, hi = f"{x.min():.2f}", f"{x.max():.2f}"
    return lo if lo == hi else f"{lo}–{hi}"


def _verdicts(rows: pd.DataFrame) -> str:
    """'is strong for relapse and EFS and lets the data dominate NRM and OS', from the verdict column."""
    parts = []
    for v, group in rows.groupby("verdict", sort=False):
        qs = [_LABELS.get(q.split("@")[0], q) for q in group["quantity"]]
        what = "every 1-year quantity" if len(qs) == len(rows) else _join(qs)
        phrase = _VERDICT_PHRASE.get(str(v))
        parts.append(f"{phrase} {what}" if phrase else f"says '{v}' for {what}")
    return _join(parts)


def power_scaling(runs: Runs) -> str:
    """The two power-scaling tables (what is scaled, per engine) and the default run's verdicts."""
    ps = runs.csv("sensitivity.py", name="power_scaling")
    man = _manifest(runs)
    base_prior = _scenarios(runs).query("kind == 'base'")["prior"].iloc[0]
    base = ps[ps["prior"] == base_prior]
    other = ps[ps["prior"] != base_prior]
    other_name = other["prior"].iloc[0] if len(other) else ""
    other_engine = str(other["engine"].iloc[0]) if len(other) else ""
    n_other = int(other["n_tables"].max()) if len(other) and "n_tables" in other else 0
    if _is_nuts(other_engine):
        first = (
            "Two tables in `power_scaling.csv`: the base prior (`engine = exact`: closed-form log prior density "
            "at exact posterior draws, every table) and the hierarchical prior named by `power_scaling_prior` "
            f"(`engine = nuts`, default `{other_name}`, first `power_scaling_tables` tables). For NUTS the log "
            "prior at each draw is the sampler's log density minus the analytic log likelihood Σ D log λ − λE, "
            "i.e. the joint prior of all parameters (historical hazards, commensurability scale, offsets) on the "
            "space NUTS samples."
        )
        scaled = (
            "For the exact rows only the prior's departure from the weak baseline is scaled (p₀·(p/p₀)^α: the "
            "baseline itself would otherwise be flagged in a one-event cohort); the NUTS rows scale the whole "
            "prior on the sampler's space."
        )
    else:
        first = (
            "Two tables in `power_scaling.csv`: the base prior (`engine = exact`: closed-form log prior density "
            "at exact posterior draws, every table) and the hierarchical prior named by `power_scaling_prior` "
            f"(default `{other_name}`, `engine = {other_engine}`, the first `power_scaling_tables` tables, "
            f"{n_other} by default): its draws come from the exact engine, as `scripts/fit.py` fits it, and a "
            "commensurate transition enters the prior density through its *marginal* density of the hazards "
            "(historical hazards and commensurability scale integrated out, "
            "`models.commensurate_exact.commensurate_logratio`); gamma-mixture transitions enter through their "
            "own densities."
        )
        scaled = (
            "In both tables only the prior's departure from the weak baseline is scaled (p₀·(p/p₀)^α: the "
            "baseline itself would otherwise be flagged in a one-event cohort)."
        )
    method = (
        "Following Kallioinen et al. (2023, the *priorsense* method), the posterior draws are "
        "importance-reweighted (Pareto-smoothed) to the posteriors with the prior, or the likelihood, raised to "
        f"α = 1.01 and 1/1.01. {scaled} The sensitivity of a quantity is the cumulative Jensen–Shannon distance "
        "between the base and the scaled posterior (priorsense's normalisation, both tails), divided by "
        "log2(1.01). A prior sensitivity of 0.05 or more says the prior is strong relative to these data; whether "
        "prior and data *disagree* is Box's check. The two are read together by one rule (docs/priors.md, \"One "
        'verdict on prior–data agreement"), which gives the `verdict` column and the verdict lines; '
        "priorsense's own label is kept as `priorsense_diagnosis` for reference."
    )
    disagree = ps["verdict"].astype(str).str.contains("disagree").any()
    result = (
        f"Default run (`python scripts/sensitivity.py`, {man['n_scenarios']} scenarios over {man['n_tables']} "
        f"tables): the base prior `{base_prior}` {_verdicts(base)} (prior sensitivity "
        f"{_range(base['prior_sensitivity'])}; Box's p {_range(base['box_p'])}, the sources alone "
        f"{_range(base['sources_p'])}: {'disagreement in some' if disagree else 'no disagreement'})"
    )
    if len(other):
        note = _engine_note(other_engine)
        result += (
            f"; `{other_name}`{f' ({note})' if note else ''} {_verdicts(other)} (prior sensitivity "
            f"{_range(other['prior_sensitivity'])}; Box's p {_range(other['box_p'])})"
        )
    failed = ps[ps["verdict"].astype(str).str.startswith("failed")]
    result += "." if failed.empty else f"; failed: {_join(list(failed['prior']))}."
    return "\n\n".join([prose(first), prose(method), prose(result)])


BLOCKS = [
    Block("sensitivity-grid", DOC, grid, slow=True),
    Block("sensitivity-engines", DOC, engines, slow=True),
    Block("sensitivity-power-scaling", DOC, power_scaling, slow=True),
]
