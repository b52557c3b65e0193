"""The schema of the prior-set files (``data/priors/sets.toml`` or a user's file) and their parsing.

One schema per table kind: :class:`SourceTable` (one cohort of a transition's ``sources``),
:class:`TransitionTable` (``[set.<name>.<transition>]``), :class:`SetTable` (``[set.<name>]``) and
the whole file, :class:`SetsToml`. Bounds are declared with the fields (discounts ``a0`` in [0, 1],
robust weights in (0, 1], scales > 0, 1 to :data:`MAX_COMPONENTS` mixture components, gamma counts
and exposures > 0); cross-field rules are model validators: which keys each ``method`` takes, and,
against the loaded :class:`~models.prior_sources.Sources` handed in as validation context, that every
figure exists, is verified (unless ``allow_unverified``) and has an endpoint the transition can use.
Any violation is a one-line :class:`~models.errors.PriorError` naming the file, the table and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from models.constants import DATA_DIR
from models.prior_sources.fields import (
    Discount,
    NumberList,
    Positive,
    PriorSchema,
    Provenance,
    Weight,
    check,
    expect,
    one_of,
)
from models.prior_sources.records import Sources
from models.schema import fail_at, shaped, table, tables

#: The shipped named prior sets.
SETS_TOML: Path = DATA_DIR / "priors" / "sets.toml"
Builtin = Literal["weak", "half_event_per_interval"]
#: Prior sets defined in code (:mod:`models.priors`) that a set file may name with ``builtin``.
BUILTIN_SETS: tuple[str, ...] = get_args(Builtin)
Method = Literal["weak", "power", "map", "commensurate", "gamma"]
METHODS: tuple[str, ...] = get_args(Method)
#: Methods whose prior is built from cited figures (``sources``)
_FROM_SOURCES = ("power", "map", "commensurate")
_ENDPOINTS_FOR = {
    "relapse": ("event_free", "cir", "nrm"),
    "nrm": ("event_free", "cir", "nrm"),
    "death_after_relapse": ("os", "median_os"),
    "gvhd": (),
}
TRANSITION_NAMES = ("relapse", "nrm", "gvhd", "death_after_relapse")
#: Most gamma components of a MAP prior's mixture approximation (EM tries 1 to this many)
MAX_COMPONENTS = 4
Components = Annotated[
    int, Field(ge=1, le=MAX_COMPONENTS), expect(f"a whole number from 1 to {MAX_COMPONENTS}", bounds_only=False)
]
FigureKeys = Annotated[
    list[str],
    shaped(
        lambda v: isinstance(v, list) and bool(v) and all(isinstance(f, str) for f in v),
        "a non-empty list of figure keys",
    ),
]


# ------------------------------------------------------------------------------------ the schema
class SourceTable(PriorSchema):
    """One cohort: ``{figures = [...], a0 = ..., all_events_relapse = ...}``, all figures from one study arm."""

    missing: ClassVar[Mapping[str, str]] = {"figures": "a non-empty list of figure keys"}

    figures: FigureKeys
    a0: Discount = 1.0
    all_events_relapse: bool = False


class TransitionTable(PriorSchema):
    """``[set.<name>.<transition>]``: how one transition's prior is built (format in ``sets.toml``)."""

    hints: ClassVar[Mapping[str, str]] = {"method": one_of(METHODS)}
    missing: ClassVar[Mapping[str, str]] = {"method": f"a method, one of {list(METHODS)}"}

    method: Method
    sources: Annotated[list[SourceTable], tables("a non-empty list of {figures = [...]}")] = Field(default_factory=list)
    robust_weight: Weight | None = None
    tau_scale: Positive = 0.5
    commensurability_scale: Positive = 1.0
    max_components: Components = MAX_COMPONENTS
    shape: NumberList = Field(default_factory=list)
    rate: NumberList = Field(default_factory=list)
    provenance: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _keys_of_the_method(self) -> TransitionTable:
        method, given = self.method, self.model_fields_set
        if method in _FROM_SOURCES and not self.sources:
            fail_at(
                ("sources",), self.sources if "sources" in given else "missing", "a non-empty list of {figures = [...]}"
            )
        if method not in _FROM_SOURCES and self.sources:
            cited = ", ".join(f for s in self.sources for f in s.figures)
            fail_at(("sources",), f"{len(self.sources)} source(s) citing {cited}", f"no sources for method '{method}'")
        for i, s in enumerate(self.sources):
            if s.a0 != 1.0 and method != "power":
                fail_at(("sources", i, "a0"), s.a0, "a0 only with method 'power'")
        if self.robust_weight is not None and method not in ("power", "map", "gamma"):
            fail_at(("robust_weight",), self.robust_weight, "robust_weight only with methods power, map or gamma")
        if method != "gamma":
            for key in ("shape", "rate"):
                if key in given:
                    fail_at((key,), getattr(self, key), f"{key} only with method 'gamma'")
            return self
        if not self.shape or len(self.shape) != len(self.rate):
            fail_at(
                ("shape",),
                f"shape = {self.shape}, rate = {self.rate}",
                "shape and rate (events and exposure days): numbers or equal-length lists",
            )
        if not self.provenance.strip():
            fail_at(
                ("provenance",),
                self.provenance if "provenance" in given else "missing",
                "a non-empty text (provenance is required)",
            )
        return self


