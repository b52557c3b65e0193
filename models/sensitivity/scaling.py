"""Power-scaling sensitivity and prior-data agreement of the base and hierarchical priors.

Power-scaling sensitivity and the agreement verdict
    The base prior's 1-year quantities are power-scaled (:mod:`models.power_scaling`: only the
    prior's departure from the weak baseline) and read together with Box's prior-predictive check by
    the one rule of :mod:`models.agreement` (disagreement from Box's p, strength from power-scaling).
    The configured ``power_scaling_prior`` (the commensurate set) gets the same diagnostics from
    exact-engine draws (:func:`hierarchical_power_scaling`): for a commensurate transition the scaled
    density is its marginal prior density of the hazards
    (:func:`models.commensurate_exact.commensurate_logratio`).

References
----------
Kallioinen N, Paananen T, Bürkner P-C, Vehtari A. Detecting and diagnosing prior and likelihood
sensitivity with power-scaling. Stat Comput 2023;34:57.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from models.agreement import agreement_table
from models.commensurate_exact import exact_eligible, quadrature_power_scaling
from models.errors import ConfigError
from models.fit_recipe import fit_draws
from models.intervals import transition_data
from models.power_scaling import fit_power_scaling
from models.prior_conflict import conflict_table_draws
from models.prior_library import load_prior_set
from models.priors import PriorSet
from models.pwe import Model
from models.sensitivity.config import SensitivityConfig
from models.sensitivity.engine import _base_fit
from models.sensitivity.scenarios import GridScenario, scenario_prior


def with_agreement(
    ps: pd.DataFrame, cfg: SensitivityConfig, tables: Sequence[pd.DataFrame], prior_cache: dict, prior_name: str
) -> pd.DataFrame:
    """Add Box's p (whole prior and sources alone, medians over tables) and the agreement verdict
    (:mod:`models.agreement`) to power-scaling rows of one prior."""
    prior = prior_cache.get((prior_name, cfg.cuts)) or prior_cache.get(prior_name)
    if prior is None:
        prior = load_prior_set(prior_name, cfg.cuts, cfg.relapse_death_cuts)
    stats = [transition_data(t, cfg.cuts, cfg.relapse_death_cuts, from_transplant=cfg.from_transplant) for t in tables]
    agree = agreement_table(conflict_table_draws(prior, stats, n_sim=20_000), ps).set_index("quantity")
    out = ps.copy()
    for col in ("box_p", "sources_p", "verdict"):
        out[col] = out["quantity"].map(agree[col])
    return out


def hierarchical_power_scaling(cfg: SensitivityConfig, tables: Sequence[pd.DataFrame], prior: PriorSet) -> pd.DataFrame:
    r"""Power-scaling sensitivity of a hierarchical (commensurate) prior set, per 1-year quantity.

    The first ``power_scaling_tables`` tables are fitted as ``fit.py`` fits them
    (:func:`models.fit_recipe.fit_draws`, exact engine: quadrature for the commensurate transitions)
    and every draw is importance-reweighted with each table's own likelihood; results are averaged
    over the tables. What is scaled: :math:`p_\alpha \propto p_0\,(p/p_0)^\alpha` with
    :math:`p_0` the weakly informative baseline (:func:`models.priors.weak`) and :math:`p` the
    prior density of all hazards, in which a commensurate transition enters through its *marginal*
    density of the hazards, :math:`p(\lambda_1..\lambda_J) = \int \mathrm{HN}(\sigma)\prod_j
    p(\lambda_j\mid\sigma)\,d\sigma` (historical hazards and :math:`\sigma` integrated out;
    :func:`models.commensurate_exact.commensurate_logratio`) and gamma-mixture transitions through
    their own densities, exactly as for the base prior (:func:`models.power_scaling.fit_power_scaling`).
    """
    if not exact_eligible(prior):
        raise ConfigError(
            "power_scaling_prior",
            found=f"prior set '{prior.name}' (not gamma mixtures or commensurate priors)",
            expected="a prior set the exact engine fits",
        )
    use = list(tables)[: cfg.power_scaling_tables]
    model = Model(
        use, priors=prior, cuts=cfg.cuts, relapse_death_cuts=cfg.relapse_death_cuts, from_transplant=cfg.from_transplant
    )
    fd = fit_draws(model, seed=cfg.seed)
    fn = fit_power_scaling if prior.conjugate else quadrature_power_scaling
    return fn(prior, model.stats, fd.all_hazards, fd.all_table_index, cfg.cuts, cfg.relapse_death_cuts, cfg.day)


def base_power_scaling(
    cfg: SensitivityConfig,
    tables: Sequence[pd.DataFrame],
    prior_cache: dict[str, PriorSet] | None = None,
    fit_cache: dict | None = None,
) -> pd.DataFrame:
    """Power-scaling sensitivity of the base scenario's quantities from the fit's draws (each table's
    own likelihood), averaged over tables: the numbers ``fit.py`` reports for the same prior and data."""
    prior_cache = {} if prior_cache is None else prior_cache
    base = GridScenario(
        "base", "base", "base", cfg.prior, cfg.cuts, cfg.from_transplant, tuple(range(len(tables))), kind="base"
    )
    prior = scenario_prior(base, prior_cache, cfg.relapse_death_cuts, cfg.day)
    fd = _base_fit(cfg, base, tables, prior, {} if fit_cache is None else fit_cache)
    stats = [transition_data(t, cfg.cuts, cfg.relapse_death_cuts, from_transplant=cfg.from_transplant) for t in tables]
    fn = fit_power_scaling if prior.conjugate else quadrature_power_scaling
    return fn(prior, stats, fd.all_hazards, fd.all_table_index, cfg.cuts, cfg.relapse_death_cuts, cfg.day)
