r"""Priors on the piecewise-constant transition hazards, as data with provenance.

Three prior families (hazards :math:`\lambda_j` per day on interval :math:`j` of a transition):

:class:`GammaMixture`
    :math:`\lambda_j \sim \sum_k w_k\,\mathrm{Gamma}(a_k, b_k)` (shape :math:`a_k`, rate
    :math:`b_k` per day; a single gamma is a one-component mixture). Conjugate for the Poisson
    exposure likelihood: the exact engine applies.
:class:`LogNormalHazard`
    :math:`\log\lambda_j \sim \mathcal N(\mu, \sigma^2)`, independently per interval.
:class:`RandomWalkLogHazard`
    for a whole transition: :math:`\log\lambda_1 \sim \mathcal N(\mu_0, \sigma_0^2)`,
    :math:`\log\lambda_{j+1} - \log\lambda_j \sim \mathcal N(0, \sigma_{\text{step}}^2)` — smoothing
    across intervals (Gamerman 1991's dynamic PWE model).

A :class:`PriorSet` names one prior per transition (or one per interval of it), with a description
and citation. Users override a default by the one rule of :meth:`PriorSet.with_transition`.
Named prior sets (the weak baseline included) are looked up in one place,
:func:`models.prior_library.load_prior_set`, which builds them for the run's cut points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol, Self, TypeGuard, Union, cast

import numpy as np

if TYPE_CHECKING:
    from typing_extensions import TypeIs

from models.errors import PriorError
from models.intervals import TRANSITIONS


def _finite_positive(values: Sequence[float], name: str, source: str) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    for v in out:
        if not math.isfinite(v) or v <= 0:
            raise PriorError(source, field=name, found=list(out), expected="finite numbers > 0")
    return out


@dataclass(frozen=True)
class GammaMixture:
    """Mixture of gammas on a hazard per day: weights, shapes :math:`a_k`, rates :math:`b_k` (per day).

    The mean hazard is :math:`\\sum_k w_k a_k / b_k`; a component worth :math:`a_k` events in
    :math:`b_k` days of exposure.
    """

    weights: tuple[float, ...]
    shapes: tuple[float, ...]
    rates: tuple[float, ...]

    def __post_init__(self) -> None:
        src = "GammaMixture"
        w = _finite_positive(self.weights, "weights", src)
        a = _finite_positive(self.shapes, "shapes", src)
        b = _finite_positive(self.rates, "rates", src)
        if not (len(w) == len(a) == len(b)) or not w:
            raise PriorError(
                src,
                field="weights",
                found=f"{len(w)} weights, {len(a)} shapes, {len(b)} rates",
                expected="one weight, shape and rate per component",
            )
        total = sum(w)
        # normalise once: weights that already sum to 1 (to rounding) are kept bit for bit, so a
        # mixture written to disk and read back is the same mixture (caches never change digits)
        object.__setattr__(self, "weights", w if abs(total - 1.0) <= 1e-12 else tuple(x / total for x in w))
        object.__setattr__(self, "shapes", a)
        object.__setattr__(self, "rates", b)

    @classmethod
    def single(cls, shape: float, rate: float) -> GammaMixture:
        """One gamma, Gamma(shape, rate per day)."""
        return cls((1.0,), (shape,), (rate,))

    @property
    def n_components(self) -> int:
        return len(self.weights)

    @property
    def mean(self) -> float:
        return float(sum(w * a / b for w, a, b in zip(self.weights, self.shapes, self.rates, strict=True)))

    def posterior(self, events: float, exposure: float) -> GammaMixture:
        r"""The conjugate update by ``events`` in ``exposure`` days (the one implementation).

        :math:`\sum_k \tilde w_k\,\mathrm{Gamma}(a_k + D, b_k + E)` with :math:`\tilde w_k \propto
        w_k\,\Gamma(a_k + D) b_k^{a_k} / (\Gamma(a_k) (b_k + E)^{a_k + D})` (negative-binomial marginal
        likelihood, in log space); weights are kept above 1e-300 so every component stays representable.
        """
        from scipy.special import gammaln

        w, a, b = np.asarray(self.weights), np.asarray(self.shapes), np.asarray(self.rates)
        logm = np.log(w) + gammaln(a + events) - gammaln(a) + a * np.log(b) - (a + events) * np.log(b + exposure)
        # log-sum-exp by hand as scipy computes it (the largest term set aside, log1p of the rest):
        # scipy's costs ~0.25 ms a call, and this runs ~10^5 times per sensitivity grid
        k = int(logm.argmax())
        lse = logm[k] + np.log1p(np.exp(np.delete(logm, k) - logm[k]).sum())
        post_w = np.clip(np.exp(logm - lse), 1e-300, None)
        return GammaMixture(tuple(post_w), tuple(a + events), tuple(b + exposure))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        k = rng.choice(self.n_components, size=size, p=np.asarray(self.weights))
        a, b = np.asarray(self.shapes)[k], np.asarray(self.rates)[k]
        return rng.gamma(a, 1.0 / b)

    def params(self) -> dict[str, object]:
        return {
            "family": "gamma_mixture",
            "weights": list(self.weights),
            "shapes": list(self.shapes),
            "rates_per_day": list(self.rates),
        }


@dataclass(frozen=True)
class LogNormalHazard:
    """:math:`\\log\\lambda \\sim N(\\mu, \\sigma^2)` with :math:`\\lambda` per day."""

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.mu):
            raise PriorError("LogNormalHazard", field="mu", found=self.mu, expected="a finite log hazard per day")
        _finite_positive([self.sigma], "sigma", "LogNormalHazard")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.exp(rng.normal(self.mu, self.sigma, size))

    def params(self) -> dict[str, object]:
        return {"family": "lognormal", "mu": self.mu, "sigma": self.sigma}


@dataclass(frozen=True)
class RandomWalkLogHazard:
    """Gaussian random walk on the log hazards of one transition across its intervals."""

    mu0: float
    sigma0: float
    sigma_step: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.mu0):
            raise PriorError("RandomWalkLogHazard", field="mu0", found=self.mu0, expected="a finite log hazard per day")
        _finite_positive([self.sigma0, self.sigma_step], "sigma0/sigma_step", "RandomWalkLogHazard")

    def sample(self, rng: np.random.Generator, size: int, n_intervals: int) -> np.ndarray:
        steps = rng.normal(0.0, self.sigma_step, (size, n_intervals - 1))
        first = rng.normal(self.mu0, self.sigma0, (size, 1))
        return np.exp(np.cumsum(np.concatenate([first, steps], axis=1), axis=1))

    def params(self) -> dict[str, object]:
        return {
            "family": "random_walk_log_hazard",
            "mu0": self.mu0,
            "sigma0": self.sigma0,
            "sigma_step": self.sigma_step,
        }


class WholeTransitionPrior(Protocol):
    """A prior on all interval hazards of a transition jointly (see :func:`is_whole_transition`)."""

    def sample(self, rng: np.random.Generator, size: int, n_intervals: int) -> np.ndarray: ...

    def params(self) -> dict[str, object]: ...


IntervalPrior = Union[GammaMixture, LogNormalHazard]  # noqa: UP007 (used at runtime in isinstance)
TransitionPrior = Union[IntervalPrior, WholeTransitionPrior, Sequence[IntervalPrior]]  # noqa: UP007


def is_whole_transition(p: object) -> TypeIs[WholeTransitionPrior]:
    """A prior on all interval hazards of a transition jointly.

    :class:`RandomWalkLogHazard`, or any object with ``sample(rng, size, n_intervals)``,
    ``params()`` and ``build_pymc(name, n_intervals)`` (returning the hazard tensor inside an active
    PyMC model) — e.g. the commensurate prior of :mod:`models.prior_library`. Such priors are fitted
    by the NUTS engine; the commensurate prior also exactly, by quadrature (:mod:`models.commensurate_exact`).
    """
    if isinstance(p, RandomWalkLogHazard):
        return True
    return all(callable(getattr(p, m, None)) for m in ("sample", "params", "build_pymc"))


def all_gamma(spec: object) -> TypeGuard[list[GammaMixture]]:
    """Whether ``spec`` (from :meth:`PriorSet.per_interval`) is a list of gamma mixtures: conjugate intervals."""
    return isinstance(spec, list) and all(isinstance(p, GammaMixture) for p in spec)


def gamma_intervals(spec: list[IntervalPrior] | WholeTransitionPrior) -> list[GammaMixture]:
    """``spec`` (from :meth:`PriorSet.per_interval`) of a transition the caller knows to be conjugate.

    Only a statement to the type checker (no check at run time): every interval a :class:`GammaMixture`.
    """
    return cast("list[GammaMixture]", spec)


@dataclass(frozen=True)
class PriorSet:
    """A named prior for every transition.

    Parameters
    ----------
    name
        Short identifier (used by ``--prior``).
    transitions
        ``{transition: prior}`` for every transition in :data:`models.intervals.TRANSITIONS`; a prior
        is one :class:`GammaMixture` or :class:`LogNormalHazard` shared by all intervals, a list with
        one per interval, or a whole-transition prior (:func:`is_whole_transition`: a
        :class:`RandomWalkLogHazard` or an object with ``build_pymc``).
    description
        What the prior says, in clinical terms.
    citation
        Where its numbers come from.
    """

    name: str
    transitions: Mapping[str, TransitionPrior]
    description: str = ""
    citation: str = ""
    source: str = field(default="prior set", compare=False)

    def __post_init__(self) -> None:
        src = f"prior set '{self.name}'"
        missing = [k for k in TRANSITIONS if k not in self.transitions]
        if missing:
            raise PriorError(
                src,
                where="transitions",
                field=missing[0],
                found="missing",
                expected=f"a prior for each of {list(TRANSITIONS)}",
            )
        extra = [k for k in self.transitions if k not in TRANSITIONS]
        if extra:
            raise PriorError(
                src,
                where="transitions",
                field=extra[0],
                found="an unknown transition",
                expected=f"only {list(TRANSITIONS)}",
            )
        for k, p in self.transitions.items():
            if is_whole_transition(p):
                continue
            items = [p] if isinstance(p, GammaMixture | LogNormalHazard) else list(p)
            if not items:
                raise PriorError(src, where=k, found="an empty list", expected="one prior per interval")
            for it in items:
                if is_whole_transition(it):
                    raise PriorError(
                        src,
                        where=k,
                        found=f"a {type(it).__name__} inside a per-interval list",
                        expected="a whole-transition prior alone for the transition",
                    )
                if not isinstance(it, GammaMixture | LogNormalHazard):
                    raise PriorError(
                        src,
                        where=k,
                        found=type(it).__name__,
                        expected="GammaMixture, LogNormalHazard or a whole-transition prior",
                    )

    def validate(self, n_intervals: Mapping[str, int]) -> None:
        """Check per-interval lists against the number of intervals of each transition."""
        for k in TRANSITIONS:
            self.per_interval(k, n_intervals[k])

    def per_interval(self, transition: str, n_intervals: int) -> list[IntervalPrior] | WholeTransitionPrior:
        """The prior of each interval of ``transition`` (or its whole-transition prior)."""
        p = self.transitions[transition]
        if is_whole_transition(p):
            return p
        if isinstance(p, GammaMixture | LogNormalHazard):
            return [p] * n_intervals
        if len(p) != n_intervals:
            raise PriorError(
                f"prior set '{self.name}'",
                where=transition,
                found=f"{len(p)} interval priors",
                expected=f"{n_intervals} (one per interval of the cut points), or one prior for all",
            )
        return list(p)

    @property
    def conjugate(self) -> bool:
        """True when every hazard has a gamma(-mixture) prior: the exact engine applies."""
        for p in self.transitions.values():
            if is_whole_transition(p):
                return False
            items = [p] if isinstance(p, GammaMixture | LogNormalHazard) else list(p)
            if not all(isinstance(it, GammaMixture) for it in items):
                return False
        return True

    def with_transition(self, transition: str, prior: TransitionPrior) -> Self:
        """The one override rule: a copy with ``transition``'s prior replaced."""
        return replace(self, transitions={**self.transitions, transition: prior}, name=f"{self.name}+{transition}")

    def params(self) -> dict[str, object]:
        """A JSON-ready description (stored in posterior files and manifests)."""

        def one(p: TransitionPrior) -> object:
            if is_whole_transition(p) or isinstance(p, GammaMixture | LogNormalHazard):
                return p.params()
            return [it.params() for it in p]

        return {
            "name": self.name,
            "description": self.description,
            "citation": self.citation,
            "transitions": {k: one(v) for k, v in self.transitions.items()},
        }


