"""The design-file schema: bounds, allowed keys and types per table, and the validated design.

:class:`DesignToml` is the declarative schema of a design TOML (pydantic, via
:func:`models.schema.validate`: a failure is a one-line :class:`~models.errors.ConfigError` naming
the file and the dotted key); :class:`Design` and :class:`TrialScenario` are what
:func:`models.design.load_design` builds from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, ConfigDict, Field, model_validator

from models.constants import DATA_DIR, DAYS_PER_MONTH
from models.schema import Schema, fail_at, table

DESIGN_DIR = DATA_DIR / "designs"
#: What the success probability of each scenario role measures (the ``metric`` column of the outputs).
METRIC = {"null": "type I error", "alternative": "power", "design_prior": "assurance"}
#: Draws kept from a prior set or posterior to represent a design prior.
DESIGN_PRIOR_DRAWS = 4000
#: Bounds that keep a design's simulation sane: patients per trial and simulated trials per (N, scenario)
MAX_TRIAL_N = 100_000
MAX_SIMS = 1_000_000
#: Most sample sizes in [grid] n, cut points in [analysis] cuts_days, scenarios and design priors
MAX_GRID_N = 200
MAX_CUTS = 100
MAX_SCENARIOS = 50

Kind = Literal["single_arm", "randomised"]


# ------------------------------------------------------------------------------------ the schema
class _Table(Schema):
    model_config = ConfigDict(allow_inf_nan=False)


def _increasing_from_zero(cuts: list[float]) -> list[float]:
    if not 1 <= len(cuts) <= MAX_CUTS:
        raise ValueError(f"1 to {MAX_CUTS} increasing days from entry starting at 0")
    if cuts[0] != 0:
        fail_at((0,), cuts[0], "increasing days from entry starting at 0")
    for j in range(1, len(cuts)):
        if not cuts[j] > cuts[j - 1]:
            fail_at((j,), cuts[j], f"increasing days from entry starting at 0 (after {cuts[j - 1]:g})")
    return cuts


def _grid_sizes(n: list[int]) -> list[int]:
    if not 1 <= len(n) <= MAX_GRID_N:
        raise ValueError(f"1-{MAX_GRID_N} whole numbers from 2 to {MAX_TRIAL_N:,}")
    return n


class DesignTable(_Table):
    """``[design]``: what the trial is."""

    name: str
    type: Kind
    description: str = ""
    entry_day: float = Field(ge=0, lt=1e5)
    allocation_ratio: float = Field(default=1.0, gt=0, lt=20)


class InterimTable(_Table):
    """``[conduct.interim]``: one interim look."""

    information: float = Field(default=0.5, gt=0, lt=1)
    futility_threshold: float = Field(default=0.0, ge=0, lt=1)
    efficacy_threshold: float = Field(default=1.0, gt=0, le=1)


class ConductTable(_Table):
    """``[conduct]``: accrual, follow-up, dropout and when the analysis happens."""

    accrual_per_month: float | None = Field(default=None, gt=0, lt=1e4)
    accrual_months: float | None = Field(default=None, gt=0, lt=1200)
    min_followup_days: float = Field(ge=0, lt=1e5)
    dropout_per_year: float = Field(ge=0, lt=10)
    analysis: Literal["calendar", "events"] = "calendar"
    target_events: int = Field(default=0, ge=0, le=MAX_TRIAL_N)
    max_followup_days: float = Field(default=5 * 365.0, gt=0, lt=1e5)
    interim: Annotated[InterimTable, table("a table [conduct.interim]")] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ConductTable:
        if (self.accrual_per_month is None) == (self.accrual_months is None):
            fail_at(
                ("accrual_per_month",), "both or neither of accrual_per_month and accrual_months", "exactly one of them"
            )
        if self.analysis == "events" and self.target_events < 1:
            fail_at(("target_events",), self.target_events, "a whole number >= 1 when analysis = 'events'")
        return self


class AnalysisTable(_Table):
    """``[analysis]``: the Bayesian decision rule and its frequentist companion."""

    cuts_days: Annotated[list[float], AfterValidator(_increasing_from_zero)] = Field(default_factory=lambda: [0.0])
    horizon_days: float = Field(default=365.0, gt=0, lt=1e5)
    margin: float = Field(default=1.0, gt=0, lt=10)
    threshold: float = Field(gt=0, lt=1)
    prior_shape: float = Field(default=0.5, gt=0, lt=1e6)
    prior_rate_days: float = Field(default=182.5, gt=0, lt=1e9)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    nrm_prior_shape: float | None = Field(default=None, gt=0, lt=1e6)  # default: prior_shape


class BenchmarkTable(_Table):
    """``[benchmark]``: the published no-maintenance incidences the control arm reproduces."""

    relapse_cif: float = Field(gt=0, lt=1)
    nrm_cif: float = Field(gt=0, lt=1)
    years: float = Field(gt=0, lt=100)
    citation: str
    quote: str
    quote_nrm: str | None = None
    os_after_relapse_1y: float = Field(default=0.36, gt=0, lt=1)
    citation_after_relapse: str | None = None
    quote_after_relapse: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _competing(self) -> BenchmarkTable:
        if self.relapse_cif + self.nrm_cif >= 1:
            fail_at(("nrm_cif",), self.nrm_cif, f"relapse_cif + nrm_cif < 1 (relapse_cif = {self.relapse_cif})")
        return self


class ScenarioTable(_Table):
    """``[scenarios.<name>]``: fixed hazard ratios on the benchmark."""

    role: Literal["null", "alternative"] | None = None  # default: the name if null/alternative, else alternative
    hr_relapse: float = Field(default=1.0, gt=0, lt=100)
    hr_nrm: float = Field(default=1.0, gt=0, lt=100)
    note: str = ""


class DesignPriorTable(_Table):
    """``[design_priors.<name>]``: a log-normal HR (``hr_lognormal``) or hazards per arm (``arms``)."""

    kind: Literal["hr_lognormal", "arms"]
    median: float | None = Field(default=None, gt=0, lt=100)
    lower: float | None = Field(default=None, gt=0, lt=100)
    upper: float | None = Field(default=None, gt=0, lt=100)
    treatment: str = "benchmark"
    control: str = "benchmark"
    if_missing: Literal["error", "skip"] = "error"
    discount: float = Field(default=1.0, gt=0, le=1)
    robust_weight: float = Field(default=0.0, ge=0, lt=1)
    citation: str = ""
    quote: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _lognormal(self) -> DesignPriorTable:
        if self.kind != "hr_lognormal":
            return self
        for key in ("median", "lower", "upper"):
            if getattr(self, key) is None:
                fail_at(
                    (key,), "missing", "the HR's median and 95% CI (median, lower, upper) for kind = 'hr_lognormal'"
                )
        assert self.median is not None and self.lower is not None and self.upper is not None
        if not self.lower < self.median:
            fail_at(("lower",), self.lower, f"a number in (0, {self.median:g}) (below the median)")
        if not self.upper > self.median:
            fail_at(("upper",), self.upper, f"a number in ({self.median:g}, 100) (above the median)")
        return self


class GridTable(_Table):
    """``[grid]``: the sample sizes simulated and how many trials per (N, scenario)."""

    n: Annotated[list[Annotated[int, Field(ge=2, le=MAX_TRIAL_N)]], AfterValidator(_grid_sizes)]
    n_sims: int = Field(ge=10, le=MAX_SIMS)
    chunk_trials: int = Field(default=500, ge=1, le=MAX_SIMS)
    target: float = Field(default=0.8, gt=0, lt=1)
    type1_target: float | None = Field(default=None, gt=0, lt=1)  # default: alpha / 2


def scenario_role(name: str, s: ScenarioTable) -> Literal["null", "alternative"]:
    """A scenario's role: as written, else its name if ``null`` or ``alternative``, else ``alternative``."""
    if s.role is not None:
        return s.role
    return "null" if name == "null" else "alternative"


