"""Drawing one table from a solution: ordering, patients, days, entries and the GvHD roster.

An ordering is drawn uniformly (:meth:`_Search.sample`), patients are assigned to its labels at
random within their class, days are sampled within windows and anchors, then entry days and every
published GvHD case (method step 4 of :mod:`models.reconstruct`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from models.data import OUTCOME_COLUMNS, validate_outcomes
from models.reconstruct.constraints import Constraints, GvhdCategory, OrderStat
from models.reconstruct.days import sample_increasing, sample_order_stats
from models.reconstruct.solve import Solution, _pick
from models.reconstruct.vocabulary import FOLLOWUP_READINGS, D, G, N, R
from models.reconstruct.windows import _anchors, _reading_stat, step_windows

if TYPE_CHECKING:
    from models.reconstruct.configurations import Configuration
    from models.reconstruct.search import _Search


@dataclass
class Draw:
    """One reconstructed table with the choices behind it."""

    table: pd.DataFrame
    ordering: list[str]
    configuration: str
    gvhd_roster: list[dict[str, Any]]
    signature: tuple


def _dealt_members(search: _Search, rng: random.Random) -> list[list[str]]:
    """Each class's patients for one draw, in random order.

    Anonymous patients of one subgroup are exchangeable: the text says how many of them relapse or
    die, never which. A configuration lists each class's members in ID order only to count them, so
    the IDs of a subgroup are dealt at random over all of that subgroup's classes; otherwise the same
    patients (and so the same Table 1 covariates) would carry the events in every draw.
    """
    pools: dict[frozenset[str], list[str]] = {}
    for cl in search.classes:
        if not cl.named:
            pools.setdefault(cl.populations, []).extend(cl.members)
    for key in sorted(pools, key=sorted):
        rng.shuffle(pools[key])
    dealt: list[list[str]] = []
    for cl in search.classes:
        if cl.named:
            dealt.append(list(cl.members))
        else:
            pool = pools[cl.populations]
            dealt.append(pool[: len(cl.members)])
            del pool[: len(cl.members)]
    return dealt


def _timeline(labels: list[tuple], search: _Search, rng: random.Random) -> list[tuple[str | None, str]]:
    """Assign patients to an ordering's labels: within a class, a random patient moves on."""
    dealt = _dealt_members(search, rng)
    queues: dict[int, list[str]] = {i: (dealt[c] if p == 0 else []) for i, (c, p) in enumerate(search.slots)}
    items: list[tuple[str | None, str]] = []
    for kind, i in labels:
        if kind == "L":
            items.append((None, f"L{i}"))
            continue
        q = queues[i]
        pid = q.pop(rng.randrange(len(q)))
        queues[search.next_slot[i]].append(pid)
        items.append((pid, search.step[i]))
    return items


def _gvhd_first_category(
    cons: Constraints, qualifying: tuple[str, ...], gpatients: list[str], rng: random.Random
) -> dict[str, str] | None:
    """Each G patient's first qualifying case category, within the published counts."""
    left = {q: cons.gvhd_categories[q].count for q in qualifying}
    out = {}
    for p in gpatients:
        options = [q for q, c in left.items() if c > 0]
        if not options:
            return None
        q = rng.choice(options)
        left[q] -= 1
        out[p] = q
    return out


