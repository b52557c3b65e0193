"""Generated passages of ``docs/trial_planning.md``: the default run of ``scripts/plan_trial.py``.

Every block quotes one run, ``python scripts/plan_trial.py --posterior <fit>/posterior.nc`` with the
posterior written by ``python scripts/fit.py --prior literature`` (the fit's default prior set, given
explicitly so that nothing depends on the reader's ``results/huang2024/fit``). Labels of the designs (rule,
cut-off, hazard ratio, discount) are read from the design files the run names in its manifest.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from models.constants import DAYS_PER_YEAR, REPO_ROOT
from models.docgen.core import Block, prose
from models.docgen.runs import Runs

DOC = "docs/trial_planning.md"

#: the fit whose posterior feeds the design prior ``current_study`` (shared with docs/priors.md)
FIT = ("fit.py", "--prior", "literature")


def _fit_dir(runs: Runs) -> Path:
    return runs.out(*FIT)


def _plan_options(runs: Runs) -> tuple[str, ...]:
    return ("--posterior", str(_fit_dir(runs) / "posterior.nc"))


def _plan(runs: Runs, name: str) -> pd.DataFrame:
    return runs.csv("plan_trial.py", *_plan_options(runs), name=name)


def _manifest(runs: Runs) -> dict:
    path = runs.out("plan_trial.py", *_plan_options(runs)) / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _designs(runs: Runs) -> dict:
    """``name -> Design`` (fixed scenarios only) of the design files the run read."""
    from models.design import load_design

    designs = _manifest(runs)["designs"]
    return {name: load_design(REPO_ROOT / d["source"], design_priors=False) for name, d in designs.items()}


def _toml(runs: Runs, design: str) -> dict:
    src = REPO_ROOT / _manifest(runs)["designs"][design]["source"]  # relative to the repository, or absolute
    return tomllib.loads(Path(src).read_text(encoding="utf-8"))


def _int(x: float) -> str:
    return f"{int(x):,}"


def _rule(d) -> str:
    if d.kind == "randomised":
        return f"`P(HR < {d.margin:g}) > {d.threshold:g}`"
    return f"`P(CIR < {100 * d.benchmark_cir:.1f}%) > {d.threshold:g}`"


def _hr(d) -> str:
    alt = next(s for s in d.scenarios if s.role == "alternative")
    if d.kind == "randomised":
        return f"relapse HR {alt.hr_relapse:g}"
    return "relapse hazard halved" if alt.hr_relapse == 0.5 else f"relapse hazard × {alt.hr_relapse:g}"


_DESIGN_LABEL = {"randomised": "randomised", "single_arm": "single arm"}


def _quantity(d, r: pd.Series) -> str:
    target = f"{100 * r['target']:.0f}%"
    if r["metric"] == "power":
        if r["analysis"] == "bayesian":
            return f"N for {target} power, {_hr(d)}, Bayesian {_rule(d)}"
        return f"same, {'log-rank' if d.kind == 'randomised' else 'one-sample log-rank'}"
    return f"N for {target} assurance, {r['scenario'].replace('_', '-')}"


def _grid_cell(r: pd.Series) -> str:
    if not math.isfinite(r["grid_n_point"]):
        return "not reached"
    cell = _int(r["grid_n_point"])
    if math.isfinite(r["grid_n_conservative"]) and r["grid_n_conservative"] != r["grid_n_point"]:
        cell += f" ({_int(r['grid_n_conservative'])} by the lower 95% MC bound)"
    return cell


def _root_cell(r: pd.Series, oc: pd.DataFrame) -> str:
    label = "power" if r["metric"] == "power" else "assurance"
    interval = (
        f" ({_int(r['n_lower'])}–{_int(r['n_upper'])})"
        if math.isfinite(r["n_lower"]) and math.isfinite(r["n_upper"])
        else " (no interval: flat curve)"
    )
    cell = (
        f"**{_int(r['n_point'])}**{interval}; {label} {r['p_at_n']:.3f} ± {r['p_at_n_mcse']:.3f}; "
        f"{_int(r['n_trials'])} trials"
    )
    if r["metric"] == "power" and r["analysis"] == "bayesian":
        cell += (
            f"; expected {r['mean_relapses_at_n']:.0f} relapses, {r['mean_deaths_at_n']:.0f} deaths, "
            f"{r['mean_duration_days_at_n'] / DAYS_PER_YEAR:.1f} years"
        )
    if r["metric"] == "assurance":
        rows = oc[(oc["design"] == r["design"]) & (oc["scenario"] == r["scenario"])]
        top = rows.loc[rows["p_success"].idxmax()]
        cell += f"; assurance {top['p_success']:.2f} at N = {_int(top['N'])}"
    return cell


def _closed_form_row(r: pd.Series) -> str:
    return (
        f"| randomised | closed forms for the log-rank row | – | Schoenfeld {r['schoenfeld_relapses']:.1f} relapses "
        f"→ **N {_int(r['schoenfeld_n'])}**; Freedman {r['freedman_relapses']:.1f} relapses → "
        f"**N {_int(r['freedman_n'])}** (rounded up to the allocation step) |"
    )


def _interpolated(oc: pd.DataFrame, design: str, scenario: str, column: str, target: float):
    """The grid's bracket of ``target`` in ``column`` and the linearly interpolated N."""
    rows = oc[(oc["design"] == design) & (oc["scenario"] == scenario)].sort_values("N")
    above = rows[rows[column] >= target]
    if above.empty or above.index[0] == rows.index[0]:
        return None
    hi = above.iloc[0]
    lo = rows[rows["N"] < hi["N"]].iloc[-1]
    n = lo["N"] + (target - lo[column]) * (hi["N"] - lo["N"]) / (hi[column] - lo[column])
    return lo, hi, n


