r"""What a prior set weighs, per transition and interval, and where it outweighs the data.

Tables built from the interval measures of :mod:`models.prior_weight` (ELIR / moment ESS, the
informative component's ESS and its prior and posterior weights, the pull given the data, the
variance-matching ECSS) for a whole :class:`~models.priors.PriorSet`, their first-year totals, the
sentence that reports them (leading with the pull on *this* posterior), and the flag of quantities
that rest on prior-driven intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.constants import DEFAULT_CUTS
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS, TRANSITIONS, TransitionData, interval_labels
from models.prior_weight import component_weights, ecss, informative_part, mixture_ess, pull
from models.priors import PriorSet, all_gamma, weak_interval_priors

#: One year, in days: the first-year intervals are those starting before it.
ONE_YEAR: float = 365.0


def _sample_moments(spec: Any, n: int, seed: int = 0) -> list[tuple[float, float]]:
    x = spec.sample(np.random.default_rng(seed), 40_000, n)
    return [(float(m), float(v)) for m, v in zip(x.mean(0), x.var(0), strict=True)]


def ess_table(
    prior_set: PriorSet,
    cuts: Sequence[float] | np.ndarray = DEFAULT_CUTS,
    relapse_death_cuts: Sequence[float] | np.ndarray = DEFAULT_RELAPSE_DEATH_CUTS,
    stats: Sequence[TransitionData] = (),
) -> pd.DataFrame:
    r"""What every interval prior weighs, before and (with ``stats``) after this cohort's data.

    Columns: transition, interval, first_year (starts before day 365), part (``informative``,
    ``robust mixture``, ``baseline`` or ``other``: :func:`models.prior_conflict.interval_parts`),
    prior_mean_per_year; ess_events, ess_days, ess_method (whole prior: :func:`mixture_ess`, ELIR where
    defined, else moment matching; samples for non-gamma priors); informative_ess_events,
    informative_ess_days, prior_weight (the informative part and its prior weight; 0 for baseline
    intervals); with ``stats``: data_events, data_exposure_days, posterior_weight, pull_events,
    pull_days (:func:`pull`), ecss_events, ecss_days (:func:`ecss`) — medians over the tables, relative
    to the interval's weakly informative baseline; ref_days_per_patient :math:`u_j` and the day columns divided by it
    (``*_patients``). First-year totals: :func:`ess_summary`.
    """
    from models.prior_conflict import interval_parts

    rows = []
    prov = getattr(prior_set, "provenance", {})
    for k in TRANSITIONS:
        c = np.asarray(relapse_death_cuts if k == "death_after_relapse" else cuts, float)
        hi = np.append(c[1:], np.inf)
        length = np.clip(np.minimum(hi, ONE_YEAR) - c, 0, None)
        u = np.asarray(prov[k].followup_per_patient) if k in prov and prov[k].followup_per_patient else length
        u = np.where(u > 0, u, length)
        base = weak_interval_priors(c)
        spec = prior_set.per_interval(k, c.size)
        gammas = spec if all_gamma(spec) else None
        parts = interval_parts(prior_set, k, c) if gammas is not None else []
        mv = _sample_moments(spec, c.size) if gammas is None else []
        for j, lab in enumerate(interval_labels(c)):
            row: dict[str, Any] = {"transition": k, "interval": lab, "first_year": bool(c[j] < ONE_YEAR)}
            if gammas is not None:
                p, pt = gammas[j], parts[j]
                robust = pt.robust is not None
                part = "robust mixture" if robust else ("informative" if pt.informative is not None else "baseline")
                ev, days, method = mixture_ess(p)
                if part == "baseline":
                    i_ev = i_days = w_prior = 0.0
                else:
                    i_ev, i_days, _ = mixture_ess(informative_part(p, robust))
                    w_prior = pt.w
                row |= {"part": part, "prior_mean_per_year": p.mean * 365.0}
            else:
                m, v = mv[j]
                ev, days, method, i_ev, i_days, w_prior = m * m / v, m / v, "moment (samples)", np.nan, np.nan, np.nan
                row |= {"part": "other", "prior_mean_per_year": m * 365.0}
            row |= {
                "ess_events": ev,
                "ess_days": days,
                "ess_method": method,
                "informative_ess_events": i_ev,
                "informative_ess_days": i_days,
                "prior_weight": w_prior,
            }
            if stats:
                d = np.array([td.events[k][j] for td in stats], float)
                e = np.array([td.exposure[k][j] for td in stats], float)
                row |= {"data_events": float(np.median(d)), "data_exposure_days": float(np.median(e))}
                if gammas is not None:
                    p = gammas[j]
                    n_inf = p.n_components - 1 if robust else p.n_components
                    w_post = [float(component_weights(p, dd, ee)[:n_inf].sum()) for dd, ee in zip(d, e, strict=True)]
                    pl = np.array([pull(p, base[j], dd, ee, robust) for dd, ee in zip(d, e, strict=True)])
                    ec = np.array([ecss(p, base[j], dd, ee) for dd, ee in zip(d, e, strict=True)])
                    row |= {
                        "posterior_weight": float(np.median(w_post)) if row["part"] != "baseline" else 0.0,
                        "pull_events": float(np.median(pl[:, 0])),
                        "pull_days": float(np.median(pl[:, 1])),
                        "ecss_events": float(np.nanmedian(ec[:, 0])) if np.isfinite(ec).any() else np.nan,
                        "ecss_days": float(np.nanmedian(ec[:, 1])) if np.isfinite(ec).any() else np.nan,
                    }
                else:
                    row |= {
                        k_: np.nan
                        for k_ in ("posterior_weight", "pull_events", "pull_days", "ecss_events", "ecss_days")
                    }
            row["ref_days_per_patient"] = float(u[j])
            for col in ("ess", "informative_ess", "pull", "ecss"):
                if f"{col}_days" in row:
                    row[f"{col}_patients"] = row[f"{col}_days"] / u[j] if u[j] > 0 else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def ess_summary(table: pd.DataFrame) -> pd.DataFrame:
    r"""First-year totals per transition: events :math:`\sum_j`, patients :math:`\sum_j \text{days}_j / \sum_j u_j`.

    Columns: transition, pull_events, pull_patients (when the table has data: the prior's weight
    given *these* data, :func:`pull`), informative_ess_events, informative_ess_patients, prior_weight (largest over the
    informative intervals), posterior_weight_min / posterior_weight_max (over them), ess_events,
    ess_patients, ess_method (``elir`` when every first-year interval has an ELIR ESS, else
    ``moment``: ELIR is undefined for a mixture with a component of shape < 1), ecss_events,
    ecss_patients (variance-matching :func:`ecss`, with data; NaN intervals left out).
    """
    t = table[table["first_year"]]
    out = []
    for k, g in t.groupby("transition", sort=False):
        u = g["ref_days_per_patient"].sum()
        inf = g[g["part"].isin(["informative", "robust mixture"])]
        row: dict[str, Any] = {"transition": k}
        if "pull_days" in g:
            row |= {
                "pull_events": g["pull_events"].sum(min_count=len(g)),
                "pull_patients": g["pull_days"].sum(min_count=len(g)) / u,
            }
        row |= {
            "informative_ess_events": g["informative_ess_events"].sum(),
            "informative_ess_patients": g["informative_ess_days"].sum() / u,
            "prior_weight": float(inf["prior_weight"].max()) if len(inf) else 0.0,
        }
        if "posterior_weight" in g:
            row |= {
                "posterior_weight_min": float(inf["posterior_weight"].min()) if len(inf) else np.nan,
                "posterior_weight_max": float(inf["posterior_weight"].max()) if len(inf) else np.nan,
            }
        row |= {
            "ess_events": g["ess_events"].sum(),
            "ess_patients": g["ess_days"].sum() / u,
            "ess_method": "elir" if (g["ess_method"] == "elir").all() else "moment",
        }
        if "ecss_days" in g:
            row |= {
                "ecss_events": g["ecss_events"].sum(min_count=1),
                "ecss_patients": g["ecss_days"].sum(min_count=1) / u,
            }
        out.append(row)
    return pd.DataFrame(out)


def _n(x: float) -> str:
    """One decimal, without a negative zero."""
    return f"{x:.1f}".replace("-0.0", "0.0")


def weight_sentence(row: pd.Series | dict) -> str:
    """One transition's first-year prior weight in words, leading with its pull on this posterior.

    ``row`` is a row of :func:`ess_summary` computed with data.
    """
    k = row["transition"]
    if not np.isfinite(row.get("pull_events", np.nan)):
        return (
            f"prior weight, {k} (first year): whole prior {_n(row['ess_events'])} events / "
            f"{_n(row['ess_patients'])} patients (moment matching of prior draws); a prior that is not a gamma "
            "mixture (e.g. commensurate) decides its borrowing with the data, so no pull is computed"
        )
    lead = (
        f"prior weight, {k} (first year): given these data the prior is worth {_n(row['pull_events'])} events / "
        f"{_n(row['pull_patients'])} patients (posterior-weighted ESS over the weak baseline)"
    )
    if row["informative_ess_events"] > 0:
        post = (
            f", {row['posterior_weight_min']:.2f}–{row['posterior_weight_max']:.2f} after the data"
            if np.isfinite(row.get("posterior_weight_min", np.nan))
            else ""
        )
        lead += (
            f"; informative component {row['informative_ess_events']:.1f} events / "
            f"{row['informative_ess_patients']:.1f} patients with prior weight {row['prior_weight']:.2f}{post}"
        )
    method = "ELIR" if row["ess_method"] == "elir" else "moment matching (ELIR undefined)"
    return lead + f"; whole prior {row['ess_events']:.1f} events / {row['ess_patients']:.1f} patients ({method})"


def prior_driven_table(
    intervals: pd.DataFrame,
    cuts: Sequence[float] | np.ndarray,
    relapse_death_cuts: Sequence[float] | np.ndarray,
    days: Sequence[int],
    landmark: int | None = None,
) -> pd.DataFrame:
    r"""Which reported quantities rest on intervals where the prior outweighs the data.

    An interval is *prior-driven* when the data's exposure is below the prior's information in days
    given the data (the weak baseline's :math:`b_j` plus the pull, :func:`pull`): the prior holds at
    least half of what is known there. Under delayed entry and the weak baseline this happens where
    almost nobody is at risk (e.g. death after relapse beyond the follow-up of the few relapsed
    patients); under an informative prior also where the sources' pseudo-exposure exceeds the cohort's.
    A quantity at ``day`` on the from-transplant scale depends on the intervals of its transitions
    (:data:`models.derived.QUANTITY_TRANSITIONS`) overlapping :math:`[0, \text{day})` (days since
    relapse for death after relapse), on the conditional scale those overlapping
    :math:`[\text{landmark}, \text{day})`.

    ``intervals`` is :func:`ess_table` computed with data. Returns scale, quantity, day, prior_driven,
    prior_driven_intervals (text: transition, interval, data days against prior days).
    """
    from models.derived import QUANTITIES, QUANTITY_TRANSITIONS

    t = intervals.copy()
    base = {k: weak_interval_priors(relapse_death_cuts if k == "death_after_relapse" else cuts) for k in TRANSITIONS}
    t["prior_days"] = [
        base[k][list(interval_labels(relapse_death_cuts if k == "death_after_relapse" else cuts)).index(lab)].rates[0]
        + pd_
        for k, lab, pd_ in zip(t["transition"], t["interval"], t["pull_days"].fillna(0.0), strict=True)
    ]
    t["driven"] = t["data_exposure_days"] < t["prior_days"]
    rows = []
    scales = [("from_transplant", 0)] + ([("conditional", int(landmark))] if landmark is not None else [])
    for scale, start in scales:
        for q in QUANTITIES:
            for day in days:
                if day <= start:
                    continue
                hits = []
                for k in QUANTITY_TRANSITIONS[q]:
                    c = np.asarray(relapse_death_cuts if k == "death_after_relapse" else cuts, float)
                    lo, hi = (0.0, day - start) if k == "death_after_relapse" else (start, day)
                    upper = np.append(c[1:], np.inf)
                    sub = t[t["transition"] == k].reset_index(drop=True)
                    for j in range(c.size):
                        if c[j] < hi and upper[j] > lo and bool(sub.loc[j, "driven"]):
                            hits.append(
                                f"{k} {sub.loc[j, 'interval']} ({sub.loc[j, 'data_exposure_days']:.0f} days at risk "
                                f"vs prior {sub.loc[j, 'prior_days']:.0f})"
                            )
                rows.append(
                    {
                        "scale": scale,
                        "quantity": q,
                        "day": int(day),
                        "prior_driven": bool(hits),
                        "prior_driven_intervals": "; ".join(hits),
                    }
                )
    return pd.DataFrame(rows)
