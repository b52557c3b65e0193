r"""Figure arithmetic on risk sets: Kaplan–Meier and Aalen–Johansen values at distinct event times.

With distinct event times a KM landmark estimate and its log-transformed Greenwood interval depend
only on the risk sets :math:`n_j` (:func:`km_summary`), the relapse incidence only on the ordered
(cause, risk set) pairs (:func:`cif_value`). :func:`risk_set_tuples` enumerates every risk-set
tuple reproducing a KM figure (method step 2–3 of :mod:`models.reconstruct`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from models.constants import EVENT_RELAPSE, Z_CI
from models.errors import ReconstructionError
from models.reconstruct.constraints import CIFTarget, KMTarget


def _km_values(ns: Sequence[int]) -> tuple[float, float]:
    """KM estimate and Greenwood log-variance for distinct event times with risk sets ``ns``."""
    s, v = 1.0, 0.0
    for n in ns:
        s *= 1.0 - 1.0 / n
        v = math.inf if n <= 1 else v + 1.0 / (n * (n - 1))
    return s, v


def km_summary(ns: Sequence[int]) -> tuple[float, float, float]:
    r"""Estimate, lower and upper 95% bound (percent) from risk sets at distinct event times.

    :math:`\hat S=\prod(1-1/n_j)`, :math:`v=\sum 1/(n_j(n_j-1))`, bounds
    :math:`\hat S e^{\pm z\sqrt v}` with the upper bound truncated at 100%.
    """
    s, v = _km_values(ns)
    if s == 0.0 or not math.isfinite(v):
        return 0.0, 0.0, 0.0
    se = math.sqrt(v)
    return 100 * s, 100 * s * math.exp(-Z_CI * se), min(100.0, 100 * s * math.exp(Z_CI * se))


def cif_value(events: Sequence[tuple[int, int]]) -> float:
    r"""Aalen–Johansen incidence of cause 1 (percent) from ordered (cause, risk set) pairs.

    :math:`\hat F_1 = \sum_{j:\,c_j=1} \hat S(t_j-)/n_j`, :math:`\hat S` the all-cause survival.
    """
    s, f = 1.0, 0.0
    for cause, n in events:
        if cause == EVENT_RELAPSE:
            f += s / n
        s *= 1.0 - 1.0 / n
    return 100 * f


def _km_ok(t: KMTarget, ns: Sequence[int], *, final: bool) -> bool:
    """Whether the risk sets ``ns`` can still (``final=False``) or do (``final=True``) reproduce ``t``."""
    est, lo, hi = km_summary(ns)
    eps = 1e-9
    if not final:
        # S and the lower bound only fall as events accrue: prune once below the printed value.
        if est < t.value - t.tol - eps:
            return False
        return not (t.ci is not None and lo < t.ci[0] - t.tol - eps)
    if abs(est - t.value) > t.tol + eps:
        return False
    return t.ci is None or (abs(lo - t.ci[0]) <= t.tol + eps and abs(hi - t.ci[1]) <= t.tol + eps)


def risk_set_tuples(t: KMTarget, size: int, *, budget: int = 2_000_000) -> frozenset[tuple[int, ...]]:
    r"""Every strictly decreasing tuple of risk sets :math:`n_1 > n_2 > \dots \ge 2` (one event
    at each of distinct times before the landmark, at most ``size`` at risk) whose estimate and
    interval reproduce ``t``.

    Depth-first with the monotone cut of :func:`_km_ok` (estimate and lower bound only fall), so
    the enumeration is exhaustive; more than ``budget`` visited prefixes raises.
    """
    found: set[tuple[int, ...]] = set()
    visited = 0
    stack: list[tuple[int, ...]] = [()]
    while stack:
        ns = stack.pop()
        visited += 1
        if visited > budget:
            raise ReconstructionError(
                None,
                where=f"figure {t.name}",
                found=f"more than {budget} risk-set prefixes",
                expected="a figure with fewer compatible risk-set sequences (smaller study or more decimals)",
            )
        if _km_ok(t, ns, final=True):
            found.add(ns)
        top = ns[-1] if ns else size + 1
        for n in range(top - 1, 1, -1):
            nxt = (*ns, n)
            if _km_ok(t, nxt, final=False):
                stack.append(nxt)
            else:
                # a smaller n cuts deeper: if n fails the monotone test, every n' < n fails too
                break
    return frozenset(found)


_TUPLE_CACHE: dict[tuple[KMTarget, int], frozenset[tuple[int, ...]]] = {}


def km_tuples(t: KMTarget, size: int) -> frozenset[tuple[int, ...]]:
    """Cached :func:`risk_set_tuples`."""
    key = (t, size)
    if key not in _TUPLE_CACHE:
        _TUPLE_CACHE[key] = risk_set_tuples(t, size)
    return _TUPLE_CACHE[key]


def _prefixes(tuples: Iterable[tuple[int, ...]]) -> frozenset[tuple[int, ...]]:
    return frozenset(tup[:i] for tup in tuples for i in range(len(tup) + 1))


def _cif_ok(t: CIFTarget, events: Sequence[tuple[int, int]], *, final: bool) -> bool:
    f = cif_value(events)
    if not final:
        return f <= t.value + t.tol + 1e-9
    return abs(f - t.value) <= t.tol + 1e-9
