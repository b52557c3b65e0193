r"""Simulated cohorts from known piecewise-constant hazards (for recovery checks and benchmarks).

Times are drawn by inverting the cumulative hazard: :math:`T = \Lambda^{-1}(-\log U)`. Exit from
remission has hazard :math:`\lambda_{rel} + \lambda_{nrm}`; its cause is relapse with probability
:math:`\lambda_{rel}/(\lambda_{rel} + \lambda_{nrm})` evaluated at the exit time. GvHD is a latent
time with hazard :math:`\lambda_{gvhd}`, recorded when it precedes relapse, death and censoring.
Death after relapse has hazard :math:`\mu` on the days-since-relapse clock.

Delayed entry: entry days are drawn uniformly on ``entry_range`` and a patient appears in the
cohort only if alive in remission at entry (left truncation, as in the study). A GvHD before entry
is not recorded (the outcome schema has no events before entry), so GvHD recovery checks use entry
at day 0. Censoring: last follow-up uniform on ``followup_range`` days from transplant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from models.data import OUTCOME_COLUMNS


def pwe_times(hazard: np.ndarray, cuts: Sequence[float] | np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` event times with piecewise-constant hazard ``hazard`` (per day) on ``cuts``."""
    c = np.asarray(cuts, dtype=float)
    lam = np.asarray(hazard, dtype=float)
    target = rng.exponential(1.0, n)
    widths = np.diff(c)
    cum = np.concatenate([[0.0], np.cumsum(lam[:-1] * widths)])  # Λ at each cut
    j = np.searchsorted(cum, target, side="right") - 1
    with np.errstate(divide="ignore"):
        t = c[j] + (target - cum[j]) / lam[j]
    return np.where(lam[j] > 0, t, np.inf)


def simulate_cohort(
    n: int,
    hazards: Mapping[str, Sequence[float]],
    cuts: Sequence[float],
    relapse_death_cuts: Sequence[float],
    *,
    entry_range: tuple[float, float] = (0.0, 0.0),
    followup_range: tuple[float, float] = (365.0, 1095.0),
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """An outcome table (:data:`models.data.OUTCOME_COLUMNS`) of ``n`` patients who entered.

    ``hazards`` maps ``relapse``, ``nrm``, ``gvhd`` (on ``cuts``) and ``death_after_relapse`` (on
    ``relapse_death_cuts``) to per-interval hazards per day.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    lr = np.asarray(hazards["relapse"], float)
    ln = np.asarray(hazards["nrm"], float)
    rows: list[pd.DataFrame] = []
    have = 0
    c = np.asarray(cuts, float)
    while have < n:
        m = int(1.5 * (n - have)) + 10
        exit0 = pwe_times(lr + ln, c, rng, m)
        j = np.clip(np.searchsorted(c, exit0, side="right") - 1, 0, None)
        tot = (lr + ln)[j]
        is_rel = rng.random(m) < np.where(tot > 0, lr[j] / np.where(tot > 0, tot, 1.0), 0.0)
        g = pwe_times(np.asarray(hazards["gvhd"], float), c, rng, m)
        after = pwe_times(np.asarray(hazards["death_after_relapse"], float), relapse_death_cuts, rng, m)
        lo, hi = entry_range
        entry = rng.uniform(lo, hi, m) if hi > lo else np.full(m, float(lo))
        entry = np.round(entry, 3)
        cens = rng.uniform(followup_range[0], followup_range[1], m)
        keep = exit0 > entry
        relapse = np.where(is_rel & (exit0 <= cens), exit0, np.nan)
        death = np.where(is_rel, exit0 + after, exit0)
        death = np.where(death <= cens, death, np.nan)
        cause = np.where(np.isnan(death), "", np.where(is_rel, "relapse", "nrm"))
        last = np.where(np.isnan(death), np.maximum(cens, entry), death)
        first = np.fmin(np.where(np.isnan(relapse), np.inf, relapse), np.where(np.isnan(death), np.inf, death))
        gv = np.where((g < first) & (g <= last) & (g >= entry), g, np.nan)
        df = pd.DataFrame(
            {
                "entry_day": entry,
                "relapse_day": relapse,
                "gvhd_day": gv,
                "death_day": death,
                "death_cause": cause,
                "last_followup_day": last,
            }
        )[keep]
        rows.append(df)
        have += int(keep.sum())
    out = pd.concat(rows, ignore_index=True).iloc[:n].copy()
    out.insert(0, "patient", [f"S{i + 1}" for i in range(len(out))])
    return out.loc[:, list(OUTCOME_COLUMNS)].reset_index(drop=True)
