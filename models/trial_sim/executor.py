"""Running a grid: chunk tasks with spawned seeds, local or Dask execution, and adding chunk sums."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from models.executor import MAX_WORKERS, run_tasks
from models.progress import Progress, as_progress
from models.trial_sim.chunk import SUM_KEYS, run_chunk


# ------------------------------------------------------------------------------------ running a grid
@dataclass(frozen=True)
class Task:
    """One chunk: ``n_trials`` trials of ``n_patients`` under scenario ``scenario_index``."""

    design: Any  # models.design.Design
    scenario_index: int
    n_patients: int
    n_trials: int
    seed: int
    chunk: int

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.n_patients, self.scenario_index, self.chunk)


def run_task(task: Task) -> dict[str, Any]:
    """Run one chunk (top level, so process pools and Dask workers can import it)."""
    sc = task.design.scenarios[task.scenario_index]
    return run_chunk(task.design, sc, task.n_patients, task.n_trials, task.seed, task.key)


def make_tasks(
    design: Any,
    *,
    seed: int,
    n_grid: Sequence[int] | None = None,
    n_sims: int | None = None,
    chunk_trials: int | None = None,
) -> list[Task]:
    """Chunks for every (N, scenario): seeds spawned from ``seed`` with key (N, scenario, chunk)."""
    n_sims = design.n_sims if n_sims is None else n_sims
    size = design.chunk_trials if chunk_trials is None else chunk_trials
    tasks = []
    for n in design.n_grid if n_grid is None else n_grid:
        for s in range(len(design.scenarios)):
            for c, lo in enumerate(range(0, n_sims, size)):
                tasks.append(Task(design, s, int(n), min(size, n_sims - lo), seed, c))
    return tasks


def execute(
    tasks: Sequence[Any],
    *,
    workers: int = 2,
    dask_address: Any = None,
    progress: bool | Progress = False,
    fn: Callable[[Any], dict[str, Any]] = run_task,
) -> list[dict[str, Any]]:
    """Run chunks locally (``workers`` processes; 1 = in this process) or on a Dask cluster.

    ``fn`` runs one task (a top-level function, so process pools and Dask workers can import it;
    default :func:`run_task`). Results come back in the order of ``tasks`` whatever the scheduler,
    so sums are identical (:func:`models.executor.run_tasks`).
    """
    return run_tasks(
        fn,
        tasks,
        workers=max(1, min(workers, MAX_WORKERS)),
        dask=dask_address,
        progress=as_progress(progress, "plan"),
        label=f"{len(tasks)} simulation chunks",
    )


def collect(tasks: Sequence[Task], results: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Add chunk sums per (N, scenario) in task order: one row per cell with raw sums and calibration counts."""
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    for t, r in zip(tasks, results, strict=True):
        cell = cells.setdefault((t.n_patients, t.scenario_index), {k: 0.0 for k in SUM_KEYS} | {"cal_counts": 0.0})
        for k in (*SUM_KEYS, "cal_counts"):
            cell[k] = cell[k] + r[k]
    rows = []
    for (n, s), cell in cells.items():
        sc = tasks[0].design.scenarios[s]
        rows.append({"N": n, "scenario": sc.name, "role": sc.role, **cell})
    return pd.DataFrame(rows)
