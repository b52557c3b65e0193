r"""The comparative outputs of a fit: ``comparative.csv``, ``comparative_sweep.csv`` and their text.

:func:`run_comparative` computes every (control, :math:`a_0`) pair once (:func:`models.comparative.compare.sweep`);
both tables, the figures and the text are read from those results, so a number shown twice is one
computation. ``comparative.csv`` holds the headline weight (``control_a0``, default 1: full
borrowing) in long form plus each control's tipping point; ``comparative_sweep.csv`` one row per
control and :math:`a_0`.

Columns of ``comparative.csv``: ``control``, ``title``, ``a0``, ``quantity`` (``hr_relapse``,
``hr_nrm``: maintenance / no maintenance; ``relapse_1y_treated``, ``relapse_1y_control``,
``relapse_1y_difference``, and the same for ``nrm``: cumulative incidence over one year from the
landmark given event-free at it, difference treated minus control; ``tipping_a0``), ``median``,
``lower``, ``upper`` (95% interval), ``p_below_1`` (HR < 1), ``p_below_0_7`` (HR < 0.7),
``p_below_0`` (difference < 0), ``landmark_day``, ``note``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.comparative.compare import (
    CLAIM_LEVEL,
    COMPARED,
    DEFAULT_A0,
    HORIZON_DAYS,
    Comparison,
    Treated,
    sweep,
    tipping_point,
)
from models.comparative.engine import HR_PRIOR_SD
from models.comparative.packs import ControlPack, load_control
from models.errors import ConfigError

#: The tables a comparative fit adds, in the order they are written.
COMPARATIVE_TABLES = ("comparative.csv", "comparative_sweep.csv")


@dataclass(frozen=True)
class ComparativeResult:
    """Every comparison of a fit: packs, the headline :math:`a_0`, results by (control, a0), tipping points."""

    packs: dict[str, ControlPack]
    a0: float
    grid: tuple[float, ...]
    results: dict[tuple[str, float], Comparison]
    tipping: dict[str, tuple[float, str]]
    sd: float
    landmark: int

    def headline(self, control: str) -> Comparison:
        return self.results[(control, self.a0)]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"comparative.csv": headline_table(self), "comparative_sweep.csv": sweep_table(self)}

    def manifest(self) -> list[dict[str, Any]]:
        """What the manifest records of each control."""
        return [
            {
                "id": p.id,
                "title": p.title,
                "file": p.source,
                "figures": [f.key for f in p.figures],
                "size": p.spec.summary.size,
                "effective_n": {k: round(v, 3) for k, v in p.sizes.items()},
                "verified": p.verified,
                "hr_prior_sd": self.sd,
                "a0": self.a0,
            }
            for p in self.packs.values()
        ]


def load_controls(names: Sequence[str]) -> dict[str, ControlPack]:
    """Load every ``--control`` (a shipped name or a folder); a control named twice is an error."""
    packs: dict[str, ControlPack] = {}
    for n in names:
        p = load_control(n)
        if p.id in packs:
            raise ConfigError("controls", found=f"'{p.id}' twice", expected="each control once")
        packs[p.id] = p
    return packs


def run_comparative(
    model: Any,
    landmark: int,
    packs: dict[str, ControlPack],
    *,
    a0: float = 1.0,
    grid: Sequence[float] = DEFAULT_A0,
    sd: float | None = None,
    draws: int = 4000,
    seed: int = 0,
) -> ComparativeResult:
    """Compare the fitted treated cohort with each control over the :math:`a_0` grid (plus ``a0``)."""
    if not 0.0 <= float(a0) <= 1.0:
        raise ConfigError("control_a0", found=a0, expected="a power-prior weight in [0, 1]")
    sd_ = HR_PRIOR_SD if sd is None else float(sd)
    treated = Treated.from_model(model, landmark)
    data = {k: p.data(treated.cuts) for k, p in packs.items()}
    a0s = tuple(sorted({round(float(x), 6) for x in grid} | {round(float(a0), 6)}))
    res = sweep(treated, data, a0s, sd=sd_, draws=draws, seed=seed, curves_at=round(float(a0), 6))
    tips = {}
    for k, d in data.items():
        probs = [res[(k, x)].hr["relapse"].prob_below(1.0) for x in a0s]
        tips[k] = tipping_point(treated, d, a0s, level=CLAIM_LEVEL, sd=sd_, probabilities=probs)
    return ComparativeResult(packs, round(float(a0), 6), a0s, res, tips, sd_, int(landmark))


def _cif_label(k: str) -> str:
    return "relapse" if k == "relapse" else "nrm"


def headline_table(cr: ComparativeResult) -> pd.DataFrame:
    """``comparative.csv`` (module docstring)."""
    rows = []
    for name, pack in cr.packs.items():
        c = cr.headline(name)
        base = {"control": name, "title": pack.title, "a0": cr.a0, "landmark_day": cr.landmark}
        for k in COMPARED:
            rows.append({**base, "quantity": f"hr_{k}", **c.hr_row(k), "note": "maintenance / no maintenance"})
        for k in COMPARED:
            for arm in ("treated", "control", "difference"):
                r = c.cif_row(arm, k)
                if arm != "difference":
                    r.pop("p_below_0")
                rows.append(
                    {
                        **base,
                        "quantity": f"{_cif_label(k)}_1y_{arm}",
                        **r,
                        "note": f"1 year from day {cr.landmark} (to day {cr.landmark + HORIZON_DAYS}) given "
                        f"event-free at day {cr.landmark}" + (", treated minus control" if arm == "difference" else ""),
                    }
                )
        tip, how = cr.tipping[name]
        rows.append(
            {
                **base,
                "a0": np.nan,
                "quantity": "tipping_a0",
                "median": tip,
                "note": f"smallest a0 with P(HR_relapse < 1) >= {CLAIM_LEVEL:g}: {how}",
            }
        )
    cols = ["control", "title", "a0", "quantity", "median", "lower", "upper", "p_below_1", "p_below_0_7", "p_below_0"]
    return pd.DataFrame(rows).reindex(columns=[*cols, "landmark_day", "note"])


def sweep_table(cr: ComparativeResult) -> pd.DataFrame:
    """``comparative_sweep.csv``: one row per control and :math:`a_0`."""
    rows = []
    for (name, a0), c in cr.results.items():
        row: dict[str, Any] = {"control": name, "a0": a0}
        for k in COMPARED:
            for key, v in c.hr_row(k).items():
                row[f"hr_{k}_{key}"] = v
        for k in COMPARED:
            for arm in ("treated", "control", "difference"):
                r = c.cif_row(arm, k)
                for key in ("median", "lower", "upper") + (("p_below_0",) if arm == "difference" else ()):
                    row[f"{_cif_label(k)}_1y_{arm}_{key}"] = r[key]
        rows.append(row)
    return pd.DataFrame(rows)


def text_lines(cr: ComparativeResult) -> list[str]:
    """The lines ``fit.py`` prints: per control, HRs, P(HR < 1), the incidence difference, the tipping point."""
    lines = []
    for name, pack in cr.packs.items():
        c = cr.headline(name)
        rel, nrm = c.hr_row("relapse"), c.hr_row("nrm")
        diff = c.cif_row("difference", "relapse")
        tip, how = cr.tipping[name]
        tip_txt = "never reached (a0 in [0, 1])" if how == "never" else f"a0* = {tip:.3f}"
        lines.append(
            f"vs {pack.title} (a0 = {cr.a0:g}): HR relapse {rel['median']:.2f} "
            f"({rel['lower']:.2f}-{rel['upper']:.2f}), "
            f"P(HR < 1) = {rel['p_below_1']:.2f}, P(HR < 0.7) = {rel['p_below_0_7']:.2f}; HR NRM {nrm['median']:.2f} "
            f"({nrm['lower']:.2f}-{nrm['upper']:.2f}); 1-year relapse from day {cr.landmark} "
            f"(to day {cr.landmark + HORIZON_DAYS}), treated minus control "
            f"{100 * diff['median']:+.1f} points ({100 * diff['lower']:+.1f} to {100 * diff['upper']:+.1f}); "
            f"P(HR relapse < 1) >= {CLAIM_LEVEL:g}: {tip_txt}"
        )
    return lines
