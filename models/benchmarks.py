"""Wall-clock benchmarks of the performance targets (``scripts/benchmark.py`` prints and writes them).

What is timed (targets in brackets):

* ``fit.py`` end to end with default settings and warm caches (second of two runs) [20 s];
* the exact engine on M = 20 reconstructed tables, 4 chains x 1,000 draws each, alone and with
  curves, summaries and diagnostics [3 s];
* the NUTS engine on one table, 4 chains x 1,000 draws after 1,000 tuning steps, with PyMC and
  with nutpie: first call (compilation + sampling) and second call on new data (the compiled
  model reused) [10 s after compilation];
* ``sensitivity.py`` on the default grid (122 scenarios over every reconstructed table) as a fresh
  install runs it: no MAP prior fits on disk yet (their quadrature and gamma-mixture fits run
  once, ``TXBAYES_CACHE`` pointed at an empty folder); every scenario, the commensurate one
  included, is exact (no MCMC) [60 s];
* the trial-planning fast path: simulated and analysed two-arm trials per second
  (``models.design.benchmark_fast_path``) [>= 10,000 per second];
* ``fit.py`` with the exact engine on one simulated cohort of 5,000 and of 20,000 patients
  (registry size), wall time and peak memory of the process [20,000: 60 s and 2 GB; the cost of
  the prior-predictive check no longer grows with the cohort, so time grows at most linearly];
* ``reconstruct.py`` with the default ``--method auto``, 20 draws, seed 1, every draw verified
  (:func:`reconstruction_benchmarks`; wall time and peak memory, 2 GB): Huang 2024 as shipped
  [as before: 63 s], and the synthetic letters of ``data/benchmarks/`` generated from their
  generator files — n = 38 with 24 first events and five KM/CIF figures [60 s], n = 54 with 25
  first events and one subgroup figure [60 s], n = 80 with 30 events [300 s].

The data are the reconstructed tables (``data/huang2024/reconstructed``) when present, otherwise
20 simulated stand-in tables of 21 patients with the study's entry and follow-up ranges (stated in
the output). This is a benchmark, not a test: nothing here asserts.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from models.constants import RECONSTRUCTED_DIR, REPO_ROOT
from models.errors import ConfigError

SIM_HAZARDS = {
    "relapse": [1 / 2000, 1 / 3000, 1 / 5000, 1 / 8000, 1 / 10000],
    "nrm": [1 / 3000, 1 / 4000, 1 / 6000, 1 / 8000, 1 / 9000],
    "gvhd": [1 / 800, 1 / 1000, 1 / 2000, 1 / 3000, 1 / 3000],
    "death_after_relapse": [1 / 150, 1 / 300, 1 / 700],
}


def _stand_in(folder: Path, m: int = 20) -> Path:
    from models.data import format_outcomes
    from models.simulate import simulate_cohort

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(m):
        df = simulate_cohort(
            21,
            SIM_HAZARDS,
            (0, 100, 180, 365, 730),
            (0, 90, 365),
            entry_range=(42, 227),
            followup_range=(156, 775),
            seed=1000 + i,
        ).round(0)
        format_outcomes(df).to_csv(folder / f"draw_{i + 1:03d}.csv", index=False)
    return folder


def _run_measured(cmd: list[str]) -> tuple[float, float, int]:
    """Run ``cmd``; return wall seconds, peak resident memory (GB) of that process, and its exit code."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 and proc.stderr is not None:
        sys.stderr.write(proc.stderr.read().decode(errors="replace"))
    return seconds, usage.ru_maxrss / 1024**2, proc.returncode  # ru_maxrss is in KiB on Linux


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _failed(cmd: list[str], code: int, stderr: str) -> None:
    lines = [ln for ln in (stderr or "").splitlines() if ln.strip()]
    raise ConfigError(
        " ".join(Path(c).name if i < 2 else c for i, c in enumerate(cmd[:2])),
        found=f"exit {code}: {lines[-1] if lines else 'no message'}",
        expected="a successful run of the benchmarked command",
    )


#: The reconstruction benchmarks: (name, study pack or generator file, target seconds).
RECONSTRUCTION_BENCHMARKS: tuple[tuple[str, Path, float], ...] = (
    ("huang2024", REPO_ROOT / "data" / "huang2024", 63.0),
    ("letter_n38", REPO_ROOT / "data" / "benchmarks" / "letter_n38" / "generator.toml", 60.0),
    ("letter_n54", REPO_ROOT / "data" / "benchmarks" / "letter_n54" / "generator.toml", 60.0),
    ("letter_n80", REPO_ROOT / "data" / "benchmarks" / "letter_n80" / "generator.toml", 300.0),
)


