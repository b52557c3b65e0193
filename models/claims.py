r"""Clinical claims as cited data: ``quantity(day) op threshold``.

A claim's threshold is either a number with its reason, or a **benchmark** computed from cited
figures of ``data/priors/sources.toml`` (never typed in) with a named conversion:

``as_reported``
    the figure's estimate unchanged (e.g. a 3-year incidence read as a 1-year threshold; the claim's
    ``reason`` must say which way that reading leans);
``constant_hazard``
    relapse and NRM cumulative incidences :math:`F_1, F_2` at landmark :math:`t` turned into constant
    cause-specific hazards :math:`\lambda_k = \frac{F_k}{F_1 + F_2}\,\frac{-\log(1 - F_1 - F_2)}{t}`
    and evaluated at the claim's day :math:`d`:
    :math:`F_1(d) = \frac{\lambda_1}{\lambda_1 + \lambda_2}\,(1 - e^{-(\lambda_1 + \lambda_2) d})`.

The posterior probability of a claim is the share of posterior draws in which it holds.

The file's schema is :class:`ClaimsToml` (one :class:`ClaimEntry` per ``[[claim]]``); a grid file of
``scripts/sensitivity.py`` embeds the same entries as ``[[claims]]``. Benchmarks are computed after
validation (they need ``sources.toml``) by :func:`build_claims`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import AfterValidator, Field, field_validator, model_validator

from models.constants import DATA_DIR, QUANTITIES
from models.data import load_toml
from models.errors import ConfigError
from models.schema import Schema, fail_at, table, tables, validate

CLAIMS_TOML = DATA_DIR / "claims.toml"

Conversion = Literal["as_reported", "constant_hazard"]
CONVERSIONS: tuple[str, ...] = get_args(Conversion)
#: Most claims one file may define (every claim is evaluated on every draw of every scenario)
MAX_CLAIMS = 100


# ------------------------------------------------------------------------------------ the schema
class BenchmarkSpec(Schema):
    """``benchmark = {relapse = ..., nrm = ..., conversion = ...}``: figure keys of ``sources.toml``."""

    relapse: str
    nrm: str | None = None
    conversion: Conversion

    @model_validator(mode="after")
    def _nrm_for_constant_hazard(self) -> BenchmarkSpec:
        if self.conversion == "constant_hazard" and self.nrm is None:
            fail_at(
                ("nrm",),
                "missing",
                "an NRM figure key of data/priors/sources.toml (required by conversion = 'constant_hazard')",
            )
        return self


class ClaimEntry(Schema):
    """One ``[[claim]]`` table: ``quantity(day) op threshold`` with its reason."""

    name: str
    quantity: str
    day: int = Field(default=365, ge=1, le=3650)
    op: Literal["<", ">"]
    threshold: float | None = Field(default=None, gt=0.0, lt=1.0, allow_inf_nan=False)
    benchmark: Annotated[BenchmarkSpec, table("a table {relapse = ..., conversion = ...}")] | None = None
    reason: str
    description: str | None = Field(default=None, min_length=3, max_length=200)

    @field_validator("quantity")
    @classmethod
    def _known_quantity(cls, value: str) -> str:
        if value not in QUANTITIES:
            raise ValueError(f"one of {list(QUANTITIES)}")
        return value

    @field_validator("reason")
    @classmethod
    def _a_sentence(cls, value: str) -> str:
        if len(value.strip()) < 10:
            raise ValueError("why this threshold (a sentence)")
        return value

    @model_validator(mode="after")
    def _threshold_or_benchmark(self) -> ClaimEntry:
        if (self.threshold is None) == (self.benchmark is None):
            fail_at(("threshold",), "both or neither of threshold and benchmark", "exactly one of them")
        return self


def claim_list(table_name: str) -> AfterValidator:
    """Checks of a whole claim list: 1 to :data:`MAX_CLAIMS` claims with unique names."""

    def _check(entries: list[ClaimEntry]) -> list[ClaimEntry]:
        if not 1 <= len(entries) <= MAX_CLAIMS:
            raise ValueError(f"1 to {MAX_CLAIMS} {table_name} tables")
        seen: set[str] = set()
        for i, e in enumerate(entries):
            if e.name in seen:
                fail_at((i, "name"), e.name, "unique claim names")
            seen.add(e.name)
        return entries

    return AfterValidator(_check)


class ClaimsToml(Schema):
    """The whole claims file: ``[[claim]]`` tables and nothing else."""

    claim: Annotated[list[ClaimEntry], tables("[[claim]] tables"), claim_list("[[claim]]")]

    @model_validator(mode="before")
    @classmethod
    def _some_claims(cls, data: Any) -> Any:
        if isinstance(data, dict) and "claim" not in data:
            fail_at(("claim",), "missing", "at least one [[claim]] table")
        return data


@dataclass(frozen=True)
class Claim:
    """A clinical claim ``quantity(day) <op> threshold`` with its provenance (the one claim type).

    ``reason`` says why the threshold matters; ``figures`` and ``conversion`` name the cited
    benchmark it was computed from (empty for a round clinical value).
    """

    name: str
    quantity: str
    day: int
    op: str  # "<" or ">"
    threshold: float
    reason: str = ""
    figures: tuple[str, ...] = ()
    conversion: str | None = None
    description: str | None = None  # the claim in words for readers (optional; else built from its parts)

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Element-wise truth of the claim for posterior draws of its quantity."""
        return values < self.threshold if self.op == "<" else values > self.threshold

    def probability(self, cv: Any) -> float:
        """Posterior probability of the claim from curves ``cv`` (:class:`models.derived.Curves`)."""
        return float(np.mean(self.holds(cv.get(self.quantity)[:, self.day])))

    def text(self) -> str:
        """The claim in words, e.g. ``1-year relapse_cif < 18.7%``."""
        return f"{self.quantity} at day {self.day} {self.op} {100 * self.threshold:.1f}%"


