"""Parsing and checking the named prior sets of ``data/priors/sets.toml`` against the sources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.constants import DATA_DIR
from models.errors import PriorError
from models.prior_sources.fields import _check_keys, _num, _text
from models.prior_sources.records import Sources

#: The shipped named prior sets.
SETS_TOML: Path = DATA_DIR / "priors" / "sets.toml"
#: Prior sets defined in code (:mod:`models.priors`) that a set file may name with ``builtin``.
BUILTIN_SETS = ("weak", "half_event_per_interval")
METHODS = ("weak", "power", "map", "commensurate", "gamma")
_SET_KEYS = {"description", "citation", "allow_unverified", "builtin"}
_TRANSITION_KEYS = {
    "method",
    "sources",
    "robust_weight",
    "tau_scale",
    "commensurability_scale",
    "max_components",
    "shape",
    "rate",
    "provenance",
    "note",
}
_SOURCE_KEYS = {"figures", "a0", "all_events_relapse"}
_ENDPOINTS_FOR = {
    "relapse": ("event_free", "cir", "nrm"),
    "nrm": ("event_free", "cir", "nrm"),
    "death_after_relapse": ("os", "median_os"),
    "gvhd": (),
}
TRANSITION_NAMES = ("relapse", "nrm", "gvhd", "death_after_relapse")
#: Most gamma components of a MAP prior's mixture approximation (EM tries 1 to this many)
MAX_COMPONENTS = 4


def _components(value: Any, src: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COMPONENTS:
        raise PriorError(
            src, where=where, field="max_components", found=value, expected=f"a whole number from 1 to {MAX_COMPONENTS}"
        )
    return int(value)


@dataclass(frozen=True)
class SourceSpec:
    """One cohort in a transition's prior: its figures, power-prior weight and reading assumption."""

    figures: tuple[str, ...]
    a0: float = 1.0
    all_events_relapse: bool = False


@dataclass(frozen=True)
class TransitionSpec:
    """How one transition's prior is built (see ``data/priors/sets.toml`` for the format)."""

    transition: str
    method: str
    sources: tuple[SourceSpec, ...] = ()
    robust_weight: float | None = None
    tau_scale: float = 0.5
    commensurability_scale: float = 1.0
    max_components: int = 4
    shape: tuple[float, ...] = ()
    rate: tuple[float, ...] = ()
    provenance: str = ""
    note: str = ""


@dataclass(frozen=True)
class SetSpec:
    """A named prior set as written in a file, checked against the sources."""

    name: str
    description: str
    citation: str
    transitions: Mapping[str, TransitionSpec]
    builtin: str | None = None
    allow_unverified: bool = False
    path: str = ""


def _weight(value: Any, src: str, where: str, fld: str, *, zero_ok: bool) -> float:
    v = _num(value, src, where, fld)
    if not (0.0 <= v <= 1.0) or (v == 0.0 and not zero_ok):
        raise PriorError(
            src, where=where, field=fld, found=v, expected="a weight in [0, 1]" if zero_ok else "a weight in (0, 1]"
        )
    return v