#: Total pseudo-events of the weakly informative baseline per transition, over its whole time axis.
WEAK_TOTAL_EVENTS: float = 1.0
#: Prior mean hazard of the weakly informative baseline: one event per patient-year.
WEAK_LEVEL_PER_DAY: float = 1.0 / 365.0
#: Nominal width (days) given to the open last interval when the baseline's information is spread.
WEAK_TAIL_DAYS: float = 365.0


def weak_shapes(
    cuts: Sequence[float] | np.ndarray, *, total_events: float = WEAK_TOTAL_EVENTS, tail_days: float = WEAK_TAIL_DAYS
) -> np.ndarray:
    r"""Shapes :math:`a_j` of the weakly informative baseline: ``total_events`` spread by interval width.

    :math:`a_j = A\,w_j / \sum_i w_i` with :math:`w_j = c_{j+1} - c_j` and the open last interval
    given the nominal width ``tail_days``. Splitting an interval splits its share, so the total
    information :math:`\sum_j a_j = A` does not depend on how finely the time axis is cut.
    """
    c = np.asarray(cuts, float)
    if not (math.isfinite(total_events) and total_events > 0):
        raise PriorError("weak baseline", field="total_events", found=total_events, expected="a number > 0")
    if not (math.isfinite(tail_days) and tail_days > 0):
        raise PriorError("weak baseline", field="tail_days", found=tail_days, expected="a number of days > 0")
    widths = np.append(np.diff(c), tail_days)
    return total_events * widths / widths.sum()


