"""One chunk of a design: hazards per trial, drawn patients, and the interim and final decisions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from models.constants import DAYS_PER_YEAR
from models.trial_sim.analysis import (
    events_exposure,
    horizon_weights,
    logrank_z,
    one_sample_logrank_z,
    prob_cir_below,
    prob_hr_below,
)
from models.trial_sim.sampling import sample_competing, sample_pwe_rows, shift_cuts

# --------------------------------------------------------------------------- one chunk of a design
#: Candidate posterior-probability cut-offs for the calibration (step 0.0005).
CAL_THRESHOLDS = np.round(np.arange(0.5, 0.99951, 0.0005), 4)
#: Sums each chunk returns (rates and means are formed after adding chunks in a fixed order).
SUM_KEYS = (
    "n",
    "success",
    "success_freq",
    "success_efs",
    "stop_efficacy",
    "stop_futility",
    "events",
    "events_sq",
    "deaths",
    "deaths_sq",
    "duration",
    "duration_sq",
)


def _kth(x: np.ndarray, k: int) -> np.ndarray:
    """The ``k``-th smallest value per row (1-based), ``inf`` when fewer than ``k`` are finite."""
    if k > x.shape[1]:
        return np.full(x.shape[0], np.inf)
    return np.partition(x, k - 1, axis=1)[:, k - 1]


def chunk_hazards(design, scenario, T: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Hazards per trial on the clock *days since entry*: control and treatment arms, ``(T, J)``."""
    from models.constants import DEFAULT_CUTS

    cuts, kept = shift_cuts(DEFAULT_CUTS, design.entry_day)
    J = cuts.size
    from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS as dcuts

    K = len(dcuts)
    out = {
        "cuts": cuts,
        "dcuts": np.asarray(dcuts, float),
        "ctrl_r": np.full((T, J), design.control_relapse),
        "ctrl_n": np.full((T, J), design.control_nrm),
        "ctrl_d": np.full((T, K), design.control_after_relapse),
    }
    idx = None
    if scenario.control_draws is not None:
        idx = rng.integers(0, scenario.control_draws["relapse"].shape[0], T)
        out["ctrl_r"] = scenario.control_draws["relapse"][idx][:, kept]
        out["ctrl_n"] = scenario.control_draws["nrm"][idx][:, kept]
        out["ctrl_d"] = scenario.control_draws["death_after_relapse"][idx]
    if scenario.draws is not None:
        if not (scenario.shared and idx is not None):
            idx = rng.integers(0, scenario.draws["relapse"].shape[0], T)
        out["trt_r"] = scenario.draws["relapse"][idx][:, kept]
        out["trt_n"] = scenario.draws["nrm"][idx][:, kept]
        out["trt_d"] = scenario.draws["death_after_relapse"][idx]
    else:
        if scenario.hr_lognormal is not None:
            hr = np.exp(rng.normal(scenario.hr_lognormal[0], scenario.hr_lognormal[1], T))[:, None]
        else:
            hr = scenario.hr_relapse
        out["trt_r"] = out["ctrl_r"] * hr
        out["trt_n"] = out["ctrl_n"] * scenario.hr_nrm
        out["trt_d"] = out["ctrl_d"]
    for k in ("trt_r", "trt_n", "trt_d", "ctrl_r", "ctrl_n", "ctrl_d"):
        out[k] = np.maximum(out[k], 1e-12)  # a zero hazard would make the inverse CDF divide by zero
    return out


