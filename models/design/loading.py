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

import numpy as np
from scipy import stats

from models import trial_sim as ts
from models.constants import DEFAULT_SEED
from models.design.design_priors import _prior_set_draws, discount_draws, published_posterior_draws
from models.design.schema import Design, DesignToml, TrialScenario, scenario_role
from models.errors import ConfigError, PriorError
from models.io import read_toml
from models.schema import validate


def load_design(
    path: str | Path,
    *,
    posterior: Mapping[str, np.ndarray] | None = None,
    seed: int = DEFAULT_SEED,
    design_priors: bool = True,
) -> Design:
    """Read and validate a design TOML; a failure is a one-line ConfigError/PriorError naming file and key.

    The file is validated by :class:`~models.design.schema.DesignToml` (keys, types, bounds and the
    checks across tables); the design priors' draws (which need other files) are made after.
    ``posterior`` (hazard draws of the current study) feeds design priors of kind ``posterior``;
    without it they use :func:`published_posterior_draws`. ``design_priors=False`` keeps only the
    fixed scenarios (null, alternative), e.g. for benchmarks.
    """
    p = str(path)
    doc = read_toml(path, ConfigError, "design TOML file (e.g. data/designs/randomised.toml)")
    m = validate(DesignToml, doc, p)
    d, c, a, b, g = m.design, m.conduct, m.analysis, m.benchmark, m.grid
    lam_r, lam_n = ts.hazards_from_cif(b.relapse_cif, b.nrm_cif, b.years)
    lam_d = -math.log(b.os_after_relapse_1y) / 365.0
    it = c.interim
    scenarios, skipped = _scenarios(p, m, lam_r, lam_n, lam_d, posterior, seed, design_priors)
    return Design(
        name=d.name,
        kind=d.type,
        source=p,
        description=d.description,
        entry_day=d.entry_day,
        allocation_ratio=d.allocation_ratio,
        accrual_per_month=c.accrual_per_month,
        accrual_months=c.accrual_months,
        min_followup_days=c.min_followup_days,
        dropout_per_year=c.dropout_per_year,
        analysis=c.analysis,
        target_events=c.target_events,
        max_followup_days=c.max_followup_days,
        interim=None if it is None else (it.information, it.futility_threshold, it.efficacy_threshold),
        cuts_days=tuple(float(x) for x in a.cuts_days),
        horizon_days=a.horizon_days,
        margin=a.margin,
        threshold=a.threshold,
        prior_shape=a.prior_shape,
        nrm_prior_shape=a.prior_shape if a.nrm_prior_shape is None else a.nrm_prior_shape,
        prior_rate_days=a.prior_rate_days,
        alpha=a.alpha,
        control_relapse=lam_r,
        control_nrm=lam_n,
        control_after_relapse=lam_d,
        benchmark_cir=ts.cir_constant(lam_r, lam_n, a.horizon_days),
        scenarios=scenarios,
        n_grid=tuple(sorted(set(g.n))),
        n_sims=g.n_sims,
        chunk_trials=g.chunk_trials,
        target=g.target,
        type1_target=a.alpha / 2 if g.type1_target is None else g.type1_target,
        skipped_priors=tuple(skipped),
    )


def _scenarios(
    p: str,
    m: DesignToml,
    lam_r: float,
    lam_n: float,
    lam_d: float,
    posterior: Mapping[str, np.ndarray] | None,
    seed: int,
    design_priors: bool,
) -> tuple[tuple[TrialScenario, ...], list[str]]:
    out = [
        TrialScenario(name, scenario_role(name, s), s.hr_relapse, s.hr_nrm, note=s.note)
        for name, s in m.scenarios.items()
    ]
    skipped: list[str] = []
    for i, (name, s) in enumerate(m.design_priors.items() if design_priors else ()):
        where = f"[design_priors.{name}]"
        if s.kind == "hr_lognormal":
            assert s.median is not None and s.lower is not None and s.upper is not None  # the schema's check
            sigma = (math.log(s.upper) - math.log(s.lower)) / (2 * stats.norm.ppf(0.975))
            out.append(TrialScenario(name, "design_prior", hr_lognormal=(math.log(s.median), sigma), note=s.citation))
            continue
        arms: dict[str, dict[str, np.ndarray] | None] = {}
        try:
            for arm, src in (("treatment", s.treatment), ("control", s.control)):
                if src == "benchmark":
                    arms[arm] = None
                elif src == "posterior":
                    base = posterior if posterior is not None else published_posterior_draws(seed=seed)
                    centre = {"relapse": lam_r, "nrm": lam_n, "death_after_relapse": lam_d}
                    arms[arm] = discount_draws(
                        base,
                        discount=s.discount,
                        robust_weight=s.robust_weight,
                        centre=centre,
                        rng=np.random.default_rng([seed, i]),
                    )
                else:
                    arms[arm] = _prior_set_draws(src, p, f"{where}, {arm}", seed)
        except PriorError:
            if s.if_missing == "skip":
                skipped.append(name)
                continue
            raise
        out.append(
            TrialScenario(
                name,
                "design_prior",
                draws=arms["treatment"],
                control_draws=arms["control"],
                shared=s.treatment == s.control != "benchmark",
                note=s.note,
            )
        )
    return tuple(out), skipped