def _sample_days(
    cons: Constraints,
    items: list[tuple[str | None, str]],
    first_cat: dict[str, str],
    reading: str,
    thresholds: Sequence[float],
    rng: random.Random,
) -> dict[int, int] | None:
    """Days for the items of a timeline: strictly increasing integers within windows.

    A threshold marker at day x bounds the items around it (before: day < x, after: day > x);
    exits pinned by the follow-up order statistics get their day; a G step lies inside its
    category's onset window shifted by the entry range.
    """
    windows = step_windows(cons, (), reading)
    e_lo = int(cons.entry.lo) if cons.entry is not None else 0
    e_hi = int(cons.entry.hi) if cons.entry is not None else 10**6
    stat = _reading_stat(cons, reading)
    pins = {a.k: a for a in _anchors(stat)}
    lo: list[int] = []
    hi: list[int] = []
    index: dict[int, int] = {}
    exit_pos: dict[int, int] = {}
    floor_day = -1e9  # no marker passed yet: no lower bound
    exit_no = 0
    pending: list[int] = []  # positions since the last marker, capped by the next marker
    for j, (pid, step) in enumerate(items):
        if pid is None:
            x = thresholds[int(step[1:])]
            for q in pending:
                hi[q] = min(hi[q], math.ceil(x) - 1)
            pending, floor_day = [], x
            continue
        a, b = windows[step]
        if step == G:
            on = cons.gvhd_onsets[cons.gvhd_categories[first_cat[pid]].onset]
            a, b = max(a, e_lo + int(on.lo)), min(b, e_hi + int(on.hi))
        a = max(a, math.floor(floor_day) + 1)
        if step in FOLLOWUP_READINGS[reading]:
            exit_no += 1
            exit_pos[exit_no] = len(lo)
            anc = pins.get(exit_no)
            if anc is not None and anc.relation == "eq":
                a, b = max(a, int(anc.day)), min(b, int(anc.day))
            elif anc is not None and anc.relation == "le":
                b = min(b, math.floor(anc.day))
            elif anc is not None and anc.relation == "ge":
                a = max(a, math.ceil(anc.day))
        index[j] = len(lo)
        pending.append(len(lo))
        lo.append(int(a))
        hi.append(int(b))
    pairs = []
    if stat is not None and stat.n % 2 == 0 and stat.n > 2:
        pairs.append((exit_pos[stat.n // 2], exit_pos[stat.n // 2 + 1], stat.median))
    days = sample_increasing(lo, hi, pairs, rng)
    return None if days is None else {j: days[k] for j, k in index.items()}


#: Day draws tried for one ordering before it is given up (and a new ordering drawn)
DAY_TRIES = 200


def _draw_once(cons: Constraints, sol: Solution, rng: random.Random) -> Draw | None:
    """One table: an ordering drawn uniformly over the consistent ones, then its days.

    The days (GvHD category, event days, entry days, GvHD roster) are drawn for the chosen ordering
    until they succeed, up to :data:`DAY_TRIES` times. Giving up the ordering after one failed day
    draw would favour orderings whose days are easy to draw (an exact even-n median is met by half
    the draws of some orderings), so tables would not be uniform over orderings; with the retries
    they are, except for orderings whose days succeed less often than about 1 in 200 draws (then
    ``None`` and a new ordering).
    """
    config, search, _cnt = _pick(sol, rng)
    labels, figs = search.sample(rng)
    return draw_for_labels(cons, sol.qualifying, sol.reading, config, search, labels, figs, rng)


def draw_for_labels(
    cons: Constraints,
    qualifying: tuple[str, ...],
    reading: str,
    config: Configuration,
    search: _Search,
    labels: list[tuple],
    figs: tuple,
    rng: random.Random,
) -> Draw | None:
    """A table for one given ordering (class-level ``labels`` of ``search``): patients, then days.

    Shared by the exact sampler and the chain (:mod:`~models.reconstruct.chain`): the patients are
    assigned within their classes at random and the days are retried up to :data:`DAY_TRIES` times
    for the same ordering; ``None`` if they all fail.
    """
    items = _timeline(labels, search, rng)
    for _ in range(DAY_TRIES):
        drawn = _days_of(cons, qualifying, reading, items, search, rng)
        if drawn is not None:
            table, roster = drawn
            ordering = [("marker" if pid is None else f"{pid}:{step}") for pid, step in items]
            return Draw(table, ordering, config.label(), roster, figs)
    return None


def _days_of(
    cons: Constraints,
    qualifying: tuple[str, ...],
    reading: str,
    items: list[tuple[str | None, str]],
    search: Any,
    rng: random.Random,
) -> tuple[Any, Any] | None:
    """Days of one ordering's items, entry days and the GvHD roster; ``None`` when a draw fails."""
    gpatients = [pid for pid, step in items if step == G and pid is not None]  # only markers have no pid
    first_cat = _gvhd_first_category(cons, qualifying, gpatients, rng) if gpatients else {}
    if first_cat is None:
        return None
    days = _sample_days(cons, items, first_cat, reading, search.landmarks, rng)
    if days is None:
        return None
    per: dict[str, dict[str, int]] = {p: {} for p in cons.patients}
    for j, day in days.items():
        pid, step = items[j]
        assert pid is not None  # the days are of patient items, never of markers
        per[pid][step] = day
    entry = _sample_entries(cons, per, first_cat, rng)
    if entry is None:
        return None
    roster = _sample_gvhd_roster(cons, qualifying, per, entry, first_cat, rng)
    if roster is None:
        return None
    return _table(cons, per, entry), roster


def _sample_entries(
    cons: Constraints, per: dict[str, dict[str, int]], first_cat: dict[str, str], rng: random.Random
) -> dict[str, int] | None:
    """Entry days: before each patient's first event, inside GvHD onset windows, exact median/range.

    Without an ``[entry]`` figure the letter says nothing of a later start: everyone is at risk
    from the time origin (entry day 0), except a patient whose GvHD onset is printed relative to
    entry, who gets a day drawn inside that window.
    """
    windows = []
    for p in cons.patients:
        first = min(per[p].values())
        a, b = 0, first - 1
        if p in first_cat:
            on = cons.gvhd_onsets[cons.gvhd_categories[first_cat[p]].onset]
            a, b = max(a, per[p][G] - int(on.hi)), min(b, per[p][G] - int(on.lo))
        if a > b:
            return None
        windows.append((a, b))
    if cons.entry is None:
        return {
            p: (rng.randint(a, b) if p in first_cat else 0) for p, (a, b) in zip(cons.patients, windows, strict=True)
        }
    vals = sample_order_stats(windows, cons.entry, rng)
    return None if vals is None else dict(zip(cons.patients, vals, strict=True))


def _sample_gvhd_roster(
    cons: Constraints,
    qualifying: tuple[str, ...],
    per: dict[str, dict[str, int]],
    entry: dict[str, int],
    first_cat: dict[str, str],
    rng: random.Random,
) -> list[dict[str, Any]] | None:
    """Every published GvHD case (qualifying or not): patient, category, onset after entry.

    A qualifying case outside a ``G`` patient's first one must not create a GRFS event that the
    ordering lacks: it goes to a ``G`` patient (other family, after its first) or to a relapsed
    patient after the relapse. Non-qualifying cases go to anyone, before last follow-up.
    """
    if not cons.gvhd_categories:
        return []
    roster: list[dict[str, Any]] = []
    used: dict[str, set[str]] = {"acute": set(), "chronic": set()}
    fixed: dict[str, list[tuple[str, str, int]]] = {}
    for p, q in first_cat.items():
        cat = cons.gvhd_categories[q]
        used[cat.family].add(p)
        fixed.setdefault(cat.onset, []).append((p, q, per[p][G] - entry[p]))
    for onset_key, stat in cons.gvhd_onsets.items():
        cats = [c for c in cons.gvhd_categories.values() if c.onset == onset_key]
        units: list[tuple[str, str, tuple[int, int]]] = [(p, q, (v, v)) for p, q, v in fixed.get(onset_key, [])]
        for cat in cats:
            remaining = cat.count - sum(1 for _p, q, _v in fixed.get(onset_key, []) if q == cat.name)
            for _ in range(remaining):
                unit = _host(cons, cat, qualifying, per, entry, used, stat, rng)
                if unit is None:
                    return None
                units.append(unit)
        offsets = sample_order_stats([u[2] for u in units], stat, rng)
        if offsets is None:
            return None
        for (p, q, _w), off in zip(units, offsets, strict=True):
            roster.append(
                {
                    "patient": p,
                    "category": q,
                    "onset_after_entry": off,
                    "onset_day": entry[p] + off,
                    "grfs_qualifying": q in qualifying and p in first_cat and first_cat[p] == q,
                }
            )
    return sorted(roster, key=lambda r: (r["category"], r["onset_day"]))


def _host(
    cons: Constraints,
    cat: GvhdCategory,
    qualifying: tuple[str, ...],
    per: dict[str, dict[str, int]],
    entry: dict[str, int],
    used: dict[str, set[str]],
    stat: OrderStat,
    rng: random.Random,
) -> tuple[str, str, tuple[int, int]] | None:
    """A random patient able to host one more case of ``cat`` and its onset-offset window."""
    options = []
    for p in cons.patients:
        if p in used[cat.family]:
            continue
        last = max(per[p].values())
        after = entry[p]
        if cat.name in qualifying:
            # must not be a new GRFS event: after the patient's G or relapse
            if G in per[p]:
                after = per[p][G]
            elif R in per[p]:
                after = per[p][R]
            else:
                continue
        a, b = max(int(stat.lo), after - entry[p] + 1), min(int(stat.hi), last - entry[p] - 1)
        if a <= b:
            options.append((p, (a, b)))
    if not options:
        return None
    p, w = rng.choice(options)
    used[cat.family].add(p)
    return p, cat.name, w


def _table(cons: Constraints, per: dict[str, dict[str, int]], entry: dict[str, int]) -> pd.DataFrame:
    rows = []
    for p in cons.patients:
        ev = per[p]
        death = ev.get(N, ev.get(D))
        cause = "nrm" if N in ev else ("relapse" if D in ev else "")
        last = max(ev.values())
        rows.append(
            {
                "patient": p,
                "entry_day": entry[p],
                "relapse_day": ev.get(R, math.nan),
                "gvhd_day": ev.get(G, math.nan),
                "death_day": math.nan if death is None else death,
                "death_cause": cause,
                "last_followup_day": last,
            }
        )
    return validate_outcomes(pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS)), "reconstructed table")
