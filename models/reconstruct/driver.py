"""The top-level driver :func:`reconstruct`: solve every GvHD definition and reading, draw tables.

Also the manifest's report (orderings per definition and reading, risk-set signatures). The
workflow :func:`models.workflows.reconstruct_study` calls it; progress goes through a callback.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.errors import ConfigError, ReconstructionError
from models.executor import connect, is_client
from models.reconstruct.chain import OrderingChain
from models.reconstruct.chain_run import (
    BUDGET_PER_ITEM,
    DEFAULT_CHAINS,
    THIN_PER_ITEM,
    chain_report,
    check_chain_budget,
    collect,
)
from models.reconstruct.constraints import Constraints
from models.reconstruct.sampling import DAY_TRIES, Draw, _draw_once, draw_for_labels
from models.reconstruct.solve import SearchBoundError, Solution, diagnose, diagnose_unstarted, solve
from models.reconstruct.verify import verify_table
from models.reconstruct.vocabulary import DEFAULT_MAX_STATES, DEFAULT_MAX_TRIES
from models.reconstruct.windows import _reading_stat

#: Methods of :func:`reconstruct`: exact counting, the chain, or exact unless its bound is hit.
METHODS = ("auto", "exact", "chain")
#: States the exact search of ``method="auto"`` may use (per configuration and in total) before
#: the chain takes over: about 6 s and 0.2 GB on a 2-core machine.
AUTO_EXACT_STATES = 500_000


@dataclass
class Reconstruction:
    """Draws and the report the manifest is written from."""

    draws: list[Draw]
    report: dict[str, Any]


def _say(progress: Callable[[str], None] | None, text: str) -> None:
    if progress is not None:
        progress(text)


def _readings(cons: Constraints) -> list[str]:
    out = [cons.followup_reading]
    if cons.followup_alternative and cons.followup_alternative != cons.followup_reading:
        out.append(cons.followup_alternative)
    return out


def _reading_constraints(cons: Constraints, reading: str) -> Constraints:
    if reading == cons.followup_reading:
        return cons
    alt = Constraints(**{**cons.__dict__})
    alt.followup_reading = reading
    alt.followup = _reading_stat(cons, reading)
    return alt


def reconstruct(
    cons: Constraints,
    *,
    draws: int,
    seed: int,
    max_states: int = DEFAULT_MAX_STATES,
    max_tries: int = DEFAULT_MAX_TRIES,
    progress: Callable[[str], None] | None = None,
    workers: int = 1,
    dask: Any = None,
    method: str = "auto",
    chains: int = DEFAULT_CHAINS,
    thin: int = THIN_PER_ITEM,
    budget: int = BUDGET_PER_ITEM,
) -> Reconstruction:
    """Find every consistent ordering, then draw ``draws`` distinct verified tables.

    ``method`` is ``"exact"`` (count every ordering, :mod:`~models.reconstruct.search`), ``"chain"``
    (Metropolis chains over the orderings, ``chains`` of them, :mod:`~models.reconstruct.chain`) or
    ``"auto"``: exact within :data:`AUTO_EXACT_STATES` states (and ``max_states``), the chain when
    that bound is hit. The chains run in rounds of ``thin`` proposals per item of the ordering
    (burn-in: :data:`~models.reconstruct.chain_run.BURN_PER_ITEM` per item) until their diagnostics
    pass or ``budget`` proposals per item have run (:func:`~models.reconstruct.chain_run.collect`),
    and the draws come from the second half of the rounds. Both draw uniformly over
    (configuration, ordering) pairs; the report's ``method`` says which ran and why.

    GvHD definitions are tried in the file's order; all are solved and reported, the draws come
    from the first one that admits a table. The alternative follow-up reading is solved and
    reported (and a table is attempted) but never used for the draws.

    The searches of the configurations run on ``workers`` local processes or the Dask scheduler
    ``dask`` (:func:`models.executor.run_tasks`; an address or a cluster, one client for the whole
    reconstruction). They draw nothing: the tables are drawn here, from one stream seeded with
    ``seed``, so they are the same wherever the searches ran.
    """
    if method not in METHODS:
        raise ConfigError("method", found=method, expected=f"one of {list(METHODS)}")
    for key, value in (("chains", chains), ("thin", thin), ("chain_budget", budget)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(key, found=value, expected="a whole number >= 1")
    check_chain_budget(budget, thin)
    if method == "chain":
        rec = _reconstruct_chain(cons, draws, seed, max_tries, progress, chains, thin, max_states, budget)
        rec.report["method"] = {"used": "chain", "requested": method}
        return rec
    bound = (min(max_states, AUTO_EXACT_STATES), AUTO_EXACT_STATES) if method == "auto" else None
    try:
        if dask is None or is_client(dask):
            rec = _reconstruct(cons, draws, seed, max_states, max_tries, progress, workers, dask, bound)
        else:
            client = connect(dask)
            try:
                rec = _reconstruct(cons, draws, seed, max_states, max_tries, progress, workers, client, bound)
            finally:
                client.close()
    except SearchBoundError as exc:
        if method == "exact":
            raise
        _say(progress, f"exact search stopped ({exc.found}); sampling with Metropolis chains")
        rec = _reconstruct_chain(cons, draws, seed, max_tries, progress, chains, thin, max_states, budget)
        rec.report["method"] = {"used": "chain", "requested": method, "reason": f"exact search: {exc.found}"}
        return rec
    rec.report["method"] = {"used": "exact", "requested": method}
    return rec


def _reconstruct(
    cons: Constraints,
    draws: int,
    seed: int,
    max_states: int,
    max_tries: int,
    progress: Callable[[str], None] | None,
    workers: int,
    dask: Any,
    bound: tuple[int, int] | None = None,
) -> Reconstruction:
    """The exact method; ``bound`` (per configuration, in total) limits the searches the draws
    come from (``method="auto"``), the report-only searches keep ``max_states``."""
    run = {"workers": workers, "dask": dask}
    draw_states = max_states if bound is None else bound[0]
    total_states = None if bound is None else bound[1]
    rng = random.Random(seed)
    defs: list[tuple[str | None, tuple[str, ...] | None]] = list(cons.gvhd_definitions) or [(None, None)]
    report: dict[str, Any] = {"gvhd_definitions": [], "followup_readings": []}
    chosen: Solution | None = None
    for name, qual in defs:
        _say(progress, f"solving GvHD definition {name}")
        sol = solve(
            cons,
            qualifying=qual,
            definition=name,
            max_states=draw_states,
            progress=progress,
            total_states=total_states,
            **run,
        )
        feasible_days = sol.total > 0 and _first_table(cons, sol, random.Random(seed), max_tries) is not None
        report["gvhd_definitions"].append(
            {
                "name": name,
                "qualifying": list(qual or ()),
                "orderings": sol.total,
                "risk_set_signatures": len(sol.signatures),
                "states": sol.states,
                "table_found": feasible_days,
                "orderings_by_gvhd_assignment": sol.by_gvhd_set(),
            }
        )
        if chosen is None and feasible_days:
            chosen = sol
    if chosen is None:
        qual = defs[0][1]
        raise (
            diagnose(cons, qualifying=qual, max_states=max_states, **run)
            if all(d["orderings"] == 0 for d in report["gvhd_definitions"])
            else ReconstructionError(
                cons.source,
                where="days",
                found=f"orderings exist but no day values were found in {max_tries} tries",
                expected="day windows (entry, follow-up, GvHD onsets) that admit the orderings",
            )
        )
    for reading in _readings(cons):
        rc = _reading_constraints(cons, reading)
        sol_r = (
            chosen
            if reading == cons.followup_reading
            else solve(rc, qualifying=chosen.qualifying or None, max_states=max_states, **run)
        )
        table = _first_table(rc, sol_r, random.Random(seed), max_tries) if sol_r.total else None
        report["followup_readings"].append(
            {
                "reading": reading,
                "primary": reading == cons.followup_reading,
                "orderings": sol_r.total,
                "table_found": table is not None,
            }
        )
    report["chosen_definition"] = chosen.definition
    report["orderings"] = chosen.total
    report["anonymous_gvhd"] = cons.anonymous_gvhd
    if cons.gvhd_definitions and not cons.anonymous_gvhd:
        report["anonymous_gvhd_alternative"] = _anonymous_alternative(cons, max_states, progress, run)
    report["risk_set_signatures"] = _describe_signatures(cons, chosen)
    out: list[Draw] = []
    seen: set[str] = set()
    tries = 0
    while len(out) < draws:
        tries += 1
        if tries > max_tries * max(draws, 1):
            raise ReconstructionError(
                cons.source,
                where="draws",
                found=f"{len(out)} distinct tables after {tries - 1} tries",
                expected=f"{draws} distinct tables (ask for fewer draws)",
            )
        d = _draw_once(cons, chosen, rng)
        if d is None:
            continue
        key = d.table.to_csv(index=False)
        if key in seen:
            continue
        _check_draw(d, cons, chosen.qualifying, len(out) + 1)
        seen.add(key)
        out.append(d)
        _say(progress, f"draw {len(out)}/{draws} ({tries} attempts)")
    report["draw_attempts"] = tries
    return Reconstruction(out, report)


def _anonymous_alternative(
    cons: Constraints, max_states: int, progress: Callable[[str], None] | None, run: dict[str, Any]
) -> list[dict[str, Any]]:
    """Orderings per definition if event-free patients may also have a qualifying GvHD.

    Such a case is a GRFS event, so it can only fall after the landmark; reported, not drawn from.
    """
    alt = Constraints(**{**cons.__dict__})
    alt.anonymous_gvhd = True
    out = []
    for name, qual in cons.gvhd_definitions:
        _say(progress, f"solving GvHD definition {name} with event-free qualifying cases")
        sol = solve(alt, qualifying=qual, definition=name, max_states=max_states, keep_memo=False, **run)
        out.append({"name": name, "orderings": sol.total, "orderings_by_gvhd_assignment": sol.by_gvhd_set()})
    return out


def _first_table(cons: Constraints, sol: Solution, rng: random.Random, max_tries: int) -> Draw | None:
    """A first verified table within ``max_tries`` day-sampling attempts (each ordering drawn gets
    up to :data:`DAY_TRIES` of them), or ``None``: orderings exist but their days cannot be met."""
    for _ in range(max(1, max_tries // DAY_TRIES)):
        d = _draw_once(cons, sol, rng)
        if d is not None and all(c.ok for c in verify_table(d.table, cons, qualifying=sol.qualifying)):
            return d
    return None


def _describe_signatures(cons: Constraints, sol: Solution) -> list[dict[str, Any]]:
    """The distinct risk-set tuples per figure the consistent orderings produce."""
    return _describe(cons, sol.signatures)


def _describe(cons: Constraints, signatures: set[tuple]) -> list[dict[str, Any]]:
    """Signatures ``(GvHD patients, event-free GvHD count, risk sets per figure)`` as manifest records."""
    names = [f.name for f in cons.km] + [f.name for f in cons.cif]
    out = []
    for gpat, k, sig in sorted(signatures, key=repr):
        entry: dict[str, Any] = {"gvhd_patients": list(gpat), "anonymous_gvhd": k}
        for name, risk in zip(names, sig, strict=True):
            entry[name] = [list(x) if isinstance(x, tuple) else x for x in risk]
        out.append(entry)
    return out


def _chain_table(
    cons: Constraints, chain: OrderingChain, rng: random.Random, max_tries: int, qual: tuple[str, ...]
) -> tuple[Draw | None, Any]:
    """A verified table from one chain start (existence of a table for the report) and the start,
    or ``(None, None)`` when no start is found."""
    try:
        x = chain.start(rng)
    except ReconstructionError:
        return None, None
    lay = x.layout
    for _ in range(max(1, max_tries // DAY_TRIES)):
        d = draw_for_labels(
            cons, qual, chain.reading, lay.config, lay.search, chain.labels(x), chain.final_figs(x), rng
        )
        if d is not None and all(c.ok for c in verify_table(d.table, cons, qualifying=qual)):
            return d, x
    return None, x


def _reconstruct_chain(
    cons: Constraints,
    draws: int,
    seed: int,
    max_tries: int,
    progress: Callable[[str], None] | None,
    chains: int,
    thin: int = THIN_PER_ITEM,
    max_states: int = DEFAULT_MAX_STATES,
    budget: int = BUDGET_PER_ITEM,
) -> Reconstruction:
    """The chain method: the same report shape as the exact one, orderings not counted (None).

    When no definition yields a start, :func:`~models.reconstruct.solve.diagnose_unstarted` says
    what a depth-first search bounded by ``max_states`` (and :data:`AUTO_EXACT_STATES`) shows.

    Every GvHD definition and follow-up reading is tried from one randomised start (a table found
    or not); the draws come from the first definition with a table, from ``chains`` chains in turn,
    each draw through the same day sampling and lifelines verification as an exact draw.
    """
    rng = random.Random(seed)
    defs: list[tuple[str | None, tuple[str, ...] | None]] = list(cons.gvhd_definitions) or [(None, None)]
    report: dict[str, Any] = {"gvhd_definitions": [], "followup_readings": []}
    chosen: tuple[str | None, tuple[str, ...], OrderingChain, Any] | None = None
    for name, qual in defs:
        _say(progress, f"chain: searching a start for GvHD definition {name}")
        chain = OrderingChain(cons, qualifying=qual, reading=cons.followup_reading)
        t0 = time.perf_counter()
        table, first = _chain_table(cons, chain, random.Random(seed), max_tries, qual or ())
        start_seconds = time.perf_counter() - t0
        found = table is not None
        report["gvhd_definitions"].append(
            {"name": name, "qualifying": list(qual or ()), "orderings": None, "table_found": found}
        )
        if chosen is None and found:
            chosen = (name, qual or (), chain, first)
            report["chain_first_start_seconds"] = round(start_seconds, 2)
    if chosen is None:
        raise diagnose_unstarted(
            cons,
            qualifying=defs[0][1],
            max_states=min(max_states, AUTO_EXACT_STATES),
            searched="no verified table found from a randomised search of any GvHD definition",
        )
    name, qual, chain, first = chosen
    for reading in _readings(cons):
        rc = _reading_constraints(cons, reading)
        found = True
        if reading != cons.followup_reading:
            alt = OrderingChain(rc, qualifying=qual or None, reading=reading)
            found = _chain_table(rc, alt, random.Random(seed), max_tries, qual)[0] is not None
        report["followup_readings"].append(
            {"reading": reading, "primary": reading == cons.followup_reading, "orderings": None, "table_found": found}
        )
    report["chosen_definition"] = name
    report["orderings"] = None
    report["anonymous_gvhd"] = cons.anonymous_gvhd
    ran = collect(
        chain,
        rng,
        draws=draws,
        chains=chains,
        thin_per_item=thin,
        budget_per_item=budget,
        progress=progress,
        first=first,
    )
    out: list[Draw] = []
    seen: set[str] = set()
    per_chain = [0] * chains
    tries = 0
    signatures: set[tuple] = set()
    for c, i in _candidates(ran.window, chains, draws):
        if len(out) >= draws:
            break
        tries += 1
        x = chain._make(*ran.pool[c][i], 0, None)
        assert x is not None, "a chain state is no longer consistent"
        lay = x.layout
        d = draw_for_labels(
            cons, qual, chain.reading, lay.config, lay.search, chain.labels(x), chain.final_figs(x), rng
        )
        if d is None:
            continue
        key = d.table.to_csv(index=False)
        if key in seen:
            continue
        _check_draw(d, cons, qual, len(out) + 1)
        seen.add(key)
        out.append(d)
        per_chain[c] += 1
        signatures.add((lay.config.gvhd_patients, lay.config.anonymous_gvhd, d.signature))
        _say(progress, f"draw {len(out)}/{draws} (chain {c + 1}, round {i + 1})")
    if len(out) < draws:
        raise ReconstructionError(
            cons.source,
            where="draws",
            found=f"{len(out)} distinct tables from the {len(ran.window) * chains} chain states of the window",
            expected=f"{draws} distinct tables (ask for fewer draws)",
        )
    report["draw_attempts"] = tries
    report["chain"] = chain_report(ran.stats, per_chain, chain.summary_names(), ran.diagnostics, ran.record())
    report["risk_set_signatures"] = _describe(cons, signatures)
    report["risk_set_signatures_note"] = "the distinct signatures of the draws (the chain does not enumerate them)"
    return Reconstruction(out, report)


def _candidates(window: range, chains: int, draws: int) -> list[tuple[int, int]]:
    """(chain, round) pairs to draw from: ``ceil(draws / chains)`` rounds per chain evenly spread over
    the window, taken from the chains in turn, then the window's other states in order (used when a
    state gives no new table)."""
    k = -(-draws // chains)
    n = len(window)
    picks = [window.start + (j * n) // k for j in range(k)]
    first = [(c, i) for i in picks for c in range(chains)]
    chosen = set(first)
    return first + [(c, i) for i in window for c in range(chains) if (c, i) not in chosen]


def _check_draw(d: Draw, cons: Constraints, qualifying: tuple[str, ...], number: int) -> None:
    """Re-derive every published figure from the drawn table (lifelines); a table failing one is an error."""
    bad = [c for c in verify_table(d.table, cons, qualifying=qualifying) if not c.ok]
    if bad:
        raise ReconstructionError(
            cons.source,
            where=f"draw {number}",
            field=bad[0].name,
            found=f"verification gives {bad[0].reproduced}",
            expected=f"the published {bad[0].published}",
        )
