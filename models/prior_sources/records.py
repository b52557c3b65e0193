"""The typed records of the published figures: studies, figures, their entry and the loaded library.

:data:`SOURCES_TOML` is the shipped table they are read from (:mod:`models.prior_sources.sources_toml`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from models.constants import DATA_DIR, DAYS_PER_MONTH
from models.errors import PriorError

#: The shipped table of published figures.
SOURCES_TOML: Path = DATA_DIR / "priors" / "sources.toml"


def landmark_day(months: float) -> float:
    """A landmark in months as whole days: ``round(months * 365.25 / 12)`` (12 months = 365 days)."""
    return float(round(float(months) * DAYS_PER_MONTH))


@dataclass(frozen=True)
class Entry:
    """When a study's patients entered the risk set, in days on the clock of its figures.

    ``median_day`` is the day every pseudo-patient enters (the rule in :mod:`models.prior_sources.pseudo_data`);
    ``range`` is the reported range (or ``None``); ``quote`` and ``url`` are the provenance;
    ``declared_in`` is the table that states it (``study.<id>`` or ``figure.<id>``).
    """

    median_day: float
    quote: str
    url: str
    range: tuple[float, float] | None = None
    note: str = ""
    declared_in: str = ""

    @property
    def rule(self) -> str:
        """One line saying how this entry is used by the conversion."""
        rng = "" if self.range is None else f", range {self.range[0]:g}-{self.range[1]:g}"
        return (
            f"delayed entry ({self.declared_in}): every pseudo-patient enters at the median day "
            f"{self.median_day:g}{rng}; no exposure before it, events spread from it to the landmark"
        )


@dataclass(frozen=True)
class Study:
    """One publication: citation, DOI (or ``""``), the address read, population and size."""

    key: str
    citation: str
    doi: str
    url: str
    population: Mapping[str, str]
    n: int
    intervention: str = ""
    followup_months: float | None = None
    design: str = ""
    entry: Entry | None = None


@dataclass(frozen=True)
class Figure:
    """One reported number with its provenance (see the schema in ``sources.toml``)."""

    key: str
    study: str
    arm: str
    endpoint: str
    estimate: float
    n: int
    quote: str
    url: str
    verified: bool
    endpoint_reported: str = ""
    landmark_months: float | None = None
    ci: tuple[float, float] | None = None
    note: str = ""
    #: Entry into the risk set: the figure's own ``entry`` or else its study's (``None``: day 0).
    entry: Entry | None = None

    @property
    def landmark_days(self) -> float:
        """Landmark in whole days (``round(months * 365.25 / 12)``); a median's own time for medians."""
        months = self.estimate if self.endpoint == "median_os" else self.landmark_months
        if months is None:  # a hazard ratio: no landmark (float(None) raised a bare TypeError here)
            raise TypeError(f"figure {self.key} ({self.endpoint}) has no landmark")
        return landmark_day(months)


@dataclass(frozen=True)
class Sources:
    """The loaded library: studies and figures by key, and the file they came from."""

    studies: Mapping[str, Study]
    figures: Mapping[str, Figure]
    path: str = str(SOURCES_TOML)

    def figure(self, key: str, *, where: str, source: str) -> Figure:
        if key not in self.figures:
            raise PriorError(
                source,
                where=where,
                found=f"unknown source '{key}'",
                expected=f"a figure key of {self.path} (see `scripts/priors.py list`)",
            )
        return self.figures[key]
