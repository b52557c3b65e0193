"""Workflows: one call from settings to a result object, shared by notebooks and the scripts.

>>> from models.workflows import FitSettings, fit_study
>>> result = fit_study(FitSettings(prior="weak"))          # doctest: +SKIP
>>> result.tables["summary.csv"].head()                     # doctest: +SKIP
>>> result.write("results/my_fit")                          # doctest: +SKIP

The scripts in ``scripts/`` parse options into these settings, call the workflow and write its
result; they hold no analysis of their own.
"""

from __future__ import annotations

from models.workflows.fit import FitResult, FitSettings, fit_study
from models.workflows.plan import PlanResult, PlanSettings, plan_trial
from models.workflows.reconstruct import ReconstructResult, ReconstructSettings, reconstruct_study
from models.workflows.sensitivity import SensitivityResult, SensitivitySettings, run_sensitivity

__all__ = [
    "FitResult",
    "FitSettings",
    "PlanResult",
    "PlanSettings",
    "ReconstructResult",
    "ReconstructSettings",
    "SensitivityResult",
    "SensitivitySettings",
    "fit_study",
    "plan_trial",
    "reconstruct_study",
    "run_sensitivity",
]
