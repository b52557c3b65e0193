"""Solving: counting every consistent ordering over every configuration, and diagnosing failure.

:func:`solve` runs the search of each configuration within a state bound; :func:`diagnose` names a
figure that cannot be met jointly with the others and the closest value reachable.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from models.errors import ReconstructionError
from models.reconstruct.configurations import Configuration, configurations
from models.reconstruct.constraints import CIFTarget, Constraints, KMTarget
from models.reconstruct.figures import cif_value, km_summary
from models.reconstruct.search import _Budget, _Search
from models.reconstruct.vocabulary import DEFAULT_MAX_STATES


@dataclass
class Solution:
    """All consistent orderings of one GvHD definition and follow-up reading."""

    definition: str | None
    qualifying: tuple[str, ...]
    reading: str
    searches: list[tuple[Configuration, _Search, int]]
    total: int
    signatures: set[tuple]
    states: int

    def by_gvhd_set(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for config, _s, cnt in self.searches:
            out[config.label()] += cnt
        return dict(out)


def solve(
    cons: Constraints,
    *,
    qualifying: tuple[str, ...] | None = None,
    definition: str | None = None,
    reading: str | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    checked: set[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Solution:
    """Count every consistent ordering over every configuration (bounded by ``max_states``)."""
    reading = reading or cons.followup_reading
    searches = []
    total, states = 0, 0
    sigs: set[tuple] = set()
    for i, config in enumerate(configurations(cons, qualifying)):
        s = _Search(cons, config, reading=reading, max_states=max_states, checked=checked)
        try:
            cnt = s.count()
        except _Budget:
            raise ReconstructionError(
                cons.source,
                where="search",
                found=f"more than {max_states} states in one configuration",
                expected="constraints narrow enough to search, or a larger --max-states",
            ) from None
        states += len(s.memo)
        if not cnt:
            s.memo.clear()  # keep memory for the configurations that are sampled from
        else:
            searches.append((config, s, cnt))
            total += cnt
            sigs |= {(config.gvhd_patients, config.anonymous_gvhd, sig) for sig in s.signatures}
        if progress and i % 50 == 0:
            progress(f"definition {definition}: {i + 1} configurations, {total} orderings, {states} states")
    return Solution(definition, qualifying or (), reading, searches, total, sigs, states)


def diagnose(cons: Constraints, *, qualifying: tuple[str, ...] | None, max_states: int) -> ReconstructionError:
    """Name a figure that cannot be met jointly with the others, with the closest value reachable."""
    figures: list[KMTarget | CIFTarget] = [*cons.km, *cons.cif]
    names = {f.name for f in figures}
    for f in figures:
        sol = solve(cons, qualifying=qualifying, max_states=max_states, checked=names - {f.name})
        if sol.total == 0:
            continue
        # The signatures are every distinct risk-set outcome, so the closest value is exact.
        best: tuple[float, str] | None = None
        j = figures.index(f)
        for _gpat, _k, figs in sol.signatures:
            if isinstance(f, KMTarget):
                est, lo, hi = km_summary(figs[j])
                dist = abs(est - f.value) + (0 if f.ci is None else abs(lo - f.ci[0]) + abs(hi - f.ci[1]))
                text = f"{est:.1f}" + ("" if f.ci is None else f" ({lo:.1f}-{hi:.1f})")
            else:
                v = cif_value(figs[j])
                dist, text = abs(v - f.value), f"{v:.1f}"
            if best is None or dist < best[0]:
                best = (dist, text)
        shown = f"{f.value:g}" + ("" if not isinstance(f, KMTarget) or f.ci is None else f" ({f.ci[0]:g}-{f.ci[1]:g})")
        return ReconstructionError(
            cons.source,
            where=f"figure {f.name}",
            found=f"no ordering reproduces {shown} jointly with the other figures; "
            f"closest reachable {best[1] if best else 'none'}",
            expected="mutually consistent published figures",
        )
    return ReconstructionError(
        cons.source,
        where="constraints",
        found="no event/censoring ordering satisfies them jointly (no single figure is to blame)",
        expected="mutually consistent figures, counts and follow-up",
    )


def _pick(sol: Solution, rng: random.Random) -> tuple[Configuration, _Search, int]:
    r = rng.randrange(sol.total)
    for item in sol.searches:
        if r < item[2]:
            return item
        r -= item[2]
    raise AssertionError("unreachable")
