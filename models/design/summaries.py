r"""Simulating a design's grid and reading operating characteristics, sample sizes and calibrated cut-offs.

Operating characteristics over a grid of sample sizes (Berry, Carlin, Lee & Müller 2010, ch. 2):
type I error (null), power (alternative), assurance (design priors), expected relapses, deaths and
duration, each with its Monte Carlo standard error; seeds are spawned per (N, scenario, chunk) by
:class:`numpy.random.SeedSequence`, so the numbers do not depend on how many workers run them.

References
----------
Schoenfeld DA. Biometrics 1983;39:499-503.
Berry SM, Carlin BP, Lee JJ, Müller P. Bayesian Adaptive Methods for Clinical Trials. CRC 2010.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from models import trial_sim as ts
from models.constants import DEFAULT_SEED
from models.design.schema import METRIC, Design
from models.progress import Progress


def run_design(
    design: Design,
    *,
    seed: int = DEFAULT_SEED,
    workers: int = 2,
    dask_address: str | None = None,
    progress: bool | Progress = False,
    n_grid: Sequence[int] | None = None,
    n_sims: int | None = None,
) -> pd.DataFrame:
    """Simulate the whole grid of a design; raw sums per (N, scenario) (see :func:`summarise`)."""
    tasks = ts.make_tasks(design, seed=seed, n_grid=n_grid, n_sims=n_sims)
    return ts.collect(tasks, ts.execute(tasks, workers=workers, dask_address=dask_address, progress=progress))


# ----------------------------------------------------------------------------------------- summaries
def summarise(raw: pd.DataFrame, design: Design) -> pd.DataFrame:
    r"""Operating characteristics with Monte Carlo standard errors, one row per (N, scenario).

    Rates :math:`\hat p` have MCSE :math:`\sqrt{\hat p(1-\hat p)/n}`; means :math:`\bar x` have
    :math:`s/\sqrt n`. ``success`` is type I error under ``null``, power under ``alternative`` and
    assurance under a design prior.
    """
    out = pd.DataFrame(
        {
            "design": design.name,
            "N": raw["N"],
            "scenario": raw["scenario"],
            "role": raw["role"],
            "metric": raw["role"].map(METRIC),
            "n_sims": raw["n"].astype(int),
        }
    )
    n = raw["n"].to_numpy()
    for k, col in (
        ("success", "p_success"),
        ("success_freq", "p_success_freq"),
        ("success_efs", "p_success_efs"),
        ("stop_efficacy", "p_stop_efficacy"),
        ("stop_futility", "p_stop_futility"),
    ):
        p = raw[k].to_numpy() / n
        out[col] = p
        out[f"{col}_mcse"] = np.sqrt(p * (1 - p) / n)
    if design.kind == "single_arm":
        out[["p_success_efs", "p_success_efs_mcse"]] = np.nan
    for k, col in (("events", "mean_relapses"), ("deaths", "mean_deaths"), ("duration", "mean_duration_days")):
        m = raw[k].to_numpy() / n
        var = np.maximum(raw[f"{k}_sq"].to_numpy() / n - m**2, 0.0) * n / np.maximum(n - 1, 1)
        out[col] = m
        out[f"{col}_mcse"] = np.sqrt(var / n)
    order = out["scenario"].map({s.name: i for i, s in enumerate(design.scenarios)})
    return out.assign(_o=order).sort_values(["_o", "N"], kind="stable").drop(columns="_o").reset_index(drop=True)


def _first_reaching(df: pd.DataFrame, col: str, target: float, lower: bool) -> float:
    ok = df[col] - (1.959963984540054 * df[f"{col}_mcse"] if lower else 0.0) >= target
    return float(df.loc[ok, "N"].min()) if ok.any() else float("nan")


def sample_size(oc: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Smallest N of the grid whose success probability reaches ``design.target`` (the grid reading).

    ``n_point``: estimate >= target; ``n_conservative``: lower 95% MC bound >= target. For the
    randomised design Schoenfeld's event count at the alternative HR is added. The reported sample
    size comes from the root search of :func:`models.sample_size.sample_size_table`, which keeps
    these two as ``grid_n_point`` and ``grid_n_conservative``.
    """
    rows = []
    for name, df in oc.groupby("scenario", sort=False):
        df = df.sort_values("N")
        role = df["role"].iloc[0]
        metric = METRIC[role]
        entries = [("bayesian", "p_success")] + ([("frequentist", "p_success_freq")] if role == "alternative" else [])
        for analysis, col in entries:
            if role == "null":
                continue
            rows.append(
                {
                    "design": design.name,
                    "scenario": name,
                    "metric": metric,
                    "analysis": analysis,
                    "target": design.target,
                    "n_point": _first_reaching(df, col, design.target, False),
                    "n_conservative": _first_reaching(df, col, design.target, True),
                    "max_in_grid": float(df[col].max()),
                }
            )
    out = pd.DataFrame(rows)
    if design.kind == "randomised":
        alt = next(s for s in design.scenarios if s.role == "alternative")
        p = design.allocation_ratio / (1 + design.allocation_ratio)
        out["schoenfeld_relapses"] = ts.schoenfeld_events(alt.hr_relapse, design.alpha, design.target, p)
    return out


def calibrate(raw: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Posterior-probability cut-off holding type I error at ``design.type1_target``, for each N.

    The cut-off is the smallest candidate in :data:`models.trial_sim.CAL_THRESHOLDS` whose simulated
    type I error under the null is <= the target (interim rules held fixed); the success rate of
    every scenario at that cut-off is reported with its MC standard error.
    """
    rows = []
    thr = ts.CAL_THRESHOLDS
    for n, df in raw.groupby("N"):
        null = df[df["role"] == "null"].iloc[0]
        t1 = np.asarray(null["cal_counts"]) / null["n"]
        ok = np.flatnonzero(t1 <= design.type1_target)
        i = int(ok[0]) if ok.size else -1
        for _, r in df.iterrows():
            rate = float(np.asarray(r["cal_counts"])[i] / r["n"]) if i >= 0 else float("nan")
            rows.append(
                {
                    "design": design.name,
                    "N": int(n),
                    "scenario": r["scenario"],
                    "role": r["role"],
                    "metric": METRIC[r["role"]],
                    "type1_target": design.type1_target,
                    "threshold_design": design.threshold,
                    "threshold_calibrated": float(thr[i]) if i >= 0 else float("nan"),
                    "p_success": rate,
                    "p_success_mcse": math.sqrt(rate * (1 - rate) / r["n"]) if i >= 0 else float("nan"),
                }
            )
    return pd.DataFrame(rows)