def weak_interval_priors(
    cuts: Sequence[float] | np.ndarray,
    *,
    total_events: float = WEAK_TOTAL_EVENTS,
    level_per_day: float = WEAK_LEVEL_PER_DAY,
    tail_days: float = WEAK_TAIL_DAYS,
) -> list[GammaMixture]:
    r"""The baseline prior of each interval: :math:`\mathrm{Gamma}(a_j, a_j/\lambda_0)` (see :func:`weak`)."""
    if not (math.isfinite(level_per_day) and level_per_day > 0):
        raise PriorError("weak baseline", field="level_per_day", found=level_per_day, expected="a hazard per day > 0")
    return [
        GammaMixture.single(float(a), float(a) / level_per_day)
        for a in weak_shapes(cuts, total_events=total_events, tail_days=tail_days)
    ]


def weak(
    cuts: Sequence[float] | np.ndarray | None = None,
    relapse_death_cuts: Sequence[float] | np.ndarray | None = None,
) -> PriorSet:
    r"""The weakly informative baseline: one pseudo-event per transition, spread over the intervals by width.

    For a transition with cut points :math:`0 = c_0 < \dots < c_J` (last interval open),

    .. math::
        \lambda_j \sim \mathrm{Gamma}(a_j,\ a_j/\lambda_0),\qquad
        a_j = A\,\frac{w_j}{\sum_i w_i},\quad w_j = c_{j+1} - c_j,\ w_J = T,

    with :math:`A` = :data:`WEAK_TOTAL_EVENTS` = 1 pseudo-event, :math:`\lambda_0` =
    :data:`WEAK_LEVEL_PER_DAY` (one event per patient-year) and :math:`T` = :data:`WEAK_TAIL_DAYS`
    (365 days) the nominal width of the open interval. The whole transition carries the information
    of one event in :math:`A/\lambda_0` = one patient-year, however finely it is cut: halving every
    interval halves every :math:`a_j` and the posterior converges to the piecewise-constant maximum
    likelihood estimate (and so to the Kaplan–Meier / Aalen–Johansen estimates) as the cuts are
    refined. Every interval prior stays proper, so intervals without exposure (days 0–100 under
    delayed entry) have a proper but very diffuse posterior — which the outputs flag as
    prior-driven (:func:`models.derived.prior_driven_table`).

    The construction is the "unit-information" idea (Kass & Wasserman 1995) applied to the
    whole hazard function rather than to each interval, with the level and total information fixed
    before seeing data; the shapes below 1 make it a Jeffreys-type prior (shape 1/2 for one Poisson
    rate; Gelman et al. 2013, sec. 2.8) whose information is shared out instead of repeated.
    The previous default, :func:`half_event_per_interval`, repeats Gamma(0.5, 182.5 days) on every
    interval and so grows with the number of cut points.

    References
    ----------
    Kass RE, Wasserman L. J Am Stat Assoc 1995;90:928–934. Gelman A, Carlin JB, Stern HS, et al.
    Bayesian Data Analysis, 3rd ed. CRC Press, 2013.
    """
    from models.constants import DEFAULT_CUTS
    from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS

    c = DEFAULT_CUTS if cuts is None else cuts
    rc = DEFAULT_RELAPSE_DEATH_CUTS if relapse_death_cuts is None else relapse_death_cuts
    return PriorSet(
        name="weak",
        transitions={k: weak_interval_priors(rc if k == "death_after_relapse" else c) for k in TRANSITIONS},
        description="weakly informative baseline: one pseudo-event per transition in one patient-year "
        "(mean 1 event per patient-year), spread over the intervals by width; the reference for what "
        "the data alone say",
        citation="this toolkit; unit-information idea (Kass & Wasserman, JASA 1995) over the whole "
        "hazard function; Jeffreys-type shapes < 1 (Gelman et al., Bayesian Data Analysis, 3rd ed., 2013)",
    )


