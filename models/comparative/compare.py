r"""Treated cohort against a no-maintenance control: hazard ratios, incidence difference, discounting sweep.

For each control and power-prior weight :math:`a_0`, :func:`compare` returns

- the posterior hazard ratio (maintenance / no maintenance) of relapse and of NRM: median and 95%
  equal-tailed interval, :math:`P(\mathrm{HR} < 1)` and :math:`P(\mathrm{HR} < 0.7)` — exact, from
  the quadrature grid (:mod:`models.comparative.engine`);
- the 1-year cumulative incidence of relapse and of NRM of both arms on the *conditional scale*:
  from the treated cohort's landmark :math:`L` (its median entry day) to :math:`L + 365`, given
  event-free at :math:`L`, with the competing transition, from exact joint draws of
  :math:`(\lambda_{T,\mathrm{rel}}, \lambda_{T,\mathrm{nrm}}, \mathrm{HR}_\mathrm{rel}, \mathrm{HR}_\mathrm{nrm})`:

  .. math::
      F_k(L + t \mid L) = \frac{F_k(L + t) - F_k(L)}{S_0(L)},

  computed with the fit's own competing-risks formula (``models.derived._competing_cifs``) from the
  piecewise-constant hazards
  (treated :math:`\lambda_T`, control :math:`\lambda_C = \lambda_T/\mathrm{HR}`), and their difference
  treated minus control (median, 95% interval, probability below 0).

:func:`sweep` repeats this over a grid of :math:`a_0` and :func:`tipping_point` root-finds (Brent)
the smallest :math:`a_0` at which :math:`P(\mathrm{HR}_\mathrm{rel} < 1)` reaches the threshold
(0.9): below it the claim "maintenance reduces relapse" falls below 0.9. At :math:`a_0 = 0` the
probability is the prior's, 0.5, so the claim never holds with no borrowing; it is "never" when it
stays below the threshold up to :math:`a_0 = 1`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.comparative.engine import HR_PRIOR_SD, Grid, HRPosterior, hazard_draws, hr_posterior
from models.comparative.packs import ControlData
from models.constants import CI_LEVEL
from models.errors import ConfigError
from models.priors import GammaMixture

#: The transitions compared (relapse primarily; NRM as the safety check).
COMPARED: tuple[str, ...] = ("relapse", "nrm")
#: Default grid of power-prior weights.
DEFAULT_A0: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(21))
#: Posterior probability the relapse claim must reach.
CLAIM_LEVEL: float = 0.9
#: The hazard ratio of "a clinically meaningful reduction".
MEANINGFUL_HR: float = 0.7
#: Days of the conditional incidence.
HORIZON_DAYS: int = 365


def not_comparable(prior: Any, n_intervals: int) -> str:
    """Why the comparative model cannot use a prior set ("" when it can: gamma mixtures for :data:`COMPARED`)."""
    from models.priors import all_gamma

    bad = [k for k in COMPARED if not all_gamma(prior.per_interval(k, n_intervals))]
    return f"prior set '{prior.name}' ({', '.join(bad)}: not gamma mixtures)" if bad else ""


@dataclass(frozen=True)
class Treated:
    """The treated cohort's sufficient statistics: ``events[k]``, ``exposure[k]`` ``(M, J)``, its priors and cuts."""

    events: Mapping[str, np.ndarray]
    exposure: Mapping[str, np.ndarray]
    priors: Mapping[str, Sequence[GammaMixture]]
    cuts: np.ndarray
    landmark: int

    @classmethod
    def from_model(cls, model: Any, landmark: int) -> Treated:
        """From a :class:`models.pwe.Model` (its tables' events/exposure and its prior set)."""
        stats, priors = model.stats, model.priors
        cuts = np.asarray(model.cuts, dtype=float)
        blocked = not_comparable(priors, cuts.size)
        if blocked:
            raise ConfigError(
                "prior",
                found=blocked,
                expected="gamma or gamma-mixture priors for relapse and NRM (the comparative model is conjugate)",
            )
        out = {k: priors.per_interval(k, cuts.size) for k in COMPARED}
        return cls(
            events={k: np.stack([td.events[k] for td in stats]) for k in COMPARED},
            exposure={k: np.stack([td.exposure[k] for td in stats]) for k in COMPARED},
            priors=out,
            cuts=cuts,
            landmark=int(landmark),
        )


