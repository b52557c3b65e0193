r"""A Metropolis chain over consistent orderings, for studies too large to count exactly.

The exact method (:mod:`~models.reconstruct.search`) counts every consistent ordering of every path
configuration and draws uniformly from the count. Its memo grows with the number of risk-set
histories and becomes impractical beyond about 40 patients with ten events. This module samples the
same target, the uniform law over (configuration, ordering) pairs, without counting, by a Markov
chain whose every state is a consistent ordering checked by the search's own rules
(:meth:`_Search.child`).

State
-----
The chain moves on *patient-level* orderings :math:`x`: a path for every patient (anonymous
patients' paths may move between subgroups; named candidates may gain or lose a qualifying GvHD
step) and a sequence of (patient, step) items and threshold markers. :math:`x` is consistent when
each patient's steps appear in path order, its configuration (the counts of paths per subgroup) is
one of :func:`~models.reconstruct.configurations.configurations`, and its class-level labels
(``("T", slot)`` / ``("L", marker)``) replay from :meth:`_Search.initial` through
:meth:`_Search.child` to a terminal state satisfying :meth:`_Search._terminal_ok`.

A class-level ordering :math:`s` of configuration :math:`c` is the image of
:math:`M(c)\,W(s)` patient-level ones, with

.. math:: M(c) = \prod_g \frac{n_g!}{\prod_k m_{g,k}!}, \qquad
          W(s) = \prod_{t:\ \text{step}} \#\{\text{patients in the slot that moves at } t\},

(:math:`n_g` anonymous patients in subgroup :math:`g`, :math:`m_{g,k}` of them with path
:math:`k`; :math:`W` counts which patient of the class moves at each step). The chain targets
:math:`\pi(x) \propto 1/(M(c(x))\,W(s(x)))` on consistent :math:`x`, so that the image
:math:`(c, s)` is uniform over every consistent pair — the exact method's law, configurations
weighted by their counts of orderings.

The search checks windows, markers, follow-up pins and the incidence figures; the KM figures are
tracked in its state but checked here: along the replay each grown tuple of risk sets must keep the
estimate and the lower bound at or above the printed values (the monotone cut of
:func:`~models.reconstruct.figures.risk_set_tuples`), and at the figure's landmark marker the
estimate and both bounds must be reproduced, all risk sets at least 2 — the definition of the
admissible tuples, which the exact search lists in advance and which at 40 patients are too many
to list. A replay starts at the first changed position from the cached prefix states. Where it
applies (no digitised curve; every strict layout of the benchmark letters) it runs compiled, on
running sums rather than tuples (:mod:`~models.reconstruct.chain_kernel`, whose tests show the
same decisions); otherwise in Python, stopping when, after the last changed position, it meets the
previous ordering's state.

Moves
-----
A proposal is a GvHD move (probability :data:`TOGGLE_P`, when some patient is eligible: a gain or
loss of a ``G`` step, or its transfer from one patient to another, :data:`TRANSFER_P`;
Metropolis–Hastings with the exact proposal ratio) or, with fixed probabilities
(:data:`MOVE_WEIGHTS`), one of three symmetric kernels accepted with
:math:`\min(1, \pi(x')/\pi(x))`: *permutation* (1–3 random swaps, inserts and anonymous identity
exchanges), *event hops* (1–3 events each moved up to 3 places) and *event pairs* (two events of
one kind moved one place each, in opposite directions, so that their changes of the figures nearly
cancel). :mod:`~models.reconstruct.chain_moves` defines them and proves each symmetric (or its
ratio); each leaves :math:`\pi` invariant by detailed balance, and so does their mixture. Every
state is consistent by construction, and each draw is then sent through the same day sampling and
lifelines verification as an exact draw.

What is and is not proven
-------------------------
Invariance of :math:`\pi` is exact. Irreducibility — that the moves connect every consistent
ordering — is not proven: orderings reachable only through a long run of inconsistent intermediate
states may be rarely or never visited. Each chain runs with relaxed companions
(:mod:`~models.reconstruct.chain_tempering`, replica exchange), from its own random start
(:mod:`~models.reconstruct.chain_start`), and :mod:`~models.reconstruct.chain_run` keeps running
the chains until the rank-normalised split :math:`\hat R` and bulk ESS of summary statistics
(:meth:`OrderingChain.summary`) pass over the second half of the run (Gelman et al. 2013,
*Bayesian Data Analysis*, 3rd ed., §11.4; Vehtari et al. 2021, *Bayesian Analysis* 16:667), or a
budget ends, which the manifest records; where the exact method also runs, the tests compare the
two by chi-square goodness of fit.

References
----------
Metropolis N, et al. Equation of state calculations by fast computing machines. J Chem Phys
1953;21:1087–92. Hastings WK. Monte Carlo sampling methods using Markov chains and their
applications. Biometrika 1970;57:97–109.
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass, field, replace

import numpy as np

from models.reconstruct.chain_kernel import Packed, initial_row, log_table, pack, replay
from models.reconstruct.chain_moves import Item, hop, pair, permute, toggle, transfer
from models.reconstruct.configurations import Configuration, configurations
from models.reconstruct.constraints import Constraints, KMTarget
from models.reconstruct.figures import _km_ok
from models.reconstruct.search import _Search
from models.reconstruct.vocabulary import G

#: Entries of a chain's (and each companion's) memo of KM checks before it is cleared. At a million
#: a ``letter_n54`` chain process with three companions reached 1.03 GB; at 250,000 it stays at
#: 0.45 GB with the same time (543 s) and the same tables.
KM_CACHE_ENTRIES = 250_000
#: Time limit of the search for a chain's start (seconds; :mod:`~models.reconstruct.chain_start`).
START_SECONDS = 60.0
#: Probability of a GvHD move (when some patient is eligible), and the share of transfers in it.
TOGGLE_P = 0.1
TRANSFER_P = 0.5
GVHD_MOVES = ("gvhd_toggle", "gvhd_transfer")
#: The other proposals and their probabilities (:mod:`~models.reconstruct.chain_moves`).
MOVES = ("permutation", "event_hops", "event_pair")
MOVE_WEIGHTS = (0.5, 0.25, 0.25)
#: Label code of an item with no slot in a layout (the compiled replay rejects it).
_NO_LABEL = -(10**9)


def _config_key(gvhd: frozenset[str], anon: dict[tuple[frozenset[str], str], int]) -> tuple:
    return (gvhd, frozenset((k, v) for k, v in anon.items() if v))


@dataclass
class _Layout:
    """One configuration's search and how patient items map to its slots."""

    config: Configuration
    search: _Search
    class_of: dict[tuple, int]  # ("named", pid) or ("anon", populations, path) -> class index
    slot: dict[tuple[int, int], int]
    log_m: float
    km: list[tuple[int, KMTarget]]  # the search's KM figures, checked here (see OrderingChain.layout)
    lenient: bool = False  # no figure is checked (start-up only: chain_start)
    packed: Packed | None = None  # tables of the compiled replay (chain_kernel), where it applies