#: Shape and rate (per day) of :func:`half_event_per_interval` (the toolkit's default before the
#: weakly informative baseline :func:`weak`).
HALF_EVENT_SHAPE: float = 0.5
HALF_EVENT_RATE_PER_DAY: float = 0.5 * 365.0


def half_event_per_interval() -> PriorSet:
    r"""Gamma(0.5, 182.5 days) on every interval hazard: half an event per interval.

    Each hazard :math:`\lambda_j \sim \mathrm{Gamma}(0.5, 182.5\ \text{days})` — mean one event
    per patient-year, the information of half an event in half a patient-year *per interval*. Not
    weak: the information grows with the number of cut points (five relapse intervals carry 2.5
    pseudo-relapses), so it is kept only as a named sensitivity scenario and for reproducing earlier
    results. The reference for "what the data alone say" is :func:`weak`.
    """
    g = GammaMixture.single(HALF_EVENT_SHAPE, HALF_EVENT_RATE_PER_DAY)
    return PriorSet(
        name="half_event_per_interval",
        transitions={k: g for k in TRANSITIONS},
        description="Gamma(0.5, 182.5 days) on every interval hazard: half an event in half a patient-year "
        "per interval, so its information grows with the number of cut points (not weak)",
        citation="the toolkit's default before version 0.2; Jeffreys-type shape 1/2 "
        "(Gelman et al., Bayesian Data Analysis, 3rd ed., 2013, sec. 2.8)",
    )


