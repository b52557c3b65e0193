"""The memoised dynamic programme over orderings of one configuration (:class:`_Search`).

The method (risk-set states, threshold markers, exact counting and uniform sampling) is step 3
of the module docstring of :mod:`models.reconstruct`.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import TYPE_CHECKING, cast

from models.constants import EVENT_RELAPSE
from models.reconstruct.constraints import CIFTarget, Constraints, KMTarget
from models.reconstruct.curves import EPS
from models.reconstruct.figures import _cif_ok, _prefixes, km_tuples
from models.reconstruct.vocabulary import CIF_CAUSES, ENDPOINT_EVENTS, ENDPOINT_EXITS, FOLLOWUP_READINGS, C, D, R
from models.reconstruct.windows import _anchors, _reading_stat, step_windows, threshold_days

if TYPE_CHECKING:
    from models.reconstruct.configurations import Configuration


class _Budget(Exception):
    pass


class _Search:
    """Memoised DP over orderings of one configuration (see the module docstring)."""

    def __init__(
        self,
        cons: Constraints,
        config: Configuration,
        *,
        reading: str,
        max_states: int,
        checked: set[str] | None = None,
        tracked: set[str] | None = None,
    ) -> None:
        self.cons = cons
        self.classes = config.classes
        self.max_states = max_states
        self.windows = step_windows(cons, config.qualifying, reading)
        self.landmarks = threshold_days(cons, self.windows)
        self.figures: list[KMTarget | CIFTarget] = [*cons.km, *cons.cif]
        self.checked = {f.name for f in self.figures} if checked is None else checked
        # Figures whose risk sets the state records (default all: the signatures name every figure's
        # reachable values); a figure neither checked nor tracked leaves the state alone.
        self.tracked = {f.name for f in self.figures} if tracked is None else tracked | self.checked
        self.exit_kinds = FOLLOWUP_READINGS[reading]
        stat = cons.followup if reading == cons.followup_reading else _reading_stat(cons, reading)
        self.anchors = _anchors(stat)
        # Slots: (class index, position); counts per slot form the state.
        self.slots: list[tuple[int, int]] = [
            (c, p) for c, cl in enumerate(self.classes) for p in range(len(cl.path) + 1)
        ]
        index = {s: i for i, s in enumerate(self.slots)}
        self.next_slot = [index.get((c, p + 1), -1) for c, p in self.slots]
        self.step = [self.classes[c].path[p] if p < len(self.classes[c].path) else "" for c, p in self.slots]
        self.final = [p == len(self.classes[c].path) for c, p in self.slots]
        self.exit_weight = [
            int(self.final[i] and self.classes[c].path[-1:] in self.exit_kinds) if self.classes[c].path else 0
            for i, (c, _p) in enumerate(self.slots)
        ]
        self.at_risk = {f.name: [self._at_risk(f, c, p) for c, p in self.slots] for f in self.figures}
        self.start = tuple(len(self.classes[c].members) if p == 0 else 0 for c, p in self.slots)
        # A slot is impossible at a threshold x if a step already taken cannot be as early as x,
        # or a step still to come cannot be as late as x.
        path_of = [self.classes[c].path for c, _p in self.slots]
        self.done_min = [
            max((self.windows[k][0] for k in path_of[i][:p]), default=-math.inf) for i, (_c, p) in enumerate(self.slots)
        ]
        self.todo_max = [
            min((self.windows[k][1] for k in path_of[i][p:]), default=math.inf) for i, (_c, p) in enumerate(self.slots)
        ]
        self.memo: dict[tuple, int] = {}
        self.signatures: set[tuple] = set()
        self.complete: dict[str, frozenset[tuple[int, ...]]] = {}
        self.prefix: dict[str, frozenset[tuple[int, ...]]] = {}
        for f in cons.km:
            if f.name in self.checked:
                size = sum(cons.membership[f.population].values())
                self.complete[f.name] = km_tuples(f, size)
                self.prefix[f.name] = _prefixes(self.complete[f.name])
        self._prepare()
        self._prepare_curves()

    def _at_risk(self, f: KMTarget | CIFTarget, c: int, p: int) -> bool:
        cl = self.classes[c]
        if f.population not in cl.populations:
            return False
        exits = ENDPOINT_EXITS[f.endpoint] if isinstance(f, KMTarget) else ENDPOINT_EXITS["efs"]
        return not any(s in exits for s in cl.path[:p])

    def _event(self, f: KMTarget | CIFTarget, slot: int) -> int:
        """0 if the step at ``slot`` is no event of ``f``; else 1 (KM) or the CIF cause code."""
        if not self.at_risk[f.name][slot]:
            return 0
        k = self.step[slot]
        if isinstance(f, KMTarget):
            return int(k in ENDPOINT_EVENTS[f.endpoint])
        return CIF_CAUSES.get(k, 0)

    def _active(self, f: KMTarget | CIFTarget, marker: int) -> bool:
        return f.landmark is None or (marker < len(self.landmarks) and self.landmarks[marker] <= f.landmark)

    def _prepare(self) -> None:
        """Static lookup tables for :meth:`children` (which runs once per state)."""
        self.r_ahead = [R in self.classes[c].path[p:] for c, p in self.slots]
        self.slot_events = [
            [(j, ev) for j, f in enumerate(self.figures) if f.name in self.tracked and (ev := self._event(f, i))]
            for i in range(len(self.slots))
        ]
        self.risk_idx = [[i for i, w in enumerate(self.at_risk[f.name]) if w] for f in self.figures]
        self.active = [[self._active(f, m) for f in self.figures] for m in range(len(self.landmarks) + 1)]
        self.is_km = [isinstance(f, KMTarget) for f in self.figures]
        self.is_checked = [f.name in self.checked for f in self.figures]
        self.prefix_list = [self.prefix.get(f.name, frozenset()) for f in self.figures]

    def _prepare_curves(self) -> None:
        r"""Lookup tables for the digitised curves (:mod:`models.reconstruct.curves`).

        A curve's entry in the state, after the figures', is its KM estimate :math:`\hat S` as an
        exact fraction while a survival bound is still to be checked, else ``None`` (states that
        differ only in a value no later check reads are merged). Per number of markers passed
        ``m``: the largest at-risk count and lower bound still ahead (the count and :math:`\hat S`
        only fall, so a step below either is cut at once), and whether :math:`\hat S` is still read.
        """
        self.curves = self.cons.curves
        self.base = len(self.figures)
        marks = len(self.landmarks)
        self.curve_risk_idx: list[list[int]] = []
        self.curve_move: list[list[tuple[bool, bool]]] = []
        self.curve_at: list[list[tuple[int, int | None, float | None, float | None]]] = [[] for _ in range(marks)]
        self.need_n: list[list[int]] = []
        self.need_s: list[list[float]] = []
        self.track_s: list[list[bool]] = []
        where = {day: m for m, day in enumerate(self.landmarks)}
        for c, cv in enumerate(self.curves):
            exits, events = ENDPOINT_EXITS[cv.endpoint], ENDPOINT_EVENTS[cv.endpoint]
            risk = [
                cv.population in self.classes[k].populations and not any(x in exits for x in self.classes[k].path[:p])
                for k, p in self.slots
            ]
            self.curve_risk_idx.append([i for i, w in enumerate(risk) if w])
            self.curve_move.append(
                [(w and st in events, w and st in exits) for w, st in zip(risk, self.step, strict=True)]
            )
            n_at = {where[d]: n for d, n in cv.at_risk}
            lo_at = {where[d]: b for d, b in cv.lower}
            hi_at = {where[d]: b for d, b in cv.upper}
            for m in sorted(set(n_at) | set(lo_at) | set(hi_at)):
                self.curve_at[m].append((c, n_at.get(m), lo_at.get(m), hi_at.get(m)))
            self.need_n.append([max((n for k, n in n_at.items() if k >= m), default=0) for m in range(marks + 1)])
            self.need_s.append([max((b for k, b in lo_at.items() if k >= m), default=0.0) for m in range(marks + 1)])
            self.track_s.append([any(k >= m for k in (*lo_at, *hi_at)) for m in range(marks + 1)])
        self.curve_start: tuple = tuple(Fraction(1) if t[0] else None for t in self.track_s)

    def _curve_step(self, counts: tuple, marker: int, i: int, figs: tuple) -> tuple | None:
        """The curves' part of one step of slot ``i``: ``figs`` updated, or None if a curve rules it out."""
        for c, moves in enumerate(self.curve_move):
            event, exit_ = moves[i]
            if not exit_:
                continue
            n = 0
            for k in self.curve_risk_idx[c]:
                n += counts[k]
            if n - 1 < self.need_n[c][marker]:
                return None
            s = figs[self.base + c]
            if event and s is not None:
                s = s * Fraction(n - 1, n)
                if s < self.need_s[c][marker] - EPS:
                    return None
                figs = (*figs[: self.base + c], s, *figs[self.base + c + 1 :])
        return figs

    def _curve_marker_ok(self, counts: tuple, marker: int, figs: tuple) -> bool:
        r"""At marker ``marker``: every curve's number at risk and survival bounds due there.

        Curves put markers on half days, where an even-n follow-up median :math:`m = x + \tfrac12`
        may fall: its lower middle exit (day :math:`\le x`) must then precede the marker and the
        upper one (day :math:`\ge x + 1`) follow it, or no days exist for the ordering.
        """
        day = self.landmarks[marker]
        exits = -1
        for a in self.anchors:
            if a.day == day and a.relation != "eq":
                if exits < 0:
                    exits = sum(c * w for c, w in zip(counts, self.exit_weight, strict=True))
                if (a.relation == "le") != (a.k <= exits):
                    return False
        for c, n_req, lo, hi in self.curve_at[marker]:
            if n_req is not None and sum(counts[k] for k in self.curve_risk_idx[c]) != n_req:
                return False
            s = figs[self.base + c]
            if (lo is not None and s < lo - EPS) or (hi is not None and s > hi + EPS):
                return False
        return True

    def _curve_pass(self, figs: tuple, marker: int) -> tuple:
        """``figs`` once ``marker`` markers are passed: a curve value no later check reads is dropped."""
        return (
            *figs[: self.base],
            *(None if not t[marker] else v for t, v in zip(self.track_s, figs[self.base :], strict=True)),
        )

    def _relapse_ahead(self, counts: tuple, moving: int) -> bool:
        """Whether any patient still has a relapse to come (the moving one's step is no relapse)."""
        return any(
            c
            and self.r_ahead[k]
            and (k != moving or c > 1 or R in self.classes[self.slots[k][0]].path[self.slots[k][1] + 1 :])
            for k, c in enumerate(counts)
        )

    def children(self, state: tuple) -> list[tuple[tuple, tuple]]:
        """Labelled successor states that no figure rules out."""
        out: list[tuple[tuple, tuple]] = []
        marker_child = self.child(state, ("L", state[1]))
        if marker_child is not None:
            out.append((("L", state[1]), marker_child))
        for i, cnt in enumerate(state[0]):
            if cnt and not self.final[i]:
                kid = self._step(state, i)
                if kid is not None:
                    out.append((("T", i), kid))
        return out

    def child(self, state: tuple, label: tuple) -> tuple | None:
        """The successor of ``state`` along ``label`` (``("L", marker)`` or ``("T", slot)``), or None.

        None when the label is not a step of ``state`` or a figure rules it out; :meth:`children` is
        this over every label, so a replayed ordering is checked by exactly the search's rules.
        """
        counts, marker, figs = state
        if label[0] == "L":
            if label[1] != marker or marker >= len(self.landmarks) or not self._marker_ok(counts, marker, figs):
                return None
            if self.curves:
                if not self._curve_marker_ok(counts, marker, figs):
                    return None
                figs = self._curve_pass(figs, marker + 1)
            return (counts, marker + 1, figs)
        i = label[1]
        if not counts[i] or self.final[i]:
            return None
        return self._step(state, i)

    def _step(self, state: tuple, i: int) -> tuple | None:
        """One patient of slot ``i`` takes its next step (``None`` if a figure rules it out)."""
        counts, marker, figs = state
        active = self.active[marker]
        new_figs = figs
        for j, ev in self.slot_events[i]:
            if not active[j]:
                continue
            n = 0
            for k in self.risk_idx[j]:
                n += counts[k]
            if self.is_km[j]:
                new = (*figs[j], n)
                ok = not self.is_checked[j] or new in self.prefix_list[j]
            elif ev != EVENT_RELAPSE and not self._relapse_ahead(counts, i):
                # No relapse can follow: the incidence is final, so the state need not grow
                # (this merges histories that differ only after the last relapse).
                continue
            else:
                new = (*figs[j], (ev, n))
                ok = not self.is_checked[j] or _cif_ok(cast(CIFTarget, self.figures[j]), new, final=False)
            if not ok:
                return None
            new_figs = (*new_figs[:j], new, *new_figs[j + 1 :])
        if self.curves:
            curved = self._curve_step(counts, marker, i, new_figs)
            if curved is None:
                return None
            new_figs = curved
        nc = list(counts)
        nc[i] -= 1
        nc[self.next_slot[i]] += 1
        return (tuple(nc), marker, new_figs)

    def _marker_ok(self, counts: tuple, marker: int, figs: tuple) -> bool:
        day = self.landmarks[marker]
        for j, f in enumerate(self.figures):
            if f.landmark == day and f.name in self.checked:
                ok = figs[j] in self.complete[f.name] if isinstance(f, KMTarget) else _cif_ok(f, figs[j], final=True)
                if not ok:
                    return False
        for i, cnt in enumerate(counts):
            if cnt and (self.done_min[i] > day or self.todo_max[i] < day):
                return False
        exits = sum(c * w for c, w in zip(counts, self.exit_weight, strict=True))
        for a in self.anchors:
            before = a.k <= exits
            if (a.relation in ("eq", "le") and a.day < day and not before) or (
                a.relation in ("eq", "ge") and a.day > day and before
            ):
                return False
        return True

    def _terminal(self, state: tuple) -> bool:
        counts, marker, _figs = state
        if marker < len(self.landmarks) or any(c and not f for c, f in zip(counts, self.final, strict=True)):
            return False
        return True

    def _free_tail(self, state: tuple) -> bool:
        counts, marker, _figs = state
        if marker < len(self.landmarks):
            return False
        return all(
            self.final[i] or (self.step[i] in (C, D) and self.final[self.next_slot[i]])
            for i, c in enumerate(counts)
            if c
        )

    def _terminal_ok(self, figs: tuple) -> bool:
        for j, f in enumerate(self.figures):
            if (
                isinstance(f, CIFTarget)
                and f.landmark is None
                and f.name in self.checked
                and not _cif_ok(f, figs[j], final=True)
            ):
                return False
        return True

    def count(self, state: tuple | None = None) -> int:
        """Number of consistent orderings completing ``state`` (exact integer)."""
        state = self.initial() if state is None else state
        hit = self.memo.get(state)
        if hit is not None:
            return hit
        if len(self.memo) >= self.max_states:
            raise _Budget
        if self._terminal(state):
            total = int(self._terminal_ok(state[2]))
            if total:
                self.signatures.add(state[2][: self.base])
        elif self._free_tail(state):
            # Only last contacts / deaths after relapse remain and no threshold is left: they
            # interleave freely, so the completions are a multinomial coefficient.
            total = int(self._terminal_ok(state[2]))
            if total:
                self.signatures.add(state[2][: self.base])
                left = [c for i, c in enumerate(state[0]) if c and not self.final[i]]
                total = math.factorial(sum(left))
                for c in left:
                    total //= math.factorial(c)
        else:
            total = sum(self.count(child) for _label, child in self.children(state))
        self.memo[state] = total
        return total

    def initial(self) -> tuple:
        return (self.start, 0, tuple(() for _ in self.figures) + self.curve_start)

    def sample(self, rng: random.Random) -> tuple[list[tuple], tuple]:
        """One ordering, uniformly among the consistent ones (requires :meth:`count` > 0)."""
        state = self.initial()
        labels: list[tuple] = []
        while not self._terminal(state):
            kids = [(lab, ch, self.count(ch)) for lab, ch in self.children(state)]
            r = rng.randrange(sum(k[2] for k in kids))
            for lab, ch, w in kids:
                if r < w:
                    labels.append(lab)
                    state = ch
                    break
                r -= w
        return labels, state[2][: self.base]
