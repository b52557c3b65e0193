"""Workflows: one call from settings to a result object, shared by notebooks and the scripts.

>>> from models.workflows import FitSettings, fit_study
>>> result = fit_study(FitSettings(prior="weak"))          # doctest: +SKIP
>>> result.tables["summary.csv"].head()                     # doctest: +SKIP
>>> result.write("results/my_fit")                          # doctest: +SKIP

* ``reconstruct_study(ReconstructSettings)``: per-patient tables consistent with every published figure;
* ``fit_study(FitSettings)``: the posterior (curves, 1-year summaries, claims, prior checks);
* ``run_sensitivity(SensitivitySettings)``: the scenario grid (tornado, tipping points, verdict);
* ``plan_trial(PlanSettings)``: operating characteristics, sample sizes, calibration;
* ``build_report(ReportSettings)``: the pipeline brought up to date, then the reviewer's report.

Each returns a result with its tables (DataFrames), figures on demand where it draws any, a text
report and ``write(folder)`` (all or nothing, with ``manifest.json``). The prior library's views
are ``prior_catalog`` (the sets and cited figures), ``audit_prior(PriorSettings)`` (one set, back to
its sources) and ``plot_prior(PriorSettings)`` (its implied incidences, written as tables and
figures). The commands in :mod:`models.cli` (started by
``scripts/<command>.py`` or the installed ``txbayes-<command>``) parse options into these settings,
call the workflow and write its result; they hold no analysis of their own.
"""

from __future__ import annotations

from models.workflows.fit import FitResult, FitSettings, fit_study
from models.workflows.plan import PlanResult, PlanSettings, plan_trial
from models.workflows.priors import (
    PriorAudit,
    PriorCatalog,
    PriorPlots,
    PriorSettings,
    audit_prior,
    plot_prior,
    prior_catalog,
)
from models.workflows.reconstruct import ReconstructResult, ReconstructSettings, reconstruct_study
from models.workflows.report import ReportResult, ReportSettings, build_report
from models.workflows.sensitivity import SensitivityResult, SensitivitySettings, run_sensitivity

__all__ = [
    "FitResult",
    "FitSettings",
    "PlanResult",
    "PlanSettings",
    "PriorAudit",
    "PriorCatalog",
    "PriorPlots",
    "PriorSettings",
    "ReconstructResult",
    "ReconstructSettings",
    "ReportResult",
    "ReportSettings",
    "SensitivityResult",
    "SensitivitySettings",
    "audit_prior",
    "build_report",
    "fit_study",
    "plan_trial",
    "plot_prior",
    "prior_catalog",
    "reconstruct_study",
    "run_sensitivity",
]
