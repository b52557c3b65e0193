"""Published figures as data, and their conversion into pseudo-data on the model's intervals.

The file ``data/priors/sources.toml`` holds one entry per study and one per reported figure, each
with its citation, the address that was read, a verbatim quote and whether the figure was read in
the source itself (``verified``). This package loads and checks it (:func:`load_sources`) and turns
figures into the sufficient statistics of the piecewise-exponential (PWE) model — pseudo-events
:math:`d_j` and pseudo-exposure :math:`E_j` (days) per interval — from which gamma priors follow
(:mod:`models.prior_library`). It also parses the named prior sets of ``data/priors/sets.toml``.

Submodules
----------
records
    The typed records (:class:`Entry`, :class:`Study`, :class:`Figure`, :class:`Sources`) and
    :data:`SOURCES_TOML`.
fields
    The prior TOML reader (:func:`read_toml`), the bounded field types of the prior schemas and
    :func:`~models.prior_sources.fields.check`, which turns a schema failure into a one-line
    :class:`~models.errors.PriorError` naming the file, the table and the key.
sources_toml
    The schema of ``sources.toml`` (:class:`SourcesToml`, one model per table kind) and its loading
    (:func:`load_sources`, :func:`parse_sources`).
pseudo_data
    Figures to pseudo-data, with the conversions' formulas, entry rule and assumptions
    (:class:`PseudoData`, :func:`remission_pseudo_data`, :func:`survival_pseudo_data`).
hazard_ratio
    Normal priors on a log hazard ratio (:func:`log_hr_normal`, :func:`effect_prior`).
sets_toml
    The schema of prior-set files (:class:`SetsToml`, one model per table kind, checked against the
    sources) and their parsing (:data:`SETS_TOML`, :func:`parse_sets`, :class:`SetSpec`).
"""

from __future__ import annotations

from models.prior_sources.fields import read_toml
from models.prior_sources.hazard_ratio import effect_prior, log_hr_normal
from models.prior_sources.pseudo_data import (
    ENTRY_RULE_NONE,
    SUM_TOLERANCE,
    PseudoData,
    piecewise_pseudo_data,
    remission_pseudo_data,
    survival_pseudo_data,
)
from models.prior_sources.records import SOURCES_TOML, Entry, Figure, Sources, Study
from models.prior_sources.sets_toml import (
    BUILTIN_SETS,
    MAX_COMPONENTS,
    METHODS,
    SETS_TOML,
    TRANSITION_NAMES,
    SetSpec,
    SetsToml,
    SourceSpec,
    TransitionSpec,
    parse_sets,
)
from models.prior_sources.sources_toml import ENDPOINTS, PROPORTION_ENDPOINTS, SourcesToml, load_sources, parse_sources

__all__ = [
    "BUILTIN_SETS",
    "ENDPOINTS",
    "ENTRY_RULE_NONE",
    "MAX_COMPONENTS",
    "METHODS",
    "PROPORTION_ENDPOINTS",
    "SETS_TOML",
    "SOURCES_TOML",
    "SUM_TOLERANCE",
    "TRANSITION_NAMES",
    "Entry",
    "Figure",
    "PseudoData",
    "SetSpec",
    "SetsToml",
    "SourceSpec",
    "Sources",
    "SourcesToml",
    "Study",
    "TransitionSpec",
    "effect_prior",
    "load_sources",
    "log_hr_normal",
    "parse_sets",
    "parse_sources",
    "piecewise_pseudo_data",
    "read_toml",
    "remission_pseudo_data",
    "survival_pseudo_data",
]