def reconstruction_benchmarks(
    folder: Path, *, names: tuple[str, ...] | None = None, say: Callable[[str], None] | None = None
) -> list[dict[str, object]]:
    """Time ``scripts/reconstruct.py --draws 20 --seed 1`` (method auto) on each benchmark study.

    A generator file is first turned into a pack in ``folder`` (:func:`models.synthetic_study.generate`,
    fixed seed). One row per study: wall seconds, peak memory (GB, target 2), the method used, the
    chains' acceptance rates, how long they ran and whether their diagnostics passed (a run that
    did not show mixing does not meet its target, whatever its time), read from the run's manifest.
    """
    import json

    from models.synthetic_study import generate

    rows: list[dict[str, object]] = []
    for name, source, target in RECONSTRUCTION_BENCHMARKS:
        if names is not None and name not in names:
            continue
        pack = source
        if source.suffix == ".toml":
            pack = folder / name
            generate(source, pack)
        out = folder / f"{name}_out"
        cmd = [sys.executable, str(REPO_ROOT / "scripts" / "reconstruct.py"), "--study", str(pack)]
        cmd += ["--draws", "20", "--seed", "1", "--out", str(out), "--quiet"]
        seconds, gb, code = _run_measured(cmd)
        if code != 0:
            _failed(cmd, code, "")
        m = json.loads((out / "manifest.json").read_text())
        method = m.get("method", {}).get("used", "exact")
        detail = f"method {method}"
        if "chain" in m:
            ch = m["chain"]
            acc = ", ".join(f"{c['acceptance_rate']:.2f}" for c in ch["chains"])
            rhat = [v for v in ch["split_rhat"].values() if v is not None]
            ess = [v for v in ch["ess_bulk"].values() if v is not None]
            verdict = "mixing shown" if ch["converged"] else "mixing NOT shown within the budget"
            detail += (
                f", {len(ch['chains'])} chains with companions, acceptance {acc}, "
                f"{ch['rounds'] * ch['thin_per_item']:,} proposals per item per chain, "
                f"window R-hat <= {max(rhat, default=float('nan')):.3f}, "
                f"ESS >= {min(ess, default=float('nan')):.0f}: {verdict}"
            )
        rows.append(
            {
                "task": "reconstruct.py, 20 verified draws",
                "setting": f"{name}: {detail}; peak memory {gb:.2f} GB (target 2 GB)",
                "seconds": round(seconds, 3),
                "target_seconds": target,
                "meets_target": seconds <= target and gb <= 2.0 and m.get("chain", {}).get("converged", True),
                "peak_memory_gb": round(gb, 3),
            }
        )
        if say:
            say(f"reconstruct.py {name} [{detail}] {seconds:.1f} s, {gb:.2f} GB")
    return rows


