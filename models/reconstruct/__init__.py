r"""Reconstruction of per-patient outcome tables from a study's published summaries.

A paper prints Kaplan–Meier landmark estimates with 95% intervals, cumulative incidences, counts
and medians with ranges, but not the per-patient table behind them. This package finds the
per-patient tables (schema :data:`models.data.OUTCOME_COLUMNS`) consistent with *all* of them and
draws several, so that the reconstruction's uncertainty can be carried into later analyses.

The submodules, in the order the method uses them:

* :mod:`~models.reconstruct.vocabulary` — path steps, what each endpoint counts, follow-up
  readings, search bounds;
* :mod:`~models.reconstruct.constraints` — the constraint objects (:class:`Constraints`,
  :class:`KMTarget`, :class:`CIFTarget`, :class:`OrderStat`, …);
* :mod:`~models.reconstruct.constraints_schema` — the declarative schema of ``constraints.toml``;
* :mod:`~models.reconstruct.loading` — reading and validating a constraints file
  (:func:`load_constraints`: the schema, then figure references and count consistency);
* :mod:`~models.reconstruct.figures` — KM and Aalen–Johansen arithmetic on risk sets
  (:func:`km_summary`, :func:`cif_value`) and admissible risk-set tuples (:func:`risk_set_tuples`);
* :mod:`~models.reconstruct.windows` — day windows of each step, threshold markers and follow-up
  anchors;
* :mod:`~models.reconstruct.configurations` — patient classes and path configurations
  (:func:`configurations`);
* :mod:`~models.reconstruct.search` — the memoised dynamic programme over the orderings of one
  configuration;
* :mod:`~models.reconstruct.solve` — counting over every configuration (:func:`solve`) and, when
  nothing fits, naming the smallest set of figures that conflict and the figure to blame
  (:func:`diagnose`);
* :mod:`~models.reconstruct.conflicts` — a minimal set of figures that cannot all hold
  (:func:`minimal_conflict`, a bounded deletion search), used by :func:`diagnose`;
* :mod:`~models.reconstruct.days` — strictly increasing integer days and exact order statistics
  (:func:`sample_increasing`, :func:`sample_order_stats`);
* :mod:`~models.reconstruct.sampling` — drawing one table (an ordering uniformly, then its patients,
  days, entries and GvHD roster, retried for the same ordering so tables stay uniform over orderings);
* :mod:`~models.reconstruct.chain` — Metropolis chains over consistent orderings for studies too
  large to count (:class:`OrderingChain`), with :mod:`~models.reconstruct.chain_start` finding their
  starting orderings, :mod:`~models.reconstruct.chain_tempering` their relaxed companions (replica
  exchange) and :mod:`~models.reconstruct.chain_run` running them until their diagnostics pass;
* :mod:`~models.reconstruct.verify` — independent re-checks with lifelines (:func:`verify_table`);
* :mod:`~models.reconstruct.driver` — :func:`reconstruct` (``method="auto" | "exact" | "chain"``),
  follow-up readings, the manifest's report and progress.

Method
------
1. **Orderings, not permutations of patients.** Every estimate depends on the data only through
   the order of events and censorings and on which subgroup each belongs to. Patients are grouped
   into exchangeable *classes* (same subgroup memberships, same path of events); a patient's *path*
   is a string of steps ``G`` (GRFS-qualifying GvHD), ``R`` (relapse), ``N`` (non-relapse death),
   ``D`` (death after relapse), ``C`` (alive at last contact). An *ordering* is a sequence of
   (class, step) labels plus one marker per landmark day; no two items share a day, so each event
   is a distinct event time with :math:`d_j = 1`.
2. **Exact figure checks on risk sets.** At an event of endpoint :math:`e` in population
   :math:`P` the risk set :math:`n_j` is the number of members of :math:`P` not yet out of
   :math:`e`; with distinct times

   .. math:: \hat S(L) = \prod_{t_j \le L} (1 - 1/n_j), \qquad
             \widehat{\mathrm{var}}[\log \hat S(L)] = \sum_{t_j \le L} \frac{1}{n_j (n_j - 1)},

   and the 95% interval :math:`\hat S \exp(\pm z \sqrt{\mathrm{var}})` (upper bound truncated at
   1) is R ``survfit``'s default. The Aalen–Johansen cumulative incidence of cause 1 is
   :math:`\hat F_1 = \sum_{j:\,\text{cause 1}} \hat S(t_j-)/n_j` with :math:`\hat S` the all-cause
   (event-free) survival. A figure is reproduced when each printed number is met within half a
   unit of its last printed decimal.
3. **Dynamic programming over risk-set states.** For each KM figure every strictly decreasing
   tuple of risk sets reproducing it is enumerated first (:func:`risk_set_tuples`; exhaustive,
   since :math:`\hat S` only falls and the variance only grows as events accrue). The DP state is
   the number of patients of each class at each position of its path, the number of threshold
   markers passed (landmarks and the ends of day windows), and for each figure the risk sets seen
   so far, which must stay a prefix of an admissible tuple. Counting completions with memoisation
   gives the exact number of consistent orderings; sampling descends the same graph with
   probabilities proportional to completion counts (uniform over orderings). Order statistics
   pinned to days (follow-up median and range) are checked against the markers: an exit pinned
   before day :math:`L` must precede the marker.
4. **Days.** For a drawn ordering, patients are assigned to its labels at random within their
   class, then days are sampled as strictly increasing integers honouring pinned days (landmarks,
   follow-up order statistics), per-item windows (administrative censoring, GvHD onset windows)
   and the entry-day order statistics; GvHD onsets are entry + an offset inside the published
   onset range, and the whole GvHD roster (qualifying or not) is drawn with the published onset
   medians and ranges. Infeasible day draws are rejected and redrawn a bounded number of times.
5. **Independent verification.** Every table is re-checked by :func:`verify_table` with lifelines
   (:mod:`models.nonparametric`), not with the solver's arithmetic.
6. **When counting is too costly** (``method="auto"`` past its bound, or ``method="chain"``),
   orderings are drawn by Metropolis chains whose target,
   :math:`\pi(x) \propto 1/(M(c)\,W(s))` on patient-level orderings :math:`x`, makes the
   (configuration, ordering) pair uniform — the same law as step 3; every state is checked by the
   search's own transition (:meth:`_Search.child`), and steps 4–5 are unchanged
   (:mod:`~models.reconstruct.chain`).

Errors are one line: :class:`models.errors.ReconstructionError` for contradictory or impossible
constraints (naming the figure and the closest value reachable jointly with the others),
:class:`models.errors.ConfigError` / :class:`models.errors.DataError` for malformed files.
"""

