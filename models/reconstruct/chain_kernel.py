r"""The ordering chain's replay, compiled: the same rules as :meth:`OrderingChain._replay`, on arrays.

Why
---
Every proposal of the chain (:mod:`~models.reconstruct.chain`) replays the changed part of the
ordering through :meth:`_Search.child` and the chain's KM checks. In Python that is about 4.6 µs
per step, and a proposal replays about 23 steps: on ``letter_n38`` (``data/benchmarks``) four
fifths of a proposal's 106 µs. This module keeps the same state in numbers rather than tuples and
replays it in a function compiled by Numba (Lam et al. 2015).

State
-----
The search's state before item :math:`k` is its counts per slot, the number of markers passed and,
per figure, the tuple of risk sets (KM) or (cause, risk set) pairs (incidence) recorded so far
(:meth:`_Search._step`). Every check the chain makes reads those tuples only through running sums
that do not depend on what else is in the tuple:

* KM: :math:`\hat S = \prod (1 - 1/n_j)`, :math:`v = \sum 1/(n_j(n_j-1))`, the last risk set
  (at least 2) and, for the chain's traced summary, :math:`\sum n_j`
  (:func:`~models.reconstruct.figures.km_summary`);
* incidence: the all-cause :math:`\hat S` and :math:`\hat F_1 = \sum_{c_j = 1} \hat S(t_j-)/n_j`
  (:func:`~models.reconstruct.figures.cif_value`).

A row of :class:`Packed` holds, per position, the counts, the marker, :math:`\log W` and these
four numbers per figure, each updated by the same floating-point operations in the same order as the
Python functions, so every check has the same outcome. :func:`replay` returns the rows of the
proposed ordering from its first changed position (rows before it are the previous ordering's),
or nothing if a step, marker or the terminal state is ruled out. The tuples themselves, needed for
a drawn table's days and a chain's signatures, come from a Python replay of the few orderings
kept (:meth:`OrderingChain.final_figs`). Layouts with digitised curves (exact fractions) and the
start search's lenient layouts keep the Python replay; ``tests/test_chain_kernel.py`` checks
that both replays accept and reject the same proposals and reach the same :math:`\log W`.

References
----------
Lam SK, Pitrou A, Seibert S. Numba: a LLVM-based Python JIT compiler. Proceedings of the Second
Workshop on the LLVM Compiler Infrastructure in HPC, 2015:1–6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np

from models.constants import EVENT_RELAPSE, Z_CI
from models.reconstruct.constraints import CIFTarget, KMTarget
from models.reconstruct.vocabulary import R

if TYPE_CHECKING:
    from models.reconstruct.search import _Search

_EPS = 1e-9
_REL = {"eq": 0, "le": 1, "ge": 2}
#: The order of :attr:`Packed.tables` (as :func:`replay` unpacks them).
TABLES = (
    "next_slot final ev_ptr ev_fig ev_code at_risk active r_ahead r_after is_km value tol has_ci ci_lo ci_hi "
    "land at_end done_min todo_max landmarks a_day a_k a_rel exit_weight log_n"
).split()


@dataclass(frozen=True)
class Packed:
    """One layout's static tables for :func:`replay` (built by :func:`pack`)."""

    tables: tuple
    width: int  # columns of a row: counts, marker, log W, then four per figure
    slots: int
    figures: int


