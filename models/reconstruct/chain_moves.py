r"""Proposals of the ordering chain (:mod:`~models.reconstruct.chain`) and why each keeps its law.

Every function takes the ordering ``seq`` (a list of (patient, step) items and (None, marker)
items) and returns a new list, never changing its argument, with the first and last changed
positions (the replay starts at the first; ``first > last`` when nothing moved) and the patients
whose items moved relative to each other (their steps must still be in path order; the chain
rejects the proposal otherwise). Whether the result is a consistent ordering is the chain's test
(:meth:`~models.reconstruct.chain.OrderingChain._make`); a kernel only has to be symmetric, or its
proposal ratio known, on *every* ordering, consistent or not.

Why coordinated moves
---------------------
The printed figures leave thin sets of admissible orderings. Moving one relapse past one
censoring changes its risk set by one, which at 30 at risk moves the relapse incidence by about
0.07 percentage points, more than the half unit (0.05) of a printed 25.3%; moving one death past
one censoring before a KM landmark moves the estimate or its Greenwood bounds out of theirs.
Two such changes in opposite directions nearly cancel. The permutation kernel reaches them only
by a composite of two random draws hitting the right pair (about one proposal in :math:`10^6` at
90 items); :func:`pair` and :func:`hop` propose them directly.

Kernels
-------
:func:`permute`
    :math:`k \in \{1, 2, 3\}` draws of a symmetric kernel :math:`Q` (:data:`COMPOSITE`): swap two
    items, move one item to another position (near, :math:`|i - j| \le` :data:`NEAR`, or anywhere,
    half the time each), or exchange the identities of two anonymous patients (their paths and
    items: a relapse or death moves between subgroups). Each choice is drawn from a distribution
    that does not depend on the ordering, and the choice that undoes it (the same pair swapped
    again, the item moved back, the same two patients exchanged again) has the same probability,
    so :math:`Q(x, y) = Q(y, x)`.
:func:`hop`
    :math:`k` (:data:`HOP_COMPOSITE`) independent draws of the *event hop* :math:`A`: an event item
    (any item but a last contact ``C`` and a marker), uniform among the :math:`E` event items,
    moves :math:`h` positions (uniform on :math:`1..` :data:`HOP`) to the left or the right
    (1/2 each); past either end it is a null move. *Symmetry:* each choice (item :math:`a`,
    direction :math:`d`, distance :math:`h`) turning :math:`x` into :math:`y` has probability
    :math:`1/(2EH)`, and (:math:`a, -d, h`) turns :math:`y` back into :math:`x` with the same
    probability (the item lands :math:`h` away, and moving it back by :math:`h` restores every
    other item). :math:`E` is the same in :math:`x` and :math:`y`: a hop only permutes the items.
    The map is a bijection between the choices from :math:`x` to :math:`y` and those back, so
    :math:`A(x, y) = A(y, x)`.
:func:`pair`
    A step kind :math:`r` (relapse, death, death after relapse, GvHD), uniform among the
    :math:`R` kinds with at least two event items; an ordered pair :math:`(a, b)` of distinct
    items of that kind, uniform among the :math:`m_r (m_r - 1)`; a direction :math:`d` (1/2
    each). Item :math:`a` swaps with its neighbour on side :math:`d`, then :math:`b` with its
    neighbour on side :math:`-d`; if either swap would leave the ordering, nothing moves.
    *Symmetry:* write :math:`S_z^e` for "item :math:`z` swaps with its neighbour on side
    :math:`e`"; :math:`S_z^{-e} S_z^e` is the identity (the neighbour it passed is the one on the
    other side afterwards). The proposal is :math:`y = S_b^{-d} S_a^d x`, and the choice
    :math:`(r, (b, a), d)` gives :math:`S_a^{-d} S_b^{d} y = x`, with both swaps inside the
    ordering; it has the same probability :math:`1/(2 R\, m_r (m_r - 1))` since :math:`R` and
    :math:`m_r` depend only on the multiset of steps, which a permutation keeps. So the map
    :math:`(r, (a, b), d) \mapsto (r, (b, a), d)` is a bijection between the choices from
    :math:`x` to :math:`y` and those back, of equal probabilities: :math:`P(x, y) = P(y, x)`.
:func:`transfer`
    Metropolis–Hastings: an eligible patient :math:`p` with a ``G`` step (uniform among the
    :math:`g` such) loses it and one without (uniform among the :math:`e - g`) gains one at one of
    the :math:`K_q` positions up to its first item (probability :math:`1/K_q` each), both counted
    in the ordering :math:`z` without either ``G``. The reverse (:math:`q` loses, :math:`p` gains at
    its old position) goes through the same :math:`z` and has probability
    :math:`1/(g (e - g) K_p)`, :math:`g` being the same in both orderings; the log proposal ratio
    is :math:`\log K_q - \log K_p`. It moves the GvHD set between two configurations in one step,
    where toggles need a loss and a gain, each rarely accepted.
:func:`toggle`
    Metropolis–Hastings, not symmetric: an eligible patient (the same list in every state)
    gains a ``G`` step at one of the :math:`K` positions up to its first item (probability
    :math:`1/K` each), or loses it (one way); the log proposal ratio
    :math:`\log q(y, x) - \log q(x, y)` is :math:`\log K` for a gain and :math:`-\log K` for a
    loss, :math:`K` counted in the ordering without the ``G``.

Powers of a symmetric kernel are symmetric (:math:`(Q^k)^\top = (Q^\top)^k`), and so is a mixture
of symmetric kernels with fixed weights; the chain draws its proposal kind with fixed
probabilities, so for the symmetric kinds the Metropolis acceptance
:math:`\min(1, \pi(y)/\pi(x))` satisfies detailed balance, and for the toggle
:math:`\min(1, \pi(y) q(y, x) / (\pi(x) q(x, y)))` does. Each kernel leaves :math:`\pi` invariant,
hence so does their mixture.
"""