def sample_prior_hazards(
    prior: PriorSet, n_intervals: Mapping[str, int], n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """``n`` draws of every transition's hazards from the prior: ``{transition: (n, J)}``."""
    out: dict[str, np.ndarray] = {}
    for k in TRANSITIONS:
        spec = prior.per_interval(k, n_intervals[k])
        if is_whole_transition(spec):
            out[k] = spec.sample(rng, n, n_intervals[k])
        else:
            out[k] = np.column_stack([p.sample(rng, n) for p in spec])
    return out


def prior_landmarks(
    prior: PriorSet,
    cuts: Sequence[float] | np.ndarray,
    relapse_death_cuts: Sequence[float] | np.ndarray,
    *,
    day: int = 365,
    n: int = 20_000,
    seed: int = 0,
    quantities: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Prior-implied draws of relapse and NRM incidence, EFS, OS and GRFS at ``day`` (simulation).

    ``quantities`` restricts the output (default: all of :data:`models.derived.QUANTITIES`).
    """
    from models.derived import QUANTITIES, curves  # derived quantities do not depend on priors

    wanted = list(QUANTITIES if quantities is None else quantities)
    rng = np.random.default_rng(seed)
    nint = {k: len(cuts) for k in TRANSITIONS} | {"death_after_relapse": len(relapse_death_cuts)}
    hz = sample_prior_hazards(prior, nint, n, rng)
    out = {q: np.empty(n) for q in wanted}
    if set(wanted) <= {"relapse_cif", "nrm_cif", "efs"}:  # no convolution needed for these
        from models.derived import _competing_cifs

        s0, rel, nrm = _competing_cifs(hz["relapse"], hz["nrm"], np.asarray(cuts, float), day)
        got = {"relapse_cif": rel[:, day], "nrm_cif": nrm[:, day], "efs": s0[:, day]}
        return {q: got[q] for q in wanted}
    for lo in range(0, n, 5000):
        cv = curves({k: v[lo : lo + 5000] for k, v in hz.items()}, cuts, relapse_death_cuts, day)
        for q in wanted:
            out[q][lo : lo + 5000] = cv.get(q)[:, day]
    return out