def pack(search: _Search, km_index: list[int], log_n: np.ndarray) -> Packed | None:
    """The tables of ``search``'s layout, or None where the compiled replay does not apply.

    ``km_index`` lists the figures whose KM checks the chain makes (all of ``search.figures`` that
    are KM); the search must check every incidence figure itself and no KM one, have no curves, and
    track every figure, as the chain's strict layouts do (:meth:`OrderingChain.layout`).
    """
    figs = search.figures
    if search.curves or any(
        (isinstance(f, CIFTarget)) != (f.name in search.checked) or f.name not in search.tracked for f in figs
    ):
        return None
    if sorted(km_index) != [j for j, f in enumerate(figs) if isinstance(f, KMTarget)]:
        return None
    n_slots, n_figs, marks = len(search.slots), len(figs), len(search.landmarks)
    ev_ptr = np.zeros(n_slots + 1, np.int64)
    ev_fig: list[int] = []
    ev_code: list[int] = []
    for i, events in enumerate(search.slot_events):
        for j, ev in events:
            ev_fig.append(j)
            ev_code.append(ev)
        ev_ptr[i + 1] = len(ev_fig)
    at_risk = np.array([search.at_risk[f.name] for f in figs], np.int64).reshape(n_figs, n_slots)
    active = np.array(search.active, np.bool_).reshape(marks + 1, n_figs)
    r_after = np.array(
        [R in search.classes[c].path[p + 1 :] for c, p in search.slots], np.bool_
    )  # a relapse after the slot's next step
    where = {day: m for m, day in enumerate(search.landmarks)}
    land = np.array([where.get(f.landmark, -1) if f.landmark is not None else -1 for f in figs], np.int64)
    ci = [f.ci if isinstance(f, KMTarget) else None for f in figs]
    anchors = search.anchors
    named = {
        "next_slot": np.array(search.next_slot, np.int64),
        "final": np.array(search.final, np.bool_),
        "ev_ptr": ev_ptr,
        "ev_fig": np.array(ev_fig, np.int64),
        "ev_code": np.array(ev_code, np.int64),
        "at_risk": at_risk,
        "active": active,
        "r_ahead": np.array(search.r_ahead, np.bool_),
        "r_after": r_after,
        "is_km": np.array([isinstance(f, KMTarget) for f in figs], np.bool_),
        "value": np.array([f.value for f in figs], np.float64),
        "tol": np.array([f.tol for f in figs], np.float64),
        "has_ci": np.array([c is not None for c in ci], np.bool_),
        "ci_lo": np.array([c[0] if c is not None else 0.0 for c in ci], np.float64),
        "ci_hi": np.array([c[1] if c is not None else 0.0 for c in ci], np.float64),
        "land": land,
        "at_end": np.array([isinstance(f, CIFTarget) and f.landmark is None for f in figs], np.bool_),
        "done_min": np.array(search.done_min, np.float64),
        "todo_max": np.array(search.todo_max, np.float64),
        "landmarks": np.array(search.landmarks, np.float64),
        "a_day": np.array([a.day for a in anchors], np.float64),
        "a_k": np.array([a.k for a in anchors], np.int64),
        "a_rel": np.array([_REL[a.relation] for a in anchors], np.int64),
        "exit_weight": np.array(search.exit_weight, np.int64),
        "log_n": log_n,
    }
    tables = tuple(named[k] for k in TABLES)
    return Packed(tables, n_slots + 2 + 4 * n_figs, n_slots, n_figs)


def initial_row(search: _Search, packed: Packed) -> np.ndarray:
    """The row of the search's initial state: a single-row array (:meth:`_Search.initial`)."""
    row = np.zeros((1, packed.width), np.float64)
    row[0, : packed.slots] = search.start
    for j in range(packed.figures):
        row[0, packed.slots + 2 + 4 * j] = 1.0  # S = 1 before any event
    return row


def log_table(n: int) -> np.ndarray:
    """``math.log(k)`` for k = 0..n (entry 0 unused): the Python replay's values exactly."""
    return np.array([0.0] + [math.log(k) for k in range(1, n + 1)], np.float64)


@numba.njit(cache=True)
def _km_summary(s: float, v: float) -> tuple[float, float, float]:  # pragma: no cover - compiled
    if s == 0.0 or not math.isfinite(v):
        return 0.0, 0.0, 0.0
    se = math.sqrt(v)
    return 100 * s, 100 * s * math.exp(-Z_CI * se), min(100.0, 100 * s * math.exp(Z_CI * se))


@numba.njit(cache=True)
def _km_final(s, v, last, value, tol, has_ci, lo_t, hi_t):  # pragma: no cover - compiled
    if last != 0 and last < 2:
        return False
    est, lo, hi = _km_summary(s, v)
    if abs(est - value) > tol + _EPS:
        return False
    return not has_ci or (abs(lo - lo_t) <= tol + _EPS and abs(hi - hi_t) <= tol + _EPS)


@numba.njit(cache=True)
def _cif_final(f, value, tol):  # pragma: no cover - compiled
    return abs(100 * f - value) <= tol + 1e-9


