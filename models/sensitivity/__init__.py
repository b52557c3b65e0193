"""Prior sensitivity analysis: which conclusions survive which priors, models and reconstructions.

A scenario grid (a TOML file, default ``data/sensitivity/default.toml``) is loaded, expanded into
scenarios, each scenario fitted (exact engine; NUTS only for priors it cannot fit), and the results
summarised as tipping points and a plain-language verdict. The submodules:

* :mod:`~models.sensitivity.config` — the grid file's schema and loader (:func:`load_config`);
* :mod:`~models.sensitivity.transforms` — prior variations (power prior, robust mixture, centred
  relapse prior);
* :mod:`~models.sensitivity.scenarios` — expansion of the grid and each scenario's prior;
* :mod:`~models.sensitivity.engine` — a scenario's hazard draws (exact engine, the fit's recipe, NUTS);
* :mod:`~models.sensitivity.scaling` — power-scaling and prior-data agreement rows;
* :mod:`~models.sensitivity.grid` — running every scenario (:func:`run_grid`), with resume;
* :mod:`~models.sensitivity.summaries` — tipping points, verdict and tornado tables.

See Also
--------
models.sensitivity_plots : tornado and tipping-point figures.

References
----------
Greenland S. Bayesian perspectives for epidemiological research. Int J Epidemiol 2006;35:765–75.
"""

from __future__ import annotations

from models.sensitivity.config import (
    DEFAULT_CONFIG,
    FACTOR_KINDS,
    Factor,
    GridSpec,
    SensitivityConfig,
    load_config,
    prior_files,
)
from models.sensitivity.engine import posterior_hazards
from models.sensitivity.grid import GridResult, run_grid
from models.sensitivity.scaling import base_power_scaling, hierarchical_power_scaling, with_agreement
from models.sensitivity.scenarios import GridScenario, build_scenarios, scenario_prior
from models.sensitivity.summaries import TIPPING_COLUMNS, tipping_points, tornado_table, verdict
from models.sensitivity.transforms import centred_prior, power_discount, robust_weight

__all__ = [
    "DEFAULT_CONFIG",
    "FACTOR_KINDS",
    "TIPPING_COLUMNS",
    "Factor",
    "GridResult",
    "GridScenario",
    "GridSpec",
    "SensitivityConfig",
    "base_power_scaling",
    "build_scenarios",
    "centred_prior",
    "hierarchical_power_scaling",
    "load_config",
    "posterior_hazards",
    "power_discount",
    "prior_files",
    "robust_weight",
    "run_grid",
    "scenario_prior",
    "tipping_points",
    "tornado_table",
    "verdict",
    "with_agreement",
]
