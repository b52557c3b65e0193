r"""The fit recipe shared by ``fit.py`` and the sensitivity grid's base scenario: one number per quantity.

A reported posterior number (a 1-year incidence, a claim probability, a power-scaling
sensitivity) must be the same wherever it appears. ``scripts/fit.py`` and the base scenario of
``scripts/sensitivity.py`` therefore draw their posterior with this one function and these
settings, so that with the same data, prior and seed both compute every shared quantity from the
same draws:

* ``Model.fit(engine, draws=FIT_DRAWS, chains=FIT_CHAINS, tune=FIT_TUNE, seed)`` — for the exact
  engine one seed stream per table (:meth:`models.pwe.Model.fit`);
* summaries and claims from ``SUMMARY_DRAWS`` pooled draws, equal per table
  (:func:`models.pwe.hazard_draws`);
* power-scaling from every draw of every table (:func:`models.power_scaling.fit_power_scaling`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # scripts import this module before their dependencies are needed (--help)
    import numpy as np

#: Draws per chain and table, chains, tuning steps (NUTS) and pooled summary draws of a fit.
FIT_DRAWS: int = 1000
FIT_CHAINS: int = 4
FIT_TUNE: int = 1000
SUMMARY_DRAWS: int = 4000
#: Most posterior draws (draws x chains x tables) a fit keeps: 4 million draws of ~20 hazards are
#: about 0.7 GB, and the derived quantities need a few times that
MAX_TOTAL_DRAWS: int = 4_000_000


@dataclass
class FitDraws:
    """A fit's posterior and the two views of its draws used downstream."""

    idata: Any
    hazards: dict[str, np.ndarray]
    table_index: np.ndarray
    all_hazards: dict[str, np.ndarray]
    all_table_index: np.ndarray


def fit_draws(
    model: Any,
    *,
    seed: int,
    engine: str = "exact",
    draws: int = FIT_DRAWS,
    chains: int = FIT_CHAINS,
    tune: int = FIT_TUNE,
    sampler: str | None = None,
    progress: Any = False,
    max_summary_draws: int = SUMMARY_DRAWS,
) -> FitDraws:
    """Fit ``model`` (a :class:`models.pwe.Model`) and return the summary and full draws."""
    from models.pwe import hazard_draws

    idata = model.fit(
        engine=engine, draws=draws, chains=chains, tune=tune, seed=seed, sampler=sampler, progress=progress
    )
    hz, ti = hazard_draws(idata, max_draws=max_summary_draws)
    hz_all, ti_all = hazard_draws(idata, max_draws=None)
    return FitDraws(idata, hz, ti, hz_all, ti_all)