def run_benchmarks(
    *, skip_nutpie: bool = False, skip_sensitivity: bool = False, say: Callable[[str], None] | None = None
) -> pd.DataFrame:
    """Time every target (see the module docstring); one row per task with its target and verdict.

    ``say`` receives one line per finished task. A command that fails is a :class:`ConfigError`
    naming it, with its last line on stderr.
    """
    from models.data import load_outcome_draws
    from models.derived import conditional_curves, curves, summary_table
    from models.pwe import Model, diagnostics, hazard_draws

    tmp = Path(tempfile.mkdtemp(prefix="pwe-bench-"))
    real = RECONSTRUCTED_DIR.is_dir() and any(RECONSTRUCTED_DIR.glob("draw_*.csv"))
    data = RECONSTRUCTED_DIR if real else _stand_in(tmp / "draws")
    source = "reconstructed tables" if real else "20 simulated stand-in tables (21 patients)"
    rows: list[dict[str, object]] = []

    def add(task: str, setting: str, seconds: float, target: float | None) -> None:
        rows.append(
            {
                "task": task,
                "setting": setting,
                "seconds": round(seconds, 3),
                "target_seconds": target,
                "meets_target": None if target is None else seconds <= target,
            }
        )
        if say:
            say(f"{task} [{setting}] {seconds:.2f} s")

    # 1. fit.py end to end (default settings), warm caches: the second of two runs
    cmd = [
        sys.executable,
        str(REPO_ROOT / "scripts" / "fit.py"),
        "--data",
        str(data),
        "--out",
        str(tmp / "fit"),
        "--figures-dir",
        str(tmp / "figs"),
        "--quiet",
    ]
    for i in range(2):
        t = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            _failed(cmd, res.returncode, res.stderr)
        if i == 1:
            add("fit.py end to end", f"defaults, exact engine, figures, {source}", time.perf_counter() - t, 20.0)

    # 2. exact engine, M = 20
    tables = load_outcome_draws(data)[:20]
    model = Model(tables)
    model.fit(engine="exact", seed=1)  # warm-up (imports, allocations)
    holder: dict[str, Any] = {}
    add(
        "exact engine fit",
        f"M = {len(tables)} tables x 4 chains x 1000 draws",
        _timed(lambda: holder.setdefault("idata", model.fit(engine="exact", seed=2))),
        3.0,
    )

    def fit_and_derive() -> None:
        model.fit(engine="exact", seed=3)
        hz, _ = hazard_draws(holder["idata"])
        cv = curves(hz, model.cuts, model.relapse_death_cuts, 775)
        summary_table({"from_transplant": cv, "conditional": conditional_curves(cv, 102)})
        diagnostics(holder["idata"])

    add(
        "exact engine fit + curves + summaries + diagnostics",
        f"M = {len(tables)}",
        _timed(fit_and_derive),
        3.0,
    )

    # 3. NUTS, one table, 4 x 1000 after 1000 tuning steps
    one_a, one_b = Model(tables[0]), Model(tables[1])
    samplers = ["pymc"] + (["nutpie"] if not skip_nutpie else [])
    for s in samplers:
        kw = {"engine": "nuts", "sampler": s, "draws": 1000, "tune": 1000, "chains": 4}
        add(
            f"nuts ({s}) first call",
            "1 table, 4 x 1000, compilation + sampling",
            _timed(lambda kw=kw: one_a.fit(seed=1, **kw)),
            None,
        )
        add(
            f"nuts ({s}) after compilation",
            "1 table (new data), 4 x 1000",
            _timed(lambda kw=kw: one_b.fit(seed=2, **kw)),
            10.0,
        )

    # 4. sensitivity grid as a fresh install runs it: the default command, no MAP fits on disk yet
    if not skip_sensitivity:
        cmd = [
            sys.executable,
            str(REPO_ROOT / "scripts" / "sensitivity.py"),
            "--data",
            str(data),
            "--out",
            str(tmp / "sens"),
            "--figures",
            str(tmp / "sens_figs"),
            "--no-resume",
            "--quiet",
        ]
        env = {**os.environ, "TXBAYES_CACHE": str(tmp / "empty-map-cache")}
        t = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode != 0:
            _failed(cmd, res.returncode, res.stderr)
        n_sc = len(pd.read_csv(tmp / "sens" / "scenarios.csv"))
        add(
            "sensitivity.py default grid",
            f"{n_sc} scenarios, {source}, fresh install (no MAP fits cached)",
            time.perf_counter() - t,
            60.0,
        )

    # 5. fit.py on registry-size cohorts (exact engine, figures), time and peak memory
    from models.data import format_outcomes
    from models.simulate import simulate_cohort

    for n in (5_000, 20_000):
        big = tmp / f"cohort_{n}.csv"
        cohort = simulate_cohort(
            n,
            SIM_HAZARDS,
            (0, 100, 180, 365, 730),
            (0, 90, 365),
            entry_range=(42, 227),
            followup_range=(156, 775),
            seed=n,
        )
        format_outcomes(cohort.round(0)).to_csv(big, index=False)
        cmd = [
            sys.executable,
            str(REPO_ROOT / "scripts" / "fit.py"),
            "--data",
            str(big),
            "--out",
            str(tmp / f"fit_{n}"),
            "--figures-dir",
            str(tmp / f"figs_{n}"),
            "--quiet",
        ]
        seconds, gb, code = _run_measured(cmd)
        if code != 0:
            _failed(cmd, code, "")
        add(
            "fit.py on a simulated cohort",
            f"{n:,} patients, exact engine, figures; peak memory {gb:.2f} GB (target 2 GB at 20,000)",
            seconds,
            60.0 if n == 20_000 else None,
        )
        rows[-1]["peak_memory_gb"] = round(gb, 3)

    # 6. reconstruction: the shipped study and the synthetic letters of data/benchmarks/
    rows.extend(reconstruction_benchmarks(tmp / "reconstruct", say=say))

    # 7. trial planning: fast decision path
    from models.design import benchmark_fast_path

    bp = benchmark_fast_path(20_000)
    rows.append(
        {
            "task": "trial planning fast path",
            "setting": f"{bp['n_trials']:.0f} two-arm trials of {bp['n_patients']:.0f}, {bp['workers']:.0f} workers: "
            f"{bp['trials_per_second']:,.0f} trials/s (target >= 10,000/s)",
            "seconds": round(bp["seconds"], 3),
            "target_seconds": round(bp["n_trials"] / 10_000, 3),
            "meets_target": bp["trials_per_second"] >= 10_000,
        }
    )
    if say:
        say(f"trial planning fast path {bp['trials_per_second']:,.0f} trials/s")

    table = pd.DataFrame(rows)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load:.1f} at the end"
    )
    return table
