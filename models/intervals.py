r"""Events and exposure per transition and interval: the sufficient statistics of the PWE model.

A piecewise-exponential (PWE) hazard is constant on each interval of cut points
:math:`0 = c_0 < c_1 < \dots < c_J`, the last interval :math:`[c_J, \infty)` open. For patient
:math:`i` at risk of a transition on :math:`(s_i, t_i]` (entry to exit) with event indicator
:math:`\delta_i`, the log-likelihood of the hazards :math:`\lambda_j` is

.. math::  \ell(\lambda) = \sum_j \big(D_j \log\lambda_j - \lambda_j E_j\big),\qquad
           E_j = \sum_i \big|(s_i, t_i] \cap [c_j, c_{j+1})\big|,\quad
           D_j = \sum_i \delta_i\, 1[t_i \in (c_j, c_{j+1}]],

the kernel of independent Poisson counts :math:`D_j \sim \mathrm{Poisson}(\lambda_j E_j)`
(Holford 1980; Friedman 1982). An event falling exactly on a cut point is counted in the interval
that ends there (as R's ``survival::survSplit`` does), so every event has exposure in its interval.

Transitions of the illness–death model (states 0 = in remission, 1 = relapsed, 2 = dead), with
entry :math:`e_i` (``entry_day``, or 0 with ``from_transplant=True``), relapse :math:`r_i`,
GvHD :math:`g_i`, death :math:`d_i`, last follow-up :math:`c_i` (days from transplant; a missing
event is :math:`+\infty`):

``relapse`` (0→1) and ``nrm`` (0→2)
    at risk on :math:`(e_i, \min(r_i, d_i, c_i)]`; clock = days from transplant.
``gvhd`` (GRFS-qualifying GvHD while in remission, used only for GRFS)
    at risk on :math:`(e_i, \min(g_i, r_i, d_i, c_i)]`; an event if :math:`g_i < \min(r_i, d_i)`
    (a GvHD on the day of relapse or death is counted once, as that relapse or death).
``death_after_relapse`` (1→2)
    at risk on :math:`(0, \min(d_i, c_i) - r_i]`; clock = days since relapse (clock reset).

Delayed entry (left truncation at :math:`e_i`) is the default: nobody could be in the study without
surviving, in remission, to the start of maintenance, so counting the time before
:math:`e_i` as exposure (the published analysis's convention, ``from_transplant=True``) credits the
cohort with immortal time (Andersen, Borgan, Gill & Keiding 1993, ch. III.3).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.constants import DEFAULT_CUTS
from models.errors import ConfigError

#: Transitions in the order the model stores them.
TRANSITIONS: tuple[str, ...] = ("relapse", "nrm", "gvhd", "death_after_relapse")
#: Transitions whose clock is days from transplant (out of state 0).
FROM_TRANSPLANT_TRANSITIONS: tuple[str, ...] = ("relapse", "nrm", "gvhd")
#: Default cut points (days since relapse) for death after relapse.
DEFAULT_RELAPSE_DEATH_CUTS: tuple[float, ...] = (0.0, 90.0, 365.0)


def validate_cuts(cuts: Sequence[float] | np.ndarray, *, option: str = "cuts") -> np.ndarray:
    """Check cut points and return them as a float array.

    Rules: at least one value, all finite, the first equal to 0, strictly increasing. A failure is a
    :class:`~models.errors.ConfigError` naming ``option``.
    """
    try:
        arr = np.asarray([float(c) for c in cuts], dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(option, found=list(cuts), expected="numbers of days, e.g. 0,100,180,365") from None
    if arr.size == 0:
        raise ConfigError(option, found="no cut points", expected="at least the cut point 0")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(option, found=arr.tolist(), expected="finite numbers of days")
    if arr[0] != 0.0:
        raise ConfigError(option, found=arr.tolist(), expected="cut points starting at 0")
    if arr.size > 1 and not np.all(np.diff(arr) > 0):
        raise ConfigError(option, found=arr.tolist(), expected="strictly increasing cut points")
    return arr


def interval_labels(cuts: Sequence[float] | np.ndarray) -> list[str]:
    """Labels such as ``"0-100"`` and ``"730+"`` for the intervals of ``cuts``."""
    c = [f"{v:g}" for v in cuts]
    return [f"{a}-{b}" for a, b in itertools.pairwise(c)] + [f"{c[-1]}+"]


def split_exposure(
    start: np.ndarray, stop: np.ndarray, event: np.ndarray, cuts: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""Events :math:`D_j` and exposure :math:`E_j` (days) per interval, vectorised over patients.

    Parameters
    ----------
    start, stop
        At-risk period :math:`(s_i, t_i]` of each patient on the transition's clock; ``stop >= start``.
    event
        True where the period ends with the transition.
    cuts
        Validated cut points (see :func:`validate_cuts`).

    Returns
    -------
    events, exposure
        Arrays of length ``len(cuts)``; ``exposure`` is the total time at risk inside each interval.
    """
    c = np.asarray(cuts, dtype=float)
    s = np.asarray(start, dtype=float)[:, None]
    t = np.asarray(stop, dtype=float)[:, None]
    lo = c[None, :]
    hi = np.append(c[1:], np.inf)[None, :]
    exposure = np.clip(np.minimum(t, hi) - np.maximum(s, lo), 0.0, None).sum(axis=0)
    ev = np.asarray(event, dtype=bool)
    idx = np.clip(np.searchsorted(c, np.asarray(stop, dtype=float)[ev], side="left") - 1, 0, None)
    events = np.bincount(idx, minlength=c.size).astype(float)
    return events, exposure


