r"""The comparison with no-maintenance controls across the grid's factor scenarios (``[comparative]``).

For every base and one-at-a-time factor scenario whose relapse and NRM priors are gamma mixtures
(the comparative model is conjugate; the commensurate and NUTS-only sets are listed as skipped),
every control pack and every control weight :math:`a_0` of the grid file, the exact posterior
probability :math:`P(\mathrm{HR}_\mathrm{relapse} < 1)` of the comparative model
(:mod:`models.comparative`) fitted to all outcome tables; and per scenario and control the tipping
point :math:`a_0^*`, the smallest weight at which that probability reaches the first decision
threshold (Brent's method between the levels; ``never`` when it stays below).

Output ``comparative.csv``: ``scenario``, ``factor``, ``level``, ``control``, ``control_a0`` (the
control's power-prior weight, distinct from the factor that discounts the treated prior; empty on the
tipping-point row), ``quantity`` (``p_hr_relapse_below_1``, ``hr_relapse_median`` or
``tipping_a0``), ``value``, ``status`` (``ok``, ``never``, ``root`` or ``skipped: ...``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from models.errors import ConfigError
from models.sensitivity.config import SensitivityConfig
from models.sensitivity.scenarios import build_scenarios, scenario_prior


def comparative_grid(
    cfg: SensitivityConfig, tables: Sequence[pd.DataFrame], packs: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """``comparative.csv`` of a grid with ``[comparative]`` (module docstring); empty without it.

    ``packs`` (loaded control packs by id) replaces the grid's own list (the workflow passes the
    study's when the grid names none).
    """
    from models.comparative import Grid, Treated, hr_posterior, load_controls, tipping_point
    from models.pwe import Model

    spec = cfg.comparative
    if spec is None:
        return pd.DataFrame()
    packs = load_controls(spec.controls) if packs is None else packs
    level = min(cfg.decision_thresholds)
    grid = Grid.for_prior(spec.hr_prior_sd)
    cache: dict[Any, Any] = {}
    rows: list[dict[str, Any]] = []
    for sc in build_scenarios(cfg, len(tables)):
        if sc.kind == "grid" or len(sc.tables) != len(tables):  # heat-map cells and single tables: not compared
            continue
        base = {"scenario": sc.id, "factor": sc.factor, "level": sc.level}
        prior = scenario_prior(sc, cache, cfg.relapse_death_cuts, cfg.day)
        try:
            model = Model(
                list(tables),
                priors=prior,
                cuts=sc.cuts,
                relapse_death_cuts=cfg.relapse_death_cuts,
                from_transplant=sc.from_transplant,
            )
            treated = Treated.from_model(model, 0)
        except ConfigError:
            for name in packs:
                rows.append(
                    {**base, "control": name, "quantity": "tipping_a0", "status": "skipped: not gamma mixtures"}
                )
            continue
        for name, pack in packs.items():
            data = pack.data(treated.cuts)
            probs = []
            for a0 in spec.a0:
                post = hr_posterior(
                    treated.priors["relapse"],
                    treated.events["relapse"],
                    treated.exposure["relapse"],
                    data.events["relapse"],
                    data.exposure["relapse"],
                    a0=a0,
                    sd=spec.hr_prior_sd,
                    grid=grid,
                )
                probs.append(post.prob_below(1.0))
                for q, v in (("p_hr_relapse_below_1", probs[-1]), ("hr_relapse_median", float(post.hr_quantile(0.5)))):
                    rows.append({**base, "control": name, "control_a0": a0, "quantity": q, "value": v, "status": "ok"})
            tip, how = tipping_point(treated, data, spec.a0, level=level, sd=spec.hr_prior_sd, probabilities=probs)
            rows.append({**base, "control": name, "quantity": "tipping_a0", "value": tip, "status": how})
    cols = ["scenario", "factor", "level", "control", "control_a0", "quantity", "value", "status"]
    return pd.DataFrame(rows).reindex(columns=cols)


def comparative_verdict(table: pd.DataFrame, level: float, titles: Mapping[str, str] | None = None) -> list[str]:
    """One line per control: in how many scenario x a0 pairs P(HR_relapse < 1) reaches ``level``; its largest value.

    ``titles`` names each control in words (its pack's title); without it the pack's id is shown.
    """
    if table.empty:
        return []
    lines = []
    p = table[table["quantity"] == "p_hr_relapse_below_1"]
    for name, g in p.groupby("control", sort=False):
        hit = int((g["value"] >= level).sum())
        borrowed = g[g["control_a0"] > 0]  # at a0 = 0 the probability is the prior's, 0.5
        top = borrowed.loc[borrowed["value"].idxmax()] if len(borrowed) else g.loc[g["value"].idxmax()]
        n_sc = g["scenario"].nunique()
        lines.append(
            f"Against {(titles or {}).get(str(name), name)}: "
            f"P(HR of relapse < 1) reaches {level:g} in {hit} of {len(g)} scenario x a0 pairs "
            f"({n_sc} scenarios); largest with borrowing {top['value']:.2f} ({top['factor']}: {top['level']}, "
            f"control a0 = {top['control_a0']:g})."
        )
    return lines