def draw_patients(design, scenario, n_patients: int, n_trials: int, rng: np.random.Generator) -> dict[str, Any]:
    """Draw ``n_trials`` trials of ``n_patients`` (treatment arm first): what :func:`decide` analyses.

    Returns ``u`` (first event time after entry), ``cause`` (1 relapse, 2 NRM), ``x`` (death after
    relapse, days since relapse; ``inf`` without relapse), ``entry`` (calendar day of entry),
    ``drop`` (time to dropout), all ``(T, N)``, ``n1`` (treatment-arm size) and ``acc`` (accrual days).
    """
    T, N = n_trials, n_patients
    hz = chunk_hazards(design, scenario, T, rng)
    n1 = design.n_treatment(N)
    u, cause = sample_competing(hz["trt_r"], hz["trt_n"], hz["cuts"], n1, rng)
    if N > n1:
        u0, c0 = sample_competing(hz["ctrl_r"], hz["ctrl_n"], hz["cuts"], N - n1, rng)
        u, cause = np.hstack([u, u0]), np.hstack([cause, c0])
    # death after relapse (clock reset at relapse), drawn only for patients who relapse
    x = np.full((T, N), np.inf)
    for cols, lam in ((slice(0, n1), hz["trt_d"]), (slice(n1, N), hz["ctrl_d"])):
        rows, pos = np.nonzero(cause[:, cols] == 1)
        x[rows, pos + cols.start] = sample_pwe_rows(lam, hz["dcuts"], rows, rng)
    acc = design.accrual_days(N)
    entry = rng.uniform(0.0, acc, (T, N))
    drop = (
        rng.standard_exponential((T, N)) * (DAYS_PER_YEAR / design.dropout_per_year)
        if design.dropout_per_year > 0
        else np.full((T, N), np.inf)
    )
    return {"u": u, "cause": cause, "x": x, "entry": entry, "drop": drop, "n1": n1, "acc": acc}


