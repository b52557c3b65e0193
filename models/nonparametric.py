r"""Nonparametric estimates from lifelines, with the interval R reports.

The study used R's ``survival::survfit``, whose default ``conf.type = "log"`` interval is

.. math::  \exp\{\log \hat S(t) \pm z\, \widehat{\mathrm{se}}[\log \hat S(t)]\},\qquad
           \widehat{\mathrm{se}}^2 = \sum_{t_j \le t} \frac{d_j}{n_j (n_j - d_j)}

(Greenwood), truncated at 1. lifelines' own default band is the log-log one, so the log interval is
formed here from lifelines' event table (numbers at risk :math:`n_j` and events :math:`d_j`).
Cumulative incidence with competing risks comes from lifelines' Aalen–Johansen estimator.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import AalenJohansenFitter, KaplanMeierFitter

from models.constants import Z_CI


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% interval (proportions in [0, 1])."""

    estimate: float
    lower: float
    upper: float
    greenwood_var_log: float = float("nan")


def _at_risk(duration, event, entry) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Arrays for lifelines; with ``entry``, rows that leave on their entry day are dropped.

    Under left truncation a patient observed on :math:`(e, t]` with :math:`t \\le e` (an event or
    censoring on the day of entry, as whole-day data produce) contributes no time at risk; lifelines
    refuses such rows ("birth time must be less than time of death"), as R's ``Surv(start, stop)``
    does, so they are left out of the risk sets here.
    """
    d = np.asarray(duration, float)
    ev = np.asarray(event)
    if entry is None:
        return d, ev, None
    e = np.asarray(entry, float)
    keep = d > e
    return d[keep], ev[keep], e[keep]


def kaplan_meier(duration, event, entry=None) -> KaplanMeierFitter:
    """Fit lifelines' KaplanMeierFitter (``entry`` for delayed entry; see :func:`_at_risk`)."""
    d, ev, e = _at_risk(duration, event, entry)
    kmf = KaplanMeierFitter()
    kmf.fit(d, ev > 0, entry=e)
    return kmf


def km_at(duration, event, t: float, entry=None) -> Estimate:
    """Kaplan–Meier survival at ``t`` with R's log-transformed 95% Greenwood interval."""
    kmf = kaplan_meier(duration, event, entry)
    table = kmf.event_table
    times = table.index.to_numpy(float)
    n = table["at_risk"].to_numpy(float)
    d = table["observed"].to_numpy(float)
    keep = (times <= t) & (d > 0)
    s = float(np.prod(1.0 - d[keep] / n[keep])) if keep.any() else 1.0
    s_lifelines = float(kmf.survival_function_at_times(t).iloc[0])
    if not np.isclose(s, s_lifelines, atol=1e-12):  # guard: our product must be lifelines' estimate
        raise AssertionError(f"KM mismatch with lifelines at t={t}: {s} vs {s_lifelines}")
    with np.errstate(divide="ignore", invalid="ignore"):
        var = float(np.sum(d[keep] / (n[keep] * (n[keep] - d[keep])))) if keep.any() else 0.0
    if s == 0 or not np.isfinite(var):
        return Estimate(s, 0.0 if s == 0 else float("nan"), float("nan") if s > 0 else 0.0, var)
    se = np.sqrt(var)
    return Estimate(s, float(s * np.exp(-Z_CI * se)), float(min(1.0, s * np.exp(Z_CI * se))), var)


def km_curve(duration, event, entry=None) -> pd.DataFrame:
    """The KM step function with log-transformed 95% band: columns time, estimate, lower, upper."""
    kmf = kaplan_meier(duration, event, entry)
    table = kmf.event_table
    times = table.index.to_numpy(float)
    n = table["at_risk"].to_numpy(float)
    d = table["observed"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(d > 0, 1.0 - d / n, 1.0)
        s = np.cumprod(factor)
        var = np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0))
        se = np.sqrt(var)
        lower = s * np.exp(-Z_CI * se)
        upper = np.minimum(1.0, s * np.exp(Z_CI * se))
    return pd.DataFrame({"time": times, "estimate": s, "lower": lower, "upper": upper})


def aalen_johansen(duration, event, cause: int, entry=None) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of ``cause`` (lifelines); columns time, estimate.

    lifelines breaks tied event times by a tiny deterministic jitter (seeded); the returned curve is
    evaluated on the original event times. Rows leaving on their entry day are dropped (:func:`_at_risk`).
    """
    d, ev, e = _at_risk(duration, event, entry)
    ajf = AalenJohansenFitter(calculate_variance=False, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ajf.fit(d, ev.astype(int), event_of_interest=cause, entry=e)
    cif = ajf.cumulative_density_.iloc[:, 0]
    return pd.DataFrame({"time": cif.index.to_numpy(float), "estimate": cif.to_numpy(float)})


def cif_at(duration, event, cause: int, t: float, entry=None) -> float:
    """Aalen–Johansen cumulative incidence of ``cause`` at time ``t``."""
    curve = aalen_johansen(duration, event, cause, entry)
    before = curve[curve["time"] <= t]
    return float(before["estimate"].iloc[-1]) if len(before) else 0.0
