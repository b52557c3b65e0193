r"""Endpoints derived from a per-patient outcome table, in lifelines' vocabulary.

Given a validated outcome table (see :mod:`models.data`) with, for patient :math:`i`, entry day
:math:`e_i`, relapse day :math:`r_i`, GRFS-qualifying GvHD day :math:`g_i`, death day
:math:`d_i` (each :math:`+\infty` when it did not happen) and last follow-up :math:`c_i`:

* OS:    :math:`T = \min(d_i, c_i)`, event :math:`1[d_i < \infty]`;
* EFS:   :math:`T = \min(r_i, d_i, c_i)`, event if relapse or death;
* GRFS:  :math:`T = \min(g_i, r_i, d_i, c_i)`, event if GRFS-qualifying GvHD, relapse or death;
* relapse with competing non-relapse death: :math:`T = \min(r_i, d_i, c_i)`, event code
  1 (relapse), 2 (death without relapse, NRM) or 0 (censored);
* death after relapse (clock reset at relapse): :math:`T = \min(d_i, c_i) - r_i` for relapsed patients.

``entry`` is :math:`e_i` (delayed entry: a patient is at risk only from the first day of
maintenance) or 0 with ``from_transplant=True`` (the published analysis's convention).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from models.constants import EVENT_CENSORED, EVENT_NRM, EVENT_RELAPSE
from models.errors import ConfigError

Endpoint = Literal["os", "efs", "grfs", "relapse", "death_after_relapse"]
ENDPOINTS: tuple[str, ...] = ("os", "efs", "grfs", "relapse", "death_after_relapse")


def _inf(s: pd.Series) -> np.ndarray:
    return np.where(pd.isna(s), np.inf, s.astype(float))


def derive(outcomes: pd.DataFrame, endpoint: str, *, from_transplant: bool = False) -> pd.DataFrame:
    """Durations, event codes and entry times of one endpoint.

    Parameters
    ----------
    outcomes
        A validated outcome table (:func:`models.data.validate_outcomes`).
    endpoint
        One of :data:`ENDPOINTS`.
    from_transplant
        If True every patient is at risk from day 0 (the published convention); otherwise from
        ``entry_day`` (delayed entry). For ``death_after_relapse`` the clock starts at relapse and
        entry is 0.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient, duration, event, entry``; ``event`` is 0 (censored) or 1 (event), and
        for ``relapse`` 1 = relapse, 2 = non-relapse death.
    """
    if endpoint not in ENDPOINTS:
        raise ConfigError("endpoint", found=endpoint, expected=f"one of {list(ENDPOINTS)}")
    r, g, d = _inf(outcomes["relapse_day"]), _inf(outcomes["gvhd_day"]), _inf(outcomes["death_day"])
    c = outcomes["last_followup_day"].astype(float).to_numpy()
    entry = np.zeros(len(outcomes)) if from_transplant else outcomes["entry_day"].astype(float).to_numpy()
    patient = outcomes["patient"].to_numpy()
    if endpoint == "os":
        t, ev = np.minimum(d, c), np.isfinite(d).astype(int)
    elif endpoint == "efs":
        first = np.minimum(r, d)
        t, ev = np.minimum(first, c), np.isfinite(first).astype(int)
    elif endpoint == "grfs":
        first = np.minimum(np.minimum(g, r), d)
        t, ev = np.minimum(first, c), np.isfinite(first).astype(int)
    elif endpoint == "relapse":
        t = np.minimum(np.minimum(r, d), c)
        ev = np.full(len(outcomes), EVENT_CENSORED)
        ev[np.isfinite(r)] = EVENT_RELAPSE
        ev[~np.isfinite(r) & np.isfinite(d)] = EVENT_NRM
    else:  # death after relapse, clock = days since relapse
        keep = np.isfinite(r)
        t = np.minimum(d, c)[keep] - r[keep]
        ev = np.isfinite(d[keep]).astype(int)
        return pd.DataFrame({"patient": patient[keep], "duration": t, "event": ev, "entry": np.zeros(keep.sum())})
    return pd.DataFrame({"patient": patient, "duration": t, "event": ev, "entry": entry})
