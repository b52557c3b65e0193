"""Solving: counting every consistent ordering over every configuration, and diagnosing failure.

:func:`solve` runs the search of each configuration within a state bound; :func:`diagnose` names
the smallest set of figures that cannot all hold (:func:`~models.reconstruct.conflicts.minimal_conflict`)
and a figure that cannot be met jointly with the others, with the closest value reachable;
:func:`diagnose_unstarted` says what a bounded depth-first search shows when the ordering chain found
no start (no counting, which is what the chain is used to avoid).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from models.errors import ReconstructionError
from models.executor import run_tasks
from models.reconstruct.configurations import Configuration, configurations
from models.reconstruct.conflicts import DEFAULT_TIME_LIMIT, feasible, minimal_conflict
from models.reconstruct.constraints import CIFTarget, Constraints, KMTarget
from models.reconstruct.figures import cif_value, km_summary, risk_set_tuples
from models.reconstruct.search import _Budget, _Search
from models.reconstruct.vocabulary import DEFAULT_MAX_STATES

#: Time limit of the start search :func:`chain_feasible` tries when its depth-first search is undecided.
UNDECIDED_START_SECONDS = 10.0


class SearchBoundError(ReconstructionError):
    """The exact search passed its state bound (``--max-states``, or the bound of ``--method auto``)."""


@dataclass
class Solution:
    """All consistent orderings of one GvHD definition and follow-up reading."""

    definition: str | None
    qualifying: tuple[str, ...]
    reading: str
    searches: list[tuple[Configuration, _Search, int]]
    total: int
    signatures: set[tuple]
    states: int

    def by_gvhd_set(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for config, _s, cnt in self.searches:
            out[config.label()] += cnt
        return dict(out)


@dataclass(frozen=True)
class _Job:
    """What every configuration's search needs (sent once per worker)."""

    cons: Constraints
    reading: str
    max_states: int
    checked: set[str] | None
    keep_memo: bool


def _count_configuration(job: _Job, config: Configuration) -> tuple[int, int, _Search | None] | None:
    """Count one configuration's orderings: (count, states, search), None past the state bound.

    A configuration's search reads the constraints only and draws nothing, so it can run in any
    process (top level, so process pools and Dask workers can import it). The search, with its memo
    when ``keep_memo`` (tables are drawn from it), is returned only if it has orderings.
    """
    s = _Search(job.cons, config, reading=job.reading, max_states=job.max_states, checked=job.checked)
    try:
        cnt = s.count()
    except _Budget:
        return None
    states = len(s.memo)
    if not cnt:
        return 0, states, None
    if not job.keep_memo:
        s.memo.clear()
    return cnt, states, s


def solve(
    cons: Constraints,
    *,
    qualifying: tuple[str, ...] | None = None,
    definition: str | None = None,
    reading: str | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    checked: set[str] | None = None,
    progress: Callable[[str], None] | None = None,
    keep_memo: bool = True,
    workers: int = 1,
    dask: Any = None,
    total_states: int | None = None,
) -> Solution:
    """Count every consistent ordering over every configuration (bounded by ``max_states``).

    Past ``max_states`` states in one configuration, or ``total_states`` over all of them, a
    :class:`SearchBoundError` (a one-line :class:`ReconstructionError`).

    The configurations are independent searches: they run on ``workers`` local processes or the
    Dask scheduler ``dask`` (:func:`models.executor.run_tasks`) and are combined in their own
    order, so the solution is the same wherever they ran. ``keep_memo=False`` drops the searches'
    memo tables (counts, signatures and assignments only; no table can be drawn from it).
    """
    reading = reading or cons.followup_reading
    if total_states is not None:
        _tuples_within(cons, checked, total_states)
    configs = list(configurations(cons, qualifying))
    job = _Job(cons, reading, max_states, checked, keep_memo)
    seen = {"done": 0, "total": 0, "states": 0}  # running sums for the progress messages

    def arrived(i: int, outcome: tuple[int, int, _Search | None] | None) -> None:
        if outcome is None:
            raise SearchBoundError(
                cons.source,
                where="search",
                found=f"more than {max_states} states in one configuration",
                expected="constraints narrow enough to search, or a larger --max-states",
            )
        seen["done"] += 1
        seen["total"] += outcome[0]
        seen["states"] += outcome[1]
        if total_states is not None and seen["states"] > total_states:
            raise SearchBoundError(
                cons.source,
                where="search",
                found=f"more than {total_states} states over the configurations",
                expected="constraints narrow enough to search exactly",
            )
        if progress and seen["done"] % 50 == 1:
            progress(
                f"definition {definition}: {seen['done']} configurations, {seen['total']} orderings, "
                f"{seen['states']} states"
            )

    outcomes = run_tasks(_count_configuration, configs, workers=workers, dask=dask, shared=job, on_result=arrived)
    searches = []
    total, states = 0, 0
    sigs: set[tuple] = set()
    for config, outcome in zip(configs, outcomes, strict=True):
        assert outcome is not None  # arrived() raised otherwise
        cnt, n_states, s = outcome
        states += n_states
        if s is not None:
            s.cons = cons  # a worker's search holds its own copy of the constraints
            searches.append((config, s, cnt))
            total += cnt
            sigs |= {(config.gvhd_patients, config.anonymous_gvhd, sig) for sig in s.signatures}
    return Solution(definition, qualifying or (), reading, searches, total, sigs, states)


