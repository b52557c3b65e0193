"""Scenarios of the grid: expansion (:func:`build_scenarios`) and each scenario's prior."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from models.prior_library import load_prior_set
from models.priors import PriorSet
from models.sensitivity.config import SensitivityConfig
from models.sensitivity.transforms import centred_prior, power_discount, robust_weight


@dataclass(frozen=True)
class GridScenario:
    """One analysis of the grid."""

    id: str
    factor: str
    level: str
    prior_name: str
    cuts: tuple[float, ...]
    from_transplant: bool
    tables: tuple[int, ...]
    a0: float | None = None
    w: float | None = None
    centre: float | None = None
    weight: float | None = None
    kind: str = "factor"  # "base", "factor" or "grid"

    def key(self) -> str:
        payload = json.dumps(
            [self.prior_name, self.cuts, self.from_transplant, self.tables, self.a0, self.w, self.centre, self.weight],
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def build_scenarios(cfg: SensitivityConfig, n_tables: int) -> list[GridScenario]:
    """Expand the grid: the base, every factor level, every (centre, weight) cell."""
    all_tables = tuple(range(n_tables))
    base = GridScenario("base", "base", "base", cfg.prior, cfg.cuts, cfg.from_transplant, all_tables, kind="base")
    out = [base]
    for f in cfg.factors:
        if f.kind == "table":
            for m in all_tables:
                out.append(
                    replace(
                        base, id=f"{f.kind}={m + 1}", factor=f.name, level=f"table {m + 1}", tables=(m,), kind="factor"
                    )
                )
            continue
        for lv in f.levels:
            if f.kind == "prior":
                sc = replace(base, prior_name=lv, level=str(lv))
            elif f.kind == "a0":
                sc = replace(base, a0=lv, level=f"a0 = {lv:g}")
            elif f.kind == "w":
                sc = replace(base, w=lv, level=f"w = {lv:g}")
            elif f.kind == "cuts":
                sc = replace(base, cuts=lv, level=f"{len(lv)} intervals" + (" (base)" if lv == cfg.cuts else ""))
            else:
                sc = replace(base, from_transplant=lv, level="from transplant" if lv else "delayed entry")
            out.append(replace(sc, id=f"{f.kind}={sc.level}", factor=f.name, kind="factor"))
    if cfg.grid is not None:
        for c in cfg.grid.centres:
            for wgt in cfg.grid.weights:
                out.append(
                    replace(
                        base,
                        id=f"grid:centre={c:g},weight={wgt:g}",
                        factor="grid",
                        level=f"centre {c:g}, weight {wgt:g}",
                        centre=c,
                        weight=wgt,
                        kind="grid",
                    )
                )
    return out


def scenario_prior(sc: GridScenario, cache: dict, relapse_death_cuts: Sequence[float], day: int = 365) -> PriorSet:
    """The prior of a scenario: its named set built for the scenario's cuts, then a0, w or the grid's
    centre and weight applied. ``cache`` maps a name, or (name, cuts), to a prior set."""
    key = (sc.prior_name, sc.cuts)
    if key not in cache:
        cache[key] = (
            cache[sc.prior_name]
            if sc.prior_name in cache
            else load_prior_set(sc.prior_name, sc.cuts, relapse_death_cuts)
        )
    p = cache[key]
    if sc.a0 is not None:
        p = power_discount(p, sc.a0, sc.cuts)
    if sc.w is not None:
        p = robust_weight(p, sc.w, sc.cuts)
    if sc.centre is not None and sc.weight is not None:
        p = centred_prior(p, sc.centre, sc.weight, sc.cuts, day)
    return p
