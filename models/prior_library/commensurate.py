r"""The commensurate prior on a transition's interval hazards.

Commensurate prior (Hobbs et al. 2011)
    :class:`CommensuratePrior`: :math:`\lambda_{hj} \sim \mathrm{Gamma}(0.5 + d_{hj}, 182.5 + E_{hj})`
    (the historical posterior from a Jeffreys-type Gamma(0.5, 182.5 days) start, which keeps the
    NUTS geometry of intervals without historical events tame),
    :math:`\log\lambda_j \sim \mathcal N(\log\lambda_{hj}, \sigma^2)`,
    :math:`\sigma \sim \mathrm{HalfNormal}(s_\sigma)` shared by the intervals of the transition: the
    current data decide how much to borrow (exact engine by quadrature, or NUTS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.errors import PriorError
from models.priors import HALF_EVENT_RATE_PER_DAY, HALF_EVENT_SHAPE


@dataclass(frozen=True)
class CommensuratePrior:
    r"""Commensurate prior on a transition's interval hazards (Hobbs et al. 2011).

    Fitted exactly by quadrature (:mod:`models.commensurate_exact`) or by NUTS (``build_pymc``).

    .. math::
        \lambda_{hj} \sim \mathrm{Gamma}(a_v + d_{hj},\, b_v + E_{hj}),\qquad
        \log\lambda_j = \log\lambda_{hj} + \sigma z_j,\ z_j\sim\mathcal N(0,1),\qquad
        \sigma \sim \mathrm{HalfNormal}(s_\sigma).

    Small :math:`\sigma` (commensurate data) borrows the historical hazards almost fully; a
    conflict between current and historical data pushes :math:`\sigma` up and the borrowing down.

    Parameters
    ----------
    hist_events, hist_exposure
        Historical pseudo-data :math:`d_{hj}`, :math:`E_{hj}` (days) per interval.
    scale
        :math:`s_\sigma`, the half-normal scale of the commensurability sd on the log-hazard scale.
    """

    hist_events: tuple[float, ...]
    hist_exposure: tuple[float, ...]
    scale: float = 1.0
    label: str = ""

    def __post_init__(self) -> None:
        d, e = np.asarray(self.hist_events, float), np.asarray(self.hist_exposure, float)
        if d.shape != e.shape or d.ndim != 1 or d.size == 0:
            raise PriorError("CommensuratePrior", found=(d.shape, e.shape), expected="equal-length 1-D pseudo-data")
        if np.any(~np.isfinite(d)) or np.any(d < 0) or np.any(~np.isfinite(e)) or np.any(e < 0):
            raise PriorError(
                "CommensuratePrior",
                field="hist_events/hist_exposure",
                found=list(d),
                expected="finite counts and exposures >= 0",
            )
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise PriorError("CommensuratePrior", field="scale", found=self.scale, expected="a number > 0")

    @property
    def n_intervals(self) -> int:
        return len(self.hist_events)

    @property
    def historical(self) -> tuple[np.ndarray, np.ndarray]:
        """Shapes and rates of the historical posteriors :math:`\\lambda_{hj}`."""
        return (
            HALF_EVENT_SHAPE + np.asarray(self.hist_events, float),
            HALF_EVENT_RATE_PER_DAY + np.asarray(self.hist_exposure, float),
        )

    def sample(self, rng: np.random.Generator, size: int, n_intervals: int | None = None) -> np.ndarray:
        """Prior draws of the hazards, shape ``(size, n_intervals)``."""
        self._check_n(n_intervals or self.n_intervals)
        a, b = self.historical
        lam_h = rng.gamma(a, 1.0 / b, (size, a.size))
        sigma = np.abs(rng.normal(0.0, self.scale, (size, 1)))
        return lam_h * np.exp(sigma * rng.standard_normal((size, a.size)))

    def build_pymc(self, name: str, n_intervals: int):
        """Inside an active ``pm.Model``: create the prior's variables and return the hazard tensor."""
        import pymc as pm
        import pytensor.tensor as pt

        self._check_n(n_intervals)
        a, b = self.historical
        lam_h = pm.Gamma(f"{name}_historical_hazard", alpha=a, beta=b, shape=a.size)
        sigma = pm.HalfNormal(f"{name}_commensurability_sd", self.scale)
        z = pm.Normal(f"{name}_commensurate_z", 0.0, 1.0, shape=a.size)
        return pt.exp(pt.log(lam_h) + sigma * z)

    def _check_n(self, n: int) -> None:
        if n != self.n_intervals:
            raise PriorError(
                f"commensurate prior {self.label}".strip(),
                found=f"{self.n_intervals} intervals",
                expected=f"{n} (the pseudo-data were built for other cut points)",
            )

    def moments(self, n: int = 40_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        x = self.sample(np.random.default_rng(seed), n)
        return x.mean(axis=0), x.var(axis=0)

    def params(self) -> dict[str, object]:
        return {
            "family": "commensurate",
            "hist_events": list(self.hist_events),
            "hist_exposure_days": list(self.hist_exposure),
            "scale": self.scale,
            "label": self.label,
        }
