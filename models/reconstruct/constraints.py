"""Constraint objects: the published figures, counts and order statistics a table must reproduce.

:func:`models.reconstruct.loading.load_constraints` builds a :class:`Constraints` from a
constraints file (validated by :class:`~models.reconstruct.constraints_schema.ConstraintsToml`)
and ``published.toml``: these objects hold the figures' numbers, the file only their keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class KMTarget:
    """A published Kaplan–Meier landmark estimate (percent) with optional 95% CI."""

    name: str
    endpoint: str
    population: str
    landmark: float
    value: float
    ci: tuple[float, float] | None
    tol: float


@dataclass(frozen=True)
class CIFTarget:
    """A published cumulative incidence of relapse (percent), NRM competing.

    ``landmark`` None means the plateau (the value after the last event), as for a paper that
    prints one incidence without a time point.
    """

    name: str
    population: str
    landmark: float | None
    value: float
    tol: float


@dataclass(frozen=True)
class OrderStat:
    """A median with range over ``n`` values: exact order statistics.

    The median is the middle order statistic (odd ``n``) or the mean of the two middle ones
    (even ``n``); ``lo`` and ``hi`` are the minimum and maximum exactly.
    """

    name: str
    n: int
    median: float
    lo: float
    hi: float


@dataclass(frozen=True)
class GvhdCategory:
    """One published GvHD category: number of cases and its onset window relative to entry."""

    name: str
    count: int
    family: str  # "acute" or "chronic": a patient has at most one case per family
    onset: str  # key of the onset OrderStat (cases of one onset key share it)


@dataclass(frozen=True)
class PopulationCount:
    """A count of patients with an event in a population (e.g. 0 relapses in CR1)."""

    name: str
    population: str
    event: str  # "relapse" | "death" | "death_nrm" | "death_relapse"
    value: int


@dataclass(frozen=True)
class CurveTarget:
    r"""A digitised Kaplan–Meier curve with its risk table (``[[curve]]``; :mod:`models.reconstruct.curves`).

    ``points`` are the digitised (day, survival probability) pairs and ``risk`` the printed
    (day, number at risk) pairs, both converted to days from transplant; ``tol_survival`` (a
    probability) and ``tol_days`` are the digitisation tolerances. ``lower``, ``upper`` and
    ``at_risk`` are what the search checks at its threshold markers (marker day, bound):
    :math:`\hat S \ge` bound, :math:`\hat S \le` bound, and the number at risk equal to the count.
    """

    name: str
    endpoint: str
    population: str
    points: tuple[tuple[float, float], ...]
    risk: tuple[tuple[float, int], ...]
    tol_survival: float
    tol_days: float
    lower: tuple[tuple[float, float], ...]
    upper: tuple[tuple[float, float], ...]
    at_risk: tuple[tuple[float, int], ...]

    @property
    def marker_days(self) -> frozenset[float]:
        """Days of the threshold markers this curve needs (all half-integers)."""
        return frozenset(d for d, _b in (*self.lower, *self.upper, *self.at_risk))


@dataclass
class Constraints:
    """Everything the solver needs, resolved from the constraints file and published.toml."""

    source: str
    patients: tuple[str, ...]
    membership: dict[str, dict[str, bool]]  # population -> patient -> member
    km: tuple[KMTarget, ...]
    cif: tuple[CIFTarget, ...]
    named_paths: dict[str, str]
    anonymous: dict[str, int]
    population_counts: tuple[PopulationCount, ...]
    followup: OrderStat | None
    followup_reading: str = "all"
    followup_alternative: str | None = None
    entry: OrderStat | None = None
    admin: tuple[int, int] | None = None
    gvhd_categories: dict[str, GvhdCategory] = field(default_factory=dict)
    gvhd_onsets: dict[str, OrderStat] = field(default_factory=dict)
    gvhd_definitions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    gvhd_candidates: tuple[str, ...] = ()
    anonymous_gvhd: bool = True
    counts: dict[str, int] = field(default_factory=dict)
    curves: tuple[CurveTarget, ...] = ()

    @property
    def n(self) -> int:
        return len(self.patients)

    @property
    def landmarks(self) -> tuple[float, ...]:
        days = {k.landmark for k in self.km} | {c.landmark for c in self.cif if c.landmark is not None}
        return tuple(sorted(days))