_Transition = Annotated[TransitionTable, table("a table [set.<name>.<transition>]")]


class SetTable(PriorSchema):
    """``[set.<name>]``: a named prior set, its description and one table per transition it informs."""

    unknown_key: ClassVar[str] = "an unknown transition or key"
    known_keys: ClassVar[str | None] = (
        f"transitions {list(TRANSITION_NAMES)} or keys ['allow_unverified', 'builtin', 'citation', 'description']"
    )
    hints: ClassVar[Mapping[str, str]] = {"builtin": one_of(BUILTIN_SETS)}

    description: Provenance
    citation: str = ""
    allow_unverified: bool = False
    builtin: Builtin | None = None
    relapse: _Transition | None = None
    nrm: _Transition | None = None
    gvhd: _Transition | None = None
    death_after_relapse: _Transition | None = None

    def transitions(self) -> dict[str, TransitionTable]:
        """The transition tables given, in the order of :data:`TRANSITION_NAMES`."""
        return {k: t for k in TRANSITION_NAMES if (t := getattr(self, k)) is not None}

    @model_validator(mode="after")
    def _figures_fit(self, info: ValidationInfo) -> SetTable:
        """Each cohort's figures exist in the sources (``context["sources"]``; skipped without it), are
        verified unless the set allows otherwise, and have endpoints the transition can use."""
        sources: Sources | None = (info.context or {}).get("sources")
        for k, t in self.transitions().items():
            for i, s in enumerate(t.sources):
                loc = (k, "sources", i)
                if s.all_events_relapse and k != "relapse":
                    fail_at(
                        (*loc, "all_events_relapse"),
                        True,
                        "true only for the relapse transition (events of unknown cause read as relapses)",
                    )
                if sources is not None:
                    for key in s.figures:
                        _figure_fits(sources, key, k, (*loc, "figures"), allow_unverified=self.allow_unverified)
        return self


def _figure_fits(
    sources: Sources, key: str, transition: str, loc: tuple[str | int, ...], *, allow_unverified: bool
) -> None:
    """Refuse a figure key the sources lack, an unverified figure, or an endpoint the transition cannot use."""
    if key not in sources.figures:
        fail_at(loc, f"unknown source '{key}'", f"a figure key of {sources.path} (see `scripts/priors.py list`)")
    fig = sources.figures[key]
    if not fig.verified and not allow_unverified:
        fail_at(loc, f"unverified figure '{key}'", "verified figures only (or allow_unverified = true for this set)")
    if fig.endpoint not in _ENDPOINTS_FOR[transition]:
        fail_at(
            loc,
            f"{key} ({fig.endpoint})",
            f"endpoints {list(_ENDPOINTS_FOR[transition])} for transition '{transition}'",
        )


def _some(sets: dict[str, SetTable]) -> dict[str, SetTable]:
    if not sets:
        fail_at((), "an empty [set] table", "one or more [set.<name>] tables")
    return sets


class SetsToml(PriorSchema):
    """A prior-set file: one or more ``[set.<name>]`` tables and nothing else."""

    unknown_key: ClassVar[str] = "an unknown top-level table"
    known_keys: ClassVar[str | None] = "one or more [set.<name>] tables and nothing else"
    missing: ClassVar[Mapping[str, str]] = {"set": "one or more [set.<name>] tables"}

    set: Annotated[
        dict[str, Annotated[SetTable, table("a table [set.<name>]")]],
        table("one or more [set.<name>] tables"),
        AfterValidator(_some),
    ]


# ------------------------------------------------------------------------------------ the specs
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


def _transition_spec(k: str, t: TransitionTable) -> TransitionSpec:
    return TransitionSpec(
        transition=k,
        method=t.method,
        sources=tuple(SourceSpec(tuple(s.figures), s.a0, s.all_events_relapse) for s in t.sources),
        robust_weight=t.robust_weight,
        tau_scale=t.tau_scale,
        commensurability_scale=t.commensurability_scale,
        max_components=t.max_components,
        shape=tuple(t.shape),
        rate=tuple(t.rate),
        provenance=t.provenance,
        note=t.note,
    )


def parse_sets(doc: Mapping[str, Any], src: str, sources: Sources) -> dict[str, SetSpec]:
    """Check a prior-set document against :class:`SetsToml` and the ``sources`` its sets cite."""
    valid = check(SetsToml, doc, src, context={"sources": sources})
    return {
        name: SetSpec(
            name=name,
            description=t.description,
            citation=t.citation,
            transitions={k: _transition_spec(k, tt) for k, tt in t.transitions().items()},
            builtin=t.builtin,
            allow_unverified=t.allow_unverified,
            path=src,
        )
        for name, t in valid.set.items()
    }
