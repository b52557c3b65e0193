"""Replica exchange and the run-until-mixed rule of the ordering chain (issue 17: mixing at scale).

:mod:`models.reconstruct.chain_tempering` runs each chain with companions whose KM and incidence
figures have wider tolerances, and exchanges states only when the companion's ordering passes the
stricter rules. On the 8-patient study (160 consistent orderings, listed by ``brute``) the chain's
states with companions must stay in the 160 and fit the uniform law by chi-square (alpha = 0.001,
fixed seeds), while the companions do visit orderings outside them (so exchanges are exercised);
an exchange that skips the stricter replay is caught. :func:`models.reconstruct.chain_run.collect`
stops when its window passes the diagnostics, or at its budget.
"""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare
from test_reconstruct_chain import THIN, _chain_key, brute, tiny_chain  # noqa: F401
from test_reconstruct_spread import ALPHA, tiny  # noqa: F401

from models.cli.reconstruct import main
from models.reconstruct import chain_run
from models.reconstruct.chain import ChainStats, OrderingChain
from models.reconstruct.chain_run import collect, window_diagnostics
from models.reconstruct.chain_tempering import LADDER, Ladder

#: On the 8-patient study tolerances up to 40 half units admit no new ordering (its risk sets are
#: small, so one step moves a figure by several points); at 100 (5 percentage points) the widest
#: companion visits about 690 orderings, 12% of its states consistent, so exchanges are exercised.
TINY_LADDER = (30.0, 100.0)


def _ladder_run(ladder: Ladder, seed: int, samples: int, thin: int = THIN, burn: int = 2000):
    """The chain's orderings every ``thin`` steps, the companions' orderings and the stats."""
    rng = random.Random(seed)
    chain = ladder.chains[0]
    w = ladder.walker(chain.start(rng))
    stats = ChainStats()
    for _ in range(burn):
        w = ladder.step(w, rng, stats)
    seen: Counter[tuple] = Counter()
    hot: set[tuple] = set()
    for _ in range(samples):
        for _ in range(thin):
            w = ladder.step(w, rng, stats)
        seen[_chain_key(chain, w.x)] += 1
        hot.add(_chain_key(ladder.chains[-1], w.states[-1]))
    return seen, hot, stats


def test_a_companion_relaxes_the_figures_and_admits_every_consistent_ordering(tiny_chain):  # noqa: F811
    hot = tiny_chain.relaxed(4.0)
    assert [f.tol for f in hot.cons.km] == [4.0 * f.tol for f in tiny_chain.cons.km]
    assert [f.tol for f in hot.cons.cif] == [4.0 * f.tol for f in tiny_chain.cons.cif]
    assert [f.tol for f in tiny_chain.cons.km] == [0.05] * len(tiny_chain.cons.km)  # the chain's own are untouched
    rng = random.Random(3)
    x = tiny_chain.start(rng)
    stats = ChainStats()
    for _ in range(3000):
        x = tiny_chain.step(x, rng, stats)
        assert hot._make(x.seq, x.paths, 0, None) is not None


def test_a_ladder_needs_increasing_multipliers_above_one(tiny_chain):  # noqa: F811
    for bad in ((1.0,), (2.0, 1.5), (0.5,)):
        with pytest.raises(ValueError, match="increasing"):
            Ladder(tiny_chain, bad)


def test_every_chain_state_with_companions_is_consistent_and_exchanges_happen(tiny_chain, brute):  # noqa: F811
    seen, hot, stats = _ladder_run(Ladder(tiny_chain, TINY_LADDER), 5, 300)
    assert set(seen) <= set(brute)
    assert hot - set(brute), "the widest companion never left the consistent orderings: no exchange is tested"
    assert all(a > 0 for _p, a in stats.exchanges), stats.exchanges


def test_an_exchange_without_the_strict_replay_is_caught(tiny_chain, brute, monkeypatch):  # noqa: F811
    """Power of the containment check: a ladder handing the companion's ordering to the chain as it is."""

    class Careless(Ladder):
        def step(self, w, rng, stats):
            w = super().step(w, rng, stats)
            if w.clock % self.every == 0:
                w.states[0], w.states[1] = w.states[1], w.states[0]
            return w

    seen, _hot, _stats = _ladder_run(Careless(tiny_chain, (100.0,)), 5, 300)
    assert set(seen) - set(brute)