_NOT_REACHED = {
    "current_study": "current study's posterior (discounted, robustified)",
    "skeptical": "`skeptical` in both arms (probability of a false success)",
}


def _not_reached_rows(design: str, rows: pd.DataFrame, oc: pd.DataFrame) -> list[str]:
    label = _DESIGN_LABEL.get(design, design)
    out: list[str] = []
    best = rows.set_index("scenario")["max_in_grid"]

    def span(scenario: str) -> str:
        p = oc[(oc["design"] == design) & (oc["scenario"] == scenario)]["p_success"]
        return f"{p.min():.3f}–{p.max():.3f} over N"

    done: set[str] = set()
    lib = [s for s in ("literature_vs_skeptical", "enthusiastic_vs_skeptical") if s in best.index]
    for scenario in best.index:
        if scenario in done:
            continue
        if scenario in lib:
            names = " / ".join(f"`{s.split('_vs_')[0]}`" for s in lib)
            values = " / ".join(f"{best[s]:.2f}" for s in lib)
            note = (
                ": the published maintenance series have *higher* relapse hazards than the no-maintenance "
                "series, so they predict little or no benefit"
                if max(best[s] for s in lib) < 0.5
                else ""
            )
            out.append(f"| {label} | library priors {names} vs `skeptical` | {values}{note} |")
            done.update(lib)
        elif design == "single_arm" and scenario in ("literature", "skeptical"):
            pair = [s for s in ("literature", "skeptical") if s in best.index]
            names = " / ".join(f"`{s}`" for s in pair)
            out.append(f"| {label} | {names} | {' / '.join(f'{best[s]:.2f}' for s in pair)} |")
            done.update(pair)
        else:
            what = _NOT_REACHED.get(scenario, f"`{scenario}`")
            if design == "single_arm" and scenario == "current_study":
                what = "current study's posterior"
            cell = f"{best[scenario]:.2f}"
            if scenario == "current_study":
                cell = f"{best[scenario]:.3f} ({span(scenario)})"
            out.append(f"| {label} | {what} | {cell} |")
            done.add(scenario)
    return out