def _transition_spec(name: str, k: str, e: Any, sources: Sources, src: str, allow_unverified: bool) -> TransitionSpec:
    where = f"set.{name}.{k}"
    _check_keys(e, _TRANSITION_KEYS, ("method",), src, where)
    method = e["method"]
    if method not in METHODS:
        raise PriorError(src, where=where, field="method", found=method, expected=f"one of {list(METHODS)}")
    specs = []
    raw = e.get("sources", [])
    if method in ("power", "map", "commensurate") and (not isinstance(raw, list) or not raw):
        raise PriorError(src, where=where, field="sources", found=raw, expected="a non-empty list of {figures = [...]}")
    if method in ("weak", "gamma") and raw:
        raise PriorError(src, where=where, field="sources", found=raw, expected=f"no sources for method '{method}'")
    for i, s in enumerate(raw):
        w = f"{where}.sources[{i}]"
        _check_keys(s, _SOURCE_KEYS, ("figures",), src, w)
        figs = s["figures"]
        if not isinstance(figs, list) or not figs or not all(isinstance(f, str) for f in figs):
            raise PriorError(src, where=w, field="figures", found=figs, expected="a non-empty list of figure keys")
        for fk in figs:
            fg = sources.figure(fk, where=w, source=src)
            if not fg.verified and not allow_unverified:
                raise PriorError(
                    src,
                    where=w,
                    field="figures",
                    found=f"unverified figure '{fk}'",
                    expected="verified figures only (or allow_unverified = true for this set)",
                )
            if fg.endpoint not in _ENDPOINTS_FOR[k]:
                raise PriorError(
                    src,
                    where=w,
                    field="figures",
                    found=f"{fk} ({fg.endpoint})",
                    expected=f"endpoints {list(_ENDPOINTS_FOR[k])} for transition '{k}'",
                )
        a0 = _weight(s.get("a0", 1.0), src, w, "a0", zero_ok=True)
        if a0 != 1.0 and method != "power":
            raise PriorError(src, where=w, field="a0", found=a0, expected="a0 only with method 'power'")
        aer = s.get("all_events_relapse", False)
        if not isinstance(aer, bool) or (aer and k != "relapse"):
            raise PriorError(
                src,
                where=w,
                field="all_events_relapse",
                found=aer,
                expected="true only for the relapse transition (events of unknown cause read as relapses)",
            )
        specs.append(SourceSpec(tuple(figs), a0, aer))
    rw = e.get("robust_weight")
    if rw is not None:
        if method not in ("power", "map", "gamma"):
            raise PriorError(
                src,
                where=where,
                field="robust_weight",
                found=rw,
                expected="robust_weight only with methods power, map or gamma",
            )
        rw = _weight(rw, src, where, "robust_weight", zero_ok=False)
    shape, rate = e.get("shape", []), e.get("rate", [])
    if method == "gamma":
        shape = shape if isinstance(shape, list) else [shape]
        rate = rate if isinstance(rate, list) else [rate]
        if not shape or len(shape) != len(rate):
            raise PriorError(
                src,
                where=where,
                field="shape",
                found=(shape, rate),
                expected="shape and rate (events and exposure days): numbers or equal-length lists",
            )
        for f_, vals in (("shape", shape), ("rate", rate)):
            for v in vals:
                if _num(v, src, where, f_) < 0 or v == 0:
                    raise PriorError(src, where=where, field=f_, found=v, expected="counts and exposures > 0")
        _text(e, "provenance", src, where)
    return TransitionSpec(
        transition=k,
        method=method,
        sources=tuple(specs),
        robust_weight=rw,
        tau_scale=_num(e.get("tau_scale", 0.5), src, where, "tau_scale", positive=True),
        commensurability_scale=_num(
            e.get("commensurability_scale", 1.0), src, where, "commensurability_scale", positive=True
        ),
        max_components=_components(e.get("max_components", MAX_COMPONENTS), src, where),
        shape=tuple(float(v) for v in shape),
        rate=tuple(float(v) for v in rate),
        provenance=str(e.get("provenance", "")),
        note=str(e.get("note", "")),
    )


def parse_sets(doc: Mapping[str, Any], src: str, sources: Sources) -> dict[str, SetSpec]:
    """Check a prior-set document: ``[set.<name>]`` tables with one table per transition."""
    if set(doc) != {"set"} or not isinstance(doc["set"], dict) or not doc["set"]:
        raise PriorError(
            src,
            where=",".join(sorted(set(doc) - {"set"})) or None,
            found=sorted(doc),
            expected="one or more [set.<name>] tables and nothing else",
        )
    out = {}
    for name, e in doc["set"].items():
        where = f"set.{name}"
        if not isinstance(e, dict):
            raise PriorError(src, where=where, found=type(e).__name__, expected="a table")
        unknown = sorted(set(e) - _SET_KEYS - set(TRANSITION_NAMES))
        if unknown:
            raise PriorError(
                src,
                where=where,
                field=unknown[0],
                found="an unknown transition or key",
                expected=f"transitions {list(TRANSITION_NAMES)} or keys {sorted(_SET_KEYS)}",
            )
        allow = e.get("allow_unverified", False)
        if not isinstance(allow, bool):
            raise PriorError(src, where=where, field="allow_unverified", found=allow, expected="true or false")
        builtin = e.get("builtin")
        if builtin is not None and builtin not in BUILTIN_SETS:
            raise PriorError(
                src,
                where=where,
                field="builtin",
                found=builtin,
                expected=f"one of {list(BUILTIN_SETS)} (models.priors)",
            )
        trans = {k: _transition_spec(name, k, e[k], sources, src, allow) for k in TRANSITION_NAMES if k in e}
        out[name] = SetSpec(
            name=name,
            description=_text(e, "description", src, where),
            citation=str(e.get("citation", "")),
            transitions=trans,
            builtin=builtin,
            allow_unverified=allow,
            path=src,
        )
    return out
