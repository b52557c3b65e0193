"""Hazard draws of one scenario: the exact engine, the fit's recipe (base scenario) and NUTS.

Every scenario is computed with the exact engine: posterior draws of every hazard for every table
(conjugate updates of gamma mixtures; quadrature for commensurate priors,
:mod:`models.commensurate_exact`, engine column ``exact (quadrature)``), pooled with equal numbers
per table, then 1-year (and other landmark) quantities and the posterior probability of each
claim. Only a prior the exact engine cannot fit (e.g. log-normal or random-walk hazards) runs on
NUTS (``nuts_draws``, ``nuts_chains``, ``nuts_tune``; its row carries R-hat, ESS and divergences).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.commensurate_exact import commensurate_transitions, exact_eligible, max_events, quadrature
from models.errors import PriorError
from models.fit_recipe import fit_draws
from models.intervals import TRANSITIONS, TransitionData
from models.priors import PriorSet, gamma_intervals
from models.pwe import Model, diagnostics, diagnostics_ok, exact_posterior_draws, hazard_draws
from models.sensitivity.config import SensitivityConfig
from models.sensitivity.scenarios import GridScenario


def posterior_hazards(
    prior: PriorSet,
    stats: Sequence[TransitionData],
    n_intervals: Mapping[str, int],
    draws_per_table: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Pooled exact posterior draws ``{transition: (M * draws, J)}`` over the tables in ``stats``
    (conjugate updates; quadrature for commensurate transitions, :mod:`models.commensurate_exact`)."""
    if not exact_eligible(prior):
        raise PriorError(
            f"prior set '{prior.name}'",
            found="priors the exact engine cannot fit",
            expected="gamma mixtures or commensurate priors for the exact engine (use scripts/fit.py --engine nuts)",
        )
    comm = commensurate_transitions(prior)
    grids = {k: quadrature(cp, max_events=max_events(stats, k)) for k, cp in comm.items()}
    out: dict[str, list[np.ndarray]] = {k: [] for k in TRANSITIONS}
    for td in stats:
        for k in TRANSITIONS:
            if k in grids:
                out[k].append(grids[k].draw(td.events[k], td.exposure[k], draws_per_table, rng))
                continue
            spec = gamma_intervals(prior.per_interval(k, n_intervals[k]))  # exact_eligible: gamma mixtures
            out[k].append(exact_posterior_draws(spec, td.events[k], td.exposure[k], draws_per_table, rng))
    return {k: np.vstack(v) for k, v in out.items()}


def _nuts_hazards(
    cfg: SensitivityConfig, sc: GridScenario, tables: Sequence[pd.DataFrame], prior: PriorSet
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Pooled NUTS hazard draws of a scenario whose prior the exact engine cannot fit (log-normal or
    random-walk hazards) and its convergence summary (one compiled model per prior structure, reused
    across tables and scenarios: the data and gamma hyperparameters are swapped in as shared data)."""
    model = Model(
        list(tables),
        priors=prior,
        cuts=sc.cuts,
        relapse_death_cuts=cfg.relapse_death_cuts,
        from_transplant=sc.from_transplant,
    )
    # hierarchical priors (a random walk's scale over log hazards) make funnels: take small steps
    idata = model.fit(
        engine="nuts",
        draws=cfg.nuts_draws,
        chains=cfg.nuts_chains,
        tune=cfg.nuts_tune,
        seed=cfg.seed,
        target_accept=0.99,
    )
    diag = diagnostics(idata)
    hz, _ = hazard_draws(idata, max_draws=None)
    return hz, {
        "engine": "nuts",
        "rhat_max": float(diag["r_hat"].max()),
        "ess_bulk_min": float(diag["ess_bulk"].min()),
        "divergences": int(diag.groupby("table")["divergences"].first().sum()),
        "diagnostics_ok": bool(diagnostics_ok(diag)),
    }


def _base_fit(cfg: SensitivityConfig, sc: GridScenario, tables: Sequence[pd.DataFrame], prior: PriorSet, cache: dict):
    """The base scenario's posterior, drawn exactly as ``fit.py`` draws it (:mod:`models.fit_recipe`)."""
    if "fit" not in cache:
        model = Model(
            [tables[m] for m in sc.tables],
            priors=prior,
            cuts=sc.cuts,
            relapse_death_cuts=cfg.relapse_death_cuts,
            from_transplant=sc.from_transplant,
        )
        cache["model"], cache["fit"] = model, fit_draws(model, seed=cfg.seed)
    return cache["fit"]
