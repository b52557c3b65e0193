"""Study packs: how a study (a published letter, or one's own cohort) enters the toolkit.

``pack``
    :class:`StudyPack` and :func:`load_study`: ``study.toml`` and the files it names, validated
    together; Table 1, published figures (quotes checked against the letter's text), outcome tables.
``schema``
    The declarative schema of ``study.toml`` (pydantic).
``published_schema``
    The schema of ``published.toml`` (the letter's printed figures, each with its quote).
``outcome_schema``
    The row schema of the per-patient outcome tables (days bounded, columns consistent in a row).
``table1``
    Table 1 validated against the declared columns; named populations as rules over them.
"""

from models.study.pack import (
    DEFAULT_STUDY_DIR,
    STUDY_FILE,
    StudyPack,
    default_study,
    load_study,
    normalise_quote,
    output_key,
)
from models.study.schema import ColumnSpec, PopulationRule, StudyInfo

__all__ = [
    "DEFAULT_STUDY_DIR",
    "STUDY_FILE",
    "ColumnSpec",
    "PopulationRule",
    "StudyInfo",
    "StudyPack",
    "default_study",
    "load_study",
    "normalise_quote",
    "output_key",
]
