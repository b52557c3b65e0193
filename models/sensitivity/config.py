r"""The scenario grid file: its schema, validation and loading (:func:`load_config`).

A *scenario* is one complete analysis: a prior set (possibly discounted or re-centred), cut points,
a time origin (delayed entry or the published from-transplant convention) and the reconstructed
outcome tables it is fitted to. The grid (a TOML file, default ``data/sensitivity/default.toml``)
has

* one-at-a-time **factors** varied around a base scenario (named prior sets; power-prior weight
  :math:`a_0`; robust-mixture weight :math:`w`; cut-point sets; time origin; each reconstructed
  table alone) — these feed the tornado figure and the verdict;
* a **grid** of priors on the relapse hazard over (prior centre :math:`p_c` × prior weight
  :math:`m`) — the heat map of :math:`P(\text{claim})` and its tipping-point contour;
* optionally a **comparison** with no-maintenance control packs (``[comparative]``: ``controls``,
  ``a0`` levels, ``hr_prior_sd``): :math:`P(\mathrm{HR}_\mathrm{relapse} < 1)` for every
  factor scenario, control and control weight :math:`a_0`, with the tipping point :math:`a_0^*`
  (:mod:`models.sensitivity.comparative`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator

from models.claims import Claim, ClaimEntry, build_claims, claim_list, load_claims
from models.comparative.engine import HR_PRIOR_SD
from models.constants import DATA_DIR, DEFAULT_CUTS, DEFAULT_SEED, MAX_DAY
from models.errors import ConfigError
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS
from models.io import read_toml
from models.schema import Schema, fail_at, table, tables, validate

DEFAULT_CONFIG = DATA_DIR / "sensitivity" / "default.toml"

FactorKind = Literal["prior", "a0", "w", "cuts", "from_transplant", "table"]
FACTOR_KINDS: tuple[str, ...] = get_args(FactorKind)
#: Bounds that keep a grid's memory and time sane
MAX_SEED = 2**32 - 1  # numpy's seed range
MAX_DRAWS_PER_TABLE = 100_000
MAX_CUT_POINTS = 100
MAX_FACTORS = 50
MAX_LEVELS = 50
MAX_GRID_AXIS = 50  # centres or weights of the heat map (their product is the number of grid scenarios)
MAX_NUTS_CHAINS = 64


@dataclass(frozen=True)
class Factor:
    name: str
    kind: str
    levels: tuple[Any, ...]


@dataclass(frozen=True)
class GridSpec:
    claim: str
    centres: tuple[float, ...]
    weights: tuple[float, ...]


@dataclass(frozen=True)
class ComparativeSpec:
    """``[comparative]``: control packs (empty: the study's ``[comparison] controls``), weights a0, sd of log HR."""

    controls: tuple[str, ...]
    a0: tuple[float, ...]
    hr_prior_sd: float


@dataclass(frozen=True)
class SensitivityConfig:
    """A validated scenario grid (see ``data/sensitivity/default.toml`` for the format)."""

    prior: str
    cuts: tuple[float, ...]
    relapse_death_cuts: tuple[float, ...]
    from_transplant: bool
    draws_per_table: int
    seed: int
    day: int
    claims: tuple[Claim, ...]
    decision_thresholds: tuple[float, ...]
    factors: tuple[Factor, ...]
    grid: GridSpec | None
    source: str = "sensitivity config"
    digest: str = ""
    #: NUTS settings for scenarios whose prior the exact engine cannot fit (e.g. log-normal hazards)
    nuts_draws: int = 500
    nuts_chains: int = 2
    nuts_tune: int = 500
    #: hierarchical prior set (e.g. commensurate) that gets power-scaling diagnostics from exact-engine
    #: draws ("" = none), on this many tables
    power_scaling_prior: str = ""
    power_scaling_tables: int = 3
    #: the comparison with no-maintenance controls over the factor scenarios (``None``: none)
    comparative: ComparativeSpec | None = None

    def claim(self, name: str) -> Claim:
        for c in self.claims:
            if c.name == name:
                return c
        raise ConfigError(
            self.source, where="grid", field="claim", found=name, expected=f"one of {[c.name for c in self.claims]}"
        )


def _count(lo: int, hi: int, what: str) -> AfterValidator:
    """A list of ``lo`` to ``hi`` items (``what`` says what they are)."""

    def _check(values: list[Any]) -> list[Any]:
        if not lo <= len(values) <= hi:
            raise ValueError(f"{lo} to {hi} {what}")
        return values

    return AfterValidator(_check)


def _cut_points(values: list[float]) -> list[float]:
    """The rules of :func:`models.intervals.validate_cuts`, failing at the offending cut point."""
    if values[0] != 0.0:
        fail_at((0,), values[0], "cut points starting at 0")
    for j in range(1, len(values)):
        if not values[j] > values[j - 1]:
            fail_at((j,), values[j], f"strictly increasing cut points (after {values[j - 1]:g})")
    return values


#: Cut points in days: 0 first, strictly increasing, finite
Cuts = Annotated[
    list[Annotated[float, Field(ge=0.0, le=MAX_DAY)]],
    _count(1, MAX_CUT_POINTS, "cut points in days"),
    AfterValidator(_cut_points),
]
_STRICT = ConfigDict(strict=True, allow_inf_nan=False)
_LEVELS: dict[str, TypeAdapter[Any]] = {
    "a0": TypeAdapter(
        Annotated[list[Annotated[float, Field(ge=0.0, le=1.0)]], _count(1, MAX_LEVELS, "weights in [0, 1]")],
        config=_STRICT,
    ),
    "w": TypeAdapter(
        Annotated[list[Annotated[float, Field(ge=0.0, le=1.0)]], _count(1, MAX_LEVELS, "weights in [0, 1]")],
        config=_STRICT,
    ),
    "cuts": TypeAdapter(Annotated[list[Cuts], _count(1, MAX_LEVELS, "cut-point sets")], config=_STRICT),
    "from_transplant": TypeAdapter(Annotated[list[bool], _count(1, 2, "true/false values")], config=_STRICT),
    "prior": TypeAdapter(Annotated[list[str], _count(1, MAX_LEVELS, "prior-set names")], config=_STRICT),
}


class _Finite(Schema):
    model_config = ConfigDict(allow_inf_nan=False)


class BaseTable(_Finite):
    """``[base]``: the base scenario every factor varies around, and the run's sizes."""

    prior: str = "literature"
    cuts: Cuts = Field(default_factory=lambda: list(DEFAULT_CUTS))
    relapse_death_cuts: Cuts = Field(default_factory=lambda: list(DEFAULT_RELAPSE_DEATH_CUTS))
    from_transplant: bool = False
    draws_per_table: int = Field(default=200, ge=10, le=MAX_DRAWS_PER_TABLE)
    seed: int = Field(default=DEFAULT_SEED, ge=0, le=MAX_SEED)
    day: int = Field(default=365, ge=1, le=3650)
    decision_thresholds: Annotated[
        list[Annotated[float, Field(ge=0.5, le=0.999)]], _count(1, 10, "probabilities in [0.5, 0.999]")
    ] = Field(default_factory=lambda: [0.9, 0.95])
    nuts_draws: int = Field(default=500, ge=50, le=100_000)
    nuts_chains: int = Field(default=2, ge=1, le=MAX_NUTS_CHAINS)
    nuts_tune: int = Field(default=500, ge=50, le=100_000)
    power_scaling_prior: str = ""
    power_scaling_tables: int = Field(default=3, ge=1, le=1000)


class FactorEntry(_Finite):
    """One ``[[factors]]`` table: a one-at-a-time factor; what ``levels`` holds depends on ``kind``."""

    name: str | None = None
    kind: FactorKind
    levels: Any

    @field_validator("levels")
    @classmethod
    def _levels_of_kind(cls, levels: Any, info: ValidationInfo) -> Any:
        kind = info.data.get("kind")
        if kind is None:  # the kind itself failed: that is the error reported
            return levels
        if kind == "table":
            if levels != "each":
                raise ValueError('"each" for the table factor (each reconstructed table alone)')
            return levels
        return _LEVELS[kind].validate_python(levels)


class GridTable(_Finite):
    """``[grid]``: the heat map over the relapse prior's centre and weight."""

    claim: str
    centres: Annotated[
        list[Annotated[float, Field(ge=1e-4, le=0.99)]],
        _count(2, MAX_GRID_AXIS, "centres (at least 2 of each of centres and weights)"),
    ]
    weights: Annotated[
        list[Annotated[float, Field(ge=1e-3, le=1e5)]],
        _count(2, MAX_GRID_AXIS, "weights (at least 2 of each of centres and weights)"),
    ]


class ComparativeTable(_Finite):
    """``[comparative]``: control packs (shipped names or folders) and the control weights a0 to sweep."""

    controls: Annotated[list[Annotated[str, Field(min_length=1)]], _count(1, 20, "control packs")] | None = None
    a0: Annotated[list[Annotated[float, Field(ge=0.0, le=1.0)]], _count(2, MAX_LEVELS, "weights in [0, 1]")]
    hr_prior_sd: float = Field(default=HR_PRIOR_SD, gt=0.0, le=100.0)


class SensitivityToml(_Finite):
    """The whole grid file: ``[base]``, ``[[claims]]``, ``[[factors]]``, ``[grid]``, ``[comparative]``; all optional."""

    base: Annotated[BaseTable, table("a table [base]")] = Field(default_factory=lambda: BaseTable())
    claims: Annotated[list[ClaimEntry], tables("[[claims]] tables"), claim_list("[[claims]]")] | None = None
    factors: Annotated[
        list[FactorEntry], tables("[[factors]] tables"), _count(0, MAX_FACTORS, "[[factors]] tables")
    ] = Field(default_factory=list)
    grid: Annotated[GridTable, table("a table [grid]")] | None = None
    comparative: Annotated[ComparativeTable, table("a table [comparative]")] | None = None


def _prior_ref(value: str, grid: Path) -> str:
    """A prior named in a grid file: a set name as is; a file path relative to the grid's own folder."""
    if "/" in value or value.endswith(".toml"):
        p = Path(value)
        return str(p if p.is_absolute() else (grid.parent / p))
    return value


def _control_ref(value: str, grid: Path) -> str:
    """A control named in a grid file: a shipped name as is; a folder relative to the grid's own folder."""
    if "/" in value:
        p = Path(value)
        return str(p if p.is_absolute() else (grid.parent / p))
    return value


def prior_files(cfg: SensitivityConfig) -> list[Path]:
    """The prior-set files a grid names (for the manifest's input hashes)."""
    names = [cfg.prior, cfg.power_scaling_prior] + [str(v) for f in cfg.factors if f.kind == "prior" for v in f.levels]
    return sorted({Path(n) for n in names if n and Path(n).is_file()})


def load_config(path: str | os.PathLike[str] = DEFAULT_CONFIG) -> SensitivityConfig:
    """Load and validate a scenario grid (:class:`SensitivityToml`); errors name the file and key.

    After the schema, two checks need other files: the claims (the grid's own ``[[claims]]`` or
    ``data/claims.toml``) and their benchmarks, and the claim the ``[grid]`` names.
    """
    path = Path(path)
    src = str(path)
    doc = read_toml(path, ConfigError, "sensitivity TOML file")
    if not doc:
        raise ConfigError(src, found="an empty file", expected="at least [base] or [[factors]]")
    m = validate(SensitivityToml, doc, src)
    b = m.base
    prior = _prior_ref(b.prior, path)
    ps_prior = _prior_ref(b.power_scaling_prior, path) if b.power_scaling_prior else ""

    # claims: the grid file's own [[claims]] (same schema as data/claims.toml), else the shared file
    claims = build_claims(m.claims, src, key="claims") if m.claims is not None else load_claims()

    factors = []
    for f in m.factors:
        lv: tuple[Any, ...]
        if f.kind == "table":
            lv = ("each",)
        elif f.kind in ("a0", "w"):
            lv = tuple(float(v) for v in f.levels)
        elif f.kind == "cuts":
            lv = tuple(tuple(float(c) for c in v) for v in f.levels)
        elif f.kind == "from_transplant":
            lv = tuple(f.levels)
        else:
            lv = tuple(_prior_ref(v, path) for v in f.levels)
        factors.append(Factor(f.kind if f.name is None else f.name, f.kind, lv))

    if m.comparative is not None:  # every control pack must load: fail here, naming the grid file's key
        from models.comparative import load_control
        from models.errors import StudyError

        for i, c in enumerate(m.comparative.controls or ()):
            try:
                load_control(_control_ref(c, path))
            except StudyError as exc:
                raise ConfigError(src, where=f"key 'comparative.controls[{i}]'", found=c, expected=str(exc)) from None

    grid = None
    if m.grid is not None:
        g = m.grid
        names = [c.name for c in claims]
        if g.claim not in names:
            raise ConfigError(src, where="key 'grid.claim'", found=g.claim, expected=f"one of {names}")
        grid = GridSpec(g.claim, tuple(sorted(float(c) for c in g.centres)), tuple(sorted(float(w) for w in g.weights)))
    return SensitivityConfig(
        prior,
        tuple(float(c) for c in b.cuts),
        tuple(float(c) for c in b.relapse_death_cuts),
        b.from_transplant,
        b.draws_per_table,
        b.seed,
        b.day,
        tuple(claims),
        tuple(float(t) for t in b.decision_thresholds),
        tuple(factors),
        grid,
        src,
        hashlib.sha256(path.read_bytes()).hexdigest(),
        b.nuts_draws,
        b.nuts_chains,
        b.nuts_tune,
        ps_prior,
        b.power_scaling_tables,
        None
        if m.comparative is None
        else ComparativeSpec(
            tuple(_control_ref(c, path) for c in m.comparative.controls or ()),
            tuple(sorted({float(a) for a in m.comparative.a0})),
            float(m.comparative.hr_prior_sd),
        ),
    )