def run_chunk(
    design, scenario, n_patients: int, n_trials: int, seed: int, key: tuple[int, ...], *, per_trial: bool = False
) -> dict[str, Any]:
    """Simulate and analyse ``n_trials`` trials of ``n_patients`` under ``scenario``.

    The generator is ``SeedSequence(seed, spawn_key=key)``, so a chunk's result depends only on
    (seed, key), never on the worker that runs it. Returns the sums of :data:`SUM_KEYS` and
    ``cal_counts`` (successes at each of :data:`CAL_THRESHOLDS`); with ``per_trial`` also the
    results of each trial (``trials``, see :func:`decide`).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
    return decide(design, draw_patients(design, scenario, n_patients, n_trials, rng), per_trial=per_trial)


def decide(design, patients: dict[str, Any], *, per_trial: bool = False) -> dict[str, Any]:
    """Interim and final analyses of drawn trials (:func:`draw_patients`): chunk sums, optionally per trial.

    With ``per_trial`` the result also holds ``trials``: the final-analysis statistics
    (``D1, E1, D0, E0, p, z, events``), the decisions ``success`` (Bayesian rule with the interim)
    and ``success_freq`` (the test at the final analysis), and the realised ``n_events``,
    ``n_deaths`` and ``duration`` (at the interim for trials stopped there).
    """
    u, cause, x, entry, drop = (patients[k] for k in ("u", "cause", "x", "entry", "drop"))
    n1, acc = patients["n1"], patients["acc"]
    T, N = u.shape
    relapse, nrm = cause == 1, cause == 2
    cap = acc + design.max_followup_days
    if design.analysis == "calendar":
        A = np.full(T, acc + design.min_followup_days)
    else:
        cal = np.where(relapse & (u <= drop), entry + u, np.inf)
        # the analysis includes the target event itself (1e-6 day guards the float round trip entry + u - entry)
        A = np.minimum(_kth(cal, design.target_events) + 1e-6, cap)
    cuts = np.asarray(design.cuts_days, float)
    weights = horizon_weights(cuts, design.horizon_days)
    treat = np.arange(N) < n1

    def analyse(at: np.ndarray, logrank: bool) -> dict[str, np.ndarray]:
        cens = np.minimum(drop, at[:, None] - entry)
        obs = np.clip(np.minimum(u, cens), 0.0, None)
        rel = relapse & (u <= cens)
        nr = nrm & (u <= cens)
        dead = (nr | (rel & (u + x <= cens))).sum(axis=1)
        res: dict[str, np.ndarray] = {"events": rel.sum(axis=1).astype(float), "deaths": dead.astype(float)}
        if design.kind == "randomised":
            D1, E1 = events_exposure(obs[:, :n1], rel[:, :n1], cuts)
            D0, E0 = events_exposure(obs[:, n1:], rel[:, n1:], cuts)
            res["p"] = prob_hr_below(D1, E1, D0, E0, design.prior_shape, design.prior_rate_days, weights, design.margin)
            efs = rel | nr
            F1, _ = events_exposure(obs[:, :n1], efs[:, :n1], cuts)
            F0, _ = events_exposure(obs[:, n1:], efs[:, n1:], cuts)
            res["p_efs"] = prob_hr_below(
                F1, E1, F0, E0, design.prior_shape, design.prior_rate_days, weights, design.margin
            )
            res.update(D1=D1, E1=E1, D0=D0, E0=E0)
            if logrank:
                res["z"] = logrank_z(obs, rel, treat)
        else:
            dr, dn, ex = res["events"], nr.sum(axis=1).astype(float), obs.sum(axis=1)
            res["p"] = prob_cir_below(
                dr,
                dn,
                ex,
                design.prior_shape,
                design.nrm_prior_shape,
                design.prior_rate_days,
                design.horizon_days,
                design.benchmark_cir,
            )
            res["p_efs"] = np.full(T, np.nan)
            res.update(D1=dr[:, None], E1=ex[:, None], Dn=dn)
            if logrank:
                res["z"] = one_sample_logrank_z(dr, design.control_relapse * ex)
        return res

    final = analyse(A, True)
    stop_eff = np.zeros(T, bool)
    stop_fut = np.zeros(T, bool)
    duration, events, deaths = A.copy(), final["events"], final["deaths"]
    if design.interim is not None:
        info, fut, eff = design.interim
        if design.analysis == "calendar":
            Ai = info * A
        else:
            Ai = np.minimum(_kth(cal, max(1, math.ceil(info * design.target_events))) + 1e-6, cap)
        inter = analyse(Ai, False)
        stop_eff = inter["p"] > eff
        stop_fut = ~stop_eff & (inter["p"] < fut)
        stopped = stop_eff | stop_fut
        duration = np.where(stopped, Ai, A)
        events = np.where(stopped, inter["events"], events)
        deaths = np.where(stopped, inter["deaths"], deaths)
    go_on = ~(stop_eff | stop_fut)
    success = stop_eff | (go_on & (final["p"] > design.threshold))
    z_crit = stats.norm.ppf(1 - design.alpha / 2)
    success_freq = final["z"] < -z_crit
    cont = np.sort(final["p"][go_on])
    cal_counts = stop_eff.sum() + cont.size - np.searchsorted(cont, CAL_THRESHOLDS, side="right")
    out: dict[str, Any] = {
        "n": float(T),
        "success": float(success.sum()),
        "success_freq": float(success_freq.sum()),
        "success_efs": float(np.nansum(stop_eff | (go_on & (final["p_efs"] > design.threshold)))),
        "stop_efficacy": float(stop_eff.sum()),
        "stop_futility": float(stop_fut.sum()),
        "events": float(events.sum()),
        "events_sq": float((events**2).sum()),
        "deaths": float(deaths.sum()),
        "deaths_sq": float((deaths**2).sum()),
        "duration": float(duration.sum()),
        "duration_sq": float((duration**2).sum()),
        "cal_counts": cal_counts.astype(float),
    }
    if per_trial:
        out["trials"] = {k: final[k] for k in ("D1", "E1", "D0", "E0", "p", "z", "events") if k in final}
        out["trials"].update(
            success=success, success_freq=success_freq, n_events=events, n_deaths=deaths, duration=duration
        )
    return out