from __future__ import annotations

from models.reconstruct.chain import OrderingChain
from models.reconstruct.configurations import Configuration, PatientClass, configurations
from models.reconstruct.constraints import CIFTarget, Constraints, GvhdCategory, KMTarget, OrderStat, PopulationCount
from models.reconstruct.days import sample_increasing, sample_order_stats
from models.reconstruct.driver import Reconstruction, reconstruct
from models.reconstruct.figures import cif_value, km_summary, km_tuples, risk_set_tuples
from models.reconstruct.loading import EVENT_KEYS, load_constraints
from models.reconstruct.sampling import Draw
from models.reconstruct.solve import Solution, diagnose, solve
from models.reconstruct.verify import Check, median_range, reverse_km_median, verify_table
from models.reconstruct.vocabulary import (
    CIF_CAUSES,
    DEFAULT_MAX_STATES,
    DEFAULT_MAX_TRIES,
    ENDPOINT_EVENTS,
    ENDPOINT_EXITS,
    EXIT_STEPS,
    FOLLOWUP_READINGS,
    C,
    D,
    G,
    N,
    R,
)
from models.reconstruct.windows import step_windows, threshold_days

__all__ = [
    "CIF_CAUSES",
    "DEFAULT_MAX_STATES",
    "DEFAULT_MAX_TRIES",
    "ENDPOINT_EVENTS",
    "ENDPOINT_EXITS",
    "EVENT_KEYS",
    "EXIT_STEPS",
    "FOLLOWUP_READINGS",
    "C",
    "CIFTarget",
    "Check",
    "Configuration",
    "Constraints",
    "D",
    "Draw",
    "G",
    "GvhdCategory",
    "KMTarget",
    "N",
    "OrderStat",
    "OrderingChain",
    "PatientClass",
    "PopulationCount",
    "R",
    "Reconstruction",
    "Solution",
    "cif_value",
    "configurations",
    "diagnose",
    "km_summary",
    "km_tuples",
    "load_constraints",
    "median_range",
    "reconstruct",
    "reverse_km_median",
    "risk_set_tuples",
    "sample_increasing",
    "sample_order_stats",
    "solve",
    "step_windows",
    "threshold_days",
    "verify_table",
]
