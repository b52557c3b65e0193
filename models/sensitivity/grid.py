"""Running the grid (:func:`run_grid`): every scenario's summaries, resumable from a cache.

A scenario that fails is kept in the table with its error message, never dropped.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.commensurate_exact import ENGINE_LABEL, exact_eligible
from models.constants import CI_LEVEL
from models.derived import landmark_values
from models.errors import ToolkitError
from models.executor import connect, is_client, run_tasks
from models.intervals import TRANSITIONS, TransitionData, transition_data
from models.power_scaling import REPORTED
from models.prior_conflict import conflict_pvalue, conflict_table, predictive_pmf
from models.prior_library import load_prior_set
from models.prior_weight_tables import ess_summary, ess_table
from models.priors import PriorSet, all_gamma, weak
from models.progress import Progress, as_progress
from models.sensitivity.config import SensitivityConfig
from models.sensitivity.engine import _base_fit, _nuts_hazards, posterior_hazards
from models.sensitivity.scaling import base_power_scaling, hierarchical_power_scaling, with_agreement
from models.sensitivity.scenarios import GridScenario, build_scenarios, scenario_prior
from models.sensitivity.summaries import TIPPING_COLUMNS, tipping_points, verdict


@dataclass
class GridResult:
    table: pd.DataFrame
    power_scaling: pd.DataFrame
    tipping: pd.DataFrame
    verdict: list[str]
    config: SensitivityConfig
    n_tables: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def _quantity_summary(values: np.ndarray, prefix: str) -> dict[str, float]:
    a = (1 - CI_LEVEL) / 2
    lo, med, hi = np.quantile(values, [a, 0.5, 1 - a])
    return {
        f"{prefix}_mean": float(values.mean()),
        f"{prefix}_median": float(med),
        f"{prefix}_lower": float(lo),
        f"{prefix}_upper": float(hi),
    }


def _ess_and_conflict(
    prior: PriorSet,
    stats: Sequence[TransitionData],
    cuts: Sequence[float],
    relapse_death_cuts: Sequence[float],
    memo: dict | None = None,
    data_key: tuple | None = None,
) -> dict[str, float]:
    r"""First-year prior weight and Box's conflict p-value (median over tables) of relapse and NRM.

    Weight (:mod:`models.prior_weight`): the effective current sample size (events and patients added
    to these data by the prior, median over tables), the informative component's ESS and its smallest
    posterior weight, and the whole prior's ESS (ELIR or moment matching). The p-value
    :math:`\min\{1, 2\min(P(D \le d), P(D \ge d))\}` needs the exact negative-binomial (mixture)
    predictive pmf only up to the observed count :math:`d`, so the convolution is truncated there;
    results are memoised per (transition prior, data) because grid cells share most priors; the data
    are named by ``data_key`` (e.g. cuts, time origin and table indices), else by object identity.
    """
    memo = {} if memo is None else memo
    out: dict[str, float] = {}
    for k in ("relapse", "nrm"):
        spec = prior.per_interval(k, len(cuts))
        data = tuple(id(td) for td in stats) if data_key is None else data_key
        key = (k, repr(spec), tuple(cuts), data)
        if key not in memo:
            one = replace(prior, name="one", transitions={**weak(cuts, relapse_death_cuts).transitions, k: spec})
            ess = ess_summary(ess_table(one, cuts, relapse_death_cuts, stats)).set_index("transition").loc[k]
            pvals = []
            gammas = spec if all_gamma(spec) else None
            for td in stats:
                d = round(float(np.sum(td.events[k])))
                if gammas is not None:
                    pmf = predictive_pmf(gammas, td.exposure[k], max(d, 1))
                    pvals.append(conflict_pvalue(pmf, d)[2])
                else:  # other families: the library's simulated prior predictive
                    ct = conflict_table(one, td, n_sim=20_000, seed=0).set_index("transition")
                    pvals.append(float(ct.loc[k, "p_value"]))
            memo[key] = {
                f"pull_events_{k}": float(ess["pull_events"]),
                f"pull_patients_{k}": float(ess["pull_patients"]),
                f"informative_ess_events_{k}": float(ess["informative_ess_events"]),
                f"posterior_weight_min_{k}": float(ess["posterior_weight_min"]),
                f"ess_events_{k}": float(ess["ess_events"]),
                f"ess_patients_{k}": float(ess["ess_patients"]),
                f"conflict_p_{k}": float(np.median(pvals)),
            }
        out |= memo[key]
    return out


def _cache_path(cache_dir: Path | None, cfg: SensitivityConfig, sc: GridScenario, data_digest: str) -> Path | None:
    if cache_dir is None:
        return None
    return cache_dir / f"{cfg.digest[:12]}-{data_digest[:12]}-{sc.key()}.json"


def _identity(sc: GridScenario) -> dict[str, Any]:
    return {
        "scenario": sc.id,
        "factor": sc.factor,
        "level": sc.level,
        "kind": sc.kind,
        "prior": sc.prior_name,
        "a0": sc.a0,
        "w": sc.w,
        "centre": sc.centre,
        "weight": sc.weight,
        "cuts": ",".join(f"{c:g}" for c in sc.cuts),
        "from_transplant": sc.from_transplant,
        "n_tables": len(sc.tables),
    }


@dataclass
class _GridContext:
    """What every scenario task needs, sent once per worker (:func:`models.executor.run_tasks`).

    The caches only memoise pure functions under value keys, so a worker's copy gives the numbers
    this process would.
    """

    cfg: SensitivityConfig
    tables: Sequence[pd.DataFrame]
    prior_cache: dict
    stats_cache: dict[tuple, list[TransitionData]] = field(default_factory=dict)
    conflict_memo: dict = field(default_factory=dict)


def _scenario_task(ctx: _GridContext, sc: GridScenario) -> dict[str, Any]:
    """One scenario on a worker (top level, so process pools and Dask workers can import it)."""
    return _run_scenario(ctx.cfg, sc, ctx.tables, ctx.stats_cache, ctx.prior_cache, ctx.conflict_memo)


def _runs_here(ctx: _GridContext, sc: GridScenario) -> bool:
    """Whether a scenario runs in this process: the base (its fit is reused by the power-scaling
    rows) and NUTS scenarios (they start their own chain processes and reuse compiled models).

    Building the prior here also builds each named set for the scenario's cuts once, before the
    workers are sent the prior cache; a prior that fails is left to fail inside its scenario.
    """
    if sc.kind == "base":
        return True
    try:
        prior = scenario_prior(sc, ctx.prior_cache, ctx.cfg.relapse_death_cuts, ctx.cfg.day)
        return not exact_eligible(prior)
    except (ToolkitError, ValueError, FloatingPointError, np.linalg.LinAlgError):
        return False


def run_grid(
    cfg: SensitivityConfig,
    tables: Sequence[pd.DataFrame],
    *,
    progress: bool | Progress = True,
    cache_dir: Path | None = None,
    data_digest: str = "",
    priors: Mapping[str, PriorSet] | None = None,
    workers: int = 1,
    dask: Any = None,
) -> GridResult:
    """Run every scenario of the grid on the reconstructed ``tables`` (exact engine).

    ``priors`` supplies prior sets by name (others are resolved through the prior library);
    ``progress`` reports the steps (:mod:`models.progress`; ``True``: lines on standard error).
    Scenarios run on ``workers`` local processes or the Dask scheduler ``dask``
    (:func:`models.executor.run_tasks`); every scenario starts from the grid's seed, so the table
    is the same wherever it runs. Each finished scenario is cached in ``cache_dir`` at once, so an
    interrupted run resumes where it stopped.
    """
    if dask is None or is_client(dask):
        return _run_grid(cfg, tables, progress, cache_dir, data_digest, priors, workers, dask)
    client = connect(dask)  # a bad address is refused before anything runs
    try:
        return _run_grid(cfg, tables, progress, cache_dir, data_digest, priors, workers, client)
    finally:
        client.close()


def _run_grid(
    cfg: SensitivityConfig,
    tables: Sequence[pd.DataFrame],
    progress: bool | Progress,
    cache_dir: Path | None,
    data_digest: str,
    priors: Mapping[str, PriorSet] | None,
    workers: int,
    dask: Any,
) -> GridResult:
    t0 = time.perf_counter()
    rep = as_progress(progress)
    scenarios = build_scenarios(cfg, len(tables))
    rep.note(f"{len(scenarios)} scenarios over {len(tables)} table(s): building the prior sets they name")
    prior_cache: dict = dict(priors or {})
    # every prior set the grid names must exist before anything runs (one-line PriorError otherwise)
    for name in dict.fromkeys(sc.prior_name for sc in scenarios):
        if name not in prior_cache and (name, tuple(cfg.cuts)) not in prior_cache:
            prior_cache[(name, tuple(cfg.cuts))] = load_prior_set(name, cfg.cuts, cfg.relapse_death_cuts)
    ctx = _GridContext(cfg, tables, prior_cache)
    fit_cache: dict = {}  # the base scenario's fit, shared with its power-scaling
    # one analysis per key (a level equal to the base is the base's analysis under another name)
    sharing: dict[str, int] = {}
    for sc in scenarios:
        sharing[sc.key()] = sharing.get(sc.key(), 0) + 1
    results: dict[str, dict[str, Any]] = {}
    todo: dict[str, GridScenario] = {}  # the first scenario of each key still to run
    for sc in scenarios:
        if sc.key() in results or sc.key() in todo:
            continue
        cpath = _cache_path(cache_dir, cfg, sc, data_digest)
        if cpath is not None and cpath.exists():
            results[sc.key()] = json.loads(cpath.read_text())
        else:
            todo[sc.key()] = sc
    done = sum(sharing[k] for k in results)
    if done:
        rep.advance("scenarios", done, len(scenarios))

    def store(sc: GridScenario, result: dict[str, Any]) -> None:
        nonlocal done
        cpath = _cache_path(cache_dir, cfg, sc, data_digest)
        if cpath is not None:
            cpath.parent.mkdir(parents=True, exist_ok=True)
            tmp = cpath.with_suffix(".tmp")
            tmp.write_text(json.dumps(result, default=float))
            os.replace(tmp, cpath)
        results[sc.key()] = result
        done += sharing[sc.key()]
        rep.advance("scenarios", done, len(scenarios))

    where = {key: _runs_here(ctx, sc) for key, sc in todo.items()}
    here = [sc for key, sc in todo.items() if where[key]]
    away = [sc for key, sc in todo.items() if not where[key]]
    for sc in here:
        store(sc, _run_scenario(cfg, sc, tables, ctx.stats_cache, prior_cache, ctx.conflict_memo, fit_cache))
    run_tasks(
        _scenario_task,
        away,
        workers=workers,
        dask=dask,
        shared=ctx,
        on_result=lambda i, result: store(away[i], result),
    )
    rows = [{**_identity(sc), **results[sc.key()]} for sc in scenarios]
    rep.note("power-scaling and prior-data agreement")
    table = pd.DataFrame(rows)
    tip = tipping_points(table, cfg) if cfg.grid is not None else pd.DataFrame(columns=list(TIPPING_COLUMNS))
    ps = with_agreement(base_power_scaling(cfg, tables, prior_cache, fit_cache), cfg, tables, prior_cache, cfg.prior)
    if cfg.power_scaling_prior:
        try:
            ps_prior = prior_cache.get(cfg.power_scaling_prior) or load_prior_set(
                cfg.power_scaling_prior, cfg.cuts, cfg.relapse_death_cuts
            )
            prior_cache.setdefault(cfg.power_scaling_prior, ps_prior)
            h_ps = hierarchical_power_scaling(cfg, tables, ps_prior)
            ps = pd.concat(
                [ps, with_agreement(h_ps, cfg, tables, prior_cache, cfg.power_scaling_prior)], ignore_index=True
            )
        except ToolkitError as exc:  # reported, never silently dropped
            failed = {"prior": cfg.power_scaling_prior, "engine": ENGINE_LABEL, "verdict": f"failed: {exc}"}
            ps = pd.concat([ps, pd.DataFrame([failed])], ignore_index=True)
    res = GridResult(table, ps, tip, [], cfg, len(tables), time.perf_counter() - t0)
    res.verdict = verdict(res)
    return res


def _run_scenario(
    cfg: SensitivityConfig,
    sc: GridScenario,
    tables: Sequence[pd.DataFrame],
    stats_cache: dict[tuple, list[TransitionData]],
    prior_cache: dict,
    conflict_memo: dict | None = None,
    fit_cache: dict | None = None,
) -> dict[str, Any]:
    """Summaries of one scenario; a failure is returned as its status, never raised.

    The base scenario is the fit of ``scripts/fit.py`` with the grid's seed
    (:func:`models.fit_recipe.fit_draws`): its quantities, claims and prior weight are the fit's, number
    for number. The other scenarios use common random numbers among themselves.
    """
    result: dict[str, Any] = {}
    try:
        skey = (sc.cuts, sc.from_transplant)
        if skey not in stats_cache:
            stats_cache[skey] = [
                transition_data(t, sc.cuts, cfg.relapse_death_cuts, from_transplant=sc.from_transplant) for t in tables
            ]
        stats = [stats_cache[skey][m] for m in sc.tables]
        nint = {k: len(cfg.relapse_death_cuts) if k == "death_after_relapse" else len(sc.cuts) for k in TRANSITIONS}
        prior = scenario_prior(sc, prior_cache, cfg.relapse_death_cuts, cfg.day)
        prior.validate(nint)
        # common random numbers: every scenario starts from the same stream, so differences between
        # scenarios reflect the priors and data, not Monte Carlo noise (smooth tipping contours)
        rng = np.random.default_rng(np.random.SeedSequence(cfg.seed))
        if sc.kind == "base" and exact_eligible(prior):
            hz = _base_fit(cfg, sc, tables, prior, {} if fit_cache is None else fit_cache).hazards
            result["engine"] = "exact (the fit)" if prior.conjugate else "exact (quadrature; the fit)"
        elif exact_eligible(prior):
            # a single-table scenario gets as many draws as the pooled ones
            per_table = cfg.draws_per_table * len(tables) // len(sc.tables)
            hz = posterior_hazards(prior, stats, nint, per_table, rng)
            result["engine"] = "exact" if prior.conjugate else ENGINE_LABEL
        else:
            hz, diag = _nuts_hazards(cfg, sc, [tables[m] for m in sc.tables], prior)
            result.update(diag)
        days = sorted({cfg.day, *(c.day for c in cfg.claims)})
        lm = landmark_values(hz, sc.cuts, cfg.relapse_death_cuts, days)
        for q in REPORTED:
            result.update(_quantity_summary(lm[q][cfg.day], q))
        for c in cfg.claims:
            result[f"P[{c.name}]"] = float(np.mean(c.holds(lm[c.quantity][c.day])))
        result.update(
            _ess_and_conflict(prior, stats, sc.cuts, cfg.relapse_death_cuts, conflict_memo, data_key=(skey, sc.tables))
        )
        result["status"] = "ok" if result.get("diagnostics_ok", True) else "ok, NUTS diagnostics failed"
    except ToolkitError as exc:
        result["status"] = f"failed: {exc}"
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        result["status"] = f"failed: {type(exc).__name__}: {exc}"
    return result
