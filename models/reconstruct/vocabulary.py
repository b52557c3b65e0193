"""The reconstruction's vocabulary: path steps, what each endpoint counts, follow-up readings, bounds.

A patient's path is a string of steps ``G`` (GRFS-qualifying GvHD), ``R`` (relapse), ``N``
(non-relapse death), ``D`` (death after relapse) and ``C`` (alive at last contact); see
:mod:`models.reconstruct`.
"""

from __future__ import annotations

from models.constants import EVENT_NRM, EVENT_RELAPSE

G, R, N, D, C = "G", "R", "N", "D", "C"
#: Steps that end a patient's follow-up (death or last contact).
EXIT_STEPS = frozenset({N, D, C})
#: For each KM endpoint: steps that take a patient out of its risk set, and those that are events.
ENDPOINT_EXITS: dict[str, frozenset[str]] = {
    "os": frozenset({N, D, C}),
    "efs": frozenset({R, N, C}),
    "grfs": frozenset({G, R, N, C}),
}
ENDPOINT_EVENTS: dict[str, frozenset[str]] = {
    "os": frozenset({N, D}),
    "efs": frozenset({R, N}),
    "grfs": frozenset({G, R, N}),
}
#: Cumulative incidence: relapse (cause 1) with non-relapse death (cause 2) competing.
CIF_CAUSES: dict[str, int] = {R: EVENT_RELAPSE, N: EVENT_NRM}
#: Follow-up readings: which exits the follow-up median/range is over.
FOLLOWUP_READINGS: dict[str, frozenset[str]] = {"all": EXIT_STEPS, "censored": frozenset({C})}
#: Default bound on the number of memoised search states (a bounded search, never endless).
DEFAULT_MAX_STATES = 3_000_000
#: Default bound on day-sampling attempts per draw.
DEFAULT_MAX_TRIES = 4000
