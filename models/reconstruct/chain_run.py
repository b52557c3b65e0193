r"""Running the ordering chains: starts, burn-in, rounds of states, processes and their diagnostics.

Each chain (:class:`~models.reconstruct.chain.OrderingChain`) runs with its relaxed companions
(:class:`~models.reconstruct.chain_tempering.Ladder`): :data:`BURN_PER_ITEM` proposals per item of
the ordering as burn-in, then one state every ``thin_per_item`` proposals per item (a *round* takes
one from every chain), tracing the summary statistics ten times per interval. The driver
(:mod:`~models.reconstruct.driver`) decides from :func:`window_diagnostics` when the chains have
shown that they mix, and draws from the second half of the rounds (the first half is discarded
as warm-up, as in Gelman et al. 2013, §11.4).

With several chains each runs in its own forked process (:func:`run_chains`, ``parallel``), at
most :data:`PREFETCH` states ahead of the consumer. A chain's states depend only on its own stream
and start, so both ways give the same states, statistics and tables; only the time differs.

References
----------
Gelman A, et al. *Bayesian Data Analysis*, 3rd ed. CRC Press, 2013. Vehtari A, Gelman A, Simpson D,
Carpenter B, Bürkner P-C. Rank-normalization, folding, and localization: an improved R-hat for
assessing convergence of MCMC. *Bayesian Analysis* 2021;16:667–718.
"""

from __future__ import annotations

import math
import multiprocessing
import pickle
import queue
import random
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from models.errors import ReconstructionError
from models.reconstruct.chain import ChainStats, OrderingChain
from models.reconstruct.chain_tempering import LADDER, SWAP_EVERY, Ladder, Walker

#: Chains (draws are taken from them in turn); one per core of the 2-core reference machine.
DEFAULT_CHAINS = 2
#: Annealing restarts (60,000 proposals each) allowed to the independent start of every chain
#: after the first; past them the chain starts from a copy of the first chain's burnt-in state
#: (recorded in the manifest). A bound in steps, not seconds, so the draws do not depend on the
#: machine's speed. On ``letter_n54`` one annealing search took 1, 3, 1 and 2 restarts on four seeds
#: (3–29 s); at 2 the second chain of the seed-1 benchmark started as a copy.
LATER_START_RESTARTS = 6
#: States a chain process may run ahead of the draws (:func:`run_chains`).
PREFETCH = 1
#: Proposals before a chain's first state, and between two of its states, per item of the ordering.
BURN_PER_ITEM = 200
THIN_PER_ITEM = 30
#: At most this many proposals per item of the ordering per chain after burn-in (a bound in steps,
#: so that a run gives the same tables on any machine); past it the draws are taken from the last
#: window and the manifest and the script's text say that the chains did not show they mix.
#: Measured on the benchmark letters (docs/reconstruction.md) with the compiled replay:
#: ``letter_n38`` passes after 8,760, ``letter_n80`` after 22,440 and ``letter_n54``, from two
#: independent starts, after 109,680 (19 min; at 40,000 its largest R-hat was 1.053). The default
#: leaves a margin over that one run; a study that does not pass stops after about 25 minutes at
#: ``letter_n54``'s size (the former default of 40,000 took 37 minutes on the Python replay).
BUDGET_PER_ITEM = 150_000
#: Least bulk ESS of every traced statistic over the window, besides one per draw.
MIN_ESS = 100
#: Most rounds a budget may ask for (each round keeps one small ordering per chain).
MAX_ROUNDS = 20_000
#: Largest --chain-budget (proposals per item per chain).
MAX_BUDGET_PER_ITEM = 200_000


def check_chain_budget(budget: int, thin: int) -> None:
    """A one-line error unless ``budget`` (proposals per item per chain) is a sane bound for rounds of
    ``thin`` proposals per item: at most :data:`MAX_BUDGET_PER_ITEM` and :data:`MAX_ROUNDS` rounds."""
    from models.errors import ConfigError

    if budget > MAX_BUDGET_PER_ITEM:
        raise ConfigError("chain_budget", found=budget, expected=f"at most {MAX_BUDGET_PER_ITEM} proposals per item")
    if budget // thin > MAX_ROUNDS:
        raise ConfigError(
            "chain_budget",
            found=f"{budget} with thin {thin}",
            expected=f"at most {MAX_ROUNDS} rounds (raise --thin or lower --chain-budget)",
        )


