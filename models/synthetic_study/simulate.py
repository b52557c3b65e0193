"""Simulated per-patient outcomes of a synthetic study and the study's fixed dates.

:func:`simulate_outcomes` draws entry into maintenance, relapse and non-relapse death competing,
death after relapse and administrative censoring at the study's last follow-up date.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from models.data import validate_outcomes

LAST_FOLLOWUP = dt.date(2024, 3, 10)
WINDOW = ("2022-01", "2023-10")
LANDMARK = 365
#: Population of the default subgroup figure (a rule of the default pack)
DEFAULT_SUBGROUP = "non_refractory_relapsed"


def _admin_days(rng: np.random.Generator, n: int) -> np.ndarray:
    start, end = dt.date(2022, 1, 1), dt.date(2023, 10, 31)
    offsets = rng.integers(0, (end - start).days + 1, n)
    return np.array([(LAST_FOLLOWUP - (start + dt.timedelta(days=int(o)))).days for o in offsets])


def simulate_outcomes(
    n: int,
    seed: int,
    *,
    nrm_rate: float = 0.0006,
    relapse_rate: float = 0.0008,
    death_after_relapse_rate: float = 0.004,
) -> pd.DataFrame:
    """Per-patient outcomes (days from transplant) with distinct event and last-contact days.

    Exponential hazards (per day) from entry; alive patients are censored at the study's last
    follow-up date. Distinct days keep every event time untied, as the reconstruction assumes.
    """
    rng = np.random.default_rng(seed)
    while True:
        admin = _admin_days(rng, n)
        # maintenance starts before the study's cut-off (a patient is seen at least once on it)
        entry = np.array([rng.integers(40, min(201, a - 10)) for a in admin])
        rows = []
        for i in range(n):
            e, a = int(entry[i]), int(admin[i])
            t_rel = e + 1 + int(rng.exponential(1 / relapse_rate))
            t_nrm = e + 1 + int(rng.exponential(1 / nrm_rate))
            row: dict[str, Any] = {
                "patient": f"P{i + 1}",
                "entry_day": e,
                "relapse_day": math.nan,
                "gvhd_day": math.nan,
                "death_day": math.nan,
                "death_cause": "",
                "last_followup_day": a,
            }
            if t_rel < min(t_nrm, a):
                row["relapse_day"] = t_rel
                t_d = t_rel + 1 + int(rng.exponential(1 / death_after_relapse_rate))
                if t_d < a:
                    row.update(death_day=t_d, death_cause="relapse", last_followup_day=t_d)
            elif t_nrm < a:
                row.update(death_day=t_nrm, death_cause="nrm", last_followup_day=t_nrm)
            rows.append(row)
        days = [d for r in rows for d in (r["relapse_day"], r["last_followup_day"]) if not math.isnan(d)]
        if (
            len(days) == len(set(days))
            and LANDMARK not in days
            and LANDMARK not in {r["last_followup_day"] for r in rows}
        ):
            return validate_outcomes(pd.DataFrame(rows), "synthetic outcomes")
