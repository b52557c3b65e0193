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
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.constants import DATA_DIR
from models.data import load_toml
from models.errors import ConfigError

CLAIMS_TOML = DATA_DIR / "claims.toml"
from models.constants import QUANTITIES  # noqa: E402 - one home for the quantity names

CONVERSIONS = ("as_reported", "constant_hazard")


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
    """The threshold a benchmark spec implies at ``day`` (see the module docstring)."""
    from models.prior_sources import load_sources
    from models.trial_sim import cir_constant, hazards_from_cif

    sources = sources or load_sources()
    conv = spec.get("conversion")
    if conv not in CONVERSIONS:
        raise ConfigError(
            source, where=where, field="benchmark.conversion", found=conv, expected=f"one of {list(CONVERSIONS)}"
        )
    keys: list[Any] = [spec.get("relapse")] + ([spec.get("nrm")] if conv == "constant_hazard" else [])  # checked below
    for k in keys:
        if k not in sources.figures:
            raise ConfigError(
                source, where=where, field="benchmark", found=k, expected="a figure key of data/priors/sources.toml"
            )
    rel = sources.figures[keys[0]]
    if conv == "as_reported":
        return float(rel.estimate), (keys[0],), conv
    nrm = sources.figures[keys[1]]
    if rel.landmark_months != nrm.landmark_months:
        raise ConfigError(
            source,
            where=where,
            field="benchmark",
            found=f"landmarks {rel.landmark_months} and {nrm.landmark_months} months",
            expected="relapse and NRM figures at the same landmark",
        )
    lam_r, lam_n = hazards_from_cif(float(rel.estimate), float(nrm.estimate), float(rel.landmark_months) / 12.0)
    return cir_constant(lam_r, lam_n, float(day)), tuple(keys), conv


def parse_claims(entries: Any, source: str, *, sources=None) -> tuple[Claim, ...]:
    """Validate a list of claim tables (``[[claim]]``); errors name file, entry and key."""
    if not isinstance(entries, list) or not entries:
        raise ConfigError(source, where="claim", found=entries, expected="at least one [[claim]] table")
    out: list[Claim] = []
    allowed = {"name", "quantity", "day", "op", "threshold", "benchmark", "reason"}
    for i, c in enumerate(entries):
        where = f"claim[{i}]"
        if not isinstance(c, dict):
            raise ConfigError(source, where=where, found=c, expected="a table")
        extra = set(c) - allowed
        if extra:
            raise ConfigError(
                source,
                where=where,
                field=sorted(extra)[0],
                found="an unknown key",
                expected=f"keys among {sorted(allowed)}",
            )
        for req in ("name", "quantity", "op", "reason"):
            if req not in c:
                raise ConfigError(
                    source,
                    where=where,
                    field=req,
                    found="missing",
                    expected="name, quantity, op, reason and a threshold or benchmark",
                )
        if c["quantity"] not in QUANTITIES:
            raise ConfigError(
                source, where=where, field="quantity", found=c["quantity"], expected=f"one of {list(QUANTITIES)}"
            )
        if c["op"] not in ("<", ">"):
            raise ConfigError(source, where=where, field="op", found=c["op"], expected="'<' or '>'")
        day = c.get("day", 365)
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 3650:
            raise ConfigError(
                source, where=where, field="day", found=day, expected="a whole number of days in [1, 3650]"
            )
        if ("threshold" in c) == ("benchmark" in c):
            raise ConfigError(
                source,
                where=where,
                field="threshold",
                found="both or neither of threshold and benchmark",
                expected="exactly one of them",
            )
        figures: tuple[str, ...] = ()
        conv = None
        if "threshold" in c:
            t = c["threshold"]
            if isinstance(t, bool) or not isinstance(t, int | float) or not (0.0 < t < 1.0) or not math.isfinite(t):
                raise ConfigError(source, where=where, field="threshold", found=t, expected="a probability in (0, 1)")
            thr = float(t)
        else:
            if not isinstance(c["benchmark"], dict):
                raise ConfigError(source, where=where, field="benchmark", found=c["benchmark"], expected="a table")
            thr, figures, conv = benchmark_threshold(c["benchmark"], day, source=source, where=where, sources=sources)
        if not isinstance(c["reason"], str) or len(c["reason"].strip()) < 10:
            raise ConfigError(
                source, where=where, field="reason", found=c["reason"], expected="why this threshold (a sentence)"
            )
        out.append(Claim(str(c["name"]), c["quantity"], int(day), c["op"], thr, c["reason"].strip(), figures, conv))
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise ConfigError(source, where="claim", field="name", found=names, expected="unique claim names")
    return tuple(out)


def load_claims(path: str | os.PathLike[str] = CLAIMS_TOML) -> tuple[Claim, ...]:
    """Load the claims file (default ``data/claims.toml``)."""
    path = Path(path)
    doc = load_toml(path, ConfigError, "claims TOML file")
    extra = set(doc) - {"claim"}
    if extra:
        raise ConfigError(path, where=sorted(extra)[0], found="an unknown table", expected="only [[claim]] tables")
    return parse_claims(doc.get("claim"), str(path))
