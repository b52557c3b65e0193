"""A minimal set of published figures that cannot all hold (an irreducible conflict).

When no ordering satisfies the constraints, :func:`minimal_conflict` looks for an *irreducible*
infeasible subset of the constraints that can be relaxed one at a time — every KM and incidence
figure, every population count, the follow-up and entry median (range) and administrative
censoring — by deletion: starting from all of them (infeasible), each constraint in turn is left
out, and stays out if the rest is still infeasible. What remains is infeasible, and dropping any
one of its members makes it feasible (feasibility only grows as constraints are left out), so no
member is superfluous; it is minimal in that sense, not necessarily the smallest of all conflicts.
The counts of events, the named patients and the GvHD definition are the fixed core: they define
the patients' paths, so they are never left out (if the core alone admits no ordering the set is
empty).

Each feasibility test is an exact search over the configurations (:class:`_Search`, stopping at the
first configuration with an ordering) and does not record the risk sets of figures left out. The
search is bounded: a test that exceeds ``max_states`` in one configuration keeps its constraint in
the set, and the whole search stops after ``time_limit`` seconds, keeping every constraint not yet
tested; the result then says it is not shown to be minimal, and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from models.errors import ReconstructionError
from models.reconstruct.configurations import configurations
from models.reconstruct.constraints import CIFTarget, Constraints, KMTarget, PopulationCount
from models.reconstruct.figures import km_tuples
from models.reconstruct.search import _Budget, _Search

#: Seconds after which the deletion search stops (the set found so far is still a conflict).
DEFAULT_TIME_LIMIT = 60.0


@dataclass(frozen=True)
class Conflict:
    """Constraints that cannot all hold, named as in the message (``figure.<key>``, ``admin_censoring``).

    ``minimal`` is True when each member was shown necessary (leaving it out admits an ordering);
    otherwise ``note`` says why the search stopped short. ``tests`` counts the feasibility searches.
    """

    members: tuple[str, ...]
    minimal: bool
    note: str
    tests: int

    def text(self) -> str:
        """The set as the one-line message prints it."""
        names = ", ".join(self.members) if self.members else "none (the counts and named patients alone)"
        return names + ("" if self.minimal else f" (not shown minimal: {self.note})")


@dataclass(frozen=True)
class _Item:
    """One constraint that can be left out: its printed name and how the constraints lose it."""

    label: str
    figure: str | None  # a KM/incidence figure: left out of the checked figures
    drop: Callable[[Constraints], Constraints] | None  # any other: a relaxed copy of the constraints


def _without_count(pc: PopulationCount) -> Callable[[Constraints], Constraints]:
    return lambda c: replace(c, population_counts=tuple(x for x in c.population_counts if x != pc))


def _items(cons: Constraints) -> list[_Item]:
    figures: list[KMTarget | CIFTarget] = [*cons.km, *cons.cif]
    out = [_Item(f"figure.{f.name}", f.name, None) for f in figures]
    out += [_Item(f"figure.{pc.name}", None, _without_count(pc)) for pc in cons.population_counts]
    if cons.followup is not None:
        out.append(_Item(f"figure.{cons.followup.name}", None, lambda c: replace(c, followup=None)))
    if cons.entry is not None:
        out.append(_Item(f"figure.{cons.entry.name}", None, lambda c: replace(c, entry=None)))
    if cons.admin is not None:
        out.append(_Item("admin_censoring", None, lambda c: replace(c, admin=None)))
    out += [_Item(f"curve.{cv.name}", None, _without_curve(cv.name)) for cv in cons.curves]
    return out


def _without_curve(name: str) -> Callable[[Constraints], Constraints]:
    return lambda c: replace(c, curves=tuple(x for x in c.curves if x.name != name))


def _exists(s: _Search, state: tuple, dead: set[tuple]) -> bool:
    """Depth-first: whether some consistent ordering completes ``state`` (``dead``: states without)."""
    if state in dead:
        return False
    if s._terminal(state) or s._free_tail(state):
        return s._terminal_ok(state[2])
    for _label, child in s.children(state):
        if _exists(s, child, dead):
            return True
    if len(dead) >= s.max_states:
        raise _Budget
    dead.add(state)
    return False


def feasible(
    cons: Constraints, *, qualifying: tuple[str, ...] | None, checked: set[str], max_states: int
) -> bool | None:
    """Whether some ordering satisfies ``cons`` with only the figures ``checked``; None past the bound.

    A depth-first search that stops at the first consistent ordering (no counting); the risk sets of
    figures not checked are not recorded, so the search is smaller than
    :func:`models.reconstruct.solve`'s. ``max_states`` bounds the states shown to lead nowhere.
    """
    for config in configurations(cons, qualifying):
        s = _Search(cons, config, reading=cons.followup_reading, max_states=max_states, checked=checked, tracked=set())
        try:
            if _exists(s, s.initial(), set()):
                return True
        except _Budget:
            return None
    return False


def _unsatisfiable_alone(cons: Constraints) -> str | None:
    """A KM figure no risk-set tuple of its population reproduces (a conflict by itself), if any.

    A figure whose tuples are too many to list is not one (it has some).
    """
    for f in cons.km:
        try:
            if not km_tuples(f, sum(cons.membership[f.population].values())):
                return f"figure.{f.name}"
        except ReconstructionError:
            continue
    return None


#: A feasibility test: the constraints, the figures checked and the state bound -> True, False or
#: None (undecided within the bound); :func:`feasible` is the exact search's.
Oracle = Callable[..., "bool | None"]


def minimal_conflict(
    cons: Constraints,
    *,
    qualifying: tuple[str, ...] | None,
    max_states: int,
    time_limit: float = DEFAULT_TIME_LIMIT,
    oracle: Oracle | None = None,
) -> Conflict:
    """Deletion filter: an irreducible set of constraints that admit no ordering together.

    ``cons`` must admit no ordering (as :func:`models.reconstruct.solve` found). Members are named
    ``figure.<key>`` (the published figure) or ``admin_censoring``, in the constraints' order.
    ``oracle`` decides each test (default :func:`feasible`; the chain's depth-first search for
    studies whose KM risk-set tuples are too many to list).
    """
    test = feasible if oracle is None else oracle
    alone = _unsatisfiable_alone(cons)
    if alone is not None:
        return Conflict((alone,), True, "", 0)
    items = _items(cons)
    kept = list(items)
    start = time.monotonic()
    tests = 1
    core = cons
    for x in items:
        core = core if x.drop is None else x.drop(core)
    if test(core, qualifying=qualifying, checked=set(), max_states=max_states) is False:
        return Conflict((), True, "", tests)
    notes: list[str] = []
    for k, item in enumerate(items):
        if time.monotonic() - start > time_limit:
            notes.append(f"stopped after {time_limit:g} s with {len(items) - k} constraints untested")
            break
        trial = [x for x in kept if x is not item]
        relaxed = cons
        for x in items:
            if x.drop is not None and x not in trial:
                relaxed = x.drop(relaxed)
        tests += 1
        ok = test(
            relaxed,
            qualifying=qualifying,
            checked={x.figure for x in trial if x.figure is not None},
            max_states=max_states,
        )
        if ok is False:
            kept = trial
        elif ok is None and not notes:
            notes.append(f"search bound {max_states} states reached")
    return Conflict(tuple(x.label for x in kept), not notes, "; ".join(notes), tests)