@pytest.mark.slow
def test_chain_states_with_companions_are_uniform(tiny_chain, brute):  # noqa: F811
    """Goodness of fit to the uniform law over the 160 orderings, two chains with companions."""
    a = _ladder_run(Ladder(tiny_chain, TINY_LADDER), 20261130, 2000)
    b = _ladder_run(Ladder(tiny_chain, TINY_LADDER), 20261201, 2000)
    seen = a[0] + b[0]
    assert set(seen) <= set(brute)
    assert all(x > 100 for _p, x in a[2].exchanges[1:] + b[2].exchanges[1:])
    fit = chisquare([seen[k] for k in brute])
    assert fit.pvalue > ALPHA, f"chi-square {fit.statistic:.1f} on {len(brute) - 1} df, p = {fit.pvalue:.2g}"


def test_window_diagnostics_of_known_traces():
    names = ("flat", "steps", "noise", "drift")
    rng = np.random.default_rng(1)
    traces = []
    for c in range(2):
        noise = rng.normal(size=400)
        traces.append([(1.0, float(c), float(v), float(c * 3 + v)) for v in noise])
    d = window_diagnostics(traces, names)
    assert d["rhat"]["flat"] == 1.0 and d["ess_bulk"]["flat"] == 800.0  # nothing to mix
    assert d["rhat"]["steps"] > 1e3  # each chain constant, at different values
    assert abs(d["rhat"]["noise"] - 1.0) < 0.01 and d["ess_bulk"]["noise"] > 600
    assert d["rhat"]["drift"] > 1.5
    short = window_diagnostics([[(1.0, 0.0, 0.0, 0.0)] * 3], names)
    assert all(math.isnan(v) for v in short["rhat"].values())


def test_collect_stops_when_the_window_passes(tiny_chain):  # noqa: F811
    ran = collect(tiny_chain, random.Random(2), draws=4, chains=2, thin_per_item=5, parallel=False)
    assert ran.converged and ran.rounds >= 4
    assert len(ran.pool[0]) == len(ran.pool[1]) == ran.rounds
    assert ran.window == range(ran.rounds // 2, ran.rounds)


def test_collect_reports_a_budget_that_ran_out(tiny_chain, monkeypatch):  # noqa: F811
    monkeypatch.setattr(chain_run, "MIN_ESS", 10**9)
    ran = collect(tiny_chain, random.Random(2), draws=4, chains=2, thin_per_item=5, budget_per_item=60, parallel=False)
    assert not ran.converged and ran.rounds == 12


def test_the_default_ladder_is_increasing():
    assert list(LADDER) == sorted(LADDER) and LADDER[0] > 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--chain-budget", "0"], "--chain-budget"),
        (["--chain-budget", "300000"], "at most 200000"),
        (["--chain-budget", "200000", "--thin", "1"], "rounds"),
        (["--thin", "5"], "raise --thin or lower --chain-budget"),  # the default budget, 150,000
    ],
)
def test_bad_chain_budgets_are_one_line_errors(args, says, capsys):
    try:
        code = main([*args, "--method", "chain", "--quiet"])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) <= 2 and says in err[-1] and "Traceback" not in err[0]


def test_chains_with_companions_in_processes_give_the_states_of_chains_in_turn(tiny):  # noqa: F811
    chain = OrderingChain(tiny, qualifying=None, reading=tiny.followup_reading)
    runs = []
    for parallel in (False, True):
        ran = collect(chain, random.Random(4), draws=4, chains=2, thin_per_item=3, parallel=parallel)
        runs.append(
            (
                ran.rounds,
                [[(tuple(s), tuple(sorted(p.items()))) for s, p in pool] for pool in ran.pool],
                ran.diagnostics,
            )
        )
        runs[-1] += (tuple(tuple(st.trace) for st in ran.stats), [st.exchanges for st in ran.stats])
    assert runs[0] == runs[1]