def benchmark_threshold(
    spec: dict[str, Any], day: int, *, source: str, where: str, sources=None
) -> tuple[float, tuple[str, ...], str]:
    """The threshold a benchmark spec implies at ``day`` (see the module docstring).

    ``where`` is the dotted key of the claim (``claim.2``); errors name ``<where>.benchmark.<key>``.
    """
    from models.prior_sources import load_sources
    from models.trial_sim import cir_constant, hazards_from_cif

    sources = sources or load_sources()
    conv = spec.get("conversion")
    if conv not in CONVERSIONS:
        raise ConfigError(
            source, where=f"key '{where}.benchmark.conversion'", found=conv, expected=f"one of {list(CONVERSIONS)}"
        )
    names = ("relapse", "nrm") if conv == "constant_hazard" else ("relapse",)
    keys: list[Any] = [spec.get(n) for n in names]  # checked below
    for n, k in zip(names, keys, strict=True):
        if k not in sources.figures:
            raise ConfigError(
                source,
                where=f"key '{where}.benchmark.{n}'",
                found="missing" if k is None else k,
                expected="a figure key of data/priors/sources.toml",
            )
    rel = sources.figures[keys[0]]
    if conv == "as_reported":
        return float(rel.estimate), (keys[0],), conv
    nrm = sources.figures[keys[1]]
    if rel.landmark_months != nrm.landmark_months:
        raise ConfigError(
            source,
            where=f"key '{where}.benchmark'",
            found=f"landmarks {rel.landmark_months} and {nrm.landmark_months} months",
            expected="relapse and NRM figures at the same landmark",
        )
    lam_r, lam_n = hazards_from_cif(float(rel.estimate), float(nrm.estimate), float(rel.landmark_months) / 12.0)
    return cir_constant(lam_r, lam_n, float(day)), tuple(keys), conv


def build_claims(
    entries: list[ClaimEntry], source: str | os.PathLike[str], *, key: str = "claim", sources=None
) -> tuple[Claim, ...]:
    """Claims from validated ``[[<key>]]`` entries, benchmarks computed from ``sources.toml`` figures."""
    out: list[Claim] = []
    for i, e in enumerate(entries):
        figures: tuple[str, ...] = ()
        conv = None
        if e.benchmark is None:
            assert e.threshold is not None  # the schema requires exactly one of the two
            thr = float(e.threshold)
        else:
            spec = e.benchmark.model_dump(exclude_none=True)
            where = f"{key}.{i}"
            thr, figures, conv = benchmark_threshold(spec, e.day, source=str(source), where=where, sources=sources)
        out.append(Claim(e.name, e.quantity, e.day, e.op, thr, e.reason.strip(), figures, conv, e.description))
    return tuple(out)


def parse_claims(entries: Any, source: str, *, sources=None) -> tuple[Claim, ...]:
    """Validate a list of claim tables (the ``[[claim]]`` of a claims file); errors name file and key."""
    doc = {} if entries is None else {"claim": entries}
    return build_claims(validate(ClaimsToml, doc, source).claim, source, sources=sources)


def load_claims(path: str | os.PathLike[str] = CLAIMS_TOML) -> tuple[Claim, ...]:
    """Load the claims file (default ``data/claims.toml``), validated by :class:`ClaimsToml`."""
    path = Path(path)
    doc = load_toml(path, ConfigError, "claims TOML file")
    return build_claims(validate(ClaimsToml, doc, path).claim, path)
