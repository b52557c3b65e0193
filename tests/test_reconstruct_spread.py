"""How the reconstruction's draws are spread: uniformly over the consistent orderings (issue 17, item 3).

docs/reconstruction.md promises that a draw "descends the same graph with probabilities
proportional to completion counts, i.e. uniformly over orderings". Here a tiny synthetic study
(8 patients, a subgroup figure, so two path configurations) is reconstructed, every consistent
ordering is enumerated independently by brute force (every interleaving of the patients' steps and
the landmark marker, checked with a few lines of Kaplan–Meier and Aalen–Johansen arithmetic written
here, not the solver's), and thousands of draws are compared with the uniform law by a chi-square
goodness-of-fit test.

Every constraint of the published study is kept: OS and EFS at one year with 95% intervals, OS in
the subgroup, the relapse incidence, the counts, follow-up and entry median (range) and
administrative censoring. The brute force reads the documented semantics of the threshold markers
itself: a step before the marker at day x must be able to occur before x (its window starts
before x), a step after it must be able to occur after x, and an exit pinned by the follow-up
median or range lies on the right side of every marker. The draws go through the whole table
sampler (:func:`models.reconstruct.sampling._draw_once`: ordering, patients, days, entries), so the
rejection of infeasible day draws is included.

Alpha is 0.001: the seeds are fixed, so the test is deterministic; a correct sampler would fail it
for one seed in a thousand, while the biased samplers it is meant to catch (uniform over the
children at each step, or over configurations) give p-values far below it at these sample sizes —
:func:`test_the_chi_square_test_rejects_a_biased_sampler` checks that on the same study.
"""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from scipy.stats import chisquare

from models.constants import Z_CI
from models.data import load_published
from models.reconstruct import configurations, load_constraints, solve
from models.reconstruct.constraints import Constraints
from models.reconstruct.sampling import _draw_once
from models.reconstruct.solve import _pick
from models.reconstruct.windows import step_windows, threshold_days
from models.study import load_study
from models.synthetic_study import publish, simulate_outcomes

#: 8 patients: one relapse then death, two non-relapse deaths, five alive; subgroup OS figure.
N_PATIENTS, SEED = 8, 6
DRAWS = 4000
ALPHA = 0.001

