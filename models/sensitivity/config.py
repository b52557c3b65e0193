r"""The scenario grid file: its schema, validation and loading (:func:`load_config`).

A *scenario* is one complete analysis: a prior set (possibly discounted or re-centred), cut points,
a time origin (delayed entry or the published from-transplant convention) and the reconstructed
outcome tables it is fitted to. The grid (a TOML file, default ``data/sensitivity/default.toml``)
has

* one-at-a-time **factors** varied around a base scenario (named prior sets; power-prior weight
  :math:`a_0`; robust-mixture weight :math:`w`; cut-point sets; time origin; each reconstructed
  table alone) — these feed the tornado figure and the verdict;
* a **grid** of priors on the relapse hazard over (prior centre :math:`p_c` × prior weight
  :math:`m`) — the heat map of :math:`P(\text{claim})` and its tipping-point contour.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.claims import Claim, load_claims, parse_claims
from models.constants import DATA_DIR, DEFAULT_CUTS, DEFAULT_SEED
from models.errors import ConfigError
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS, validate_cuts
from models.io import read_toml

DEFAULT_CONFIG = DATA_DIR / "sensitivity" / "default.toml"

FACTOR_KINDS = ("prior", "a0", "w", "cuts", "from_transplant", "table")


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

    def claim(self, name: str) -> Claim:
        for c in self.claims:
            if c.name == name:
                return c
        raise ConfigError(
            self.source, where="grid", field="claim", found=name, expected=f"one of {[c.name for c in self.claims]}"
        )


def _num(
    value: Any,
    source: str,
    where: str,
    field_: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    integer: bool = False,
) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if ok and lo is not None:
        ok = value >= lo
    if ok and hi is not None:
        ok = value <= hi
    if not ok:
        rng = f" in [{lo}, {hi}]" if lo is not None and hi is not None else (f" >= {lo}" if lo is not None else "")
        raise ConfigError(
            source,
            where=where,
            field=field_,
            found=value,
            expected=f"a {'whole number' if integer else 'finite number'}{rng}",
        )
    return float(value)


def _cuts(value: Any, source: str, where: str, field_: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(source, where=where, field=field_, found=value, expected="a list of cut points in days")
    try:
        return tuple(float(c) for c in validate_cuts([float(v) for v in value], option=f"{source}: {where}.{field_}"))
    except (TypeError, ValueError):
        raise ConfigError(source, where=where, field=field_, found=value, expected="numbers") from None


def _prior_ref(value: str, grid: Path) -> str:
    """A prior named in a grid file: a set name as is; a file path relative to the grid's own folder."""
    if "/" in value or value.endswith(".toml"):
        p = Path(value)
        return str(p if p.is_absolute() else (grid.parent / p))
    return value


def prior_files(cfg: SensitivityConfig) -> list[Path]:
    """The prior-set files a grid names (for the manifest's input hashes)."""
    names = [cfg.prior, cfg.power_scaling_prior] + [str(v) for f in cfg.factors if f.kind == "prior" for v in f.levels]
    return sorted({Path(n) for n in names if n and Path(n).is_file()})