@dataclass
class _State:
    seq: list[Item]
    paths: dict[str, str]
    layout: _Layout
    states: list[tuple]  # states[k]: the search state before item k (Python replay; else empty)
    logw: list[float]  # log W of the first k items (Python replay; else empty)
    rows: np.ndarray | None = None  # the compiled replay's rows (chain_kernel), one per position
    codes: dict[Item, int] | None = None  # item -> label code of the compiled replay (these paths)

    @property
    def log_w(self) -> float:
        """log W of the whole ordering."""
        if self.rows is None or self.layout.packed is None:
            return self.logw[-1]
        return float(self.rows[-1][self.layout.packed.slots + 1])


@dataclass
class ChainStats:
    """A chain's counters and the trace of its summary statistics (after burn-in)."""

    proposals: int = 0
    accepted: int = 0
    moves: dict[str, list[int]] = field(default_factory=dict)  # kind -> [proposed, accepted]
    start_seconds: float = 0.0
    start: str = "independent randomised search"
    trace: list[tuple[float, ...]] = field(default_factory=list)
    configurations: set[tuple] = field(default_factory=set)  # configuration keys (GvHD set and subgroup split)
    signatures: set[tuple] = field(default_factory=set)
    #: Replica exchange (:mod:`~models.reconstruct.chain_tempering`): per companion
    #: [proposals, accepted], per adjacent pair of replicas [exchanges proposed, accepted].
    companions: list[list[int]] = field(default_factory=list)
    exchanges: list[list[int]] = field(default_factory=list)