@dataclass(frozen=True)
class TransitionData:
    """Events and exposure of every transition for one outcome table.

    Attributes
    ----------
    events, exposure
        ``{transition: array over intervals}`` (exposure in days).
    cuts
        ``{transition: cut points}``; out-of-remission transitions share the model's cuts.
    """

    events: dict[str, np.ndarray]
    exposure: dict[str, np.ndarray]
    cuts: dict[str, np.ndarray]

    def table(self) -> pd.DataFrame:
        """A tidy table: transition, interval, events, exposure_days."""
        rows = []
        for k in TRANSITIONS:
            for lab, d, e in zip(interval_labels(self.cuts[k]), self.events[k], self.exposure[k], strict=True):
                rows.append({"transition": k, "interval": lab, "events": d, "exposure_days": e})
        return pd.DataFrame(rows)


def _days(s: pd.Series) -> np.ndarray:
    return np.where(pd.isna(s), np.inf, pd.to_numeric(s, errors="coerce")).astype(float)


def transition_data(
    outcomes: pd.DataFrame,
    cuts: Sequence[float] | np.ndarray = DEFAULT_CUTS,
    relapse_death_cuts: Sequence[float] | np.ndarray = DEFAULT_RELAPSE_DEATH_CUTS,
    *,
    from_transplant: bool = False,
) -> TransitionData:
    """Events and exposure of the four transitions (see the module docstring) for one table.

    ``outcomes`` is a validated outcome table (:func:`models.data.validate_outcomes`).
    """
    c0 = validate_cuts(cuts, option="cuts")
    cr = validate_cuts(relapse_death_cuts, option="relapse_death_cuts")
    r, g, d = _days(outcomes["relapse_day"]), _days(outcomes["gvhd_day"]), _days(outcomes["death_day"])
    last = _days(outcomes["last_followup_day"])
    entry = np.zeros(len(outcomes)) if from_transplant else _days(outcomes["entry_day"])
    exit0 = np.minimum(np.minimum(r, d), last)
    rel_ev = np.isfinite(r)
    nrm_ev = ~rel_ev & np.isfinite(d)
    first_rd = np.minimum(r, d)
    gv_ev = np.isfinite(g) & (g < first_rd)
    exit_g = np.minimum(exit0, g)
    events, exposure = {}, {}
    events["relapse"], exposure["relapse"] = split_exposure(entry, exit0, rel_ev, c0)
    events["nrm"], exposure["nrm"] = split_exposure(entry, exit0, nrm_ev, c0)
    events["gvhd"], exposure["gvhd"] = split_exposure(entry, exit_g, gv_ev, c0)
    keep = rel_ev
    since = np.minimum(d, last)[keep] - r[keep]
    events["death_after_relapse"], exposure["death_after_relapse"] = split_exposure(
        np.zeros(int(keep.sum())), since, np.isfinite(d[keep]), cr
    )
    cuts_map = {k: c0 for k in FROM_TRANSPLANT_TRANSITIONS} | {"death_after_relapse": cr}
    return TransitionData(events=events, exposure=exposure, cuts=cuts_map)


def check_finite_days(value: float, option: str) -> float:
    """A finite, non-negative number of days (for options such as ``--landmark-day``)."""
    if not math.isfinite(value) or value < 0:
        raise ConfigError(option, found=value, expected="a finite number of days >= 0")
    return float(value)