def results(runs: Runs) -> str:
    """The run's command line, the sample-size table, its reading, and the targets not reached."""
    ss = _plan(runs, "sample_size")
    oc = _plan(runs, "oc")
    man = _manifest(runs)
    designs = _designs(runs)
    n_sims = sorted({d["n_sims"] for d in man["designs"].values()})
    order = ["randomised", "single_arm"]
    lines = [
        prose(
            f"`python scripts/fit.py --prior literature` (the fit's default prior set), then "
            f"`python scripts/plan_trial.py --posterior results/huang2024/fit/posterior.nc` (seed {man['seed']}, "
            f"{' / '.join(_int(n) for n in n_sims)} trials per N and scenario on the grid, {man['workers']} local "
            "workers; the design prior `current_study` is drawn from that posterior). The grid reading is the "
            "smallest grid N whose simulated success reaches the target (`grid_n_point`); the root search gives "
            "N with its 95% Monte Carlo interval, the simulated success at N ± MC s.e. and the trials per N:"
        ),
        "",
        "| design | quantity | grid reading | root search |",
        "|---|---|---|---|",
    ]
    for design in order:
        d = designs[design]
        rows = ss[(ss["design"] == design) & ss["n_point"].notna()]
        for _, r in rows.iterrows():
            lines.append(f"| {_DESIGN_LABEL[design]} | {_quantity(d, r)} | {_grid_cell(r)} | {_root_cell(r, oc)} |")
            if r["analysis"] == "frequentist" and math.isfinite(r.get("schoenfeld_n", math.nan)):
                lines.append(_closed_form_row(r))
    reached = ss[ss["n_point"].notna()]
    tol = float(man["sample_size_search"]["tolerance"])
    if bool(reached["within_tolerance"].all()):
        within = f"Every interval is within ±{100 * tol:g}% of N."
    else:
        bad = reached[~reached["within_tolerance"].astype(bool)]
        within = "Intervals wider than ±{:g}% of N: {}.".format(
            100 * tol, ", ".join(f"{r['design']}/{r['scenario']} ({r['analysis']})" for _, r in bad.iterrows())
        )
    freq = ss[(ss["design"] == "randomised") & (ss["analysis"] == "frequentist") & (ss["metric"] == "power")].iloc[0]
    sentences = [within]
    found = _interpolated(oc, "randomised", freq["scenario"], "p_success_freq", freq["target"])
    if found is not None:
        lo, hi, n = found
        agrees = freq["n_lower"] - freq["n_step"] <= n <= freq["n_upper"] + freq["n_step"]
        sentences.append(
            f"Reading the grid by linear interpolation (log-rank power {lo['p_success_freq']:.3f} ± "
            f"{lo['p_success_freq_mcse']:.3f} at N = {_int(lo['N'])} and {hi['p_success_freq']:.3f} at "
            f"{_int(hi['N'])}, "
            f"so ≈ {n:.0f}) {'agrees' if agrees else 'does not agree'} with the root search"
        )
        between = freq["schoenfeld_n"] <= freq["n_point"] <= freq["freedman_n"]
        sentences[-1] += (
            ", and the log-rank N lies between the Schoenfeld and Freedman answers, as it should."
            if between
            else ", but the log-rank N lies outside the Schoenfeld–Freedman bracket."
        )

    def trials(design: str, metric: str) -> str:
        t = ss[(ss["design"] == design) & (ss["metric"] == metric) & ss["n_point"].notna()]["trials_simulated"]
        return _int(t.max())

    sentences.append(
        "Common random numbers made the search cheap: the randomised power search needed "
        f"{trials('randomised', 'power')} simulated trials in all, the assurance searches "
        f"{trials('randomised', 'assurance')} (randomised) and {trials('single_arm', 'assurance')} (single arm)."
    )
    lines += ["", prose(" ".join(sentences)), ""]
    largest = {design: _int(max(man["designs"][design]["n_grid"])) for design in order}
    lines += [
        prose(
            f"Targets not reached within the grid (largest N {largest['randomised']} randomised, "
            f"{largest['single_arm']} single arm), with the largest assurance on the grid:"
        ),
        "",
        "| design | design prior | largest assurance |",
        "|---|---|---|",
    ]
    for design in order:
        rows = ss[(ss["design"] == design) & ss["n_point"].isna()]
        lines += _not_reached_rows(design, rows, oc)
    return "\n".join(lines)


def current_study(runs: Runs) -> str:
    """The fitted posterior's piecewise relapse hazard and the current-study assurance it gives."""
    from models.design import load_posterior_draws

    med = np.median(load_posterior_draws(_fit_dir(runs) / "posterior.nc")["relapse"], axis=0) * DAYS_PER_YEAR
    exposure = runs.csv(*FIT, name="exposure")
    rel = exposure[exposure["transition"] == "relapse"].groupby("interval", sort=False)
    events, days = rel["events"].mean(), rel["exposure_days"]
    names = [n.replace("-", "–") for n in events.index]  # the fit's intervals, in order (last one open)
    if len(names) != len(med):
        raise ValueError(f"{len(med)} posterior hazards for {len(names)} intervals of exposure.csv")
    hit = [i for i in range(len(names)) if events.iloc[i] > 0]
    if not hit or hit[-1] == len(names) - 1:
        raise ValueError(f"expected the relapses in closed intervals, found {list(events)}")
    h, last = int(np.argmax(events.to_numpy())), len(names) - 1  # where most tables put them
    share = events.iloc[h] / events.sum()
    elsewhere = [names[i] for i in hit if i != h]
    benchmark = _designs(runs)["randomised"].control_relapse * DAYS_PER_YEAR
    cs = _toml(runs, "randomised")["design_priors"]["current_study"]
    oc = _plan(runs, "oc")

    def span(design: str) -> str:
        p = oc[(oc["design"] == design) & (oc["scenario"] == "current_study")]["p_success"]
        return f"**{p.min():.3f}–{p.max():.3f}**"

    def rate(x: float) -> str:
        return f"{x:.2f}" if x >= 0.005 else "below 0.01"

    def rates(idx: list[int]) -> str:
        lo, hi = rate(min(med[idx])), rate(max(med[idx]))
        return lo if lo == hi else f"{lo}–{hi}"

    start = names[h].split("–")[0]
    parts = [f"{rates(list(range(h)))}/year before day {start}"] if h > 0 else []
    parts += [f"{rate(med[i])}/year for days {names[i]}" for i in range(h + 1, last)]
    n_rel = round(float(events.sum()), 6)
    open_from = names[last].rstrip("+")
    text = (
        "With a fitted posterior (`--posterior`, or by default `results/huang2024/fit/posterior.nc` whenever it "
        "exists, i.e. after `scripts/fit.py`; above, that of `--prior literature`), the maintenance arm's "
        f"relapse hazard is piecewise: the posterior puts the study's "
        f"{'one relapse' if n_rel == 1 else f'{n_rel:g} relapses'} in the {names[h]}-day interval"
        + (
            f" in {100 * share:.0f}% of the reconstructed tables (in the others: {', '.join(elsewhere)} days) "
            if elsewhere
            else " "
        )
        + f"(posterior median {rate(med[h])}/year there, against the benchmark's {benchmark:.3f}/year; "
        + ", ".join(parts)
        + f"), and beyond day {open_from}, with {days.mean().iloc[last]:.0f} patient-days of follow-up on "
        f"average over the reconstructed tables (at most {days.max().iloc[last]:.0f}) and no relapse, the "
        f"hazard is prior-driven (median {rate(med[last])}/year). Discounted (δ = {cs['discount']:g}) and "
        f"robustified ({100 * cs['robust_weight']:.0f}% on no effect), it predicts "
        + ("no benefit" if med[h] > benchmark else "little benefit")
        + f": assurance {span('randomised')} (randomised) and {span('single_arm')} (single arm) over the grid."
    )
    return prose(text)