from __future__ import annotations

import math
import random
from typing import Any

from models.reconstruct.vocabulary import C, G

#: Composite lengths of the permutation kernel (uniform over the tuple) and its "near" distance.
COMPOSITE = (1, 1, 1, 1, 1, 2, 2, 2, 3, 3)
NEAR = 5
#: Largest distance of one event hop, and the numbers of hops of a proposal (uniform over the tuple).
HOP = 3
HOP_COMPOSITE = (1, 2, 2, 2, 3)

Item = tuple[str | None, Any]
Moved = tuple[list[Item], int, int, set[str]]


def is_event(item: Item) -> bool:
    """Whether ``item`` is an event item (neither a last contact nor a threshold marker)."""
    return item[0] is not None and item[1] != C


def permute(
    seq: list[Item], paths: dict[str, str], anon: list[str], rng: random.Random
) -> tuple[list[Item], dict[str, str], int, int, set[str]]:
    """The permutation kernel (module docstring); also returns the paths (a copy if changed)."""
    seq = list(seq)
    new_paths = paths
    first, last = len(seq), -1
    who: set[str] = set()
    for _ in range(rng.choice(COMPOSITE)):
        kind = rng.random()
        if kind < 0.2 and len(anon) >= 2:
            a, b = rng.sample(anon, 2)
            if new_paths is paths:
                new_paths = dict(paths)
            new_paths[a], new_paths[b] = new_paths[b], new_paths[a]
            swap = {a: b, b: a}
            for k, (pid, step) in enumerate(seq):
                if pid in swap:
                    seq[k] = (swap[pid], step)
                    first, last = min(first, k), max(last, k)
            who |= {a, b}
            continue
        i = rng.randrange(len(seq))
        if rng.random() < 0.5:
            j = i + rng.choice((-1, 1)) * rng.randint(1, NEAR)
            if not 0 <= j < len(seq):
                continue  # a null move keeps the kernel symmetric
        else:
            j = rng.randrange(len(seq))
            if j == i:
                continue
        if kind < 0.6:
            seq[i], seq[j] = seq[j], seq[i]
        else:
            seq.insert(j, seq.pop(i))
        first, last = min(first, i, j), max(last, i, j)
        who |= {p for p in (seq[i][0], seq[j][0]) if p is not None}
    return seq, new_paths, first, last, who