def load_config(path: str | os.PathLike[str] = DEFAULT_CONFIG) -> SensitivityConfig:
    """Load and validate a scenario grid; errors name the file and key."""
    path = Path(path)
    src = str(path)
    doc = read_toml(path, ConfigError, "sensitivity TOML file")
    if not doc:
        raise ConfigError(src, found="an empty file", expected="at least [base] or [[factors]]")
    shapes = {
        "base": (dict, "a table [base]"),
        "grid": (dict, "a table [grid]"),
        "factors": (list, "[[factors]] tables"),
        "claims": (list, "[[claims]] tables"),
    }
    for key, (kind, what) in shapes.items():
        value = doc.get(key)
        if value is not None and (
            not isinstance(value, kind) or (kind is list and not all(isinstance(x, dict) for x in value))
        ):
            raise ConfigError(src, where=key, found=repr(value)[:60], expected=what)
    unknown = set(doc) - {"base", "claims", "factors", "grid"}
    if unknown:
        raise ConfigError(
            src,
            where=sorted(unknown)[0],
            found="an unknown table",
            expected="only [base], [[claims]], [[factors]] and [grid]",
        )
    base = doc.get("base", {})
    known_base = {
        "prior",
        "cuts",
        "relapse_death_cuts",
        "from_transplant",
        "draws_per_table",
        "seed",
        "day",
        "decision_thresholds",
        "nuts_draws",
        "nuts_chains",
        "nuts_tune",
        "power_scaling_prior",
        "power_scaling_tables",
    }
    for k in base:
        if k not in known_base:
            raise ConfigError(
                src, where="base", field=k, found="an unknown key", expected=f"keys among {sorted(known_base)}"
            )
    prior = base.get("prior", "literature")
    if not isinstance(prior, str):
        raise ConfigError(src, where="base", field="prior", found=prior, expected="a prior-set name")
    prior = _prior_ref(prior, path)
    cuts = _cuts(base.get("cuts", list(DEFAULT_CUTS)), src, "base", "cuts")
    rd_cuts = _cuts(base.get("relapse_death_cuts", list(DEFAULT_RELAPSE_DEATH_CUTS)), src, "base", "relapse_death_cuts")
    ft = base.get("from_transplant", False)
    if not isinstance(ft, bool):
        raise ConfigError(src, where="base", field="from_transplant", found=ft, expected="true or false")
    draws = int(_num(base.get("draws_per_table", 200), src, "base", "draws_per_table", lo=10, hi=100_000, integer=True))
    seed = int(_num(base.get("seed", DEFAULT_SEED), src, "base", "seed", lo=0, integer=True))
    day = int(_num(base.get("day", 365), src, "base", "day", lo=1, hi=3650, integer=True))
    thr = base.get("decision_thresholds", [0.9, 0.95])
    if not isinstance(thr, list) or not thr:
        raise ConfigError(src, where="base", field="decision_thresholds", found=thr, expected="a list of probabilities")
    thresholds = tuple(_num(t, src, "base", "decision_thresholds", lo=0.5, hi=0.999) for t in thr)
    nuts = {
        k: int(_num(base.get(k, d), src, "base", k, lo=lo, hi=100_000, integer=True))
        for k, d, lo in (
            ("nuts_draws", 500, 50),
            ("nuts_chains", 2, 1),
            ("nuts_tune", 500, 50),
            ("power_scaling_tables", 3, 1),
        )
    }
    ps_prior = base.get("power_scaling_prior", "")
    if not isinstance(ps_prior, str):
        raise ConfigError(src, where="base", field="power_scaling_prior", found=ps_prior, expected="a prior-set name")
    ps_prior = _prior_ref(ps_prior, path) if ps_prior else ps_prior

    # claims: the grid file's own [[claims]] (same schema as data/claims.toml), else the shared file
    claims = parse_claims(doc["claims"], src) if "claims" in doc else load_claims()

    factors = []
    for i, f in enumerate(doc.get("factors", [])):
        where = f"factors[{i}]"
        kind = f.get("kind")
        if kind not in FACTOR_KINDS:
            raise ConfigError(src, where=where, field="kind", found=kind, expected=f"one of {list(FACTOR_KINDS)}")
        levels = f.get("levels")
        if kind == "table":
            if levels != "each":
                raise ConfigError(
                    src, where=where, field="levels", found=levels, expected='"each" for the table factor'
                )
            lv: tuple[Any, ...] = ("each",)
        else:
            if not isinstance(levels, list) or not levels:
                raise ConfigError(src, where=where, field="levels", found=levels, expected="a non-empty list")
            if kind in ("a0", "w"):
                lv = tuple(_num(v, src, where, "levels", lo=0.0, hi=1.0) for v in levels)
            elif kind == "cuts":
                lv = tuple(_cuts(v, src, where, "levels") for v in levels)
            elif kind == "from_transplant":
                if not all(isinstance(v, bool) for v in levels):
                    raise ConfigError(src, where=where, field="levels", found=levels, expected="true/false values")
                lv = tuple(levels)
            else:
                if not all(isinstance(v, str) for v in levels):
                    raise ConfigError(src, where=where, field="levels", found=levels, expected="prior-set names")
                lv = tuple(_prior_ref(v, path) for v in levels)
        factors.append(Factor(str(f.get("name", kind)), kind, lv))

    grid = None
    if "grid" in doc:
        g = doc["grid"]
        for req in ("claim", "centres", "weights"):
            if req not in g:
                raise ConfigError(src, where="grid", field=req, found="missing", expected="claim, centres and weights")
        centres = tuple(_num(v, src, "grid", "centres", lo=1e-4, hi=0.99) for v in g["centres"])
        weights = tuple(_num(v, src, "grid", "weights", lo=1e-3, hi=1e5) for v in g["weights"])
        if len(centres) < 2 or len(weights) < 2:
            raise ConfigError(
                src,
                where="grid",
                found=f"{len(centres)} centres x {len(weights)} weights",
                expected="at least 2 of each",
            )
        grid = GridSpec(str(g["claim"]), tuple(sorted(centres)), tuple(sorted(weights)))
    cfg = SensitivityConfig(
        prior,
        cuts,
        rd_cuts,
        ft,
        draws,
        seed,
        day,
        tuple(claims),
        thresholds,
        tuple(factors),
        grid,
        src,
        hashlib.sha256(path.read_bytes()).hexdigest(),
        nuts["nuts_draws"],
        nuts["nuts_chains"],
        nuts["nuts_tune"],
        ps_prior,
        nuts["power_scaling_tables"],
    )
    if grid is not None:
        cfg.claim(grid.claim)
    return cfg