class OrderingChain:
    """Metropolis chains over the consistent orderings of one GvHD definition (module docstring).

    ``moves`` weighs the proposal kinds other than the GvHD toggle (default :data:`MOVE_WEIGHTS`;
    the agreement tests run chains with some kinds only).
    """

    def __init__(
        self,
        cons: Constraints,
        *,
        qualifying: tuple[str, ...] | None,
        reading: str,
        moves: dict[str, float] | None = None,
        compiled: bool = True,
    ) -> None:
        self.compiled = compiled
        self._log_n = log_table(len(cons.patients))
        weights = dict(zip(MOVES, MOVE_WEIGHTS, strict=True)) if moves is None else moves
        if not weights or set(weights) - set(MOVES) or min(weights.values()) < 0 or sum(weights.values()) <= 0:
            raise ValueError(f"moves: weights of some of {MOVES}, got {moves}")
        self.move_kinds = list(weights)
        self.move_weights = list(weights.values())
        self.cons = cons
        self.qualifying = qualifying
        self.reading = reading
        self.configs: dict[tuple, Configuration] = {}
        for config in configurations(cons, qualifying):
            self.configs[self._key_of_config(config)] = config
        self.layouts: dict[tuple, _Layout] = {}
        self.lenient_layouts: dict[tuple, _Layout] = {}
        self._km_cache: dict[tuple[str, tuple[int, ...], bool], bool] = {}
        self.anon = sorted(p for p in cons.patients if p not in cons.named_paths)
        self.group = {p: frozenset(pop for pop, m in cons.membership.items() if m[p]) for p in cons.patients}
        # Patients a GvHD toggle may pick (the same set in every state, so the choice is symmetric).
        self.eligible = sorted({p for c in self.configs.values() for p in c.gvhd_patients})
        if any(c.anonymous_gvhd for c in self.configs.values()):
            self.eligible = sorted(set(self.eligible) | set(self.anon))

    def relaxed(self, slack: float) -> OrderingChain:
        """A companion of this chain on the same configurations whose KM and incidence figures have
        ``slack`` times their tolerance (:mod:`~models.reconstruct.chain_tempering`); it has its own
        searches, and a state passes between the two by a replay (:meth:`_make`)."""
        cons = Constraints(**{**self.cons.__dict__})
        cons.km = tuple(replace(f, tol=f.tol * slack) for f in self.cons.km)
        cons.cif = tuple(replace(f, tol=f.tol * slack) for f in self.cons.cif)
        other = copy.copy(self)
        other.cons = cons
        other.layouts, other.lenient_layouts, other._km_cache = {}, {}, {}
        return other

    # ------------------------------------------------------------------ configurations and layouts

    def _key_of_config(self, config: Configuration) -> tuple:
        anon: dict[tuple[frozenset[str], str], int] = {}
        for cl in config.classes:
            if not cl.named:
                anon[(cl.populations, cl.path)] = anon.get((cl.populations, cl.path), 0) + len(cl.members)
        return _config_key(frozenset(config.gvhd_patients), anon)

    def _key_of_paths(self, paths: dict[str, str]) -> tuple:
        anon: dict[tuple[frozenset[str], str], int] = {}
        for p in self.anon:
            k = (self.group[p], paths[p])
            anon[k] = anon.get(k, 0) + 1
        gvhd = frozenset(p for p in self.cons.named_paths if paths[p].startswith(G))
        return _config_key(gvhd, anon)

    def layout(self, key: tuple, lenient: bool = False) -> _Layout | None:
        """The search of the configuration ``key`` (built once), or None if it is no configuration.

        The search checks the incidence figures itself; the KM figures are tracked (their risk sets
        are in the state) but checked here (:meth:`_km_fits`) rather than against the enumerated
        tuples of :func:`~models.reconstruct.figures.risk_set_tuples`, which at 40 patients with
        20 deaths before the landmark are too many to list. The test is the same: a tuple of risk
        sets (all at least 2) reproducing the estimate and both interval bounds.
        """
        cache = self.lenient_layouts if lenient else self.layouts
        hit = cache.get(key)
        if hit is not None:
            return hit
        config = self.configs.get(key)
        if config is None:
            return None
        checked = set() if lenient else {f.name for f in self.cons.cif}
        search = _Search(self.cons, config, reading=self.reading, max_states=1, checked=checked)
        class_of: dict[tuple, int] = {}
        for c, cl in enumerate(config.classes):
            class_of[("named", cl.members[0]) if cl.named else ("anon", cl.populations, cl.path)] = c
        slot = {s: i for i, s in enumerate(search.slots)}
        sizes: dict[frozenset[str], list[int]] = {}
        for cl in config.classes:
            if not cl.named:
                sizes.setdefault(cl.populations, []).append(len(cl.members))
        log_m = sum(math.lgamma(sum(v) + 1) - sum(math.lgamma(m + 1) for m in v) for v in sizes.values())
        km = [(j, f) for j, f in enumerate(search.figures) if isinstance(f, KMTarget)]
        packed = None if lenient or not self.compiled else pack(search, [j for j, _f in km], self._log_n)
        out = _Layout(config, search, class_of, slot, log_m, km, lenient, packed)
        cache[key] = out
        return out

    # ------------------------------------------------------------------ replay

    def _km_fits(self, f: KMTarget, ns: tuple[int, ...], final: bool) -> bool:
        """Whether KM risk sets ``ns`` can still (prefix) or do (``final``) reproduce ``f``."""
        key = (f.name, ns, final)
        hit = self._km_cache.get(key)
        if hit is None:
            hit = (not ns or ns[-1] >= 2) and _km_ok(f, ns, final=final)
            if len(self._km_cache) > KM_CACHE_ENTRIES:
                self._km_cache.clear()
            self._km_cache[key] = hit
        return hit

    def _step_ok(self, lay: _Layout, before: tuple, after: tuple, label: tuple) -> bool:
        """KM checks of one step: a grown tuple must stay admissible as a prefix, and at the marker
        of a figure's landmark (after which its tuple no longer changes) it must reproduce it."""
        if label[0] == "L":
            day = lay.search.landmarks[label[1]]
            return all(f.landmark != day or self._km_fits(f, after[2][j], True) for j, f in lay.km)
        if after[2] is before[2]:  # no figure's risk sets changed
            return True
        for j, f in lay.km:
            if after[2][j] is not before[2][j] and not self._km_fits(f, after[2][j], False):
                return False
        return True

    def _complete(self, lay: _Layout, state: tuple) -> bool:
        """A terminal state whose figures all hold (the search's final checks and the KM ones)."""
        search = lay.search
        return (
            search._terminal(state)
            and search._terminal_ok(state[2])
            and all(self._km_fits(f, state[2][j], True) for j, f in lay.km)
        )

    def _slot_of(self, lay: _Layout, paths: dict[str, str], item: Item) -> tuple | None:
        pid, step = item
        if pid is None:
            return ("L", step)
        path = paths[pid]
        c = lay.class_of.get(("named", pid) if pid in self.cons.named_paths else ("anon", self.group[pid], path))
        if c is None:
            return None
        return ("T", lay.slot[(c, path.index(step))])

    def _replay(
        self,
        lay: _Layout,
        seq: list[Item],
        paths: dict[str, str],
        start: int,
        states: list[tuple],
        logw: list[float],
        last: int | None = None,
    ) -> tuple[list[tuple], list[float]] | None:
        """States and log W of ``seq`` replayed from position ``start`` (prefix reused), or None.

        ``states``/``logw`` are those of the previous ordering; when items after position ``last``
        are unchanged and the replayed state meets the previous one, the rest is the previous
        suffix (the same states; log W shifted by a constant) and is reused as it is.
        """
        search = lay.search
        st, lw = states[: start + 1], logw[: start + 1]
        state, w = st[-1], lw[-1]
        for k in range(start, len(seq)):
            if last is not None and k > last and state == states[k]:
                shift = w - logw[k]
                st.extend(states[k + 1 :])
                lw.extend(v + shift for v in logw[k + 1 :])
                return st, lw
            label = self._slot_of(lay, paths, seq[k])
            if label is None:
                return None
            if label[0] == "T":
                n = state[0][label[1]]
                if not n:
                    return None
                w += math.log(n)
            nxt = search.child(state, label)
            if nxt is None or not (lay.lenient or self._step_ok(lay, state, nxt, label)):
                return None
            state = nxt
            st.append(state)
            lw.append(w)
        if not (search._terminal(state) if lay.lenient else self._complete(lay, state)):
            return None
        return st, lw

    @staticmethod
    def _in_order_within(seq: list[Item], paths: dict[str, str], who: set[str], first: int, last: int) -> bool:
        """:meth:`_in_order` for a proposal that only rearranged items within positions
        ``first..last`` of a consistent ordering: each patient's items there are a run of its path
        (those before and after did not move), so they need only be in increasing path order."""
        seen: dict[str, int] = {}
        for pid, step in seq[first : last + 1]:
            if pid in who:
                k = paths[pid].index(step)
                if k < seen.get(pid, -1):
                    return False
                seen[pid] = k
        return True

    def _in_order(self, seq: list[Item], paths: dict[str, str], who: set[str]) -> bool:
        seen: dict[str, int] = {}
        for pid, step in seq:
            if pid in who:
                k = paths[pid].index(step)
                if k != seen.get(pid, 0):
                    return False
                seen[pid] = k + 1
        return all(seen.get(p, 0) == len(paths[p]) for p in who)

    def _make(
        self,
        seq: list[Item],
        paths: dict[str, str],
        start: int,
        old: _State | None,
        lenient: bool = False,
        last: int | None = None,
    ) -> _State | None:
        """The state of ``seq`` (None if inconsistent), replayed from ``start``; items after ``last``
        are those of ``old`` (see :meth:`_replay`)."""
        same = old is not None and paths is old.paths and old.layout.lenient == lenient
        lay = old.layout if same and old is not None else self.layout(self._key_of_paths(paths), lenient)
        if lay is None:
            return None
        if lay.packed is not None:
            return self._make_packed(lay, seq, paths, start, old)
        if old is None or lay is not old.layout:
            start, states, logw, last = 0, [lay.search.initial()], [0.0], None
        else:
            states, logw = old.states, old.logw
        out = self._replay(lay, seq, paths, start, states, logw, last)
        if out is None:
            return None
        return _State(seq, paths, lay, out[0], out[1])

    def _make_packed(
        self, lay: _Layout, seq: list[Item], paths: dict[str, str], start: int, old: _State | None
    ) -> _State | None:
        """:meth:`_make` by the compiled replay (:func:`~models.reconstruct.chain_kernel.replay`)."""
        assert lay.packed is not None
        if old is None or lay is not old.layout or old.rows is None:
            start, rows = 0, initial_row(lay.search, lay.packed)
        else:
            rows = old.rows
        if old is None or old.codes is None or lay is not old.layout:
            codes = self._codes(lay, paths, None)
        elif paths is old.paths:
            codes = old.codes
        else:
            codes = self._codes(lay, paths, old)
        labels = np.array(list(map(codes.__getitem__, seq[start:])), np.int64)
        out = replay(rows, start, labels, lay.packed.tables)
        if out.shape[0] == 0:
            return None
        return _State(seq, paths, lay, [], [], out, codes)

    def _codes(self, lay: _Layout, paths: dict[str, str], old: _State | None) -> dict[Item, int]:
        """Each item's label code under ``paths``: its slot, ``-(m + 1)`` for marker ``m``,
        :data:`_NO_LABEL` if it has no slot; from ``old``'s codes (same layout) where only some
        patients' paths changed (an item's code depends on its own patient's path only)."""
        if old is None or old.codes is None:
            out: dict[Item, int] = {(None, m): -(m + 1) for m in range(len(lay.search.landmarks) + 1)}
            who = list(paths)
        else:
            out = dict(old.codes)
            who = [p for p in paths if paths[p] != old.paths[p]]
            for p in who:
                for step in old.paths[p]:
                    del out[(p, step)]
        for pid in who:
            for step in paths[pid]:
                lab = self._slot_of(lay, paths, (pid, step))
                out[(pid, step)] = _NO_LABEL if lab is None else lab[1]
        return out

    def final_figs(self, x: _State) -> tuple:
        """The figures' part of ``x``'s terminal search state (risk-set tuples; for the compiled
        replay, replayed here in Python from the labels)."""
        if x.states:
            return x.states[-1][2]
        search = x.layout.search
        state = search.initial()
        for lab in self.labels(x):
            nxt = search.child(state, lab)
            assert nxt is not None, "a chain state is no longer consistent"
            state = nxt
        return state[2]

    @staticmethod
    def log_pi(x: _State) -> float:
        return -(x.layout.log_m + x.log_w)

    # ------------------------------------------------------------------ starts

    def start(self, rng: random.Random, *, seconds: float = START_SECONDS, restarts: int | None = None) -> _State:
        """A consistent ordering to start from (:func:`models.reconstruct.chain_start.find_start`)."""
        from models.reconstruct.chain_start import find_start

        return find_start(self, rng, seconds=seconds, restarts=restarts)

    def lift(self, lay: _Layout, labels: list[tuple], rng: random.Random) -> _State | None:
        """A patient-level ordering of class-level ``labels``: a random patient of the class moves."""
        search = lay.search
        queues: dict[int, list[str]] = {}
        paths: dict[str, str] = {}
        for i, (c, p) in enumerate(search.slots):
            queues[i] = list(search.classes[c].members) if p == 0 else []
            for pid in queues[i]:
                paths[pid] = search.classes[c].path
        seq: list[Item] = []
        for kind, i in labels:
            if kind == "L":
                seq.append((None, i))
                continue
            q = queues[i]
            pid = q.pop(rng.randrange(len(q)))
            queues[search.next_slot[i]].append(pid)
            seq.append((pid, search.step[i]))
        return self._make(seq, paths, 0, None, lay.lenient)

    # ------------------------------------------------------------------ moves

    def _permute(self, x: _State, rng: random.Random) -> tuple[list[Item], dict[str, str], int, int, set[str]]:
        """One draw of the symmetric permutation kernel (:func:`~models.reconstruct.chain_moves.permute`)."""
        return permute(x.seq, x.paths, self.anon, rng)

    def step(self, x: _State, rng: random.Random, stats: ChainStats) -> _State:
        """One Metropolis(-Hastings) proposal from ``x``; the next state."""
        stats.proposals += 1
        is_toggle = bool(self.eligible) and rng.random() < TOGGLE_P
        if is_toggle:
            kind = GVHD_MOVES[0] if rng.random() < 1 - TRANSFER_P else GVHD_MOVES[1]
        else:
            kind = rng.choices(self.move_kinds, self.move_weights)[0]
        count = stats.moves.setdefault(kind, [0, 0])
        count[0] += 1
        last: int | None = None
        if is_toggle:
            prop = (toggle if kind == GVHD_MOVES[0] else transfer)(x.seq, x.paths, self.eligible, rng)
            if prop is None:
                return x
            seq, paths, first, log_q = prop
            if not self._in_order(seq, paths, {p for p in paths if paths[p] != x.paths.get(p)}):
                return x
        else:
            if kind == "event_hops":
                seq, first, last, who = hop(x.seq, rng)
                paths = x.paths
            elif kind == "event_pair":
                seq, first, last, who = pair(x.seq, rng)
                paths = x.paths
            else:
                seq, paths, first, last, who = self._permute(x, rng)
            log_q = 0.0
            if first >= len(seq) or (who and not self._in_order_within(seq, paths, who, first, last)):
                return x
        y = self._make(seq, paths, first, x, last=last)
        if y is None:
            return x
        log_a = self.log_pi(y) - self.log_pi(x) + log_q
        if log_a >= 0 or rng.random() < math.exp(log_a):
            stats.accepted += 1
            count[1] += 1
            return y
        return x

    # ------------------------------------------------------------------ draws

    def labels(self, x: _State) -> list[tuple]:
        """The class-level labels of ``x`` (what :func:`models.reconstruct.sampling._timeline` reads)."""
        out = []
        for item in x.seq:
            lab = self._slot_of(x.layout, x.paths, item)
            assert lab is not None
            out.append(lab)
        return out

    def summary(self, x: _State) -> tuple[float, ...]:
        """Scalar summaries traced for :math:`\\hat R` (:meth:`summary_names`): the share of items
        before the first marker, the mean event rank (share of the ordering) and, per KM figure, the
        sum of its final risk sets (the slowest coordinates, :mod:`~models.reconstruct.chain_tempering`)."""
        n = len(x.seq)
        before = next((k for k, it in enumerate(x.seq) if it[0] is None), n)
        ranks = [k for k, it in enumerate(x.seq) if it[0] is not None and it[1] != "C"]
        if x.rows is not None:
            base = len(x.layout.search.slots) + 2
            sums = [float(x.rows[-1, base + 4 * j + 3]) for j, _f in x.layout.km]
        else:
            figs = x.states[-1][2]
            sums = [float(sum(figs[j])) for j, _f in x.layout.km]
        return (before / n, (sum(ranks) / len(ranks) / n) if ranks else 0.0, *sums)

    def summary_names(self) -> tuple[str, ...]:
        """Names of :meth:`summary`'s statistics."""
        return ("items_before_first_marker", "mean_event_rank", *(f"risk_set_sum_{f.name}" for f in self.cons.km))