# What each endpoint counts, written out here rather than imported (the brute force's own reading).
EXITS = {"os": "NDC", "efs": "RNC"}
EVENTS = {"os": "ND", "efs": "RN"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Constraints:
    folder = tmp_path_factory.mktemp("tiny")
    paths = publish(simulate_outcomes(N_PATIENTS, SEED), folder, seed=SEED, subgroup=True)
    pack = load_study(paths["study"].parent)
    pub = load_published(paths["published"], study=pack)
    cons = load_constraints(paths["constraints"], pub, pack.load_baseline(paths["baseline"]), study=pack)
    return cons


# ----------------------------------------------------------------------------- brute force


def _km_ok(ns: list[int], value: float, ci: tuple[float, float] | None, tol: float) -> bool:
    s, v = 1.0, 0.0
    for n in ns:
        s *= (n - 1) / n
        v += 1.0 / (n * (n - 1)) if n > 1 else math.inf
    if s == 0.0:
        est = lo = hi = 0.0
    else:
        est, lo, hi = (
            100 * s,
            100 * s * math.exp(-Z_CI * math.sqrt(v)),
            min(100.0, 100 * s * math.exp(Z_CI * math.sqrt(v))),
        )
    near = [abs(est - value) <= tol + 1e-9]
    if ci is not None:
        near += [abs(lo - ci[0]) <= tol + 1e-9, abs(hi - ci[1]) <= tol + 1e-9]
    return all(near)


def _pins(cons: Constraints) -> list[tuple[int, float, str]]:
    """Exits (1-based, in order) pinned by the follow-up median and range: (k, day, relation)."""
    fu = cons.followup
    assert fu is not None and cons.followup_reading == "all"
    out = [(1, fu.lo, "eq"), (fu.n, fu.hi, "eq")]
    if fu.n % 2:
        return [*out, (fu.n // 2 + 1, fu.median, "eq")]
    return [*out, (fu.n // 2, fu.median, "le"), (fu.n // 2 + 1, fu.median, "ge")]


def _markers_ok(cons: Constraints, items: list[tuple[str, str, frozenset[str]]], days: list[float]) -> bool:
    windows = step_windows(cons, (), cons.followup_reading)
    at = [i for i, it in enumerate(items) if it[1] == "L"]
    for x, i in zip(days, at, strict=True):
        if any(windows[s][0] > x for p, s, _ in items[:i] if p) or any(windows[s][1] < x for p, s, _ in items[i:] if p):
            return False
        exits_before = sum(1 for p, s, _ in items[:i] if p and s in "NDC")
        for k, day, rel in _pins(cons):
            if rel in ("eq", "le") and day < x and k > exits_before:
                return False
            if rel in ("eq", "ge") and day > x and k <= exits_before:
                return False
    return True


def _consistent(cons: Constraints, items: list[tuple[str, str, frozenset[str]]], days: list[float]) -> bool:
    """Whether an ordering (patient, step, populations) / ("", "L", ...) meets every constraint."""
    if not _markers_ok(cons, items, days):
        return False
    marker = next(
        i for i, it in enumerate(items) if it[1] == "L" and days[sum(1 for j in items[:i] if j[1] == "L")] == 365
    )
    patients = {p for p, step, _pops in items if p}
    pops_of = {p: pops for p, _s, pops in items if p}
    for f in cons.km:
        out: set[str] = set()
        ns = []
        for p, step, pops in items[:marker]:
            if f.population not in pops or p in out:
                continue
            if step in EVENTS[f.endpoint]:
                ns.append(sum(1 for q in patients if f.population in pops_of[q] and q not in out))
            if step in EXITS[f.endpoint]:
                out.add(p)
        if not _km_ok(ns, f.value, f.ci, f.tol):
            return False
    for c in cons.cif:
        end = marker if c.landmark is not None else len(items)
        out, s, inc = set(), 1.0, 0.0
        for p, step, pops in items[:end]:
            if not p or c.population not in pops or p in out:
                continue
            if step in "RN":
                n = sum(1 for q in patients if c.population in pops_of[q] and q not in out)
                inc += s / n if step == "R" else 0.0
                s *= (n - 1) / n
            if step in "RNC":
                out.add(p)
        if abs(100 * inc - c.value) > c.tol + 1e-9:
            return False
    return True


def _all_orderings(cons: Constraints) -> set[tuple]:
    """Every consistent ordering, as a tuple of (class path, class populations, step) and markers.

    Patients of one class are exchangeable, so an ordering names the class of each step, not the
    patient: it is enumerated over one representative patient per step and keyed by class.
    """
    days = list(threshold_days(cons, step_windows(cons, (), cons.followup_reading)))
    assert cons.landmarks == (365,) and 365 in days  # the landmark and the ends of step windows
    windows = step_windows(cons, (), cons.followup_reading)
    found: set[tuple] = set()
    for config in configurations(cons, None):
        _enumerate(cons, config.classes, windows, days, found)
    return found


def _enumerate(cons: Constraints, classes, windows, days: list[float], found: set[tuple]) -> None:
    """Every interleaving of one configuration's steps and the markers; keep the consistent ones."""
    counts = {(c, 0): len(cl.members) for c, cl in enumerate(classes)}
    seq: list[tuple[int, int]] = []

    def marker_fits(x: float) -> bool:
        """Prune early: the steps so far can precede x and the pinned exits sit on their side."""
        steps = [classes[c].path[p] for c, p in seq if c >= 0]
        exits = sum(1 for s in steps if s in "NDC")
        return all(windows[s][0] <= x for s in steps) and all(
            not (rel in ("eq", "le") and day < x and k > exits) and not (rel in ("eq", "ge") and day > x and k <= exits)
            for k, day, rel in _pins(cons)
        )

    def rec(markers_left: int) -> None:
        if not markers_left and all(n == 0 for (c, p), n in counts.items() if p < len(classes[c].path)):
            # Name the patients: the k-th patient of a class to move on from position p is the
            # one that has made exactly p steps (a canonical representative of the ordering).
            pos: dict[int, list[int]] = {c: [0] * len(cl.members) for c, cl in enumerate(classes)}
            items = []
            for c, p in seq:
                if c < 0:
                    items.append(("", "L", frozenset()))
                    continue
                k = pos[c].index(p)
                pos[c][k] += 1
                cl = classes[c]
                items.append((cl.members[k], cl.path[p], cl.populations))
            if _consistent(cons, items, days):
                found.add(_key(classes, seq))
            return
        passed = days[len(days) - markers_left - 1] if markers_left < len(days) else -math.inf
        if markers_left and marker_fits(days[len(days) - markers_left]):
            seq.append((-1, -1))
            rec(markers_left - 1)
            seq.pop()
        for (c, p), n in list(counts.items()):
            if n and p < len(classes[c].path) and windows[classes[c].path[p]][1] >= passed:
                counts[(c, p)] -= 1
                counts[(c, p + 1)] = counts.get((c, p + 1), 0) + 1
                seq.append((c, p))
                rec(markers_left)
                seq.pop()
                counts[(c, p + 1)] -= 1
                counts[(c, p)] += 1

    rec(len(days))


def _key(classes, seq) -> tuple:
    return tuple(
        ("L",) if c < 0 else (classes[c].path, tuple(sorted(classes[c].populations)), classes[c].path[p])
        for c, p in seq
    )


def _draw_key(cons: Constraints, draw) -> tuple:
    """A drawn table's ordering keyed like :func:`_all_orderings` (class = path and populations)."""
    paths: dict[str, str] = {}
    for item in draw.ordering:
        if item != "marker":
            pid, step = item.split(":")
            paths[pid] = paths.get(pid, "") + step
    out = []
    for item in draw.ordering:
        if item == "marker":
            out.append(("L",))
            continue
        pid, step = item.split(":")
        pops = tuple(sorted(pop for pop, m in cons.membership.items() if m[pid]))
        out.append((paths[pid], pops, step))
    return tuple(out)


# ----------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def enumerated(tiny):
    """The exact solution and the brute-force list of consistent orderings (about 15 s)."""
    return solve(tiny), sorted(_all_orderings(tiny))


def _sequence(search, labels) -> list[tuple[int, int]]:
    return [(-1, -1) if lab[0] == "L" else search.slots[lab[1]] for lab in labels]


def _fit(seen: Counter[tuple], brute: list[tuple]):
    assert set(seen) <= set(brute), "a draw outside the brute-force set of consistent orderings"
    return chisquare([seen[k] for k in brute])  # expected: equal counts (uniform)


def test_brute_force_agrees_with_the_exact_count(enumerated):
    sol, brute = enumerated
    assert len(sol.searches) == 2  # the subgroup splits the survivors: two path configurations
    assert len(brute) == sol.total == 160


def test_orderings_are_drawn_uniformly(enumerated):
    """The documented promise: an ordering is drawn uniformly among the consistent ones."""
    sol, brute = enumerated
    rng = random.Random(20261130)
    seen: Counter[tuple] = Counter()
    for _ in range(DRAWS):
        config, search, _cnt = _pick(sol, rng)
        labels, _sig = search.sample(rng)
        seen[_key(config.classes, _sequence(search, labels))] += 1
    result = _fit(seen, brute)
    assert result.pvalue > ALPHA, f"chi-square {result.statistic:.1f} on {len(brute) - 1} df, p = {result.pvalue:.2g}"


@pytest.mark.slow
def test_tables_are_drawn_uniformly_over_orderings(tiny, enumerated):
    """The whole table sampler: days are retried for the drawn ordering, so tables stay uniform over orderings."""
    sol, brute = enumerated
    rng = random.Random(20261130)
    seen: Counter[tuple] = Counter()
    while sum(seen.values()) < DRAWS:
        d = _draw_once(tiny, sol, rng)
        if d is not None:
            seen[_draw_key(tiny, d)] += 1
    result = _fit(seen, brute)
    assert result.pvalue > ALPHA, f"chi-square {result.statistic:.1f} on {len(brute) - 1} df, p = {result.pvalue:.2g}"


def test_the_chi_square_test_rejects_a_biased_sampler(enumerated):
    """Power check: descending uniformly over the children (not by completion counts) is caught."""
    sol, brute = enumerated
    rng = random.Random(7)
    seen: Counter[tuple] = Counter()
    for _ in range(DRAWS):
        config, search, _cnt = sol.searches[rng.randrange(len(sol.searches))]
        state, labels = search.initial(), []
        while not search._terminal(state):
            kids = [(lab, ch) for lab, ch in search.children(state) if search.count(ch)]
            lab, state = kids[rng.randrange(len(kids))]
            labels.append(lab)
        seen[_key(config.classes, _sequence(search, labels))] += 1
    assert _fit(seen, brute).pvalue < ALPHA


def test_anonymous_patients_of_a_subgroup_carry_its_events_equally_often(tiny, enumerated):
    """Which anonymous patient of a subgroup has an event is random, not fixed by patient ID.

    The text says how many patients of a subgroup relapse or die, never which, so every anonymous
    member of a subgroup must carry an event equally often. Counts of draws in which each member
    has an event are compared with equal shares by chi-square (conservative here: members of one
    draw are sampled without replacement). Listing class members in ID order, as a configuration
    does, and assigning them as listed, fails this with chi-square in the hundreds.
    """
    sol, _brute = enumerated
    named = set(tiny.named_paths)
    groups: dict[frozenset[str], list[str]] = {}
    for p in tiny.patients:
        if p not in named:
            groups.setdefault(frozenset(k for k, m in tiny.membership.items() if m[p]), []).append(p)
    rng = random.Random(11)
    carried: Counter[str] = Counter()
    n = 0
    while n < 600:
        d = _draw_once(tiny, sol, rng)
        if d is None:
            continue
        n += 1
        t = d.table.set_index("patient")
        has_event = t["relapse_day"].notna() | t["death_day"].notna()
        carried.update(p for p in t.index[has_event] if p not in named)
    tested = 0
    for members in groups.values():
        counts = [carried[p] for p in members]
        if len(members) < 2 or sum(counts) == 0 or sum(counts) == n * len(members):
            continue
        tested += 1
        result = chisquare(counts)
        assert result.pvalue > ALPHA, f"{members}: {counts} (p = {result.pvalue:.2g})"
        assert min(counts) > 0
    assert tested >= 1
