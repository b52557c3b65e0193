r"""Starting points of the ordering chains (:mod:`~models.reconstruct.chain`).

A chain needs one consistent ordering to start from. Two searches, tried in turn until one succeeds
or :data:`~models.reconstruct.chain.START_SECONDS` pass:

1. **Randomised depth-first search** over the search's children (random child order, random
   configuration order), with a memo of dead states (states all of whose children were searched
   without finding a completion), each configuration bounded by a number of visited states. It
   succeeds quickly on small studies; on large ones a wrong early choice leaves a dead subtree too
   large to exhaust.
2. **Annealing on a relaxation.** A *structurally* valid ordering (counts, threshold markers,
   windows and pinned follow-up days hold; no figure is checked) is found by the same depth-first
   search with the figure checks switched off, then the chain's permutation moves are applied
   with simulated annealing (Kirkpatrick et al. 1983) on the distance to the figures,

   .. math:: E(x) = \sum_{\text{KM } f} \sum_{v \in \{\hat S, lo, hi\}} (|v(x) - v_f| - \tau_f)^+
             + \sum_{\text{CIF } f} (|\hat F(x) - F_f| - \tau_f)^+,

   accepting a proposal with probability :math:`\min(1, e^{-(E(y)-E(x))/T})` while :math:`T`
   falls geometrically, restarting from a new structural ordering when it stalls. :math:`E = 0`
   means every printed figure is reproduced; the ordering is then re-checked by the chain's own
   rules before it is used.

Neither search affects the law the chain samples (only its starting point); burn-in and several
independent starts address the dependence on it. Past the time limit without a start, a one-line
:class:`~models.errors.ReconstructionError` names the bound.

References
----------
Kirkpatrick S, Gelatt CD, Vecchi MP. Optimization by simulated annealing. Science
1983;220:671–80.
"""

from __future__ import annotations

import math
import random
import time
from typing import TYPE_CHECKING

from models.errors import ReconstructionError
from models.reconstruct.constraints import KMTarget
from models.reconstruct.figures import cif_value, km_summary

if TYPE_CHECKING:
    from models.reconstruct.chain import OrderingChain, _Layout, _State

#: States a strict depth-first search may visit per configuration, and configurations tried.
DFS_STATES = 5_000
DFS_CONFIGS = 4
#: Annealing: proposals per restart, starting and final temperature (percentage points).
ANNEAL_STEPS = 60_000
T_START, T_END = 1.0, 0.01
#: States of one structural (figure-free) depth-first search, and such searches per restart.
LENIENT_STATES = 1_000
LENIENT_TRIES = 20


def find_start(chain: OrderingChain, rng: random.Random, *, seconds: float, restarts: int | None = None) -> _State:
    """A consistent ordering for ``chain`` (module docstring), within ``seconds`` and, if given,
    ``restarts`` annealing restarts (a bound in steps, so the outcome does not depend on the
    machine's speed; the time limit is a safety net)."""
    t0 = time.perf_counter()
    deadline = t0 + seconds
    keys = list(chain.configs)
    rng.shuffle(keys)
    for key in keys[:DFS_CONFIGS]:
        lay = chain.layout(key)
        assert lay is not None
        labels, _exhausted = dfs(chain, lay, rng, {"left": DFS_STATES}, deadline)
        if labels is not None:
            x = chain.lift(lay, labels, rng)
            if x is not None:
                return x
    done = 0
    while time.perf_counter() < deadline and (restarts is None or done < restarts):
        done += 1
        x = None
        for _ in range(LENIENT_TRIES):
            lay = chain.layout(keys[rng.randrange(len(keys))], lenient=True)
            assert lay is not None
            labels, _exhausted = dfs(chain, lay, rng, {"left": LENIENT_STATES}, deadline)
            x = None if labels is None else chain.lift(lay, labels, rng)
            if x is not None:
                break
        if x is None:
            continue
        found = anneal(chain, x, rng, deadline)
        if found is not None:
            return found
    raise ReconstructionError(
        chain.cons.source,
        where="chain start",
        found=f"no consistent ordering found in {time.perf_counter() - t0:.0f} s ({done} annealing restarts)",
        expected="constraints that admit an ordering (--method exact proves or names a conflict)",
    )


def dfs(
    chain: OrderingChain, lay: _Layout, rng: random.Random, budget: dict[str, int], deadline: float
) -> tuple[list[tuple] | None, bool]:
    """A label sequence of ``lay``'s search (consistent, or structurally valid when ``lay.lenient``).

    Returns the labels or None, and whether the search was exhaustive (no ordering exists).
    """
    search = lay.search
    dead: set[tuple] = set()
    labels: list[tuple] = []
    stack: list[list[tuple[tuple, tuple]]] = []
    path_states: list[tuple] = [search.initial()]
    state = path_states[0]
    while True:
        done = search._terminal(state)
        if done and (lay.lenient or chain._complete(lay, state)):
            return labels, False
        kids = (
            []
            if done
            else [
                k
                for k in search.children(state)
                if k[1] not in dead and (lay.lenient or chain._step_ok(lay, state, k[1], k[0]))
            ]
        )
        budget["left"] -= 1
        if budget["left"] <= 0 or (budget["left"] % 1000 == 0 and time.perf_counter() > deadline):
            return None, False
        rng.shuffle(kids)
        stack.append(kids)
        while stack and not stack[-1]:
            stack.pop()
            dead.add(path_states.pop())
            if labels:
                labels.pop()
        if not stack:
            return None, True
        label, state = stack[-1].pop()
        labels.append(label)
        path_states.append(state)


def distance(lay: _Layout, figs: tuple) -> float:
    """:math:`E`: how far the risk sets ``figs`` are from every printed figure (0 = all reproduced)."""
    total = 0.0
    for j, f in enumerate(lay.search.figures):
        if isinstance(f, KMTarget):
            ns = figs[j]
            if ns and ns[-1] < 2:
                total += 100.0
                continue
            est, lo, hi = km_summary(ns)
            pairs = [(est, f.value)] + ([] if f.ci is None else [(lo, f.ci[0]), (hi, f.ci[1])])
        else:
            pairs = [(cif_value(figs[j]), f.value)]
        total += sum(max(0.0, abs(a - b) - f.tol - 1e-9) for a, b in pairs)
    return total


def anneal(chain: OrderingChain, x: _State, rng: random.Random, deadline: float) -> _State | None:
    """Simulated annealing of a structurally valid ordering towards :math:`E = 0`; the consistent
    ordering (re-checked by the chain's rules) or None when this restart stalls."""
    e = distance(x.layout, x.states[-1][2])
    cool = (T_END / T_START) ** (1.0 / ANNEAL_STEPS)
    temp = T_START
    for k in range(ANNEAL_STEPS):
        if e == 0.0:
            strict = chain._make(list(x.seq), dict(x.paths), 0, None)
            if strict is not None:
                return strict
        if k % 1000 == 0 and time.perf_counter() > deadline:
            return None
        temp *= cool
        seq, paths, first, last, who = chain._permute(x, rng)
        if first >= len(seq) or (who and not chain._in_order(seq, paths, who)):
            continue
        y = chain._make(seq, paths, first, x, lenient=True, last=last)
        if y is None:
            continue
        ey = distance(y.layout, y.states[-1][2])
        if ey <= e or rng.random() < math.exp(-(ey - e) / temp):
            x, e = y, ey
    return None
