"""Prior sets that record how each transition's prior was built, and their landmark summaries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from models.constants import CI_LEVEL, DEFAULT_CUTS
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS
from models.prior_library.commensurate import CommensuratePrior
from models.priors import GammaMixture, LogNormalHazard, PriorSet, RandomWalkLogHazard, prior_landmarks


@dataclass(frozen=True)
class TransitionProvenance:
    """How a transition's prior was built: method, sources, discounting and reference follow-up."""

    method: str
    sources: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    a0: tuple[float, ...] = ()
    w: float | None = None
    followup_per_patient: tuple[float, ...] = ()
    note: str = ""
    map_quality: tuple[dict[str, float] | None, ...] = ()
    pseudo_events: tuple[float, ...] = ()
    pseudo_exposure: tuple[float, ...] = ()


def _items(p: Any) -> list[Any]:
    return [p] if isinstance(p, GammaMixture | LogNormalHazard | RandomWalkLogHazard | CommensuratePrior) else list(p)


@dataclass(frozen=True)
class LibraryPriorSet(PriorSet):
    """A :class:`PriorSet` that also records provenance and accepts :class:`CommensuratePrior`."""

    provenance: Mapping[str, TransitionProvenance] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        stand_in = GammaMixture.single(1.0, 365.0)
        shadow = {k: (stand_in if isinstance(v, CommensuratePrior) else v) for k, v in self.transitions.items()}
        PriorSet(self.name, shadow)  # the base checks, with commensurate priors standing in as gammas

    def per_interval(self, transition: str, n_intervals: int):
        p = self.transitions[transition]
        if isinstance(p, CommensuratePrior):
            p._check_n(n_intervals)
            return p
        return super().per_interval(transition, n_intervals)

    def with_transition(self, transition: str, prior: Any) -> LibraryPriorSet:
        """The base override rule; the replaced transition's provenance becomes ``user override``."""
        out = super().with_transition(transition, prior)
        prov = {**self.provenance, transition: TransitionProvenance("user override")}
        return replace(out, provenance=prov)

    @property
    def conjugate(self) -> bool:
        return not any(isinstance(p, CommensuratePrior) for p in self.transitions.values()) and super().conjugate

    def params(self) -> dict[str, object]:
        out: dict[str, object] = (
            super().params()
            if not any(isinstance(p, CommensuratePrior) for p in self.transitions.values())
            else {
                "name": self.name,
                "description": self.description,
                "citation": self.citation,
                "transitions": {
                    k: (v.params() if hasattr(v, "params") else [it.params() for it in v])
                    for k, v in self.transitions.items()
                },
            }
        )
        out["provenance"] = {
            k: {"method": v.method, "sources": list(v.sources), "figures": list(v.figures), "a0": list(v.a0), "w": v.w}
            for k, v in self.provenance.items()
        }
        return out


def landmark_summary(
    prior_set: PriorSet,
    cuts: Sequence[float] | np.ndarray = DEFAULT_CUTS,
    relapse_death_cuts: Sequence[float] | np.ndarray = DEFAULT_RELAPSE_DEATH_CUTS,
    *,
    day: int = 365,
    n: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Prior median and 95% interval of the 1-year incidences and survivals (via :func:`prior_landmarks`)."""
    lm = prior_landmarks(prior_set, cuts, relapse_death_cuts, day=day, n=n, seed=seed)  # models.priors
    q = (1 - CI_LEVEL) / 2
    return pd.DataFrame(
        [
            {
                "quantity": k,
                "median": float(np.median(v)),
                "lower": float(np.quantile(v, q)),
                "upper": float(np.quantile(v, 1 - q)),
            }
            for k, v in lm.items()
        ]
    )
