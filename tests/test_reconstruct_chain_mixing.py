"""The chain's coordinated moves (:mod:`models.reconstruct.chain_moves`) and its chain processes.

* Each symmetric kernel is checked *exactly*: every random choice of a proposal is enumerated (with
  its probability as a fraction) on small orderings, and for every ordering ``y`` it proposes from
  ``x``, the probability of proposing ``x`` from ``y`` must be the same.
* On the 8-patient study of ``tests/test_reconstruct_spread.py`` (160 consistent orderings), chains
  using each new kernel mixed with the permutation kernel must fit the uniform law by chi-square
  (alpha = 0.001, fixed seeds), and the same test must reject a chain with a deliberately wrong
  acceptance ratio (a spurious factor): ``-m slow``.
* On Huang 2024 the GvHD-set test of ``tests/test_reconstruct_chain.py`` must reject chains whose
  GvHD moves drop their Hastings factor (``-m slow``).
* Chains run in forked processes give the same states and statistics as chains run in turn.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import pytest
from scipy.stats import chisquare
from test_reconstruct_chain import THIN, _run, brute, huang, huang_chain_counts  # noqa: F401  (fixtures)
from test_reconstruct_spread import ALPHA, tiny  # noqa: F401  (the 8-patient study fixture)

from models.reconstruct import chain as chain_module
from models.reconstruct import chain_moves
from models.reconstruct.chain import OrderingChain
from models.reconstruct.chain_moves import hop, pair, toggle, transfer
from models.reconstruct.chain_run import run_chains


class _Choices:
    """A stand-in for :class:`random.Random` that takes the choices of a given prefix (then the
    first option) and records how many options each call had."""

    def __init__(self, prefix: list[int]) -> None:
        self.prefix, self.sizes = prefix, []

    def _pick(self, n: int) -> int:
        v = self.prefix[len(self.sizes)] if len(self.sizes) < len(self.prefix) else 0
        self.sizes.append(n)
        return v

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[self._pick(len(seq))]

    def randrange(self, n: int) -> int:
        return self._pick(n)

    def randint(self, a: int, b: int) -> int:
        return a + self._pick(b - a + 1)

    def sample(self, pop: Sequence[Any], k: int) -> list[Any]:
        rest = list(pop)
        return [rest.pop(self._pick(len(rest))) for _ in range(k)]


def _law(kernel: Callable[[list, Any], tuple], seq: list) -> dict[tuple, Fraction]:
    """Every ordering ``kernel`` proposes from ``seq`` (the first thing it returns), with its exact
    probability."""
    out: dict[tuple, Fraction] = {}
    prefix: list[int] = []
    while True:
        rng = _Choices(prefix)
        y = tuple(kernel(seq, rng)[0])
        p = Fraction(1)
        for n in rng.sizes:
            p /= n
        out[y] = out.get(y, Fraction(0)) + p
        prefix = prefix + [0] * (len(rng.sizes) - len(prefix))
        while prefix and prefix[-1] + 1 >= rng.sizes[len(prefix) - 1]:  # odometer over the choices
            prefix.pop()
        if not prefix:
            break
        prefix[-1] += 1
    assert sum(out.values()) == 1
    return out


ORDERINGS = [
    [("a", "R"), ("b", "C"), (None, 0), ("a", "D"), ("c", "N"), ("d", "R"), ("e", "C")],
    [("a", "N"), ("b", "C"), ("c", "N"), (None, 0), ("d", "R"), ("e", "C"), ("d", "D"), ("f", "N")],
]


@pytest.mark.parametrize("kernel", [hop, pair], ids=["event_hops", "event_pair"])
@pytest.mark.parametrize("seq", ORDERINGS, ids=["one_marker", "four_kinds"])
def test_each_coordinated_kernel_is_exactly_symmetric(kernel, seq, monkeypatch):
    # one and two hops (a power of a symmetric kernel is symmetric; three would take minutes here)
    monkeypatch.setattr(chain_moves, "HOP_COMPOSITE", (1, 2))
    law = _law(kernel, seq)
    assert len(law) > 1  # it proposes something
    for y, p in law.items():
        assert _law(kernel, list(y)).get(tuple(seq), Fraction(0)) == p, f"Q(x, y) != Q(y, x) for y = {y}"


GVHD = [("a", "G"), ("b", "C"), ("a", "R"), (None, 0), ("c", "N"), ("a", "D"), ("d", "C")]
GVHD_PATHS = {"a": "GRD", "b": "C", "c": "N", "d": "C"}


@pytest.mark.parametrize("kernel", [toggle, transfer], ids=["gvhd_toggle", "gvhd_transfer"])
def test_gvhd_moves_report_their_exact_proposal_ratio(kernel):
    """For every proposal y of x: the reported log ratio is log Q(y, x) - log Q(x, y)."""
    eligible = ["a", "b", "d"]

    def run(seq: list, paths: dict, rng: Any) -> tuple:
        out = kernel(seq, paths, eligible, rng)
        return (tuple(out[0]), tuple(sorted(out[1].items())), out[3])

    def law(seq: list, paths: dict) -> dict[tuple, tuple[Fraction, float]]:
        found = _law(lambda s, rng: ([run(s, paths, rng)], 0, 0, set()), seq)
        return {(y[0], y[1]): (p, y[2]) for (y,), p in ((k, v) for k, v in found.items())}

    forward = law(GVHD, GVHD_PATHS)
    assert len(forward) > 3
    for (y, y_paths), (p, log_q) in forward.items():
        back = law(list(y), dict(y_paths))
        q, log_back = back[(tuple(GVHD), tuple(sorted(GVHD_PATHS.items())))]
        assert math.isclose(log_q, math.log(q / p), abs_tol=1e-12)
        assert math.isclose(log_back, -log_q, abs_tol=1e-12)


def test_a_kernel_that_is_not_symmetric_is_caught():
    """Power of the check: a hop that moves only to the right is not symmetric."""

    def right_only(seq: list, rng: Any) -> tuple:
        class Right:
            def __getattr__(self, name: str) -> Any:
                return getattr(rng, name)

            def choice(self, options: Sequence[Any]) -> Any:
                return 1 if tuple(options) == (-1, 1) else rng.choice(options)

        return hop(seq, Right())

    seq = ORDERINGS[0]
    law = _law(right_only, seq)
    assert any(_law(right_only, list(y)).get(tuple(seq), Fraction(0)) != p for y, p in law.items())


class _Tilted(OrderingChain):
    """A deliberately wrong acceptance ratio: pi(y)/pi(x) times exp(5 (r(y) - r(x))), r the mean
    event rank. (On this study M W is the same for all 160 orderings, so pi is uniform and a ratio
    that only rescales pi, such as ignoring or inverting it, would not change the law.)"""

    def log_pi(self, x: Any) -> float:
        return OrderingChain.log_pi(x) + 5.0 * self.summary(x)[1]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["event_pair", "event_hops"])
def test_chains_with_each_new_move_are_uniform(tiny, brute, kind):  # noqa: F811
    chain = OrderingChain(tiny, qualifying=None, reading=tiny.followup_reading, moves={kind: 0.5, "permutation": 0.5})
    seen = _run(chain, 20261130, 2000) + _run(chain, 20261201, 2000)
    assert set(seen) <= set(brute)
    fit = chisquare([seen[k] for k in brute])
    assert fit.pvalue > ALPHA, f"{kind}: chi-square {fit.statistic:.1f} on {len(brute) - 1} df, p = {fit.pvalue:.2g}"


@pytest.mark.slow
def test_the_uniform_test_rejects_a_wrong_acceptance_ratio(tiny, brute):  # noqa: F811
    chain = _Tilted(tiny, qualifying=None, reading=tiny.followup_reading, moves={"event_pair": 0.5, "permutation": 0.5})
    seen = _run(chain, 20261130, 2000) + _run(chain, 20261201, 2000)
    assert set(seen) <= set(brute)
    assert chisquare([seen[k] for k in brute]).pvalue < ALPHA


def test_chains_in_processes_give_the_states_of_chains_in_turn(tiny):  # noqa: F811
    chain = OrderingChain(tiny, qualifying=None, reading=tiny.followup_reading)
    runs = []
    for parallel in (False, True):
        out = []
        for c, x, st in run_chains(chain, random.Random(4), burn_per_item=5, thin_per_item=3, parallel=parallel):
            out.append((c, tuple(x.seq), tuple(sorted(x.paths.items())), st.proposals, tuple(st.trace)))
            if len(out) == 6:
                break
        runs.append(out)
    assert runs[0] == runs[1]
    assert Counter(c for c, *_ in runs[0]) == {0: 3, 1: 3}


@pytest.mark.slow
def test_the_gvhd_set_test_rejects_gvhd_moves_without_their_hastings_factor(huang, monkeypatch):  # noqa: F811
    """Power of ``test_huang_gvhd_sets_and_signatures_match_the_exact_method`` against a wrong
    proposal ratio: toggles and transfers accepted as if they were symmetric."""

    def symmetric(kernel: Callable[..., Any]) -> Callable[..., Any]:
        def wrong(*args: Any) -> Any:
            out = kernel(*args)
            return None if out is None else (*out[:3], 0.0)

        return wrong

    monkeypatch.setattr(chain_module, "toggle", symmetric(toggle))
    monkeypatch.setattr(chain_module, "transfer", symmetric(transfer))
    cons, qual, sol = huang
    chain = OrderingChain(cons, qualifying=qual, reading=cons.followup_reading)
    sets, _sigs = huang_chain_counts(chain, THIN)
    exact = sol.by_gvhd_set()
    labels = sorted(exact)
    n = sum(sets.values())
    assert chisquare([sets[k] for k in labels], [n * exact[k] / sol.total for k in labels]).pvalue < ALPHA
