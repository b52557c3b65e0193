"""Summaries of a grid run: tipping points, the plain-language verdict and tornado tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.agreement import sentence
from models.sensitivity.config import SensitivityConfig

if TYPE_CHECKING:
    from models.sensitivity.grid import GridResult


#: Columns of the tipping-point table (also written, empty, for a grid without ``[grid]``).
TIPPING_COLUMNS = ("claim", "weight", "threshold", "tipping_centre", "side")


def tipping_points(table: pd.DataFrame, cfg: SensitivityConfig) -> pd.DataFrame:
    """For each prior weight, the prior centre at which ``P(claim)`` crosses each decision threshold.

    Linear interpolation between adjacent centres of the grid; ``NaN`` when the probability does not
    cross the threshold within the grid (``side`` says whether it stays above or below).
    """
    assert cfg.grid is not None
    col = f"P[{cfg.grid.claim}]"
    g = table[(table["kind"] == "grid") & (table["status"] == "ok")]
    rows: list[dict[str, Any]] = []
    if col not in g.columns or g.empty:  # every grid scenario failed: reported in the verdict, no crossing
        return pd.DataFrame(rows, columns=["claim", "weight", "threshold", "tipping_centre", "side"])
    for wgt in cfg.grid.weights:
        sub = g[np.isclose(g["weight"].astype(float), wgt)].sort_values("centre")
        c = sub["centre"].to_numpy(float)
        p = sub[col].to_numpy(float)
        for thr in cfg.decision_thresholds:
            crossing = np.nan
            side = "above" if (p >= thr).all() else "below" if (p < thr).all() else "crosses"
            for i in range(len(c) - 1):
                if (p[i] - thr) * (p[i + 1] - thr) <= 0 and p[i] != p[i + 1]:
                    crossing = c[i] + (thr - p[i]) * (c[i + 1] - c[i]) / (p[i + 1] - p[i])
                    break
            rows.append(
                {"claim": cfg.grid.claim, "weight": wgt, "threshold": thr, "tipping_centre": crossing, "side": side}
            )
    return pd.DataFrame(rows)


def verdict(res: GridResult) -> list[str]:
    """Plain sentences: which claims hold in every scenario, which depend on what."""
    cfg, t = res.config, res.table
    ok = t[t["status"].astype(str).str.startswith("ok") & (t["kind"] != "grid")]
    failed = t[~t["status"].astype(str).str.startswith("ok")]
    lines = [
        f"{len(t)} scenarios ({len(ok)} prior/model/reconstruction scenarios ok, {len(failed)} failed) "
        f"over {res.n_tables} outcome table{'s' if res.n_tables != 1 else ''}."  # no elapsed time: byte-reproducible
    ]
    for c in cfg.claims:
        col = f"P[{c.name}]"
        p = ok[col].astype(float)
        for thr in cfg.decision_thresholds:
            lo, hi = float(p.min()), float(p.max())
            what = f"P({c.quantity} at day {c.day} {c.op} {100 * c.threshold:.1f}%)"
            base = float(t.loc[t["kind"] == "base", col].iloc[0]) if (t["kind"] == "base").any() else float("nan")
            if lo >= thr:
                lines.append(f"HOLDS at {thr:g}: {what} >= {thr:g} in every scenario (range {lo:.2f}-{hi:.2f}).")
            elif hi < thr:
                lines.append(f"NOT SUPPORTED at {thr:g}: {what} < {thr:g} in every scenario (range {lo:.2f}-{hi:.2f}).")
            else:
                # name the minority side: where the claim is reached if it mostly fails, and vice versa
                reach = p >= thr
                side, rows = ("reaches", ok[reach]) if reach.sum() <= (~reach).sum() else ("falls short of", ok[~reach])
                names = sorted({f"{f}: {lv}" for f, lv in zip(rows["factor"], rows["level"], strict=True)})
                lines.append(
                    f"DEPENDS at {thr:g}: {what} is {base:.2f} in the base scenario and ranges {lo:.2f}-{hi:.2f}; "
                    f"it {side} {thr:g} only under {', '.join(names[:8])}" + (" ..." if len(names) > 8 else "") + "."
                )
    if not res.tipping.empty:
        for _, r in res.tipping.iterrows():
            if r["side"] == "crosses" and np.isfinite(r["tipping_centre"]):
                lines.append(
                    f"Tipping point ({r['claim']}, threshold {r['threshold']:g}): a relapse prior worth "
                    f"{r['weight']:g} patient-years reaches the threshold when centred at a 1-year relapse "
                    f"incidence of {100 * r['tipping_centre']:.1f}%."
                )
    for _, r in res.power_scaling.iterrows():
        if str(r["verdict"]).startswith("failed"):
            lines.append(f"Power-scaling under '{r['prior']}' ({r['engine']}) {r['verdict']}")
        else:
            lines.append(f"Prior-data agreement under '{r['prior']}' ({r['engine']}): " + sentence(r) + ".")
    nuts_bad = t[t["status"].astype(str).str.contains("NUTS diagnostics failed")]
    for _, r in nuts_bad.iterrows():
        lines.append(
            f"NUTS DIAGNOSTICS FAILED in scenario {r['scenario']}: max R-hat {r['rhat_max']:.3f}, "
            f"min bulk ESS {r['ess_bulk_min']:.0f}, divergences {int(r['divergences'])}"
        )
    for _, r in failed.iterrows():
        lines.append(f"FAILED scenario {r['scenario']}: {r['status']}")
    return lines


def tornado_table(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per factor: the base value and the min/max of ``column`` over its levels (for tornado plots)."""
    ok = table[table["status"] == "ok"]
    base = float(ok.loc[ok["kind"] == "base", column].iloc[0])
    rows = []
    for f, sub in ok[ok["kind"] == "factor"].groupby("factor", sort=False):
        v = sub[column].astype(float)
        rows.append(
            {
                "factor": f,
                "base": base,
                "low": float(v.min()),
                "high": float(v.max()),
                "low_level": sub.loc[v.idxmin(), "level"],
                "high_level": sub.loc[v.idxmax(), "level"],
            }
        )
    out = pd.DataFrame(rows)
    if not out.empty:
        out["span"] = out["high"] - out["low"]
        out = out.sort_values("span", ascending=True, ignore_index=True)
    return out
