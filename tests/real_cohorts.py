"""Real transplant cohorts shipped with scikit-survival, converted to the per-patient outcome schema.

The outcome schema (``data/README.md``, "Per-patient outcome tables") has one row per patient with
``patient, entry_day, relapse_day, gvhd_day, death_day, death_cause, last_followup_day`` in days
from transplant. Two public data sets are converted:

:func:`bmt_outcomes`
    ``sksurv.datasets.load_bmt()``: 35 acute-leukaemia patients after HSCT (Scrucca, Santucci &
    Aversa, Bone Marrow Transplant 2007;40:381–387; the file ``bmt.csv`` of that paper). Competing
    risks of the remission state only: relapse or transplant-related death (TRM), in whole months.
:func:`cgvhd_outcomes`
    The 100-patient subsample of a randomised trial of bone marrow versus peripheral blood stem
    cells (Pintilie, *Competing Risks: A Practical Perspective*, Wiley 2006), as shipped by
    scikit-survival (``cgvhd.arff``). Relapse, death and chronic GvHD times, in years.

:func:`delayed_entry` turns a table into a left-truncated one (deterministic entry days).

Every table returned here has passed :func:`models.data.validate_outcomes`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.data import OUTCOME_COLUMNS, validate_outcomes

#: Days per month for the BMT data (ftime in whole months): 365.25 / 12.
DAYS_PER_MONTH: float = 365.25 / 12.0
#: Days per year for the cGvHD data (times in years with three decimals).
DAYS_PER_YEAR: float = 365.25
#: Seed and window (days) of the entry days drawn by :func:`delayed_entry`.
DELAYED_ENTRY_SEED: int = 20070401
DELAYED_ENTRY_MAX_DAY: float = 100.0


def _empty_if_nan(values: np.ndarray) -> list[object]:
    return [None if np.isnan(v) else float(v) for v in values]


def bmt_outcomes() -> pd.DataFrame:
    r"""The BMT data of Scrucca et al. (2007) as an outcome table (35 patients, ``B1`` … ``B35``).

    ``load_bmt()`` returns ``status`` (0 = censored, 1 = transplant-related mortality, 2 = relapse)
    and ``ftime``, the time of that first event or of the last follow-up **in whole months** from
    transplant (the unit of Scrucca et al. 2007, whose figures run in months; the file holds integers
    0–72, and 72 months, six years, is the longest follow-up).
    Months are converted to days as ``ftime * 365.25 / 12`` (:data:`DAYS_PER_MONTH`), so the
    resolution is one month and event times are heavily tied.

    Coding:

    * status 2 (relapse): ``relapse_day = last_followup_day = ftime``; nothing after the relapse is
      known, so the patient is censored at relapse for death after relapse (and for OS, which this
      data set cannot estimate);
    * status 1 (TRM): ``death_day = last_followup_day = ftime``, ``death_cause = "nrm"`` (a death
      without a preceding relapse);
    * status 0: ``last_followup_day = ftime``, no events;
    * ``entry_day = 0`` (at risk from transplant), ``gvhd_day`` empty (not recorded).

    Two patients have ``ftime = 0`` (one relapse, one TRM in the first month): they keep day 0.
    """
    from sksurv.datasets import load_bmt

    _, y = load_bmt()
    status = np.asarray(y["status"], int)
    days = np.asarray(y["ftime"], float) * DAYS_PER_MONTH
    n = len(days)
    relapse = np.where(status == 2, days, np.nan)
    death = np.where(status == 1, days, np.nan)
    table = pd.DataFrame(
        {
            "patient": [f"B{i + 1}" for i in range(n)],
            "entry_day": np.zeros(n),
            "relapse_day": _empty_if_nan(relapse),
            "gvhd_day": [None] * n,
            "death_day": _empty_if_nan(death),
            "death_cause": np.where(status == 1, "nrm", ""),
            "last_followup_day": days,
        },
        columns=list(OUTCOME_COLUMNS),
    )
    return validate_outcomes(table, "sksurv load_bmt (Scrucca et al. 2007)")


def _cgvhd_raw() -> pd.DataFrame:
    """All columns of scikit-survival's ``cgvhd.arff`` (``load_cgvhd`` keeps only the first event)."""
    from sksurv.datasets.base import _get_data_path
    from sksurv.io import loadarff

    return loadarff(_get_data_path("cgvhd.arff"))


