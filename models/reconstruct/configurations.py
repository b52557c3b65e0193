"""Patient classes and path configurations: which exchangeable patients follow which path.

A configuration fixes the named patients' GvHD options and how the anonymous paths are spread over
subgroups (:func:`configurations`); the search then runs over the orderings of each one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import product

from models.reconstruct.constraints import Constraints


@dataclass(frozen=True)
class PatientClass:
    """Exchangeable patients: same subgroup memberships and same path (or one named patient)."""

    members: tuple[str, ...]
    path: str
    populations: frozenset[str]
    named: bool


@dataclass(frozen=True)
class Configuration:
    """A choice of paths for every patient class (named options x anonymous distribution)."""

    classes: tuple[PatientClass, ...]
    gvhd_patients: tuple[str, ...]  # named patients with a qualifying GvHD step
    anonymous_gvhd: int
    qualifying: tuple[str, ...] = ()

    def label(self) -> str:
        return f"qualifying GvHD in {list(self.gvhd_patients)} + {self.anonymous_gvhd} event-free"


def _groups(cons: Constraints, ids: Iterable[str]) -> dict[frozenset[str], list[str]]:
    out: dict[frozenset[str], list[str]] = {}
    for p in ids:
        key = frozenset(pop for pop, m in cons.membership.items() if m[p])
        out.setdefault(key, []).append(p)
    return out


def _compositions(total: int, caps: Sequence[int]) -> Iterable[tuple[int, ...]]:
    """Ways to split ``total`` items over bins of capacities ``caps``."""
    if not caps:
        if total == 0:
            yield ()
        return
    for k in range(min(total, caps[0]) + 1):
        for rest in _compositions(total - k, caps[1:]):
            yield (k, *rest)


def _definition_bounds(cons: Constraints, qualifying: tuple[str, ...]) -> tuple[int, int, dict[str, int]]:
    """Fewest and most patients with a qualifying case, and qualifying cases per family."""
    fam: Counter[str] = Counter()
    for q in qualifying:
        cat = cons.gvhd_categories[q]
        fam[cat.family] += cat.count
    total = sum(fam.values())
    return (max(fam.values()) if fam else 0), total, dict(fam)


def configurations(cons: Constraints, qualifying: tuple[str, ...] | None) -> Iterable[Configuration]:
    """All path configurations: named patients' GvHD options x anonymous paths over subgroups.

    With a GvHD definition, every qualifying case sits in a patient with a ``G`` step, or in a
    named relapsed patient after the relapse; so the number of ``G`` patients plus such hosts must
    reach the largest family count, and cannot exceed the number of qualifying cases.
    """
    named = sorted(cons.named_paths)
    anon_ids = [p for p in cons.patients if p not in cons.named_paths]
    groups = _groups(cons, anon_ids)
    gkeys = sorted(groups, key=lambda k: sorted(k))
    caps = [len(groups[k]) for k in gkeys]
    cands = [p for p in cons.gvhd_candidates if qualifying is not None]
    if qualifying is not None:
        need, most, _fam = _definition_bounds(cons, qualifying)
    else:
        need, most = 0, 0
    kinds = [k for k in ("RD", "RC", "N") if cons.anonymous[k] > 0]
    for gset_bits in product((False, True), repeat=len(cands)):
        gnamed = [p for p, b in zip(cands, gset_bits, strict=True) if b]
        hosts_r = sum(1 for p in named if "R" in cons.named_paths[p] and p not in gnamed)
        kmin = max(0, need - len(gnamed) - hosts_r) if qualifying is not None else 0
        kmax = (most - len(gnamed)) if (qualifying is not None and cons.anonymous_gvhd) else 0
        if qualifying is not None and len(gnamed) > most:
            continue
        for k in range(kmin, max(kmin, kmax) + 1):
            if k > cons.anonymous["C"] or (k > 0 and not cons.anonymous_gvhd):
                continue
            yield from _anonymous_splits(cons, named, gnamed, groups, gkeys, caps, kinds, k, qualifying or ())


def _anonymous_splits(
    cons: Constraints,
    named: list[str],
    gnamed: list[str],
    groups: dict,
    gkeys: list,
    caps: list[int],
    kinds: list[str],
    k: int,
    qualifying: tuple[str, ...],
) -> Iterable[Configuration]:
    def rec(i: int, caps_left: list[int], acc: dict[str, tuple[int, ...]]) -> Iterable[dict[str, tuple[int, ...]]]:
        if i == len(kinds):
            yield acc
            return
        kind = kinds[i]
        for split in _compositions(cons.anonymous[kind], caps_left):
            yield from rec(i + 1, [c - s for c, s in zip(caps_left, split, strict=True)], {**acc, kind: split})

    for split in rec(0, list(caps), {}):
        left = [c - sum(split[kk][g] for kk in kinds) for g, c in enumerate(caps)]
        for gc in _compositions(k, left):
            classes: list[PatientClass] = []
            for p in named:
                path = ("G" if p in gnamed else "") + cons.named_paths[p]
                pops = frozenset(pop for pop, m in cons.membership.items() if m[p])
                classes.append(PatientClass((p,), path, pops, True))
            for g, key in enumerate(gkeys):
                ids = groups[key]
                sizes = {kk: split[kk][g] for kk in kinds}
                sizes["GC"] = gc[g]
                sizes["C"] = len(ids) - sum(sizes.values())
                start = 0
                for path in ("RD", "RC", "N", "GC", "C"):
                    m = sizes.get(path, 0)
                    if m:
                        classes.append(PatientClass(tuple(ids[start : start + m]), path, key, False))
                        start += m
            config = Configuration(tuple(classes), tuple(gnamed), k, qualifying)
            if _population_counts_ok(cons, config):
                yield config


def _population_counts_ok(cons: Constraints, config: Configuration) -> bool:
    for pc in cons.population_counts:
        want = {"relapse": "R", "death": "ND", "death_nrm": "N", "death_relapse": "D"}[pc.event]
        got = sum(
            len(cl.members)
            for cl in config.classes
            if pc.population in cl.populations and any(s in want for s in cl.path)
        )
        if got != pc.value:
            return False
    return True