def _open(
    chain: OrderingChain, c: int, rng: random.Random, first: Any, copy: Callable[[], Any]
) -> tuple[Any, ChainStats]:
    """Chain ``c``'s start (``first`` for chain 0 if given; ``copy()``, chain 1's burnt-in state, when
    no independent start is found) and its stats, before burn-in."""
    stats = ChainStats()
    t0 = time.perf_counter()
    if c == 0 and first is not None:
        x = first
        stats.start = "the randomised search that showed a table exists"
    else:
        try:
            x = chain.start(rng, restarts=None if c == 0 else LATER_START_RESTARTS)
        except ReconstructionError:
            if c == 0:
                raise
            x = copy()
            stats.start = f"copy of chain 1 after its burn-in (no independent start in {LATER_START_RESTARTS} restarts)"
    stats.start_seconds = time.perf_counter() - t0
    return x, stats


def _burn_in(ladder: Ladder, w: Walker, rng: random.Random, stats: ChainStats, per_item: int) -> Walker:
    """``per_item`` proposals per item of the chain's ordering, untraced; the replicas reached."""
    for _ in range(per_item * len(w.x.seq)):
        w = ladder.step(w, rng, stats)
    return w


def _advance(ladder: Ladder, w: Walker, rng: random.Random, stats: ChainStats, thin: int) -> Walker:
    """``thin`` proposals, tracing the chain's summaries ten times; the replicas reached."""
    chain = ladder.chains[0]
    every = max(1, thin // 10)
    for k in range(thin):
        w = ladder.step(w, rng, stats)
        if (k + 1) % every == 0:
            stats.trace.append(chain.summary(w.x))
    x = w.x
    stats.configurations.add(chain._key_of_paths(x.paths))
    stats.signatures.add((x.layout.config.gvhd_patients, chain.final_figs(x)))
    stats.companions = [[s.proposals, s.accepted] for s in w.companion_stats]
    return w


def run_chains(
    chain: OrderingChain,
    rng: random.Random,
    *,
    chains: int = DEFAULT_CHAINS,
    burn_per_item: int = BURN_PER_ITEM,
    thin_per_item: int = THIN_PER_ITEM,
    progress: Callable[[str], None] | None = None,
    first: Any = None,
    parallel: bool | None = None,
    ladder: tuple[float, ...] = LADDER,
) -> Iterator[tuple[int, Any, ChainStats]]:
    """Endless states ``(chain index, state, stats)``: chains in turn, each thinned after burn-in.

    Each chain has its own stream (seeded from ``rng``), its relaxed companions (``ladder``, their
    KM tolerance multipliers; ``()`` runs the chains alone) and its own randomised start; ``first``,
    a consistent state already found (the driver's check that a table exists), is the first chain's
    start. Summary statistics are traced every tenth of a thinning interval into ``stats.trace``.

    With ``parallel`` (default: when there are several chains and processes can be forked) each
    chain runs in its own process (module docstring). Without ``first``, chain 1's start is searched
    here first (its failure is the caller's error).
    """
    rngs = [random.Random(rng.getrandbits(64)) for _ in range(chains)]
    if parallel is None:
        parallel = chains > 1 and "fork" in multiprocessing.get_all_start_methods()
    lad = Ladder(chain, ladder)
    if parallel:
        yield from _run_parallel(
            lad, rngs, _open(chain, 0, rngs[0], first, lambda: None), burn_per_item, thin_per_item, progress
        )
        return
    walkers: list[Walker] = []
    stats: list[ChainStats] = []
    for c in range(chains):
        if progress:
            progress(f"chain {c + 1}/{chains}: searching a start")
        x, st = _open(chain, c, rngs[c], first, lambda: walkers[0].x)
        stats.append(st)
        w = _burn_in(lad, lad.walker(x), rngs[c], st, burn_per_item)
        walkers.append(w)
        if progress:
            acc = st.accepted / max(1, st.proposals)
            progress(f"chain {c + 1}/{chains}: started and burnt in ({st.proposals} proposals, acceptance {acc:.2f})")
    while True:
        for c in range(chains):
            walkers[c] = _advance(lad, walkers[c], rngs[c], stats[c], thin_per_item * len(walkers[c].x.seq))
            yield c, walkers[c].x, stats[c]


def _worker(
    ladder: Ladder, c: int, rng: random.Random, opened: Any, burn: int, thin: int, out: Any, inbox: Any
) -> None:  # pragma: no cover - runs in a forked process (its states are checked in the parent)
    """Chain ``c`` in its own process: start (unless ``opened``), burn-in, then its states and the
    trace entries since the last one, sent to ``out`` one by one."""
    chain = ladder.chains[0]

    def copy() -> Any:
        out.put(pickle.dumps(("copy", None, None, None, None)))
        seq, paths = inbox.get()
        return chain._make(seq, paths, 0, None)

    x, stats = opened if opened is not None else _open(chain, c, rng, None, copy)
    w = _burn_in(ladder, ladder.walker(x), rng, stats, burn)
    while True:
        trace, stats.trace = stats.trace, []  # each message carries the entries traced since the last
        out.put(pickle.dumps(("state", w.x.seq, w.x.paths, stats, trace)))  # now: the queue pickles later
        w = _advance(ladder, w, rng, stats, thin * len(w.x.seq))


def _run_parallel(
    ladder: Ladder,
    rngs: list[random.Random],
    opened: tuple[Any, ChainStats],
    burn: int,
    thin: int,
    progress: Callable[[str], None] | None,
) -> Iterator[tuple[int, Any, ChainStats]]:
    """:func:`run_chains` with each chain in a forked process (the same states, see there);
    ``opened`` is chain 1's start and stats, found by the caller."""
    chain = ladder.chains[0]
    ctx = multiprocessing.get_context("fork")
    outs = [ctx.Queue(maxsize=PREFETCH) for _ in rngs]
    inboxes = [ctx.Queue() for _ in rngs]
    procs = [
        ctx.Process(
            target=_worker,
            args=(ladder, c, rng, opened if c == 0 else None, burn, thin, outs[c], inboxes[c]),
            daemon=True,
        )
        for c, rng in enumerate(rngs)
    ]
    n = len(rngs)
    stats = [ChainStats() for _ in rngs]

    def receive(c: int) -> tuple:
        while True:
            try:
                return pickle.loads(outs[c].get(timeout=1.0))
            except queue.Empty:
                if not procs[c].is_alive():
                    raise ReconstructionError(
                        chain.cons.source,
                        where=f"chain {c + 1}",
                        found=f"its process ended (exit code {procs[c].exitcode}) before the draws were taken",
                        expected="a chain process that runs to the end (was it killed, e.g. for memory?)",
                    ) from None

    def update(c: int, got: ChainStats, trace: list) -> None:
        kept = stats[c].trace
        vars(stats[c]).update(vars(got))
        kept.extend(trace)
        stats[c].trace = kept

    burnt: list[tuple[list, dict[str, str]]] = []
    try:
        for p in procs:
            p.start()
        for c in range(n):
            if progress:
                progress(f"chain {c + 1}/{n}: searching a start")
            msg = receive(c)
            if msg[0] == "copy":
                inboxes[c].put(burnt[0])
                msg = receive(c)
            burnt.append((msg[1], msg[2]))
            update(c, msg[3], msg[4])
            if progress:
                acc = stats[c].accepted / max(1, stats[c].proposals)
                progress(
                    f"chain {c + 1}/{n}: started and burnt in ({stats[c].proposals} proposals, acceptance {acc:.2f})"
                )
        while True:
            for c in range(n):
                _kind, seq, paths, got, trace = receive(c)
                update(c, got, trace)
                x = chain._make(seq, paths, 0, None)
                assert x is not None, "a chain process sent an inconsistent ordering"
                yield c, x, stats[c]
    finally:
        for p in procs:
            p.kill()
            p.join()


def window_diagnostics(traces: list[list[tuple[float, ...]]], names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Rank-normalised split :math:`\\hat R` and bulk ESS (ArviZ; Vehtari et al. 2021) of each
    statistic over the chains' ``traces`` (cut to the shortest).

    A statistic constant over every trace has nothing to mix: :math:`\\hat R = 1` and ESS the number
    of traced values. One constant at different values in different chains has :math:`\\hat R = \\infty`.
    """
    import arviz as az
    import numpy as np

    n = min((len(t) for t in traces), default=0)
    out: dict[str, dict[str, float]] = {"rhat": {}, "ess_bulk": {}}
    if n < 4 or len(traces) < 1:
        for name in names:
            out["rhat"][name] = math.nan
            out["ess_bulk"][name] = math.nan
        return out
    arr = np.asarray([t[:n] for t in traces], dtype=float)
    for i, name in enumerate(names):
        a = arr[:, :, i]
        if np.all(a == a.flat[0]):
            rhat, ess = 1.0, float(a.size)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                rhat = float(az.rhat(a))
                ess = float(az.ess(a))
            if math.isnan(rhat):  # each chain constant, at different values
                rhat = math.inf
        out["rhat"][name] = rhat
        out["ess_bulk"][name] = ess
    return out


def _finite(v: float, digits: int) -> float | None:
    return round(v, digits) if math.isfinite(v) else None


def chain_report(
    stats: list[ChainStats],
    draws_per_chain: list[int],
    names: tuple[str, ...],
    diagnostics: dict[str, dict[str, float]],
    run: dict[str, Any],
) -> dict[str, Any]:
    """The manifest's record of the chains: acceptance (by kind of proposal, of the companions and of
    the exchanges), starts, and the diagnostics of the window the draws came from.

    ``run`` holds how long the chains ran and whether they met the criterion (see the driver);
    non-finite :math:`\\hat R` or ESS are recorded as ``null``.
    """
    from models.reconstruct.chain import GVHD_MOVES

    per = []
    for s, d in zip(stats, draws_per_chain, strict=True):
        gvhd = [sum(s.moves.get(k, (0, 0))[i] for k in GVHD_MOVES) for i in (0, 1)]  # [proposed, accepted]
        per.append(
            {
                "proposals": s.proposals,
                "acceptance_rate": round(s.accepted / max(1, s.proposals), 4),
                "gvhd_toggle_acceptance": round(gvhd[1] / max(1, gvhd[0]), 4),
                "acceptance_by_move": {k: round(v[1] / max(1, v[0]), 4) for k, v in sorted(s.moves.items())},
                "companion_acceptance": [round(a / max(1, p), 4) for p, a in s.companions],
                "exchange_acceptance": [round(a / max(1, p), 4) for p, a in s.exchanges],
                "exchanges_accepted": [a for _p, a in s.exchanges],
                "states_drawn": d,
                "start": s.start,
                "start_seconds": round(s.start_seconds, 2),
                "configurations_visited": len(s.configurations),
                "risk_set_signatures_visited": len(s.signatures),
            }
        )
    return {
        "chains": per,
        **run,
        "split_rhat": {k: _finite(diagnostics["rhat"][k], 3) for k in names},
        "ess_bulk": {k: _finite(diagnostics["ess_bulk"][k], 1) for k in names},
        "signatures_visited": len(set().union(*(s.signatures for s in stats))) if stats else 0,
    }


@dataclass
class Rounds:
    """What :func:`collect` ran: per chain the ``(seq, paths)`` of each round's state, the stats,
    the diagnostics of the window (the second half of the rounds) and whether they passed."""

    pool: list[list[tuple[list, dict[str, str]]]]
    stats: list[ChainStats]
    rounds: int
    diagnostics: dict[str, dict[str, float]]
    converged: bool
    need_ess: float
    ladder: tuple[float, ...]
    thin_per_item: int
    budget_per_item: int

    @property
    def window(self) -> range:
        """The rounds the draws come from: the second half (the first is warm-up)."""
        return range(self.rounds // 2, self.rounds)

    def record(self) -> dict[str, Any]:
        """How the chains ran, for the manifest (:func:`chain_report`'s ``run``)."""
        from models.pwe import RHAT_MAX

        return {
            "ladder": [1.0, *self.ladder],
            "swap_every": SWAP_EVERY,
            "thin_per_item": self.thin_per_item,
            "budget_per_item": self.budget_per_item,
            "rounds": self.rounds,
            "window_rounds": [self.window.start + 1, self.window.stop],
            "converged": self.converged,
            "criterion": f"rank-normalised split R-hat <= {RHAT_MAX} and bulk ESS >= {self.need_ess} for every "
            "traced statistic over the window (the second half of the rounds)",
        }


def passes(diagnostics: dict[str, dict[str, float]], need_ess: float) -> bool:
    """Whether every statistic has :math:`\\hat R \\le` :data:`~models.pwe.RHAT_MAX` and bulk ESS
    of at least ``need_ess`` (a NaN fails)."""
    from models.pwe import RHAT_MAX

    return all(v <= RHAT_MAX for v in diagnostics["rhat"].values()) and all(
        v >= need_ess for v in diagnostics["ess_bulk"].values()
    )


def collect(
    chain: OrderingChain,
    rng: random.Random,
    *,
    draws: int,
    chains: int = DEFAULT_CHAINS,
    thin_per_item: int = THIN_PER_ITEM,
    budget_per_item: int = BUDGET_PER_ITEM,
    progress: Callable[[str], None] | None = None,
    first: Any = None,
    ladder: tuple[float, ...] = LADDER,
    parallel: bool | None = None,
) -> Rounds:
    """Run the chains in rounds until their window shows that they mix, or the budget ends.

    After each round from ``2 * ceil(draws / chains)`` on (so that the window holds a state per draw
    and chain), the window's rank-normalised split :math:`\\hat R` and bulk ESS of every traced
    statistic (:meth:`OrderingChain.summary`) are computed (:func:`window_diagnostics`); the chains
    stop when every :math:`\\hat R \\le 1.01` and every ESS is at least ``max(draws, MIN_ESS)``, so
    that the window's states include ``draws`` nearly independent ones, or when the chains have run
    ``budget_per_item`` proposals per item (``converged`` False).
    """
    from models.pwe import RHAT_MAX

    names = chain.summary_names()
    need = max(draws, MIN_ESS)
    k = math.ceil(draws / chains)
    least = 2 * k
    most = max(least, budget_per_item // thin_per_item)
    pool: list[list[tuple[list, dict[str, str]]]] = [[] for _ in range(chains)]
    marks: list[list[int]] = [[] for _ in range(chains)]
    stats: list[ChainStats] = []
    rounds = 0
    it = run_chains(
        chain,
        rng,
        chains=chains,
        thin_per_item=thin_per_item,
        progress=progress,
        first=first,
        ladder=ladder,
        parallel=parallel,
    )
    try:
        for c, x, st in it:
            if len(stats) < chains:
                stats.append(st)
            pool[c].append((x.seq, x.paths))
            marks[c].append(len(st.trace))
            if c < chains - 1:
                continue
            rounds += 1
            if rounds < least:
                continue
            h = rounds // 2
            traces = [s.trace[(m[h - 1] if h else 0) : m[-1]] for s, m in zip(stats, marks, strict=True)]
            diag = window_diagnostics(traces, names)
            ok = passes(diag, need)
            if ok or rounds >= most:
                return Rounds(pool, stats, rounds, diag, ok, need, ladder, thin_per_item, budget_per_item)
            if progress and rounds % 10 == 0:
                worst = max(names, key=lambda name: diag["rhat"][name])
                thin = min(names, key=lambda name: diag["ess_bulk"][name])
                progress(
                    f"chains: {rounds * thin_per_item} proposals per item, window R-hat {diag['rhat'][worst]:.3f} "
                    f"({worst}), ESS {diag['ess_bulk'][thin]:.0f} ({thin}) (needed: R-hat <= {RHAT_MAX}, "
                    f"ESS >= {need})"
                )
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
    raise AssertionError("run_chains ended")  # pragma: no cover - the generator is endless
