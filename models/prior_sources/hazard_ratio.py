r"""Normal priors on a log hazard ratio, from a reported estimate and its 95% CI.

Hazard ratios. A hazard ratio with 95% CI :math:`(L, U)` gives
:math:`\log \mathrm{HR} \sim \mathcal N(\log \widehat{\mathrm{HR}}, \{(\log U - \log L)/(2 \cdot 1.96)\}^2)`.
"""

from __future__ import annotations

import math

from models.constants import Z_CI
from models.errors import PriorError
from models.prior_sources.records import Sources
from models.prior_sources.sources_toml import load_sources


def log_hr_normal(estimate: float, lower: float, upper: float) -> tuple[float, float]:
    r"""Normal prior on :math:`\log\mathrm{HR}`: mean :math:`\log\widehat{HR}`, sd :math:`(\log U - \log L)/(2z)`.

    :math:`z = 1.95996` for a 95% interval; the CI is taken as symmetric on the log scale (Wald).
    """
    if not (0 < lower <= estimate <= upper):
        raise PriorError("hazard ratio", found=(estimate, lower, upper), expected="0 < lower <= estimate <= upper")
    return math.log(estimate), (math.log(upper) - math.log(lower)) / (2.0 * Z_CI)


def effect_prior(key: str, sources: Sources | None = None) -> tuple[float, float]:
    """Normal prior ``(mean, sd)`` on the log hazard ratio of a ``hr_*`` figure (e.g. ``tower2017_hr_death``).

    For trial planning (effect-size scenarios); the figure must report a CI.
    """
    src = sources or load_sources()
    f = src.figure(key, where="effect prior", source=src.path)
    if not f.endpoint.startswith("hr_") or f.ci is None:
        raise PriorError(
            src.path,
            where=f"figure.{key}",
            field="endpoint",
            found=f.endpoint,
            expected="a hazard ratio (hr_death, hr_relapse) with a 95% CI",
        )
    return log_hr_normal(f.estimate, *f.ci)
