"""Validation of the exact conjugate rule against NUTS, and the speed of the fast and MCMC paths."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from models import trial_sim as ts
from models.constants import DEFAULT_SEED
from models.design.loading import load_design
from models.design.schema import DESIGN_DIR, Design
from models.errors import ConfigError


def nuts_agreement(
    design: Design,
    *,
    n_trials: int = 200,
    n_patients: int = 200,
    scenario: str = "alternative",
    seed: int = DEFAULT_SEED,
    draws: int = 2000,
    tune: int = 1000,
    chains: int = 4,
) -> dict[str, float]:
    """Decisions of the exact conjugate rule vs full NUTS on the same simulated trials (final analysis).

    ``scenario`` is a scenario name or a role (``"alternative"``, ``"null"``).
    Returns the rate of identical decisions (``P > threshold``), the largest absolute difference in
    posterior probability and the number of trials compared.
    """
    if design.kind != "randomised":
        raise ConfigError(design.source, where="[design]", field="type", found=design.kind, expected="'randomised'")
    idx = next((i for i, s in enumerate(design.scenarios) if s.name == scenario), None)
    if idx is None:  # a role ("null", "alternative") picks the first scenario with it
        idx = next((i for i, s in enumerate(design.scenarios) if s.role == scenario), None)
    if idx is None:
        raise ConfigError(design.source, where="[scenarios]", found=scenario, expected="a scenario name or role")
    r = ts.run_chunk(design, design.scenarios[idx], n_patients, n_trials, seed, (n_patients, idx, 0), per_trial=True)
    tr = r["trials"]
    weights = ts.horizon_weights(np.asarray(design.cuts_days), design.horizon_days)
    p_nuts = ts.nuts_prob_hr(
        tr["D1"],
        tr["E1"],
        tr["D0"],
        tr["E0"],
        design.prior_shape,
        design.prior_rate_days,
        weights,
        design.margin,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
    )
    agree = (tr["p"] > design.threshold) == (p_nuts > design.threshold)
    return {
        "n_trials": float(n_trials),
        "agreement": float(agree.mean()),
        "max_abs_diff": float(np.max(np.abs(tr["p"] - p_nuts))),
        "p_exact": tr["p"],
        "p_nuts": p_nuts,
    }


def benchmark_fast_path(
    n_trials: int = 20_000,
    *,
    n_patients: int = 200,
    workers: int = 2,
    design_path: str | Path = DESIGN_DIR / "randomised.toml",
) -> dict[str, float]:
    """Simulated and analysed two-arm trials per second on the fast (conjugate) path.

    Simulation of every transition, interim and final Bayesian decisions and the log-rank test,
    ``n_trials`` trials of ``n_patients`` under the design alternative, run on ``workers`` processes.
    """
    design = load_design(design_path, design_priors=False)
    idx = next(i for i, s in enumerate(design.scenarios) if s.role == "alternative")
    size = max(1, min(2500, n_trials // (2 * max(workers, 1)) or 1))
    tasks = [
        ts.Task(design, idx, n_patients, min(size, n_trials - lo), DEFAULT_SEED, c)
        for c, lo in enumerate(range(0, n_trials, size))
    ]
    start = time.perf_counter()
    ts.execute(tasks, workers=workers)
    sec = time.perf_counter() - start
    return {
        "n_trials": float(n_trials),
        "n_patients": float(n_patients),
        "workers": float(workers),
        "seconds": sec,
        "trials_per_second": n_trials / sec,
    }


def benchmark_mcmc(
    n_trials: int = 3,
    *,
    n_patients: int = 200,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    design_path: str | Path = DESIGN_DIR / "randomised.toml",
) -> dict[str, float]:
    """Seconds per trial to fit the same decision model by NUTS, one trial at a time (PyMC defaults)."""
    design = load_design(design_path, design_priors=False)
    idx = next(i for i, s in enumerate(design.scenarios) if s.role == "alternative")
    r = ts.run_chunk(design, design.scenarios[idx], n_patients, n_trials, DEFAULT_SEED, (0, idx, 0), per_trial=True)
    tr = r["trials"]
    weights = ts.horizon_weights(np.asarray(design.cuts_days), design.horizon_days)
    start = time.perf_counter()
    for i in range(n_trials):
        ts.nuts_prob_hr(
            tr["D1"][i : i + 1],
            tr["E1"][i : i + 1],
            tr["D0"][i : i + 1],
            tr["E0"][i : i + 1],
            design.prior_shape,
            design.prior_rate_days,
            weights,
            design.margin,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=i,
        )
    sec = time.perf_counter() - start
    return {"n_trials": float(n_trials), "seconds": sec, "seconds_per_trial": sec / n_trials}