@dataclass(frozen=True)
class Comparison:
    """One control at one :math:`a_0`: the HR posteriors and the incidence draws.

    ``hr[k]`` is the :class:`HRPosterior` of transition ``k``; ``cif[arm][k]`` ``(n, 366)`` the
    conditional cumulative incidence of ``k`` at days ``L..L+365`` for ``arm`` in
    (``treated``, ``control``); ``hazards[arm][k]`` the hazard draws.
    """

    control: str
    a0: float
    hr: dict[str, HRPosterior]
    cif: dict[str, dict[str, np.ndarray]]
    hazards: dict[str, dict[str, np.ndarray]]
    landmark: int

    def hr_row(self, k: str, level: float = CI_LEVEL) -> dict[str, float]:
        """Median, interval, P(HR < 1), P(HR < 0.7) of transition ``k``."""
        p = self.hr[k]
        lo, med, hi = p.hr_quantile(np.array([(1 - level) / 2, 0.5, (1 + level) / 2]))
        return {
            "median": float(med),
            "lower": float(lo),
            "upper": float(hi),
            "p_below_1": p.prob_below(1.0),
            "p_below_0_7": p.prob_below(MEANINGFUL_HR),
        }

    def cif_row(self, arm: str, k: str, level: float = CI_LEVEL) -> dict[str, float]:
        """Median and interval of the 1-year conditional incidence of ``k`` (``arm`` or ``difference``)."""
        v = self.difference(k) if arm == "difference" else self.cif[arm][k][:, -1]
        lo, med, hi = np.quantile(v, [(1 - level) / 2, 0.5, (1 + level) / 2])
        return {"median": float(med), "lower": float(lo), "upper": float(hi), "p_below_0": float(np.mean(v < 0))}

    def difference(self, k: str) -> np.ndarray:
        """Treated minus control 1-year conditional incidence of ``k``, per draw."""
        return self.cif["treated"][k][:, -1] - self.cif["control"][k][:, -1]


def conditional_incidence(
    lam_rel: np.ndarray,
    lam_nrm: np.ndarray,
    cuts: np.ndarray,
    landmark: int,
    days: int = HORIZON_DAYS,
    *,
    last_only: bool = False,
) -> dict[str, np.ndarray]:
    """Conditional cumulative incidences of relapse and NRM at days ``landmark..landmark+days``, per draw
    (``last_only``: at ``landmark+days`` alone, shape ``(n, 1)``, the same values).

    The hazards are restarted at the landmark (cut points shifted by ``-landmark``, the interval holding
    the landmark first), so the incidence given event-free at the landmark is computed directly,
    without dividing by :math:`S_0(L)` (which underflows for extreme control hazards).
    """
    from models.derived import _competing_cifs  # the fit's formula: one implementation of the incidences

    c = np.asarray(cuts, float)
    j0 = int(np.searchsorted(c, landmark, side="right") - 1)
    shifted = np.concatenate([[0.0], c[j0 + 1 :] - landmark])
    _, rel, nrm = _competing_cifs(
        np.atleast_2d(lam_rel)[:, j0:], np.atleast_2d(lam_nrm)[:, j0:], shifted, int(days), last_only=last_only
    )
    return {"relapse": rel, "nrm": nrm}


