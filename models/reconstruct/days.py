"""Sampling integer days: strictly increasing sequences and values with an exact median and range."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from models.reconstruct.constraints import OrderStat


def _propagate(lb: list[int], ub: list[int]) -> bool:
    """Bounds consistency for strictly increasing integers (a chain: consistency is global)."""
    for j in range(1, len(lb)):
        lb[j] = max(lb[j], lb[j - 1] + 1)
    for j in range(len(ub) - 2, -1, -1):
        ub[j] = min(ub[j], ub[j + 1] - 1)
    return all(a <= b for a, b in zip(lb, ub, strict=True))


def sample_increasing(
    lo: list[int], hi: list[int], pairs: Sequence[tuple[int, int, float]], rng: random.Random
) -> list[int] | None:
    """Strictly increasing integers with per-position bounds; ``pairs`` (i, j, m): x_i + x_j = 2m.

    Positions are fixed in random order, each uniform within its propagated bounds, so the
    result never fails once the initial propagation succeeds (except through the pair sums).
    """
    lb, ub = list(lo), list(hi)
    if not _propagate(lb, ub):
        return None
    for i, j, m in pairs:
        two = round(2 * m)
        a_lo, a_hi = max(lb[i], two - ub[j]), min(ub[i], two - lb[j], math.floor(m))
        if a_lo > a_hi:
            return None
        a = rng.randint(a_lo, a_hi)
        lb[i] = ub[i] = a
        lb[j] = ub[j] = two - a
        if not _propagate(lb, ub):
            return None
    order = list(range(len(lb)))
    rng.shuffle(order)
    for j in order:
        v = rng.randint(lb[j], ub[j])
        lb[j] = ub[j] = v
        if not _propagate(lb, ub):
            return None
    return lb


def sample_order_stats(
    windows: Sequence[tuple[int, int]], stat: OrderStat, rng: random.Random, tries: int = 50
) -> list[int] | None:
    """Integers in per-unit windows whose median and range are exactly ``stat`` (ties allowed).

    Roles are assigned at random — one unit at the minimum, one at the maximum, the middle one
    (or two, summing to twice the median) — the rest split into the lower and upper halves, and
    values drawn uniformly within each unit's window intersected with its half.
    """
    n = len(windows)
    if n != stat.n:
        return None
    lo, hi, med = int(stat.lo), int(stat.hi), stat.median
    for _ in range(tries):
        vals: list[int | None] = [None] * n
        free = list(range(n))
        rng.shuffle(free)

        def take(value: int, _free: list[int] = free, _vals: list[int | None] = vals) -> bool:
            for u in _free:
                if windows[u][0] <= value <= windows[u][1]:
                    _free.remove(u)
                    _vals[u] = value
                    return True
            return False

        if n == 1:
            if not (lo == hi == med and take(lo)):
                return None
            return [int(v) for v in vals]  # type: ignore[arg-type]
        if not (take(lo) and take(hi)):
            continue
        if n % 2:
            if n > 2 and not take(int(med)):
                continue
            a = b = int(med)
            n_low = n // 2 - 1
        else:
            two = round(2 * med)
            a = rng.randint(max(lo, two - hi), math.floor(med))
            b = two - a
            if not (take(a) and take(b)):
                continue
            n_low = n // 2 - 2 + (0 if n > 2 else 1)
        if n == 2:
            return [int(v) for v in vals]  # type: ignore[arg-type]
        low_ok = [u for u in free if windows[u][0] <= a and windows[u][1] >= lo]
        high_ok = [u for u in free if windows[u][1] >= b and windows[u][0] <= hi]
        only_low = [u for u in free if u in low_ok and u not in high_ok]
        only_high = [u for u in free if u in high_ok and u not in low_ok]
        both = [u for u in free if u in low_ok and u in high_ok]
        if (
            len(only_low) + len(only_high) + len(both) < len(free)
            or len(only_low) > n_low
            or len(only_high) > len(free) - n_low
        ):
            continue
        rng.shuffle(both)
        k = n_low - len(only_low)
        low = only_low + both[:k]
        for u in low:
            vals[u] = rng.randint(max(lo, windows[u][0]), min(a, windows[u][1]))
        for u in only_high + both[k:]:
            vals[u] = rng.randint(max(b, windows[u][0]), min(hi, windows[u][1]))
        return [int(v) for v in vals]  # type: ignore[arg-type]
    return None
