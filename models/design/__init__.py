"""Trial planning: sample size, operating characteristics and Bayesian assurance.

A design is a TOML file in ``data/designs/`` (:data:`DESIGN_DIR`) read into a validated
:class:`Design`; its grid of sample sizes is simulated by :mod:`models.trial_sim` and summarised as
type I error, power and assurance with Monte Carlo standard errors. The method is described in
:mod:`models.design.loading` (designs, conduct, design priors) and :mod:`models.design.summaries`
(operating characteristics).

Submodules
    ``schema``
        bounds, allowed keys per table, :class:`Design`, :class:`TrialScenario` and the checks.
    ``design_priors``
        prior-set draws and their cache, the current study's posterior draws, discounting.
    ``loading``
        :func:`load_design`: a design TOML into a :class:`Design` with its scenarios.
    ``summaries``
        :func:`run_design`, :func:`summarise`, :func:`sample_size` and :func:`calibrate`.
    ``plotting``
        :func:`plot_oc`.
    ``benchmarks``
        :func:`nuts_agreement`, :func:`benchmark_fast_path` and :func:`benchmark_mcmc`.
"""

from __future__ import annotations

from models.design.benchmarks import benchmark_fast_path, benchmark_mcmc, nuts_agreement
from models.design.design_priors import (
    discount_draws,
    load_posterior_draws,
    prefetch_prior_sets,
    published_posterior_draws,
)
from models.design.loading import load_design
from models.design.plotting import plot_oc
from models.design.schema import (
    DESIGN_DIR,
    DESIGN_PRIOR_DRAWS,
    MAX_SIMS,
    MAX_TRIAL_N,
    METRIC,
    Design,
    Kind,
    TrialScenario,
)
from models.design.summaries import calibrate, run_design, sample_size, summarise

__all__ = [
    "DESIGN_DIR",
    "DESIGN_PRIOR_DRAWS",
    "MAX_SIMS",
    "MAX_TRIAL_N",
    "METRIC",
    "Design",
    "Kind",
    "TrialScenario",
    "benchmark_fast_path",
    "benchmark_mcmc",
    "calibrate",
    "discount_draws",
    "load_design",
    "load_posterior_draws",
    "nuts_agreement",
    "plot_oc",
    "prefetch_prior_sets",
    "published_posterior_draws",
    "run_design",
    "sample_size",
    "summarise",
]