def type1(runs: Runs) -> str:
    """Type I error over N of each design's Bayesian rule and test, and the calibrated cut-offs."""
    oc = _plan(runs, "oc")
    cal = _plan(runs, "calibration")
    designs = _designs(runs)

    def rng(x: pd.Series, digits: int = 3) -> str:
        return f"{x.min():.{digits}f}–{x.max():.{digits}f}"

    def null(design: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        return (
            oc[(oc["design"] == design) & (oc["metric"] == "type I error")],
            cal[(cal["design"] == design) & (cal["metric"] == "type I error")],
        )

    r, rc = null("randomised")
    s, sc = null("single_arm")
    dr, ds = designs["randomised"], designs["single_arm"]
    mcse = max(r["p_success_mcse"].max(), r["p_success_freq_mcse"].max())
    return prose(
        f"Type I error over N: Bayesian {_rule(dr)} {rng(r['p_success'])}, log-rank {rng(r['p_success_freq'])} "
        f"(nominal one-sided {dr.alpha / 2:g}; MC s.e. ≤ {mcse:.3f}), calibrated cut-off "
        f"{rng(rc['threshold_calibrated'])} (randomised); single-arm Bayesian rule {rng(s['p_success'])} "
        f"(target {ds.type1_target:.2f}; calibrated cut-off {rng(sc['threshold_calibrated'])}), one-sample "
        f"log-rank {rng(s['p_success_freq'])} (nominal {ds.alpha / 2:g})."
    )


def closed_forms(runs: Runs) -> str:
    """Schoenfeld's and Freedman's relapse counts at the randomised design's alternative."""
    ss = _plan(runs, "sample_size")
    r = ss[(ss["design"] == "randomised") & ss["schoenfeld_relapses"].notna()].iloc[0]
    d = _designs(runs)["randomised"]
    alt = next(s for s in d.scenarios if s.role == "alternative")
    ratio = f"{d.allocation_ratio:g}:1" if d.allocation_ratio != 1 else "1:1"
    return "\n".join(
        [
            "- Schoenfeld (1983): `d = (z_{1−α/2} + z_{1−β})² / (p(1 − p) log²ψ)` relapses: "
            f"{r['schoenfeld_relapses']:.1f} for ψ = {alt.hr_relapse:g}, {ratio};",
            "- Freedman (1982): `d = (z_{1−α/2} + z_{1−β})² (1 + φψ)² / (φ(1 − ψ)²)`, i.e.",
            f"  `(z + z)² (1 + ψ)²/(1 − ψ)²` for 1:1: {r['freedman_relapses']:.1f} relapses.",
        ]
    )


BLOCKS = [
    Block("trial-planning-closed-forms", DOC, closed_forms, slow=True),
    Block("trial-planning-results", DOC, results, slow=True),
    Block("trial-planning-current-study", DOC, current_study, slow=True),
    Block("trial-planning-type1", DOC, type1, slow=True),
]
