r"""Replica exchange for the ordering chain: companions with relaxed figure tolerances.

Why
---
A printed KM figure (estimate and both Greenwood bounds, each to half a printed unit) admits a thin
set of risk-set tuples. Moving one death past one censoring changes one risk set by one, which moves
the estimate or a bound out of its half unit; changing the *sum* of a figure's risk sets while
keeping all three needs two or three deaths moved by different distances at once. Alone, the
chain makes such moves so rarely that it stays with one or two values of that sum for hundreds of
thousands of proposals: on ``letter_n54`` (``data/benchmarks``), 300,000 proposals from either of
two independent starts visited OS risk-set sums 491–492 only, where a chain with one companion
at 1.5 times the KM tolerances visits 490–496; on ``letter_n38`` the EFS sum stayed at 501 for
312,000 proposals, where a chain with one companion at 2 times finds 498–501.

Method
------
Replicas :math:`r = 0, \dots, m`. Replica 0 is the chain (:mod:`~models.reconstruct.chain`),
whose target :math:`\pi(x) \propto 1/(M W)` lives on the consistent orderings :math:`A_1`.
Replica :math:`r` runs the same kernel on :math:`A_{s_r}`, the orderings that would be consistent
if each KM and incidence figure's tolerance were :math:`s_r` times half a printed unit (:data:`LADDER`;
:math:`1 = s_0 < s_1 < \dots`, so :math:`A_1 \subset A_{s_1} \subset \dots`), with the same
unnormalised density :math:`1/(MW)`. Every :data:`SWAP_EVERY` proposals the even adjacent pairs
:math:`(0, 1), (2, 3), \dots` and, the next time, the odd ones :math:`(1, 2), (3, 4), \dots` propose
to exchange states (the deterministic even-odd scheme, which moves states along the ladder in
round trips of order :math:`m` exchanges rather than :math:`m^2`; Syed et al. 2022). An exchange
of :math:`x_r \in A_{s_r}` and :math:`x_{r+1} \in A_{s_{r+1}}` has Metropolis ratio

.. math:: \frac{\pi_r(x_{r+1})\, \pi_{r+1}(x_r)}{\pi_r(x_r)\, \pi_{r+1}(x_{r+1})}
          = \mathbb 1[x_{r+1} \in A_{s_r}],

since both densities are :math:`1/(MW)` divided by their own normalising constants, and
:math:`x_r \in A_{s_r} \subset A_{s_{r+1}}`. So an exchange is accepted exactly when the relaxed
replica's ordering passes the stricter rules (replayed by :meth:`OrderingChain._make` of replica
:math:`r`). Each replica's kernel leaves its own law invariant and the exchange leaves the product
:math:`\prod_r \pi_r` invariant (Geyer 1991; Earl and Deem 2005), so replica 0's marginal law is
:math:`\pi`: only its states are ever drawn. The companions relax the KM and incidence figures
only (:meth:`OrderingChain.relaxed`); counts, windows, markers and follow-up pins are enforced in
every replica. Relaxing the incidence matters: its relapses are EFS events, and a companion with
4 times the KM tolerances alone mixed the EFS risk-set sum of ``letter_n38`` no faster (about 175
proposals per item of autocorrelation) than one with both relaxed (about 20).

References
----------
Geyer CJ. Markov chain Monte Carlo maximum likelihood. In: Computing Science and Statistics,
Proceedings of the 23rd Symposium on the Interface, 1991:156–63. Earl DJ, Deem MW. Parallel
tempering: theory, applications, and new perspectives. Phys Chem Chem Phys 2005;7:3910–6.
Syed S, Bouchard-Côté A, Deligiannidis G, Doucet A. Non-reversible parallel tempering: a scalable
highly parallel MCMC scheme. J R Stat Soc B 2022;84:321–50.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.reconstruct.chain import ChainStats, OrderingChain, _State

#: Tolerance multipliers of the companions of each chain (replica 0, the chain, has 1). On
#: ``letter_n54`` with 3,000 proposals per item: ladder (1.6, 2.5, 4) accepts 3–7% of exchanges and
#: reaches bulk ESS 17–59 of the traced statistics; (1.25, 1.6, 2, 2.5, 3.2, 4) accepts 12–30% and
#: reaches 21–81 at 7/4 of the cost; (1.3, 2, 4) with random pairs reaches 3–118 (its 2–4 step
#: accepts 1%).
LADDER: tuple[float, ...] = (1.6, 2.5, 4.0)
#: Proposals of every replica between two exchange proposals.
SWAP_EVERY = 10


@dataclass
class Walker:
    """One chain's replicas: ``states[0]`` is the chain's state, the others its companions'."""

    states: list[_State]
    companion_stats: list[ChainStats]
    clock: int = 0

    @property
    def x(self) -> _State:
        """The chain's own state (replica 0), the only one drawn."""
        return self.states[0]


class Ladder:
    """A chain and its relaxed companions (module docstring); ``slacks`` () runs the chain alone."""

    def __init__(self, chain: OrderingChain, slacks: tuple[float, ...] = LADDER, every: int = SWAP_EVERY) -> None:
        if any(b <= a for a, b in zip((1.0, *slacks), slacks, strict=False)) or every < 1:
            raise ValueError(f"ladder: increasing tolerance multipliers above 1 and every >= 1, got {slacks}, {every}")
        self.chains = [chain, *(chain.relaxed(s) for s in slacks)]
        self.slacks = (1.0, *slacks)
        self.every = every

    def walker(self, x: _State) -> Walker:
        """Replicas all starting from the chain's consistent state ``x`` (consistent for every companion)."""
        from models.reconstruct.chain import ChainStats

        states = [x]
        for c in self.chains[1:]:
            y = c._make(x.seq, x.paths, 0, None)
            assert y is not None, "an ordering consistent with the figures fails their relaxation"
            states.append(y)
        return Walker(states, [ChainStats() for _ in self.chains[1:]])

    def step(self, w: Walker, rng: random.Random, stats: ChainStats) -> Walker:
        """One proposal of every replica, then, every :data:`SWAP_EVERY` steps, exchange proposals
        between the even pairs (0-1, 2-3, ...) or the odd ones (1-2, 3-4, ...), in turn (module
        docstring). ``stats`` (the chain's) counts the chain's proposals and each pair's
        ``[exchanges proposed, accepted]``; each companion counts its own (``w.companion_stats``)."""
        w.states[0] = self.chains[0].step(w.states[0], rng, stats)
        for r in range(1, len(self.chains)):
            w.states[r] = self.chains[r].step(w.states[r], rng, w.companion_stats[r - 1])
        w.clock += 1
        if len(self.chains) > 1 and w.clock % self.every == 0:
            if not stats.exchanges:
                stats.exchanges = [[0, 0] for _ in self.chains[1:]]
            for r in range((w.clock // self.every) % 2, len(self.chains) - 1, 2):
                self._exchange(w, r, stats.exchanges[r])
        return w

    def _exchange(self, w: Walker, r: int, count: list[int]) -> None:
        """Exchange replicas ``r`` and ``r + 1`` if ``r + 1``'s ordering passes ``r``'s rules."""
        count[0] += 1
        hot = w.states[r + 1]
        strict = self.chains[r]._make(hot.seq, hot.paths, 0, None)
        if strict is None:
            return
        count[1] += 1
        cold = w.states[r]
        relaxed = self.chains[r + 1]._make(cold.seq, cold.paths, 0, None)
        assert relaxed is not None, "an ordering consistent with the figures fails their relaxation"
        w.states[r], w.states[r + 1] = strict, relaxed