def _few(what: str) -> AfterValidator:
    def _check(tables: dict[str, Any]) -> dict[str, Any]:
        if len(tables) > MAX_SCENARIOS:
            raise ValueError(f"at most {MAX_SCENARIOS} {what}")
        return tables

    return AfterValidator(_check)


class DesignToml(_Table):
    """The whole design file (see ``data/designs/*.toml`` and ``docs/trial_planning.md``)."""

    design: Annotated[DesignTable, table("a table [design]")]
    conduct: Annotated[ConductTable, table("a table [conduct]")]
    analysis: Annotated[AnalysisTable, table("a table [analysis]")]
    benchmark: Annotated[BenchmarkTable, table("a table [benchmark]")]
    scenarios: Annotated[
        dict[str, Annotated[ScenarioTable, table("a table [scenarios.<name>]")]],
        table("tables [scenarios.<name>]"),
        _few("scenarios"),
    ] = Field(default_factory=dict)
    design_priors: Annotated[
        dict[str, Annotated[DesignPriorTable, table("a table [design_priors.<name>]")]],
        table("tables [design_priors.<name>]"),
        _few("design priors"),
    ] = Field(default_factory=dict)
    grid: Annotated[GridTable, table("a table [grid]")]

    @model_validator(mode="after")
    def _across_tables(self) -> DesignToml:
        cuts = self.analysis.cuts_days
        if self.design.type == "single_arm" and len(cuts) != 1:
            fail_at(("analysis", "cuts_days"), cuts, "[0.0] (the single-arm rule is exact for constant hazards)")
        ratio = self.design.allocation_ratio
        if self.design.type == "randomised":  # every N of the grid must put patients in both arms
            for n in self.grid.n:
                n_t = round(n * ratio / (1.0 + ratio))
                if n_t < 1 or n - n_t < 1:
                    fail_at(
                        ("design", "allocation_ratio"),
                        f"{ratio:g}: N = {n} gives {n_t} treated and {n - n_t} controls",
                        "a ratio that leaves at least one patient in each arm at every N of [grid] n",
                    )
        roles = {scenario_role(name, s) for name, s in self.scenarios.items()}
        if not {"null", "alternative"} <= roles:
            fail_at(
                ("scenarios",),
                ", ".join(f"{name} (role {scenario_role(name, s)})" for name, s in self.scenarios.items()) or "none",
                "a scenario with role = 'null' and one with role = 'alternative' "
                "(a table named null or alternative has that role by default)",
            )
        return self


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
