"""Vectorised simulation and analysis of maintenance trials with competing non-relapse deaths.

Every function works on a whole chunk of simulated trials at once: arrays are ``(T, n)`` for
``T`` trials of ``n`` patients, hazards are ``(T, J)`` (one hazard vector per trial, so a design
prior gives every trial its own truth).

Submodules
    ``sampling``
        event times and causes from piecewise-exponential competing hazards (inverse CDF).
    ``analysis``
        events and exposure, exact conjugate posterior probabilities, log-rank tests, Schoenfeld's
        formula, and the NUTS reference :func:`nuts_prob_hr`.
    ``chunk``
        one chunk of a design: :func:`chunk_hazards`, :func:`draw_patients`, :func:`decide`,
        :func:`run_chunk`, :data:`CAL_THRESHOLDS` and :data:`SUM_KEYS`.
    ``executor``
        running a grid: :class:`Task`, :func:`make_tasks`, :func:`execute` (local or Dask) and
        :func:`collect`.
"""

from __future__ import annotations

from models.constants import DAYS_PER_YEAR as DAYS_PER_YEAR  # reachable as before the split
from models.trial_sim.analysis import (
    cir_constant,
    events_exposure,
    gamma_sum,
    hazards_from_cif,
    horizon_weights,
    logrank_z,
    nuts_prob_hr,
    one_sample_logrank_z,
    prob_cir_below,
    prob_hr_below,
    prob_ratio_below,
    schoenfeld_events,
    schoenfeld_power,
)
from models.trial_sim.chunk import CAL_THRESHOLDS, SUM_KEYS, chunk_hazards, decide, draw_patients, run_chunk
from models.trial_sim.executor import Task, collect, execute, make_tasks, run_task
from models.trial_sim.sampling import (
    competing_from,
    pwe_from,
    sample_competing,
    sample_pwe,
    sample_pwe_rows,
    shift_cuts,
)

__all__ = [
    "CAL_THRESHOLDS",
    "SUM_KEYS",
    "Task",
    "chunk_hazards",
    "cir_constant",
    "collect",
    "competing_from",
    "decide",
    "draw_patients",
    "events_exposure",
    "execute",
    "gamma_sum",
    "hazards_from_cif",
    "horizon_weights",
    "logrank_z",
    "make_tasks",
    "nuts_prob_hr",
    "one_sample_logrank_z",
    "prob_cir_below",
    "prob_hr_below",
    "prob_ratio_below",
    "pwe_from",
    "run_chunk",
    "run_task",
    "sample_competing",
    "sample_pwe",
    "sample_pwe_rows",
    "schoenfeld_events",
    "schoenfeld_power",
    "shift_cuts",
]