@numba.njit(cache=True)
def replay(rows, start, labels, tables):  # pragma: no cover - compiled
    """Rows of the ordering whose labels from position ``start`` are ``labels`` (slot ``i >= 0``,
    marker ``m`` as ``-(m + 1)``, no label as a large negative number), the first ``start + 1``
    rows taken from ``rows``; an empty array if the ordering is ruled out."""
    (
        next_slot,
        final,
        ev_ptr,
        ev_fig,
        ev_code,
        at_risk,
        active,
        r_ahead,
        r_after,
        is_km,
        value,
        tol,
        has_ci,
        ci_lo,
        ci_hi,
        land,
        at_end,
        done_min,
        todo_max,
        landmarks,
        a_day,
        a_k,
        a_rel,
        exit_weight,
        log_n,
    ) = tables
    n_slots = next_slot.shape[0]
    n_figs = value.shape[0]
    marks = landmarks.shape[0]
    length = start + labels.shape[0]
    out = np.empty((length + 1, rows.shape[1]), np.float64)
    out[: start + 1] = rows[: start + 1]
    counts = np.empty(n_slots, np.int64)
    for i in range(n_slots):
        counts[i] = int(out[start, i])
    marker = int(out[start, n_slots])
    w = out[start, n_slots + 1]
    fa = np.empty(n_figs, np.float64)  # KM S / incidence all-cause S
    fb = np.empty(n_figs, np.float64)  # KM Greenwood sum / incidence F (fraction)
    fl = np.empty(n_figs, np.int64)  # last risk set (0: none yet)
    fs = np.empty(n_figs, np.int64)  # sum of risk sets
    nrisk = np.zeros(n_figs, np.int64)
    base = n_slots + 2
    for j in range(n_figs):
        fa[j] = out[start, base + 4 * j]
        fb[j] = out[start, base + 4 * j + 1]
        fl[j] = int(out[start, base + 4 * j + 2])
        fs[j] = int(out[start, base + 4 * j + 3])
        for i in range(n_slots):
            if at_risk[j, i]:
                nrisk[j] += counts[i]
    empty = np.empty((0, rows.shape[1]), np.float64)
    for k in range(labels.shape[0]):
        lab = labels[k]
        if lab >= 0:
            i = lab
            c = counts[i]
            if c == 0 or final[i]:
                return empty
            w += log_n[c]
            for e in range(ev_ptr[i], ev_ptr[i + 1]):
                j = ev_fig[e]
                if not active[marker, j]:
                    continue
                n = nrisk[j]
                if is_km[j]:
                    if n < 2:
                        return empty
                    fa[j] *= 1.0 - 1.0 / n
                    fb[j] = fb[j] + 1.0 / (n * (n - 1))
                    fl[j] = n
                    fs[j] += n
                    est, lo, _hi = _km_summary(fa[j], fb[j])
                    if est < value[j] - tol[j] - _EPS:
                        return empty
                    if has_ci[j] and lo < ci_lo[j] - tol[j] - _EPS:
                        return empty
                else:
                    code = ev_code[e]
                    if code != EVENT_RELAPSE:
                        ahead = False
                        for q in range(n_slots):
                            cq = counts[q]
                            if cq and r_ahead[q] and (q != i or cq > 1 or r_after[q]):
                                ahead = True
                                break
                        if not ahead:
                            continue
                    if code == EVENT_RELAPSE:
                        fb[j] += fa[j] / n
                    fa[j] *= 1.0 - 1.0 / n
                    fl[j] = n
                    fs[j] += n
                    if 100 * fb[j] > value[j] + tol[j] + 1e-9:
                        return empty
            nxt = next_slot[i]
            counts[i] -= 1
            counts[nxt] += 1
            for j in range(n_figs):
                nrisk[j] += at_risk[j, nxt] - at_risk[j, i]
        elif lab > -(marks + 2):
            m = -lab - 1
            if m != marker or marker >= marks:
                return empty
            day = landmarks[marker]
            for j in range(n_figs):
                if land[j] == marker:
                    if is_km[j]:
                        if not _km_final(fa[j], fb[j], fl[j], value[j], tol[j], has_ci[j], ci_lo[j], ci_hi[j]):
                            return empty
                    elif not _cif_final(fb[j], value[j], tol[j]):
                        return empty
            exits = 0
            for i in range(n_slots):
                if counts[i] and (done_min[i] > day or todo_max[i] < day):
                    return empty
                exits += counts[i] * exit_weight[i]
            for a in range(a_day.shape[0]):
                before = a_k[a] <= exits
                if (a_rel[a] != 2 and a_day[a] < day and not before) or (a_rel[a] != 1 and a_day[a] > day and before):
                    return empty
            marker += 1
        else:
            return empty
        row = start + k + 1
        for i in range(n_slots):
            out[row, i] = counts[i]
        out[row, n_slots] = marker
        out[row, n_slots + 1] = w
        for j in range(n_figs):
            out[row, base + 4 * j] = fa[j]
            out[row, base + 4 * j + 1] = fb[j]
            out[row, base + 4 * j + 2] = fl[j]
            out[row, base + 4 * j + 3] = fs[j]
    if marker < marks:
        return empty
    for i in range(n_slots):
        if counts[i] and not final[i]:
            return empty
    for j in range(n_figs):
        if is_km[j]:
            if not _km_final(fa[j], fb[j], fl[j], value[j], tol[j], has_ci[j], ci_lo[j], ci_hi[j]):
                return empty
        elif at_end[j] and not _cif_final(fb[j], value[j], tol[j]):
            return empty
    return out