def hop(seq: list[Item], rng: random.Random) -> Moved:
    """:math:`k` event hops (module docstring)."""
    seq = list(seq)
    events = [k for k, it in enumerate(seq) if it[0] is not None and it[1] != C]  # is_event, inlined
    first, last = len(seq), -1
    who: set[str] = set()
    if not events:
        return seq, first, last, who
    for _ in range(rng.choice(HOP_COMPOSITE)):
        i = events[rng.randrange(len(events))]
        j = i + rng.choice((-1, 1)) * rng.randint(1, HOP)
        if not 0 <= j < len(seq):
            continue  # a null move keeps the kernel symmetric
        item = seq.pop(i)
        seq.insert(j, item)
        lo, hi = min(i, j), max(i, j)
        first, last = min(first, lo), max(last, hi)
        if item[0] is not None:
            who.add(item[0])
        shift = 1 if j < i else -1  # the items between i and j move one place towards i
        events = [k + shift if lo <= k <= hi else k for k in events if k != i] + [j]
    return seq, first, last, who


def pair(seq: list[Item], rng: random.Random) -> Moved:
    """Two event items of one step kind move one place each, in opposite directions (module docstring)."""
    kinds: dict[Any, list[Item]] = {}
    for it in seq:
        if it[0] is not None and it[1] != C:  # is_event, inlined (it runs for every item of every proposal)
            kinds.setdefault(it[1], []).append(it)
    choices = sorted(k for k, v in kinds.items() if len(v) >= 2)
    out = list(seq)
    first, last = len(seq), -1
    who: set[str] = set()
    if not choices:
        return out, first, last, who
    a, b = rng.sample(kinds[rng.choice(choices)], 2)
    d = rng.choice((-1, 1))
    for item, side in ((a, d), (b, -d)):
        i = out.index(item)
        j = i + side
        if not 0 <= j < len(out):
            return list(seq), len(seq), -1, set()  # a null move keeps the kernel symmetric
        out[i], out[j] = out[j], out[i]
        first, last = min(first, i, j), max(last, i, j)
        who |= {p for p in (out[i][0], out[j][0]) if p is not None}
    return out, first, last, who


def toggle(
    seq: list[Item], paths: dict[str, str], eligible: list[str], rng: random.Random
) -> tuple[list[Item], dict[str, str], int, float]:
    """A GvHD gain or loss (module docstring): the ordering, paths, first changed position and the
    log proposal ratio."""
    p = rng.choice(eligible)
    paths = dict(paths)
    seq = list(seq)
    if paths[p].startswith(G):
        k = seq.index((p, G))
        del seq[k]
        paths[p] = paths[p][1:]
        first = next(i for i, it in enumerate(seq) if it[0] == p)
        return seq, paths, k, -math.log(first + 1)
    first = next(i for i, it in enumerate(seq) if it[0] == p)
    k = rng.randint(0, first)
    seq.insert(k, (p, G))
    paths[p] = G + paths[p]
    return seq, paths, k, math.log(first + 1)


def transfer(
    seq: list[Item], paths: dict[str, str], eligible: list[str], rng: random.Random
) -> tuple[list[Item], dict[str, str], int, float] | None:
    """One patient's GvHD step given to another (module docstring): the ordering, paths, first
    changed position and the log proposal ratio, or None if no patient has one or all have."""
    have = [p for p in eligible if paths[p].startswith(G)]
    lack = [p for p in eligible if not paths[p].startswith(G)]
    if not have or not lack:
        return None
    p, q = rng.choice(have), rng.choice(lack)
    paths = dict(paths)
    seq = list(seq)
    k_old = seq.index((p, G))
    del seq[k_old]
    paths[p] = paths[p][1:]
    k_p = next(i for i, it in enumerate(seq) if it[0] == p) + 1
    k_q = next(i for i, it in enumerate(seq) if it[0] == q) + 1
    k = rng.randrange(k_q)
    seq.insert(k, (q, G))
    paths[q] = G + paths[q]
    return seq, paths, min(k, k_old), math.log(k_q) - math.log(k_p)