def cgvhd_outcomes() -> pd.DataFrame:
    r"""Pintilie's (2006) cGvHD trial subsample as an outcome table (100 patients, ``C1`` … ``C100``).

    ``load_cgvhd()`` returns only the first of cGvHD, relapse and death, so the underlying file
    ``cgvhd.arff`` is read whole. Its times are **years from transplant** (three decimals); they are
    converted to days as ``years * 365.25`` (:data:`DAYS_PER_YEAR`). Columns used (documentation of
    ``load_cgvhd``):

    * ``survtime``: time to death or last follow-up; ``stat`` 1 = dead, 0 = alive;
    * ``reltime``: time to relapse or last follow-up; ``rcens`` 1 = relapse, 0 = no relapse (despite
      its name, 1 marks an observed relapse);
    * ``cgvhtime``: time to chronic GvHD or last follow-up; ``cgvh`` 1 = cGvHD, 0 = none;
    * ``stnum``: patient number (the ID is ``C<stnum>``).

    Coding: ``last_followup_day = survtime``; ``death_day = survtime`` when ``stat == 1``;
    ``relapse_day = reltime`` when ``rcens == 1``; ``death_cause`` is ``"relapse"`` for a death
    after a relapse (the schema's coding: any death after relapse, whatever its cause, is not
    non-relapse mortality) and ``"nrm"`` for a death without relapse; ``gvhd_day = cgvhtime`` when
    ``cgvh == 1`` (any chronic GvHD, limited or extensive — broader than a "GRFS-qualifying" GvHD,
    used here only for the GvHD transition, which relapse, NRM and OS do not depend on);
    ``entry_day = 0``. In this file every relapse precedes the death (11 relapses, 9 of them followed
    by death; 17 deaths without relapse; 87 patients with cGvHD) and no relapse or cGvHD time
    exceeds ``survtime``; both are checked.
    """
    raw = _cgvhd_raw().sort_values("stnum").reset_index(drop=True)
    surv = raw["survtime"].to_numpy(float) * DAYS_PER_YEAR
    rel = raw["reltime"].to_numpy(float) * DAYS_PER_YEAR
    cgv = raw["cgvhtime"].to_numpy(float) * DAYS_PER_YEAR
    dead = raw["stat"].astype(str).to_numpy() == "1"
    relapsed = raw["rcens"].astype(str).to_numpy() == "1"
    chronic = raw["cgvh"].astype(str).to_numpy() == "1"
    if np.any(relapsed & (rel > surv)) or np.any(chronic & (cgv > surv)):
        raise ValueError("cgvhd.arff: a relapse or cGvHD time after the time of death/last follow-up")
    if np.any(relapsed & dead & (rel >= surv)):
        raise ValueError("cgvhd.arff: a relapse on or after the death")
    relapse = np.where(relapsed, rel, np.nan)
    death = np.where(dead, surv, np.nan)
    cause = np.where(dead & relapsed, "relapse", np.where(dead, "nrm", ""))
    table = pd.DataFrame(
        {
            "patient": [f"C{int(s)}" for s in raw["stnum"]],
            "entry_day": np.zeros(len(raw)),
            "relapse_day": _empty_if_nan(relapse),
            "gvhd_day": _empty_if_nan(np.where(chronic, cgv, np.nan)),
            "death_day": _empty_if_nan(death),
            "death_cause": cause,
            "last_followup_day": surv,
        },
        columns=list(OUTCOME_COLUMNS),
    )
    return validate_outcomes(table, "sksurv cgvhd.arff (Pintilie 2006)")


def delayed_entry(
    table: pd.DataFrame, *, seed: int = DELAYED_ENTRY_SEED, max_day: float = DELAYED_ENTRY_MAX_DAY
) -> pd.DataFrame:
    r"""A left-truncated version of an outcome table: entry days drawn uniformly on ``[0, max_day]``.

    Patient :math:`i` (in table order) gets :math:`e_i \sim U[0, \text{max\_day}]` from
    ``numpy.random.default_rng(seed)`` (continuous days, so entries do not tie with the whole-month
    BMT times). As under left truncation, a patient is kept only if still event-free at entry:
    relapse, GvHD, death and last follow-up all strictly after :math:`e_i` (an exit on the entry day
    would give an at-risk period of length zero). The others are dropped, not re-coded: they would
    never have been seen by a study that starts observing at :math:`e_i`. The kept rows keep their
    original times; the result is validated.
    """
    rng = np.random.default_rng(seed)
    entry = rng.uniform(0.0, max_day, len(table))
    times = table[["relapse_day", "gvhd_day", "death_day", "last_followup_day"]].astype(float).to_numpy()
    first = np.nanmin(times, axis=1)
    keep = first > entry
    out = table.loc[keep].copy()
    out["entry_day"] = entry[keep]
    return validate_outcomes(out.reset_index(drop=True), "delayed-entry table")