def _tuples_within(cons: Constraints, checked: set[str] | None, bound: int) -> None:
    """Raise :class:`SearchBoundError` if a KM figure has more than ``bound`` risk-set prefixes
    (the exact search enumerates them all before it starts; the chain does not need them)."""
    for f in cons.km:
        if checked is not None and f.name not in checked:
            continue
        try:
            risk_set_tuples(f, sum(cons.membership[f.population].values()), budget=bound)
        except ReconstructionError:
            raise SearchBoundError(
                cons.source,
                where=f"figure {f.name}",
                found=f"more than {bound} risk-set prefixes",
                expected="a figure narrow enough to enumerate exactly",
            ) from None


def diagnose(
    cons: Constraints,
    *,
    qualifying: tuple[str, ...] | None,
    max_states: int,
    workers: int = 1,
    dask: Any = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> ReconstructionError:
    """The error for constraints that admit no ordering: the figures that cannot all hold.

    The message names a minimal conflicting set (:func:`minimal_conflict`, searched for at most
    ``time_limit`` seconds) and, as before, the first figure that cannot be met jointly with all the
    others, with the closest value reachable with them held. Such a figure lies in every conflicting
    set, so only the set's figures are tried.
    """
    conflict = minimal_conflict(cons, qualifying=qualifying, max_states=max_states, time_limit=time_limit)
    figures: list[KMTarget | CIFTarget] = [*cons.km, *cons.cif]
    names = {f.name for f in figures}
    blame = "no single figure is to blame"
    for f in figures:
        if f"figure.{f.name}" not in conflict.members:
            continue
        try:
            sol = solve(
                cons,
                qualifying=qualifying,
                max_states=max_states,
                checked=names - {f.name},
                keep_memo=False,
                workers=workers,
                dask=dask,
            )
        except ReconstructionError:  # the search bound: say what is known, the conflicting set
            blame = f"closest reachable values not searched: more than {max_states} states"
            break
        if sol.total == 0:
            continue
        # The signatures are every distinct risk-set outcome, so the closest value is exact.
        best: tuple[float, str] | None = None
        j = figures.index(f)
        for _gpat, _k, figs in sol.signatures:
            if isinstance(f, KMTarget):
                est, lo, hi = km_summary(figs[j])
                dist = abs(est - f.value) + (0 if f.ci is None else abs(lo - f.ci[0]) + abs(hi - f.ci[1]))
                text = f"{est:.1f}" + ("" if f.ci is None else f" ({lo:.1f}-{hi:.1f})")
            else:
                v = cif_value(figs[j])
                dist, text = abs(v - f.value), f"{v:.1f}"
            if best is None or dist < best[0]:
                best = (dist, text)
        shown = f"{f.value:g}" + ("" if not isinstance(f, KMTarget) or f.ci is None else f" ({f.ci[0]:g}-{f.ci[1]:g})")
        return ReconstructionError(
            cons.source,
            where=f"figure {f.name}",
            found=f"no ordering reproduces {shown} jointly with the other figures; "
            f"closest reachable {best[1] if best else 'none'}; these cannot all hold: {conflict.text()}",
            expected="mutually consistent published figures",
        )
    return ReconstructionError(
        cons.source,
        where="constraints",
        found=f"no event/censoring ordering satisfies them jointly ({blame}); these cannot all hold: {conflict.text()}",
        expected="mutually consistent figures, counts and follow-up",
    )


def chain_feasible(
    cons: Constraints, *, qualifying: tuple[str, ...] | None, checked: set[str], max_states: int
) -> bool | None:
    """Whether some ordering satisfies ``cons`` with only the figures ``checked``; None past the bound.

    The chain's depth-first search (:func:`models.reconstruct.chain_start.dfs`, dead states
    remembered), which checks KM figures step by step instead of listing their risk-set tuples, so
    it runs where those are too many to list; ``max_states`` bounds the states visited over all
    configurations. Past the bound, one annealing restart of the chain's start search
    (:func:`~models.reconstruct.chain_start.find_start`, at most :data:`UNDECIDED_START_SECONDS`)
    may still find an ordering. Figures not checked are left out of the constraints altogether.
    """
    from models.reconstruct.chain import OrderingChain
    from models.reconstruct.chain_start import dfs, find_start

    kept = replace(
        cons,
        km=tuple(f for f in cons.km if f.name in checked),
        cif=tuple(f for f in cons.cif if f.name in checked),
    )
    chain = OrderingChain(kept, qualifying=qualifying, reading=kept.followup_reading)
    budget = {"left": max_states}
    undecided = False
    for key in chain.configs:
        lay = chain.layout(key)
        assert lay is not None
        labels, exhausted = dfs(chain, lay, random.Random(0), budget, math.inf)
        if labels is not None:
            return True
        if not exhausted:
            undecided = True
            if budget["left"] <= 0:
                break
    if not undecided:
        return False
    try:  # the chain's own start search: a consistent ordering it finds settles the question
        find_start(chain, random.Random(0), seconds=UNDECIDED_START_SECONDS, restarts=1)
    except ReconstructionError:
        return None
    return True


def diagnose_unstarted(
    cons: Constraints,
    *,
    qualifying: tuple[str, ...] | None,
    max_states: int,
    searched: str,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> ReconstructionError:
    """The error when the ordering chain's randomised search found no start (``searched`` says how).

    A failed randomised search proves nothing, so a depth-first search decides first — the exact
    one (:func:`~models.reconstruct.conflicts.feasible`), or :func:`chain_feasible` once a KM
    figure's risk-set tuples prove too many to list; at most ``max_states`` states each. It finds
    a consistent ordering (the start search missed one: the message says so), proves there is none
    (then :func:`minimal_conflict`, with the same searches, names the figures that cannot all hold,
    within ``time_limit`` seconds), or reaches its bound (the message says neither was shown).
    """
    figures: list[KMTarget | CIFTarget] = [*cons.km, *cons.cif]
    unlistable: set[str] = set()

    def decide(c: Constraints, *, qualifying: tuple[str, ...] | None, checked: set[str], max_states: int) -> Any:
        """The exact search where the checked KM figures' tuples can be listed, else the chain's."""
        if not checked & unlistable:
            try:
                return feasible(c, qualifying=qualifying, checked=checked, max_states=max_states)
            except ReconstructionError as exc:
                unlistable.update(f.name for f in c.km if f"figure {f.name}" == exc.where)
                if not checked & unlistable:
                    raise
        return chain_feasible(c, qualifying=qualifying, checked=checked, max_states=max_states)

    ok = decide(cons, qualifying=qualifying, checked={f.name for f in figures}, max_states=max_states)
    if ok is True:
        return ReconstructionError(
            cons.source,
            where="chain start",
            found=f"{searched}, although a depth-first search finds a consistent ordering",
            expected="a start the randomised search reaches (try another --seed, or --method exact)",
        )
    if ok is None:
        return ReconstructionError(
            cons.source,
            where="chain start",
            found=f"{searched}; a depth-first search neither found a consistent ordering nor ruled one out "
            f"within {max_states} states",
            expected="mutually consistent figures (check them, or --method exact with a larger --max-states)",
        )
    conflict = minimal_conflict(
        cons, qualifying=qualifying, max_states=max_states, time_limit=time_limit, oracle=decide
    )
    return ReconstructionError(
        cons.source,
        where="constraints",
        found=f"no event/censoring ordering satisfies them jointly (shown by depth-first search); "
        f"these cannot all hold: {conflict.text()}",
        expected="mutually consistent figures, counts and follow-up",
    )


def _pick(sol: Solution, rng: random.Random) -> tuple[Configuration, _Search, int]:
    r = rng.randrange(sol.total)
    for item in sol.searches:
        if r < item[2]:
            return item
        r -= item[2]
    raise AssertionError("unreachable")
