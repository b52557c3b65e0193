"""A synthetic study published the way a paper would be, to test reconstruction end to end.

:func:`simulate_outcomes` draws individual patient data (entry into maintenance, relapse and
non-relapse death competing, death after relapse, administrative censoring at a study cut-off);
:func:`publish` writes what a letter would print — rounded Kaplan–Meier landmark estimates with
R's log interval, a cumulative incidence of relapse, counts, median (range) of follow-up and of
entry — as a study pack: ``published.toml``, a Table 1 ``baseline.csv``, ``constraints.toml`` and
``study.toml`` declaring Table 1's columns and the populations the figures refer to (optionally a
``letter.txt`` printing every figure, whose sentences are the figures' quotes). Reconstruction from
these files must reproduce every printed number.

Table 1's columns (:class:`Column`: how each is declared and drawn), the population rules and the
study's description are parameters; without them :func:`publish` writes the Huang-shaped Table 1
of the default pack and its ``non_refractory_relapsed`` population, as it always has.

A generator file (TOML: ``[generator]`` settings, ``[study]``, ``[[columns]]``,
``[populations.<name>]``) describes a whole synthetic pack; :func:`generate` writes it,
and so does ``scripts/synthetic_study.py``::

    python scripts/synthetic_study.py data/synthetic_aml_letter/generator.toml --out data/synthetic_aml_letter

Submodules
----------
``simulate``
    :func:`simulate_outcomes`; the study's dates and landmark (``LAST_FOLLOWUP``, ``WINDOW``,
    ``LANDMARK``) and the default subgroup population.
``table1``
    :class:`Column`; the default pack's Table 1.
``text``
    TOML values and tables; numbers and Table 1 as the letter prints them.
``publish``
    :func:`publish`: the study pack and its letter.
``generator``
    Generator files: :class:`GeneratorFile`, :func:`load_generator`, :func:`generate`.
"""

from models.synthetic_study.generator import Endpoint, GeneratorFile, GeneratorSettings, generate, load_generator
from models.synthetic_study.publish import publish
from models.synthetic_study.simulate import DEFAULT_SUBGROUP, LANDMARK, LAST_FOLLOWUP, WINDOW, simulate_outcomes
from models.synthetic_study.table1 import Column

__all__ = [
    "DEFAULT_SUBGROUP",
    "LANDMARK",
    "LAST_FOLLOWUP",
    "WINDOW",
    "Column",
    "Endpoint",
    "GeneratorFile",
    "GeneratorSettings",
    "generate",
    "load_generator",
    "publish",
    "simulate_outcomes",
]
