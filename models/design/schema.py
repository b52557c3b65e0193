"""The design-file schema: bounds, allowed keys and types per table, and the validated design.

:class:`Design` and :class:`TrialScenario` are what :func:`models.design.load_design` returns;
``_check`` and ``_range`` validate a table or a value and fail with a one-line
:class:`~models.errors.ConfigError` naming the file, table and key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from models.constants import DATA_DIR, DAYS_PER_MONTH
from models.errors import ConfigError

DESIGN_DIR = DATA_DIR / "designs"
#: What the success probability of each scenario role measures (the ``metric`` column of the outputs).
METRIC = {"null": "type I error", "alternative": "power", "design_prior": "assurance"}
#: Draws kept from a prior set or posterior to represent a design prior.
DESIGN_PRIOR_DRAWS = 4000
#: Bounds that keep a design's simulation sane: patients per trial and simulated trials per (N, scenario)
MAX_TRIAL_N = 100_000
MAX_SIMS = 1_000_000

Kind = Literal["single_arm", "randomised"]

_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "design": {
        "name": str,
        "type": str,
        "description": str,
        "entry_day": (int, float),
        "allocation_ratio": (int, float),
    },
    "conduct": {
        "accrual_per_month": (int, float),
        "accrual_months": (int, float),
        "min_followup_days": (int, float),
        "dropout_per_year": (int, float),
        "analysis": str,
        "target_events": int,
        "max_followup_days": (int, float),
        "interim": dict,
    },
    "conduct.interim": {
        "information": (int, float),
        "futility_threshold": (int, float),
        "efficacy_threshold": (int, float),
    },
    "analysis": {
        "cuts_days": list,
        "horizon_days": (int, float),
        "margin": (int, float),
        "threshold": (int, float),
        "prior_shape": (int, float),
        "prior_rate_days": (int, float),
        "alpha": (int, float),
        "nrm_prior_shape": (int, float),
    },
    "benchmark": {
        "relapse_cif": (int, float),
        "nrm_cif": (int, float),
        "years": (int, float),
        "citation": str,
        "quote": str,
        "quote_nrm": str,
        "os_after_relapse_1y": (int, float),
        "citation_after_relapse": str,
        "quote_after_relapse": str,
        "note": str,
    },
    "scenario": {"role": str, "hr_relapse": (int, float), "hr_nrm": (int, float), "note": str},
    "design_prior": {
        "kind": str,
        "median": (int, float),
        "lower": (int, float),
        "upper": (int, float),
        "treatment": str,
        "control": str,
        "if_missing": str,
        "discount": (int, float),
        "robust_weight": (int, float),
        "citation": str,
        "quote": str,
        "note": str,
    },
    "grid": {"n": list, "n_sims": int, "chunk_trials": int, "target": (int, float), "type1_target": (int, float)},
}
_REQUIRED = {
    "design": ("name", "type", "entry_day"),
    "conduct": ("min_followup_days", "dropout_per_year"),
    "analysis": ("threshold",),
    "benchmark": ("relapse_cif", "nrm_cif", "years", "citation", "quote"),
    "grid": ("n", "n_sims"),
}


@dataclass(frozen=True)
class TrialScenario:
    """A truth to simulate: fixed HRs on the benchmark, or a design prior (one draw per trial).

    ``hr_lognormal = (mu, sigma)`` draws the relapse HR per trial; ``draws`` / ``control_draws``
    hold treatment / control hazards on the transplant clock ``{transition: (M, J)}`` (posterior or
    prior set; ``None`` = the benchmark). ``shared``: both arms take the same draw (no effect).
    """

    name: str
    role: Literal["null", "alternative", "design_prior"]
    hr_relapse: float = 1.0
    hr_nrm: float = 1.0
    hr_lognormal: tuple[float, float] | None = None
    draws: Mapping[str, np.ndarray] | None = field(default=None, compare=False, repr=False)
    control_draws: Mapping[str, np.ndarray] | None = field(default=None, compare=False, repr=False)
    shared: bool = False
    note: str = ""


@dataclass(frozen=True)
class Design:
    """A validated trial design (see ``data/designs/*.toml`` for the meaning of each field)."""

    name: str
    kind: Kind
    source: str
    description: str
    entry_day: float
    allocation_ratio: float
    accrual_per_month: float | None
    accrual_months: float | None
    min_followup_days: float
    dropout_per_year: float
    analysis: Literal["calendar", "events"]
    target_events: int
    max_followup_days: float
    interim: tuple[float, float, float] | None  # information, futility, efficacy
    cuts_days: tuple[float, ...]
    horizon_days: float
    margin: float
    threshold: float
    prior_shape: float
    nrm_prior_shape: float
    prior_rate_days: float
    alpha: float
    control_relapse: float  # benchmark hazards per day
    control_nrm: float
    control_after_relapse: float
    benchmark_cir: float  # 1-year (horizon) relapse incidence at the benchmark hazards
    scenarios: tuple[TrialScenario, ...]
    n_grid: tuple[int, ...]
    n_sims: int
    chunk_trials: int
    target: float
    type1_target: float
    skipped_priors: tuple[str, ...] = ()

    def accrual_days(self, n: int) -> float:
        if self.accrual_months is not None:
            return self.accrual_months * DAYS_PER_MONTH
        assert self.accrual_per_month is not None  # validated: exactly one of the two is set
        return n / float(self.accrual_per_month) * DAYS_PER_MONTH

    def n_treatment(self, n: int) -> int:
        if self.kind == "single_arm":
            return n
        return round(n * self.allocation_ratio / (1.0 + self.allocation_ratio))


def _check(path: str, table: str, doc: Mapping[str, Any], schema_key: str) -> None:
    allowed = _SCHEMA[schema_key]
    for key, value in doc.items():
        if key not in allowed:
            raise ConfigError(
                path, where=f"[{table}]", field=key, found="an unknown key", expected=f"one of {sorted(allowed)}"
            )
        want = allowed[key]
        if not isinstance(value, want) or isinstance(value, bool):
            raise ConfigError(
                path,
                where=f"[{table}]",
                field=key,
                found=value,
                expected=f"a {'number' if want == (int, float) else getattr(want, '__name__', want)}",
            )
    for key in _REQUIRED.get(schema_key, ()):
        if key not in doc:
            raise ConfigError(path, where=f"[{table}]", field=key, found="missing", expected="a value")


def _range(
    path: str,
    table: str,
    key: str,
    value: float,
    lo: float,
    hi: float,
    *,
    lo_open: bool = True,
    hi_open: bool = True,
    what: str = "",
) -> float:
    bad = (value <= lo if lo_open else value < lo) or (value >= hi if hi_open else value > hi)
    if not math.isfinite(value) or bad:
        lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
        raise ConfigError(
            path, where=f"[{table}]", field=key, found=value, expected=what or f"a number in {lb}{lo:g}, {hi:g}{rb}"
        )
    return float(value)
