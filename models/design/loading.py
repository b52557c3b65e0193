r"""Reading and validating a design TOML into a :class:`~models.design.schema.Design`.

Designs (TOML files in ``data/designs/``, read by :func:`load_design`)
    ``single_arm``
        Phase 2 of maintenance. Endpoint: relapse incidence one year after study entry, NRM
        competing, :math:`\mathrm{CIR}(\tau) = \pi(1 - e^{-S\tau})` under constant cause-specific
        hazards (:func:`models.trial_sim.prob_cir_below`). Success when
        :math:`P(\mathrm{CIR}(\tau) < p_0 \mid \text{data}) > c`, :math:`p_0` the no-maintenance
        benchmark. Frequentist companion: one-sample log-rank test of the relapse hazard against
        the benchmark hazard (Breslow 1975).
    ``randomised``
        Maintenance vs observation, allocation ratio :math:`r{:}1`. Endpoint: the cause-specific
        relapse hazard ratio (and EFS). Bayesian PWE analysis with independent
        :math:`\mathrm{Gamma}(a, b)` priors per arm and interval; success when
        :math:`P(\mathrm{HR} < m \mid \text{data}) > c` (:math:`m = 1` or a clinically relevant
        margin). Frequentist companion: the log-rank test on the cause-specific relapse hazard
        (NRM censored), two-sided level :math:`\alpha`, success in the favourable direction.
        Gray's (1988) test is not implemented.

Conduct: uniform accrual (rate per month or duration), delayed entry at ``entry_day`` after
transplant, exponential dropout, analysis at calendar time (end of accrual + minimum follow-up) or
at a target number of relapses, and an optional interim (futility if the posterior probability is
below a threshold, efficacy above another) at a fraction of the final calendar time or events.

Design priors (O'Hagan, Stevens & Campbell 2005; Spiegelhalter, Abrams & Myles 2004, ch. 6)
    fixed scenarios (``null``: both arms at the benchmark; ``alternative``: relapse hazard times
    the design HR); ``hr_lognormal``: a log-normal HR from a published estimate and 95% CI;
    ``posterior``: treatment-arm hazards from the current study's posterior draws, discounted by
    scaling log-hazard deviations by :math:`1/\sqrt{\delta}` and robustified by a weight-:math:`w`
    component centred on the benchmark (no effect) with log-scale s.d. 1 (Schmidli et al. 2014);
    ``prior_set``: treatment-arm hazards from a named prior set (literature library).
    Assurance is the probability of success averaged over the design prior,
    :math:`\int P(\text{success}\mid\theta)\,\pi_d(\theta)\,d\theta`, estimated by drawing one
    :math:`\theta` per simulated trial.

References
----------
O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial design. Pharm Stat 2005;4:187-201.
Spiegelhalter DJ, Abrams KR, Myles JP. Bayesian Approaches to Clinical Trials and Health-Care
Evaluation. Wiley 2004.
Gray RJ. Ann Stat 1988;16:1141-1154.
Schmidli H, Gsteiger S, Roychoudhury S, et al. Robust meta-analytic-predictive priors in clinical
trials with historical control information. Biometrics 2014;70:1023-1032.
Breslow NE. Analysis of survival data under the proportional hazards model. Int Stat Rev 1975;43:45-57.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from models import trial_sim as ts
from models.constants import DEFAULT_SEED
from models.design.design_priors import _prior_set_draws, discount_draws, published_posterior_draws
from models.design.schema import MAX_SIMS, MAX_TRIAL_N, Design, TrialScenario, _check, _range
from models.errors import ConfigError, PriorError
from models.io import read_toml


def load_design(
    path: str | Path,
    *,
    posterior: Mapping[str, np.ndarray] | None = None,
    seed: int = DEFAULT_SEED,
    design_priors: bool = True,
) -> Design:
    """Read and validate a design TOML; a failure is a one-line ConfigError/PriorError naming file and key.

    ``posterior`` (hazard draws of the current study) feeds design priors of kind ``posterior``;
    without it they use :func:`published_posterior_draws`. ``design_priors=False`` keeps only the
    fixed scenarios (null, alternative), e.g. for benchmarks.
    """
    p = str(path)
    doc = read_toml(path, ConfigError, "design TOML file (e.g. data/designs/randomised.toml)")
    allowed_top = {"design", "conduct", "analysis", "benchmark", "scenarios", "design_priors", "grid"}
    for key in doc:
        if key not in allowed_top:
            raise ConfigError(
                p, where="top level", field=key, found="an unknown table", expected=f"one of {sorted(allowed_top)}"
            )
    for key in ("design", "conduct", "analysis", "benchmark", "grid"):
        if not isinstance(doc.get(key), dict):
            raise ConfigError(p, where=f"[{key}]", found="missing", expected="a table")
        _check(p, key, doc[key], key)
    d, c, a, b, g = doc["design"], doc["conduct"], doc["analysis"], doc["benchmark"], doc["grid"]
    kind = d["type"]
    if kind not in ("single_arm", "randomised"):
        raise ConfigError(p, where="[design]", field="type", found=kind, expected="'single_arm' or 'randomised'")
    entry = _range(p, "design", "entry_day", d["entry_day"], 0, 1e5, lo_open=False)
    ratio = _range(p, "design", "allocation_ratio", d.get("allocation_ratio", 1.0), 0, 20)
    if ("accrual_per_month" in c) == ("accrual_months" in c):
        raise ConfigError(
            p,
            where="[conduct]",
            field="accrual_per_month",
            found="both or neither of accrual_per_month and accrual_months",
            expected="exactly one of them",
        )
    apm = (
        _range(p, "conduct", "accrual_per_month", c["accrual_per_month"], 0, 1e4) if "accrual_per_month" in c else None
    )
    am = _range(p, "conduct", "accrual_months", c["accrual_months"], 0, 1200) if "accrual_months" in c else None
    fu = _range(p, "conduct", "min_followup_days", c["min_followup_days"], 0, 1e5, lo_open=False)
    drop = _range(
        p,
        "conduct",
        "dropout_per_year",
        c["dropout_per_year"],
        0,
        10,
        lo_open=False,
        what="a dropout rate per year >= 0 (exponential censoring)",
    )
    analysis = c.get("analysis", "calendar")
    if analysis not in ("calendar", "events"):
        raise ConfigError(p, where="[conduct]", field="analysis", found=analysis, expected="'calendar' or 'events'")
    target_events = int(c.get("target_events", 0))
    if analysis == "events" and target_events < 1:
        raise ConfigError(
            p,
            where="[conduct]",
            field="target_events",
            found=target_events,
            expected="a whole number >= 1 when analysis = 'events'",
        )
    max_fu = _range(p, "conduct", "max_followup_days", c.get("max_followup_days", 5 * 365.0), 0, 1e5)
    interim = None
    if "interim" in c:
        _check(p, "conduct.interim", c["interim"], "conduct.interim")
        it = c["interim"]
        info = _range(p, "conduct.interim", "information", it.get("information", 0.5), 0, 1)
        fut = _range(p, "conduct.interim", "futility_threshold", it.get("futility_threshold", 0.0), 0, 1, lo_open=False)
        eff = _range(p, "conduct.interim", "efficacy_threshold", it.get("efficacy_threshold", 1.0), 0, 1, hi_open=False)
        interim = (info, fut, eff)
    cuts = a.get("cuts_days", [0.0])
    if not cuts or not all(isinstance(x, int | float) for x in cuts) or cuts[0] != 0 or np.any(np.diff(cuts) <= 0):
        raise ConfigError(
            p, where="[analysis]", field="cuts_days", found=cuts, expected="increasing days from entry starting at 0"
        )
    if kind == "single_arm" and len(cuts) != 1:
        raise ConfigError(
            p,
            where="[analysis]",
            field="cuts_days",
            found=cuts,
            expected="[0.0] (the single-arm rule is exact for constant hazards)",
        )
    horizon = _range(p, "analysis", "horizon_days", a.get("horizon_days", 365.0), 0, 1e5)
    margin = _range(p, "analysis", "margin", a.get("margin", 1.0), 0, 10)
    thr = _range(p, "analysis", "threshold", a["threshold"], 0, 1)
    shape = _range(p, "analysis", "prior_shape", a.get("prior_shape", 0.5), 0, 1e6)
    nshape = _range(p, "analysis", "nrm_prior_shape", a.get("nrm_prior_shape", shape), 0, 1e6)
    rate = _range(p, "analysis", "prior_rate_days", a.get("prior_rate_days", 182.5), 0, 1e9)
    alpha = _range(p, "analysis", "alpha", a.get("alpha", 0.05), 0, 1)
    cir = _range(p, "benchmark", "relapse_cif", b["relapse_cif"], 0, 1)
    nrm = _range(p, "benchmark", "nrm_cif", b["nrm_cif"], 0, 1)
    if cir + nrm >= 1:
        raise ConfigError(
            p,
            where="[benchmark]",
            field="nrm_cif",
            found=nrm,
            expected=f"relapse_cif + nrm_cif < 1 (relapse_cif = {cir})",
        )
    years = _range(p, "benchmark", "years", b["years"], 0, 100)
    os1 = _range(p, "benchmark", "os_after_relapse_1y", b.get("os_after_relapse_1y", 0.36), 0, 1)
    lam_r, lam_n = ts.hazards_from_cif(cir, nrm, years)
    lam_d = -math.log(os1) / 365.0
    n_grid = g["n"]
    if (
        not n_grid
        or not all(isinstance(x, int) and not isinstance(x, bool) and 2 <= x <= MAX_TRIAL_N for x in n_grid)
        or len(n_grid) > 200
    ):
        raise ConfigError(
            p, where="[grid]", field="n", found=n_grid, expected=f"1-200 whole numbers from 2 to {MAX_TRIAL_N:,}"
        )
    if not 10 <= g["n_sims"] <= MAX_SIMS:
        raise ConfigError(
            p, where="[grid]", field="n_sims", found=g["n_sims"], expected=f"a whole number from 10 to {MAX_SIMS:,}"
        )
    if kind == "randomised":  # every N of the grid must put patients in both arms
        for n in n_grid:
            n_t = round(n * ratio / (1.0 + ratio))
            if n_t < 1 or n - n_t < 1:
                raise ConfigError(
                    p,
                    where="[design]",
                    field="allocation_ratio",
                    found=f"{ratio:g}: N = {n} gives {n_t} treated and {n - n_t} controls",
                    expected="a ratio that leaves at least one patient in each arm at every N of [grid] n",
                )
    chunk = int(g.get("chunk_trials", 500))
    if chunk < 1:
        raise ConfigError(p, where="[grid]", field="chunk_trials", found=chunk, expected="a whole number >= 1")
    target = _range(p, "grid", "target", g.get("target", 0.8), 0, 1)
    t1 = _range(p, "grid", "type1_target", g.get("type1_target", alpha / 2), 0, 1)
    if not design_priors:
        doc = {k: v for k, v in doc.items() if k != "design_priors"}
    scenarios, skipped = _scenarios(p, doc, lam_r, lam_n, lam_d, posterior, seed)
    return Design(
        name=d["name"],
        kind=kind,
        source=p,
        description=d.get("description", ""),
        entry_day=entry,
        allocation_ratio=ratio,
        accrual_per_month=apm,
        accrual_months=am,
        min_followup_days=fu,
        dropout_per_year=drop,
        analysis=analysis,
        target_events=target_events,
        max_followup_days=max_fu,
        interim=interim,
        cuts_days=tuple(float(x) for x in cuts),
        horizon_days=horizon,
        margin=margin,
        threshold=thr,
        prior_shape=shape,
        nrm_prior_shape=nshape,
        prior_rate_days=rate,
        alpha=alpha,
        control_relapse=lam_r,
        control_nrm=lam_n,
        control_after_relapse=lam_d,
        benchmark_cir=ts.cir_constant(lam_r, lam_n, horizon),
        scenarios=scenarios,
        n_grid=tuple(sorted(set(n_grid))),
        n_sims=int(g["n_sims"]),
        chunk_trials=chunk,
        target=target,
        type1_target=t1,
        skipped_priors=tuple(skipped),
    )


def _scenarios(
    p: str,
    doc: Mapping[str, Any],
    lam_r: float,
    lam_n: float,
    lam_d: float,
    posterior: Mapping[str, np.ndarray] | None,
    seed: int,
) -> tuple[tuple[TrialScenario, ...], list[str]]:
    out: list[TrialScenario] = []
    sc = doc.get("scenarios", {})
    if not isinstance(sc, dict):
        raise ConfigError(p, where="[scenarios]", found=sc, expected="tables [scenarios.<name>]")
    for name, s in sc.items():
        if not isinstance(s, dict):
            raise ConfigError(p, where=f"[scenarios.{name}]", found=s, expected="a table")
        _check(p, f"scenarios.{name}", s, "scenario")
        role = s.get("role", name if name in ("null", "alternative") else "alternative")
        if role not in ("null", "alternative"):
            raise ConfigError(
                p, where=f"[scenarios.{name}]", field="role", found=role, expected="'null' or 'alternative'"
            )
        hr = _range(p, f"scenarios.{name}", "hr_relapse", s.get("hr_relapse", 1.0), 0, 100)
        hn = _range(p, f"scenarios.{name}", "hr_nrm", s.get("hr_nrm", 1.0), 0, 100)
        out.append(TrialScenario(name, role, hr, hn, note=s.get("note", "")))
    roles = {s.role for s in out}
    if not {"null", "alternative"} <= roles:
        raise ConfigError(
            p,
            where="[scenarios]",
            found=sorted(sc),
            expected="a scenario with role = 'null' and one with role = 'alternative' "
            "(a table named null or alternative has that role by default)",
        )
    skipped: list[str] = []
    dps = doc.get("design_priors", {})
    if not isinstance(dps, dict):
        raise ConfigError(p, where="[design_priors]", found=dps, expected="tables [design_priors.<name>]")
    for i, (name, s) in enumerate(dps.items()):
        where = f"[design_priors.{name}]"
        if not isinstance(s, dict):
            raise ConfigError(p, where=where, found=s, expected="a table")
        _check(p, f"design_priors.{name}", s, "design_prior")
        kind = s.get("kind")
        if kind == "hr_lognormal":
            med = _range(p, where[1:-1], "median", s.get("median", float("nan")), 0, 100)
            lo = _range(p, where[1:-1], "lower", s.get("lower", float("nan")), 0, med)
            hi = _range(p, where[1:-1], "upper", s.get("upper", float("nan")), med, 100)
            sigma = (math.log(hi) - math.log(lo)) / (2 * stats.norm.ppf(0.975))
            out.append(
                TrialScenario(name, "design_prior", hr_lognormal=(math.log(med), sigma), note=s.get("citation", ""))
            )
        elif kind == "arms":
            if s.get("if_missing", "error") not in ("error", "skip"):
                raise ConfigError(
                    p, where=where, field="if_missing", found=s["if_missing"], expected="'error' or 'skip'"
                )
            disc = _range(p, where[1:-1], "discount", s.get("discount", 1.0), 0, 1, hi_open=False)
            w = _range(p, where[1:-1], "robust_weight", s.get("robust_weight", 0.0), 0, 1, lo_open=False)
            arms: dict[str, dict[str, np.ndarray] | None] = {}
            try:
                for arm in ("treatment", "control"):
                    src = s.get(arm, "benchmark")
                    if src == "benchmark":
                        arms[arm] = None
                    elif src == "posterior":
                        base = posterior if posterior is not None else published_posterior_draws(seed=seed)
                        centre = {"relapse": lam_r, "nrm": lam_n, "death_after_relapse": lam_d}
                        arms[arm] = discount_draws(
                            base, discount=disc, robust_weight=w, centre=centre, rng=np.random.default_rng([seed, i])
                        )
                    else:
                        arms[arm] = _prior_set_draws(src, p, f"{where}, {arm}", seed)
            except PriorError:
                if s.get("if_missing", "error") == "skip":
                    skipped.append(name)
                    continue
                raise
            shared = s.get("treatment", "benchmark") == s.get("control", "benchmark") != "benchmark"
            out.append(
                TrialScenario(
                    name,
                    "design_prior",
                    draws=arms["treatment"],
                    control_draws=arms["control"],
                    shared=shared,
                    note=s.get("note", ""),
                )
            )
        else:
            raise ConfigError(p, where=where, field="kind", found=kind, expected="'hr_lognormal' or 'arms'")
    return tuple(out), skipped