def compare(
    treated: Treated,
    control: ControlData,
    a0: float,
    *,
    sd: float = HR_PRIOR_SD,
    draws: int = 4000,
    rng: np.random.Generator,
    name: str = "",
    full_curves: bool = True,
) -> Comparison:
    """The comparison of ``treated`` with ``control`` at power-prior weight ``a0`` (module docstring).

    Without ``full_curves`` only the last day of each incidence is kept (``cif[arm][k]`` ``(n, 1)``,
    the same values): what the tables need, at 1/366 of the memory (a sweep holds one per control
    and :math:`a_0`; 63 full sets took 3 GB).
    """
    m = next(iter(treated.events.values())).shape[0]
    n_per = max(1, draws // m)
    grid = Grid.for_prior(sd)
    hr: dict[str, HRPosterior] = {}
    haz: dict[str, dict[str, np.ndarray]] = {"treated": {}, "control": {}}
    for k in COMPARED:
        args = (treated.priors[k], treated.events[k], treated.exposure[k], control.events[k], control.exposure[k])
        hr[k] = hr_posterior(*args, a0=a0, sd=sd, grid=grid)
        beta, lam = hazard_draws(hr[k], *args, a0=a0, n_per_table=n_per, rng=rng)
        haz["treated"][k] = lam
        haz["control"][k] = lam * np.exp(-beta)[:, None]
    cif = {
        arm: conditional_incidence(
            haz[arm]["relapse"], haz[arm]["nrm"], treated.cuts, treated.landmark, last_only=not full_curves
        )
        for arm in ("treated", "control")
    }
    return Comparison(name or control.label, float(a0), hr, cif, haz, treated.landmark)


def p_relapse_benefit(treated: Treated, control: ControlData, a0: float, sd: float = HR_PRIOR_SD) -> float:
    """:math:`P(\\mathrm{HR}_\\mathrm{rel} < 1)` at ``a0`` (quadrature only, no draws)."""
    k = "relapse"
    post = hr_posterior(
        treated.priors[k],
        treated.events[k],
        treated.exposure[k],
        control.events[k],
        control.exposure[k],
        a0=a0,
        sd=sd,
        grid=Grid.for_prior(sd),
    )
    return post.prob_below(1.0)


def tipping_point(
    treated: Treated,
    control: ControlData,
    a0_grid: Sequence[float] = DEFAULT_A0,
    *,
    level: float = CLAIM_LEVEL,
    sd: float = HR_PRIOR_SD,
    probabilities: Sequence[float] | None = None,
) -> tuple[float, str]:
    r"""The :math:`a_0` at which :math:`P(\mathrm{HR}_\mathrm{rel} < 1)` crosses ``level``, and how it was found.

    Returns ``(a0*, "root")`` for the largest crossing from below on the grid, refined by Brent's
    method on the exact probability; ``(nan, "never")`` when the probability stays below ``level``
    at every :math:`a_0` of the grid; ``(0.0, "always")`` when it is at or above ``level`` at every
    :math:`a_0` (only possible for a grid not starting at 0). ``probabilities`` are the grid's values
    when already computed.
    """
    from scipy.optimize import brentq

    a = np.asarray(a0_grid, float)
    p = (
        np.asarray(probabilities, float)
        if probabilities is not None
        else np.array([p_relapse_benefit(treated, control, x, sd) for x in a])
    )
    above = p >= level
    if not above.any():
        return float("nan"), "never"
    if above.all():
        return 0.0, "always"
    idx = [i for i in range(1, a.size) if above[i] and not above[i - 1]]
    if not idx:  # above at the start, below later: the claim is lost by borrowing more
        i = int(np.flatnonzero(above)[-1]) + 1
        root = brentq(lambda x: p_relapse_benefit(treated, control, x, sd) - level, a[i - 1], a[i], xtol=1e-6)
        return float(root), "root (falls below as a0 grows)"
    i = idx[-1]
    root = brentq(lambda x: p_relapse_benefit(treated, control, x, sd) - level, a[i - 1], a[i], xtol=1e-6)
    return float(root), "root"


def sweep(
    treated: Treated,
    controls: Mapping[str, ControlData],
    a0_grid: Sequence[float] = DEFAULT_A0,
    *,
    sd: float = HR_PRIOR_SD,
    draws: int = 4000,
    seed: int = 0,
    curves_at: float | None = None,
) -> dict[tuple[str, float], Comparison]:
    """:func:`compare` for every control and :math:`a_0`; each pair has its own seed stream (reproducible).

    Full incidence curves are kept only at :math:`a_0` = ``curves_at`` (every level when None); the
    other levels keep the 1-year values the tables use.
    """
    if len(a0_grid) == 0:
        raise ConfigError("control_a0_grid", found="no values", expected="at least one a0 in [0, 1]")
    out = {}
    for ci, (name, data) in enumerate(controls.items()):
        for ai, a0 in enumerate(a0_grid):
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), ci, ai]))
            full = curves_at is None or float(a0) == float(curves_at)
            out[(name, float(a0))] = compare(
                treated, data, float(a0), sd=sd, draws=draws, rng=rng, name=name, full_curves=full
            )
    return out
