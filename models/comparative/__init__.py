r"""Comparison of a single-arm maintenance cohort with no-maintenance control cohorts.

The control cohorts enter as *control packs* (``data/controls/<id>/control.toml``) that reference
published figures of ``data/priors/sources.toml``; the comparative model links the treated
cohort's cause-specific hazards to the control's by a hazard ratio per transition, discounts the
control by a power prior :math:`a_0`, and is fitted exactly by quadrature over log HR. See
``docs/comparative.md``.

Submodules
----------
packs
    The control-pack schema, loader and the figures' summary into pseudo-events/exposure
    (:func:`load_control`, :class:`ControlPack`, :class:`ControlData`).
engine
    The exact engine: the posterior of log HR on a grid and exact joint draws
    (:func:`hr_posterior`, :func:`hazard_draws`, :func:`treated_conditional`).
compare
    One comparison (HRs, conditional 1-year incidences of both arms), the :math:`a_0` sweep and the
    tipping point (:func:`compare`, :func:`sweep`, :func:`tipping_point`).
tables
    The fit's outputs ``comparative.csv`` and ``comparative_sweep.csv`` and their text
    (:func:`run_comparative`, :class:`ComparativeResult`).
plots
    The HR forest plot, treated-against-control incidence curves and the :math:`a_0` sweep.
"""

from __future__ import annotations

from models.comparative.compare import (
    CLAIM_LEVEL,
    COMPARED,
    DEFAULT_A0,
    Comparison,
    Treated,
    compare,
    conditional_incidence,
    sweep,
    tipping_point,
)
from models.comparative.engine import HR_PRIOR_SD, Grid, HRPosterior, hazard_draws, hr_posterior, treated_conditional
from models.comparative.packs import CONTROLS_DIR, ControlData, ControlPack, control_names, load_control
from models.comparative.tables import COMPARATIVE_TABLES, ComparativeResult, load_controls, run_comparative

__all__ = [
    "CLAIM_LEVEL",
    "COMPARATIVE_TABLES",
    "COMPARED",
    "CONTROLS_DIR",
    "DEFAULT_A0",
    "HR_PRIOR_SD",
    "ComparativeResult",
    "Comparison",
    "ControlData",
    "ControlPack",
    "Grid",
    "HRPosterior",
    "Treated",
    "compare",
    "conditional_incidence",
    "control_names",
    "hazard_draws",
    "hr_posterior",
    "load_control",
    "load_controls",
    "run_comparative",
    "sweep",
    "tipping_point",
    "treated_conditional",
]
