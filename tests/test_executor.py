"""One executor for every grid: task order, and identical tables serially, on 2 processes and on Dask.

The planner's own equality checks are in test_design.py / test_plan_trial_script.py; here the
executor itself, the sensitivity grid (scenarios) and the reconstruction (path configurations).
"""

from __future__ import annotations

import importlib.util
import json
import operator
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from models.constants import RECONSTRUCTED_DIR
from models.data import load_outcome_draws, load_published
from models.errors import ConfigError
from models.executor import MAX_WORKERS, run_tasks
from models.reconstruct import load_constraints, reconstruct
from models.sensitivity import load_config, run_grid
from models.study import load_study
from models.synthetic_study import publish, simulate_outcomes


def _script(name: str):
    return importlib.import_module(f"models.cli.{name}")


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        yield cl


# ------------------------------------------------------------------------------------ the executor
@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_back_in_task_order(workers):
    tasks = list(range(40))
    seen: list[int] = []
    out = run_tasks(operator.mul, tasks, workers=workers, shared=3, on_result=lambda i, r: seen.append(i))
    assert out == [3 * t for t in tasks]
    assert sorted(seen) == tasks
    assert run_tasks(abs, [-2, 5, -7], workers=workers) == [2, 5, 7]
    assert run_tasks(abs, [], workers=workers) == []


def test_a_failing_task_or_callback_stops_the_run():
    with pytest.raises(ZeroDivisionError):
        run_tasks(operator.truediv, [1, 0, 2], workers=2, shared=1)

    def stop(i, r):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        run_tasks(abs, list(range(10)), workers=2, on_result=stop)


def test_workers_and_dask_address_errors_are_one_line_config_errors():
    for bad in (0, MAX_WORKERS + 1):
        with pytest.raises(ConfigError, match="workers"):
            run_tasks(abs, [1], workers=bad)
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    for address in ("nonsense", "foo://host:1"):
        with pytest.raises(ConfigError) as exc:
            run_tasks(abs, [1], dask=address)
        assert exc.value.source == "dask" and "\n" not in str(exc.value)


def test_results_come_back_in_task_order_on_a_dask_cluster(cluster):
    tasks = list(range(40))
    assert run_tasks(operator.mul, tasks, dask=cluster, shared=3) == [3 * t for t in tasks]
    assert run_tasks(abs, [-2, 5, -7], dask=cluster) == [2, 5, 7]


# --------------------------------------------------------------------------------- sensitivity grid
SMALL_GRID = """
[base]
prior = "literature"
cuts = [0, 100, 180, 365, 730]
relapse_death_cuts = [0, 90, 365]
draws_per_table = 50
seed = 20240708

[[factors]]
name = "prior set"
kind = "prior"
levels = ["weak", "literature"]

[[factors]]
name = "time origin"
kind = "from_transplant"
levels = [false, true]
"""


@pytest.fixture(scope="module")
def small_grid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    (folder / "grid.toml").write_text(SMALL_GRID)
    tables = load_outcome_draws(RECONSTRUCTED_DIR)[:2]
    cfg = load_config(folder / "grid.toml")
    return cfg, tables, run_grid(cfg, tables, progress=False)


def _same_grid(a, b) -> None:
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    pd.testing.assert_frame_equal(a.power_scaling, b.power_scaling, check_exact=True)
    pd.testing.assert_frame_equal(a.tipping, b.tipping, check_exact=True)
    assert a.verdict == b.verdict


def test_grid_on_two_processes_is_the_serial_grid_and_resumes(small_grid, tmp_path):
    cfg, tables, serial = small_grid
    assert len(serial.table) == 5 and (serial.table["status"] == "ok").all()  # 3 analyses, 2 shared
    cache = tmp_path / "cache"
    two = run_grid(cfg, tables, progress=False, workers=2, cache_dir=cache, data_digest="d")
    _same_grid(serial, two)
    assert len(list(cache.glob("*.json"))) == 3  # every analysis cached as it finished
    again = run_grid(cfg, tables, progress=False, workers=2, cache_dir=cache, data_digest="d")
    _same_grid(serial, again)


def test_grid_on_a_dask_cluster_is_the_serial_grid(small_grid, cluster):
    cfg, tables, serial = small_grid
    _same_grid(serial, run_grid(cfg, tables, progress=False, dask=cluster))


# ----------------------------------------------------------------------------------- reconstruction
@pytest.fixture(scope="module")
def synthetic_constraints():
    """A synthetic study that reconstructs in about a second (n = 24; 8 configurations)."""
    folder = Path(tempfile.mkdtemp())
    try:
        truth = simulate_outcomes(24, 3)
        paths = publish(truth, folder, seed=3)
        pack = load_study(paths["study"].parent)
        pub = load_published(paths["published"], study=pack)
        yield load_constraints(paths["constraints"], pub, pack.load_baseline(paths["baseline"]), study=pack)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _tables(rec) -> tuple[list[bytes], str]:
    return [d.table.to_csv(index=False).encode() for d in rec.draws], json.dumps(rec.report, default=str)


def test_reconstruction_on_two_processes_gives_the_same_tables(synthetic_constraints):
    serial = reconstruct(synthetic_constraints, draws=4, seed=2)
    assert _tables(reconstruct(synthetic_constraints, draws=4, seed=2, workers=2)) == _tables(serial)


def test_reconstruction_on_a_dask_cluster_gives_the_same_tables(synthetic_constraints, cluster):
    serial = reconstruct(synthetic_constraints, draws=4, seed=2)
    assert _tables(reconstruct(synthetic_constraints, draws=4, seed=2, dask=cluster)) == _tables(serial)


# ------------------------------------------------------------------------------------------ scripts
@pytest.mark.parametrize("name", ["sensitivity", "reconstruct"])
def test_scripts_bound_workers_and_name_a_bad_dask_address(name, tmp_path, capsys):
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    script = _script(name)
    for bad in ("0", str(MAX_WORKERS + 1)):
        with pytest.raises(SystemExit) as exc:
            script.main(["--workers", bad])
        assert exc.value.code == 2
    capsys.readouterr()
    assert script.main(["--dask", "nonsense", "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--dask" in err[0] and "nonsense" in err[0]
    assert not (tmp_path / "out").exists()
