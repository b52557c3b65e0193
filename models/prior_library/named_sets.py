"""Building the named prior sets of ``data/priors/sets.toml`` (or a user's set file) from the sources."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.constants import DEFAULT_CUTS, DEFAULT_SEED
from models.errors import PriorError
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS, TRANSITIONS
from models.map_prior import fit_map
from models.prior_library.commensurate import CommensuratePrior
from models.prior_library.discounting import power_prior, robust_component, robustify
from models.prior_library.library_set import LibraryPriorSet, TransitionProvenance
from models.prior_sources import (
    SETS_TOML,
    PseudoData,
    SetSpec,
    Sources,
    TransitionSpec,
    load_sources,
    parse_sets,
    read_toml,
    remission_pseudo_data,
    survival_pseudo_data,
)
from models.priors import GammaMixture, PriorSet, half_event_per_interval, weak, weak_interval_priors


def _source_pseudo(
    spec: TransitionSpec, sources: Sources, cuts: Sequence[float] | np.ndarray, src: str
) -> list[PseudoData]:
    out = []
    for i, s in enumerate(spec.sources):
        figs = [sources.figures[f] for f in s.figures]
        fu = sources.studies[figs[0].study].followup_months
        where = f"{spec.transition}.sources[{i}]"
        if spec.transition == "death_after_relapse":
            pd_ = survival_pseudo_data(figs, cuts, followup_months=fu, src=src, where=where)
        else:
            pd_ = remission_pseudo_data(
                figs, cuts, followup_months=fu, all_events_relapse=s.all_events_relapse, src=src, where=where
            )
        out.append(pd_.scaled(s.a0) if spec.method == "power" else pd_)
    return out


def build_transition(
    spec: TransitionSpec,
    sources: Sources,
    cuts: Sequence[float] | np.ndarray,
    *,
    src: str = "prior set",
    seed: int = DEFAULT_SEED,
) -> tuple[Any, TransitionProvenance]:
    """The prior of one transition (per interval) and its provenance, from a checked :class:`TransitionSpec`."""
    n = len(cuts)
    base = weak_interval_priors(cuts)
    if spec.method == "weak":
        return base, TransitionProvenance("weak", note=spec.note)
    if spec.method == "gamma":
        if len(spec.shape) not in (1, n):
            raise PriorError(
                src,
                where=spec.transition,
                field="shape",
                found=f"{len(spec.shape)} values",
                expected=f"1 or {n} (one per interval)",
            )
        gs = [GammaMixture.single(a, b) for a, b in zip(spec.shape, spec.rate, strict=True)]
        if spec.robust_weight and len(gs) == 1:
            gs = gs * n
        gs = [
            robustify(g, spec.robust_weight, robust_component(g, base[j])) if spec.robust_weight else g
            for j, g in enumerate(gs)
        ]
        return (gs[0] if len(gs) == 1 else gs), TransitionProvenance(
            "gamma", w=spec.robust_weight, note=f"{spec.provenance} {spec.note}".strip()
        )
    cause = {"relapse": "relapse", "nrm": "nrm", "death_after_relapse": "death"}[spec.transition]
    pseudo = _source_pseudo(spec, sources, cuts, src)
    d = np.array([p.events[cause] for p in pseudo])
    e = np.array([p.exposure for p in pseudo])
    n_pat = sum(p.n for p in pseudo)
    borrowed = [p.exposure / p.a0 for p in pseudo if p.a0 > 0]  # a0 = 0: the source lends nothing
    u = np.sum(borrowed, axis=0) / n_pat if n_pat and borrowed else np.zeros(n)
    prov: dict[str, Any] = dict(
        sources=tuple(p.label for p in pseudo),
        figures=tuple(f for p in pseudo for f in p.figures),
        a0=tuple(s.a0 for s in spec.sources),
        w=spec.robust_weight,
        followup_per_patient=tuple(u),
        note=spec.note,
        pseudo_events=tuple(d.sum(0)),
        pseudo_exposure=tuple(e.sum(0)),
    )
    if spec.method == "commensurate":
        cp = CommensuratePrior(
            tuple(d.sum(0)),
            tuple(e.sum(0)),
            spec.commensurability_scale,
            label=f"{spec.transition}: " + ", ".join(prov["sources"]),
        )
        return cp, TransitionProvenance("commensurate", **prov)
    if spec.method == "power":
        priors = [
            power_prior(float(d[:, j].sum()), float(e[:, j].sum()), 1.0, base[j]) if e[:, j].sum() > 0 else base[j]
            for j in range(n)
        ]
        quality: tuple = ()
    else:
        fit = fit_map(d, e, tau_scale=spec.tau_scale, seed=seed, max_components=spec.max_components)
        priors = [m if m is not None else base[j] for j, m in enumerate(fit.mixtures)]
        quality = fit.quality
    informed = e.sum(0) > 0
    if spec.robust_weight is not None:
        priors = [
            robustify(p, spec.robust_weight, robust_component(p, base[j])) if informed[j] else p
            for j, p in enumerate(priors)
        ]
    return priors, TransitionProvenance(spec.method, map_quality=quality, **prov)


def build_prior_set(
    spec: SetSpec,
    sources: Sources,
    cuts: Sequence[float] | np.ndarray = DEFAULT_CUTS,
    relapse_death_cuts: Sequence[float] | np.ndarray = DEFAULT_RELAPSE_DEATH_CUTS,
    *,
    seed: int = DEFAULT_SEED,
) -> PriorSet:
    """Build a :class:`LibraryPriorSet` (or a built-in set of :mod:`models.priors`) from a set spec.

    A transition the spec leaves out gets the weakly informative baseline (:func:`models.priors.weak`).
    """
    if spec.builtin is not None:
        v = half_event_per_interval() if spec.builtin == "half_event_per_interval" else weak(cuts, relapse_death_cuts)
        return LibraryPriorSet(
            spec.name,
            v.transitions,
            spec.description or v.description,
            v.citation,
            provenance={k: TransitionProvenance(v.name) for k in TRANSITIONS},
        )
    transitions, prov = {}, {}
    for k in TRANSITIONS:
        c = relapse_death_cuts if k == "death_after_relapse" else cuts
        if k in spec.transitions:
            transitions[k], prov[k] = build_transition(spec.transitions[k], sources, c, src=spec.path, seed=seed)
        else:
            transitions[k], prov[k] = (
                weak_interval_priors(c),
                TransitionProvenance("weak", note="not specified: weakly informative baseline"),
            )
    used = sorted({sources.figures[f].study for t in spec.transitions.values() for s in t.sources for f in s.figures})
    citation = spec.citation or "; ".join(sources.studies[s].citation for s in used)
    return LibraryPriorSet(spec.name, transitions, spec.description, citation, source=spec.path, provenance=prov)


def read_sets(path: str | Path = SETS_TOML, sources: Sources | None = None) -> dict[str, SetSpec]:
    """Parse and check a prior-set file against the sources."""
    return parse_sets(read_toml(path), str(path), sources or load_sources())


def set_names(path: str | Path = SETS_TOML) -> list[str]:
    """Names of the shipped prior sets."""
    return list(read_sets(path))


def load_prior_set(
    name_or_path: str | Path,
    cuts: Sequence[float] | np.ndarray = DEFAULT_CUTS,
    relapse_death_cuts: Sequence[float] | np.ndarray = DEFAULT_RELAPSE_DEATH_CUTS,
    *,
    sources: Sources | None = None,
    seed: int = DEFAULT_SEED,
) -> PriorSet:
    """A prior set by name (looked up in ``data/priors/sets.toml``) or from a TOML file with one set.

    The per-interval priors are built for ``cuts`` / ``relapse_death_cuts``: use the same cut points
    for fitting. Any problem is a one-line :class:`~models.errors.PriorError` naming file and key.
    """
    sources = sources or load_sources()
    shipped = read_toml(SETS_TOML).get("set", {})
    if str(name_or_path) in shipped:  # check only the set asked for (a user's sources may lack the others')
        spec = parse_sets({"set": {str(name_or_path): shipped[str(name_or_path)]}}, str(SETS_TOML), sources)
        return build_prior_set(spec[str(name_or_path)], sources, cuts, relapse_death_cuts, seed=seed)
    path = Path(name_or_path)
    if not path.exists():
        raise PriorError(
            "prior", found=str(name_or_path), expected=f"one of {sorted(shipped)} or a prior-set TOML file"
        )
    specs = read_sets(path, sources)
    if len(specs) != 1:
        raise PriorError(path, found=f"{len(specs)} sets {sorted(specs)}", expected="exactly one [set.<name>] table")
    return build_prior_set(next(iter(specs.values())), sources, cuts, relapse_death_cuts, seed=seed)
