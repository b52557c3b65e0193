r"""The piecewise-exponential (PWE) multi-state model and its two engines.

Model (Friedman 1982; Andersen & Keiding 2002). States after transplant: 0 = alive in remission,
1 = relapsed, 2 = dead. For transition :math:`k \in \{\mathrm{relapse}, \mathrm{nrm}, \mathrm{gvhd},
\mathrm{death\_after\_relapse}\}` with cut points :math:`c^{(k)}_0 = 0 < \dots < c^{(k)}_{J_k}`, the
hazard is :math:`\lambda_k(t) = \lambda_{kj}` for :math:`t \in [c^{(k)}_j, c^{(k)}_{j+1})` on the
clock :math:`t` = days from transplant (transitions out of state 0) or :math:`t` = days since relapse
(death after relapse, a clock-reset / semi-Markov transition). With events :math:`D_{kj}` and
exposure :math:`E_{kj}` of table :math:`m` (:mod:`models.intervals`, delayed entry by default):

.. math::
    D_{kj} \mid \lambda_{kj} &\sim \mathrm{Poisson}(\lambda_{kj} E_{kj})
        \quad\text{(likelihood kernel } \lambda^{D} e^{-\lambda E}\text{)}\\
    \lambda_{kj} &\sim \pi_{kj} \quad\text{(:mod:`models.priors`)}.

Engines
-------
``exact``
    For gamma-mixture priors :math:`\pi = \sum_c w_c\,\mathrm{Gamma}(a_c, b_c)` the posterior is
    :math:`\sum_c \tilde w_c\,\mathrm{Gamma}(a_c + D, b_c + E)` with
    :math:`\tilde w_c \propto w_c\,\frac{\Gamma(a_c + D)}{\Gamma(a_c)}\frac{b_c^{a_c}}{(b_c+E)^{a_c+D}}`
    (the negative-binomial marginal likelihood up to factors common to all components), computed in
    log space. Independent draws; milliseconds.
``nuts``
    The same model in PyMC 5 with free :math:`z_{kj} = \log\lambda_{kj} - \log\hat\lambda_{kj}`
    (a data-dependent centring) and the prior and likelihood as potentials, so any prior family of
    :mod:`models.priors` applies (log-normal, random walk on log hazards). Events, exposures and
    prior hyperparameters are shared variables (``pm.Data``): one compiled model serves every
    dataset of the same shape. Sampled with nutpie when installed, else PyMC's NUTS.

Several reconstructed tables are fitted separately with equal numbers of draws; the posterior keeps
a ``table`` dimension and pooled summaries mix the tables with equal weight (multiple imputation by
posterior pooling; Zhou & Reiter 2010).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import gammaln, logsumexp

from models.constants import DEFAULT_CUTS, DEFAULT_SEED
from models.data import validate_outcomes
from models.errors import ConfigError, PriorError
from models.intervals import (
    DEFAULT_RELAPSE_DEATH_CUTS,
    TRANSITIONS,
    TransitionData,
    interval_labels,
    transition_data,
    validate_cuts,
)
from models.io import sha256_frame
from models.priors import GammaMixture, PriorSet, RandomWalkLogHazard, is_whole_transition, weak

Engine = Literal["exact", "nuts"]
Sampler = Literal["pymc", "nutpie"]
ENGINES: tuple[str, ...] = ("exact", "nuts")
SAMPLERS: tuple[str, ...] = ("pymc", "nutpie")

#: Convergence thresholds: a run fails if any R-hat exceeds, any bulk ESS falls below, or any
#: transition diverges (Vehtari et al. 2021).
RHAT_MAX: float = 1.01
ESS_BULK_MIN: float = 400.0


def hazard_var(transition: str) -> str:
    """Name of the posterior variable holding a transition's hazards (per day)."""
    return f"hazard_{transition}"


def interval_dim(transition: str) -> str:
    return "interval_after_relapse" if transition == "death_after_relapse" else "interval"


# ----------------------------------------------------------------------------- exact engine


def gamma_mixture_posterior(prior: GammaMixture, events: float, exposure: float) -> GammaMixture:
    """Conjugate update of a gamma mixture by ``events`` in ``exposure`` days (see module docstring)."""
    w = np.asarray(prior.weights)
    a = np.asarray(prior.shapes)
    b = np.asarray(prior.rates)
    logm = np.log(w) + gammaln(a + events) - gammaln(a) + a * np.log(b) - (a + events) * np.log(b + exposure)
    post_w = np.exp(logm - logsumexp(logm))
    post_w = np.clip(post_w, 1e-300, None)  # keep every component representable (weights must be > 0)
    return GammaMixture(tuple(post_w), tuple(a + events), tuple(b + exposure))


def exact_posterior_draws(
    prior: list, events: np.ndarray, exposure: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` draws ``(n, J)`` from the conjugate posterior of each interval's gamma(-mixture) prior."""
    out = np.empty((n, len(prior)))
    for j, p in enumerate(prior):
        post = gamma_mixture_posterior(p, float(events[j]), float(exposure[j]))
        out[:, j] = post.sample(rng, n) if post.n_components > 1 else rng.gamma(post.shapes[0], 1.0 / post.rates[0], n)
    return out


# ----------------------------------------------------------------------------- NUTS engine


@dataclass(frozen=True)
class _Structure:
    """What fixes the compiled graph: intervals per transition, prior family kind per transition
    (``gamma``: one gamma per interval; ``rw``: random walk; ``general``: gamma mixtures and/or
    log-normal), and the largest number of mixture components. Hyperparameter values are data."""

    n_intervals: tuple[tuple[str, int], ...]
    families: tuple[tuple[str, str], ...]
    n_components: int
    #: whole-transition priors that build their own PyMC variables (``build_pymc``), e.g. the
    #: commensurate prior; their hyperparameters are part of the graph, hence of this key
    custom: tuple[tuple[str, object], ...] = ()


def _family(spec: list | RandomWalkLogHazard) -> str:
    if isinstance(spec, RandomWalkLogHazard):
        return "rw"
    if is_whole_transition(spec):
        return "custom"
    if all(isinstance(p, GammaMixture) and p.n_components == 1 for p in spec):
        return "gamma"
    return "general"


def _structure(priors: PriorSet, nint: dict[str, int]) -> _Structure:
    kmax = 1
    fam = []
    for k in TRANSITIONS:
        spec = priors.per_interval(k, nint[k])
        fam.append((k, _family(spec)))
        if fam[-1][1] == "general":
            kmax = max([kmax, *(p.n_components for p in spec if isinstance(p, GammaMixture))])
    custom = tuple((k, priors.per_interval(k, nint[k])) for k, f in fam if f == "custom")
    return _Structure(tuple((k, nint[k]) for k in TRANSITIONS), tuple(fam), kmax, custom)


def _prior_arrays(priors: PriorSet, nint: dict[str, int], kmax: int) -> dict[str, np.ndarray]:
    """Hyperparameters as arrays for the shared variables of the compiled model."""
    out: dict[str, np.ndarray] = {}
    for k in TRANSITIONS:
        spec = priors.per_interval(k, nint[k])
        if isinstance(spec, RandomWalkLogHazard):
            out[f"rw_{k}"] = np.array([spec.mu0, spec.sigma0, spec.sigma_step])
            continue
        if _family(spec) == "custom":
            continue
        if _family(spec) == "gamma":
            out[f"shape_{k}"] = np.array([p.shapes[0] for p in spec])  # type: ignore[union-attr]
            out[f"rate_{k}"] = np.array([p.rates[0] for p in spec])  # type: ignore[union-attr]
            continue
        j = nint[k]
        is_g = np.zeros(j)
        logw = np.full((j, kmax), -700.0)  # absent components: weight e^-700, numerically zero
        a = np.ones((j, kmax))
        b = np.ones((j, kmax))
        ln = np.tile([0.0, 1.0], (j, 1))
        for i, p in enumerate(spec):
            if isinstance(p, GammaMixture):
                is_g[i] = 1.0
                nc = p.n_components
                logw[i, :nc] = np.log(p.weights)
                a[i, :nc] = p.shapes
                b[i, :nc] = p.rates
            else:
                ln[i] = [p.mu, p.sigma]
        out[f"is_gamma_{k}"] = is_g
        out[f"logw_{k}"] = logw
        out[f"shape_{k}"] = a
        out[f"rate_{k}"] = b
        out[f"lognormal_{k}"] = ln
    return out


def _data_arrays(td: TransitionData) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k in TRANSITIONS:
        d, e = td.events[k].astype(float), td.exposure[k].astype(float)
        out[f"events_{k}"] = d
        out[f"exposure_{k}"] = e
        # centring of the free variables near the data: keeps NUTS's initial point sensible
        out[f"log_center_{k}"] = np.log((d + 0.5) / (e + 182.5))
    return out


class NutsBackend:
    """A PyMC model compiled once for a given shape of data and prior; datasets swapped in.

    The free parameters are :math:`z_{kj}`; :math:`\\log\\lambda_{kj} = \\log\\hat\\lambda_{kj} +
    z_{kj}` with :math:`\\hat\\lambda_{kj} = (D_{kj} + 1/2)/(E_{kj} + 182.5)`. Potentials add
    the log prior density of :math:`\\log\\lambda` (with the Jacobian :math:`\\lambda` for priors
    stated on :math:`\\lambda`) and the exposure likelihood :math:`D\\log\\lambda - \\lambda E`.
    """

    def __init__(self, structure: _Structure, coords: dict[str, list[str]]) -> None:
        self.structure = structure
        self.coords = coords
        self._model = None
        self._nutpie_compiled = None

    @property
    def model(self):
        if self._model is None:
            self._model = self._build()
        return self._model

    def _build(self):
        import pymc as pm
        import pytensor.tensor as pt

        nint = dict(self.structure.n_intervals)
        families = dict(self.structure.families)
        custom = dict(self.structure.custom)
        kmax = self.structure.n_components
        with pm.Model(coords=self.coords) as model:
            for k in TRANSITIONS:
                j = nint[k]
                dim = interval_dim(k)
                d = pm.Data(f"events_{k}", np.zeros(j), dims=dim)
                e = pm.Data(f"exposure_{k}", np.ones(j), dims=dim)
                if families[k] == "custom":
                    # the prior creates its own variables and returns the hazards (per day)
                    lam = custom[k].build_pymc(k, j)
                    pm.Deterministic(hazard_var(k), lam, dims=dim)
                    pm.Potential(f"log_lik_{k}", pt.sum(d * pt.log(lam) - lam * e))
                    continue
                center = pm.Data(f"log_center_{k}", np.zeros(j), dims=dim)
                z = pm.Flat(f"z_{k}", dims=dim)
                log_h = center + z
                lam = pt.exp(log_h)
                pm.Deterministic(hazard_var(k), lam, dims=dim)
                if families[k] == "gamma":
                    # conjugate case in one term: Gamma(a, b) on lambda with its Jacobian, plus the
                    # exposure likelihood, is (a + D) log(lambda) - (b + E) lambda
                    a = pm.Data(f"shape_{k}", np.ones(j), dims=dim)
                    b = pm.Data(f"rate_{k}", np.ones(j), dims=dim)
                    pm.Potential(f"log_post_{k}", pt.sum((a + d) * log_h - (b + e) * lam))
                    continue
                if families[k] == "rw":
                    hyper = pm.Data(f"rw_{k}", np.array([0.0, 1.0, 1.0]))
                    mu0, s0, ss = hyper[0], hyper[1], hyper[2]
                    lp = -0.5 * ((log_h[0] - mu0) / s0) ** 2 - pt.log(s0)
                    if j > 1:
                        steps = log_h[1:] - log_h[:-1]
                        lp = lp + pt.sum(-0.5 * (steps / ss) ** 2 - pt.log(ss))
                else:
                    is_g = pm.Data(f"is_gamma_{k}", np.ones(j))
                    logw = pm.Data(f"logw_{k}", np.zeros((j, kmax)))
                    a = pm.Data(f"shape_{k}", np.ones((j, kmax)))
                    b = pm.Data(f"rate_{k}", np.ones((j, kmax)))
                    ln = pm.Data(f"lognormal_{k}", np.tile([0.0, 1.0], (j, 1)))
                    comp = logw + a * pt.log(b) - pt.gammaln(a) + (a - 1.0) * log_h[:, None] - b * lam[:, None]
                    gamma_lp = pt.logsumexp(comp, axis=1).flatten() + log_h  # + log Jacobian
                    ln_lp = -0.5 * ((log_h - ln[:, 0]) / ln[:, 1]) ** 2 - pt.log(ln[:, 1])
                    lp = pt.sum(pt.switch(pt.gt(is_g, 0.5), gamma_lp, ln_lp))
                pm.Potential(f"log_prior_{k}", lp)
                pm.Potential(f"log_lik_{k}", pt.sum(d * log_h - lam * e))
        return model

    def _values(self, td: TransitionData, priors: PriorSet) -> dict[str, np.ndarray]:
        nint = dict(self.structure.n_intervals)
        values = _data_arrays(td) | _prior_arrays(priors, nint, self.structure.n_components)
        # a prior that builds its own variables needs no centring of free variables
        return {k: v for k, v in values.items() if k not in {f"log_center_{t}" for t, _ in self.structure.custom}}

    def sample(
        self,
        td: TransitionData,
        priors: PriorSet,
        *,
        sampler: Sampler,
        draws: int,
        tune: int,
        chains: int,
        seed: int,
        progress: bool,
        target_accept: float,
    ) -> az.InferenceData:
        values = self._values(td, priors)
        names = [hazard_var(k) for k in TRANSITIONS]
        if sampler == "nutpie":
            import nutpie

            if self._nutpie_compiled is None:
                self._nutpie_compiled = nutpie.compile_pymc_model(self.model, freeze_model=False)
            compiled = self._nutpie_compiled.with_data(**values)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                idata = nutpie.sample(
                    compiled,
                    draws=draws,
                    tune=tune,
                    chains=chains,
                    seed=seed,
                    progress_bar=progress,
                    cores=min(chains, os.cpu_count() or 1),
                    target_accept=target_accept,
                )
        else:
            import logging

            import pymc as pm

            logger = logging.getLogger("pymc")
            level = logger.level
            if not progress:
                logger.setLevel(logging.ERROR)
            try:
                with self.model, warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    pm.set_data(values)
                    idata = pm.sample(
                        draws=draws,
                        tune=tune,
                        chains=chains,
                        # one process per two cores: for a model this small, process start-up and
                        # transfer cost more than they save (4 chains: 10 s sequential vs 13 s on 2)
                        cores=min(chains, max(1, (os.cpu_count() or 1) // 2)),
                        random_seed=seed,
                        progressbar=progress,
                        target_accept=target_accept,
                        compute_convergence_checks=False,
                        var_names=names,
                    )
            finally:
                logger.setLevel(level)
        post = idata.posterior[names]
        div = idata.sample_stats["diverging"].astype(bool)
        stats = {"diverging": div}
        # the log posterior density at each draw (PyMC: "lp", nutpie: "logp"), kept as "lp" for
        # power-scaling sensitivity: log prior = lp - log likelihood
        lp_name = next((n for n in ("lp", "logp") if n in idata.sample_stats), None)
        if lp_name is not None:
            stats["lp"] = idata.sample_stats[lp_name].astype(float)
        return az.InferenceData(posterior=post, sample_stats=xr.Dataset(stats))


_BACKENDS: dict[tuple, NutsBackend] = {}


def nuts_backend(structure: _Structure, coords: dict[str, list[str]]) -> NutsBackend:
    """The cached compiled model for a structure (compiled once per process)."""
    key = (structure, tuple((k, tuple(v)) for k, v in coords.items()))
    if key not in _BACKENDS:
        _BACKENDS[key] = NutsBackend(structure, coords)
    return _BACKENDS[key]


def default_sampler() -> Sampler:
    """nutpie when installed (much faster after compilation), else PyMC's NUTS."""
    return "nutpie" if importlib.util.find_spec("nutpie") is not None else "pymc"


# ----------------------------------------------------------------------------- the model


class Model:
    r"""PWE illness–death model of one or more outcome tables (reconstructions).

    Parameters
    ----------
    data
        One validated outcome table or a list of them (reconstructed draws of the same cohort).
    priors
        A :class:`~models.priors.PriorSet`; default :func:`~models.priors.weak` (built for the cut points).
    cuts
        Cut points (days from transplant) of the relapse, NRM and GvHD hazards; first 0, strictly
        increasing, finite; the last interval is open.
    relapse_death_cuts
        Cut points (days since relapse) of the death-after-relapse hazard.
    from_transplant
        At risk from day 0 (the published convention) instead of from ``entry_day``.
    sources
        Names of the tables (file paths) for error messages.

    Notes
    -----
    The constructor only validates and computes the sufficient statistics (events and exposure per
    transition and interval); sampling happens in :meth:`fit`.
    """

    def __init__(
        self,
        data: pd.DataFrame | Sequence[pd.DataFrame],
        *,
        priors: PriorSet | None = None,
        cuts: Sequence[float] = DEFAULT_CUTS,
        relapse_death_cuts: Sequence[float] = DEFAULT_RELAPSE_DEATH_CUTS,
        from_transplant: bool = False,
        sources: Sequence[str] | None = None,
    ) -> None:
        tables = [data] if isinstance(data, pd.DataFrame) else list(data)
        if not tables:
            raise ConfigError("data", found="no outcome tables", expected="at least one table")
        names = list(sources) if sources is not None else [f"table {i + 1}" for i in range(len(tables))]
        self.tables = [validate_outcomes(t, s) for t, s in zip(tables, names, strict=True)]
        self.sources = names
        self.cuts = validate_cuts(cuts, option="--cuts")
        self.relapse_death_cuts = validate_cuts(relapse_death_cuts, option="--relapse-death-cuts")
        self.priors = priors if priors is not None else weak(self.cuts, self.relapse_death_cuts)
        if not isinstance(self.priors, PriorSet):
            raise PriorError("priors", found=type(self.priors).__name__, expected="a PriorSet")
        self.priors.validate(self.n_intervals)
        self.from_transplant = bool(from_transplant)
        self.stats = [
            transition_data(t, self.cuts, self.relapse_death_cuts, from_transplant=self.from_transplant)
            for t in self.tables
        ]
        self.data_hashes = [sha256_frame(t) for t in self.tables]

    @property
    def n_intervals(self) -> dict[str, int]:
        return {k: len(self.relapse_death_cuts) if k == "death_after_relapse" else len(self.cuts) for k in TRANSITIONS}

    @property
    def coords(self) -> dict[str, list[str]]:
        return {
            "interval": interval_labels(self.cuts),
            "interval_after_relapse": interval_labels(self.relapse_death_cuts),
        }

    def fit(
        self,
        *,
        engine: Engine = "exact",
        draws: int = 1000,
        chains: int = 4,
        tune: int = 1000,
        seed: int = DEFAULT_SEED,
        sampler: Sampler | None = None,
        target_accept: float = 0.9,
        progress: bool = False,
    ) -> az.InferenceData:
        """Posterior draws of every hazard, for every table.

        Returns an InferenceData whose posterior holds ``hazard_<transition>`` (per day) with dims
        ``(chain, draw, table, interval)``; ``sample_stats.diverging`` (chain, draw, table);
        ``constant_data`` the events and exposures (aggregates, never patient rows); and attributes
        describing the prior, engine, sampler settings, cut points, seed and data hashes.
        """
        if engine not in ENGINES:
            raise ConfigError("--engine", found=engine, expected=f"one of {list(ENGINES)}")
        if sampler is not None and sampler not in SAMPLERS:
            raise ConfigError("--sampler", found=sampler, expected=f"one of {list(SAMPLERS)}")
        for name, v in (("--draws", draws), ("--chains", chains)):
            if int(v) < 1:
                raise ConfigError(name, found=v, expected="a whole number >= 1")
        if engine == "exact" and not self.priors.conjugate:
            raise ConfigError(
                "--engine", found="exact", expected=f"'nuts' (prior set '{self.priors.name}' is not all gamma mixtures)"
            )
        seeds = np.random.SeedSequence(seed).spawn(len(self.stats))
        per_table = []
        if engine == "exact":
            used_sampler = "closed-form"
            for td, ss in zip(self.stats, seeds, strict=True):
                rng = np.random.default_rng(ss)
                per_table.append(self._fit_exact(td, draws=draws, chains=chains, rng=rng))
        else:
            used_sampler = sampler or default_sampler()
            if used_sampler == "nutpie" and importlib.util.find_spec("nutpie") is None:
                raise ConfigError("--sampler", found="nutpie", expected="'pymc' (nutpie is not installed)")
            backend = nuts_backend(_structure(self.priors, self.n_intervals), self.coords)
            for i, (td, ss) in enumerate(zip(self.stats, seeds, strict=True)):
                started = time.perf_counter()
                if progress:
                    first = i == 0 and used_sampler == "nutpie" and backend._nutpie_compiled is None
                    sys.stderr.write(
                        f"sampling table {i + 1}/{len(self.stats)} ({os.path.basename(self.sources[i])}) with "
                        f"{used_sampler}: {chains} chains x ({tune} tuning + {draws} draws)"
                        + (" after a one-off compilation" if first else "")
                        + "\n"
                    )
                    sys.stderr.flush()
                per_table.append(
                    backend.sample(
                        td,
                        self.priors,
                        sampler=used_sampler,
                        draws=draws,
                        tune=tune,
                        chains=chains,
                        seed=int(ss.generate_state(1)[0]),
                        progress=progress,
                        target_accept=target_accept,
                    )
                )
                if progress:
                    sys.stderr.write(f"  table {i + 1} done in {time.perf_counter() - started:.1f} s\n")
        post = xr.concat([p.posterior for p in per_table], dim="table")
        post = post.transpose("chain", "draw", "table", ...)
        div = xr.concat([p.sample_stats["diverging"] for p in per_table], dim="table")
        div = div.transpose("chain", "draw", "table")
        tables = np.arange(len(self.stats))
        post = post.assign_coords(table=tables)
        div = div.assign_coords(table=tables)
        stats = {"diverging": div}
        if all("lp" in p.sample_stats for p in per_table):
            lp = xr.concat([p.sample_stats["lp"] for p in per_table], dim="table").transpose("chain", "draw", "table")
            stats["lp"] = lp.assign_coords(table=tables)
        const = {}
        for k in TRANSITIONS:
            dim = interval_dim(k)
            const[f"events_{k}"] = (("table", dim), np.stack([td.events[k] for td in self.stats]))
            const[f"exposure_{k}"] = (("table", dim), np.stack([td.exposure[k] for td in self.stats]))
        constant = xr.Dataset(const, coords={"table": tables, **self.coords})
        idata = az.InferenceData(posterior=post, sample_stats=xr.Dataset(stats), constant_data=constant)
        idata.posterior.attrs.update(
            self.run_attrs(
                engine=engine,
                sampler=used_sampler,
                draws=draws,
                chains=chains,
                tune=tune if engine == "nuts" else 0,
                seed=seed,
                target_accept=target_accept,
            )
        )
        return idata

    def _fit_exact(self, td: TransitionData, *, draws: int, chains: int, rng: np.random.Generator) -> az.InferenceData:
        n = draws * chains
        data = {}
        for k in TRANSITIONS:
            spec = self.priors.per_interval(k, self.n_intervals[k])
            x = exact_posterior_draws(spec, td.events[k], td.exposure[k], n, rng)  # type: ignore[arg-type]
            data[hazard_var(k)] = (("chain", "draw", interval_dim(k)), x.reshape(chains, draws, -1))
        post = xr.Dataset(data, coords={"chain": np.arange(chains), "draw": np.arange(draws), **self.coords})
        div = xr.DataArray(
            np.zeros((chains, draws), bool),
            dims=("chain", "draw"),
            coords={"chain": np.arange(chains), "draw": np.arange(draws)},
        )
        return az.InferenceData(posterior=post, sample_stats=xr.Dataset({"diverging": div}))

    def run_attrs(self, **settings: object) -> dict[str, str | int | float]:
        """Attributes describing the run (JSON strings where structured)."""
        return {
            "model": "piecewise-exponential illness-death (models.pwe)",
            "engine": str(settings["engine"]),
            "seed": int(settings["seed"]),  # type: ignore[arg-type]
            "prior_set": self.priors.name,
            "prior": json.dumps(self.priors.params()),
            "sampler": json.dumps({k: v for k, v in settings.items() if k not in ("engine", "seed")}),
            "cuts": json.dumps([float(c) for c in self.cuts]),
            "relapse_death_cuts": json.dumps([float(c) for c in self.relapse_death_cuts]),
            "from_transplant": int(self.from_transplant),
            "data_sha256": json.dumps(self.data_hashes),
            "data_sources": json.dumps([os.path.basename(s) for s in self.sources]),
        }


# ----------------------------------------------------------------------------- posterior helpers


def hazard_draws(idata: az.InferenceData, max_draws: int | None = 4000) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Pooled hazard draws ``{transition: (n, J)}`` and the table index of each draw.

    Equal numbers per table: at most ``max_draws // n_tables`` per table, evenly spaced over the
    flattened chains and draws (deterministic, so summaries are reproducible).
    """
    post = idata.posterior
    n_tab = post.sizes["table"]
    n_each = post.sizes["chain"] * post.sizes["draw"]
    take = n_each if max_draws is None else max(1, min(n_each, max_draws // n_tab))
    idx = np.unique(np.linspace(0, n_each - 1, take).round().astype(int))
    out: dict[str, np.ndarray] = {}
    for k in TRANSITIONS:
        v = post[hazard_var(k)].transpose("table", "chain", "draw", ...).to_numpy()
        v = v.reshape(n_tab, n_each, -1)[:, idx, :]
        out[k] = v.reshape(n_tab * idx.size, -1)
    table_index = np.repeat(np.arange(n_tab), idx.size)
    return out, table_index


def diagnostics(idata: az.InferenceData) -> pd.DataFrame:
    """R-hat (rank-normalised), bulk and tail ESS per hazard and table, divergences per table.

    Columns: variable, table, interval, r_hat, ess_bulk, ess_tail, divergences, ok. A row fails
    (``ok`` False) if R-hat > :data:`RHAT_MAX`, bulk ESS < :data:`ESS_BULK_MIN` or its table had any
    divergent transition.
    """
    post = idata.posterior[[hazard_var(k) for k in TRANSITIONS]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rhat = az.rhat(post)
        ess_b = az.ess(post, method="bulk")
        ess_t = az.ess(post, method="tail")
    div = idata.sample_stats["diverging"].sum(dim=("chain", "draw")).to_numpy().astype(int)
    rows = []
    for k in TRANSITIONS:
        v = hazard_var(k)
        dim = interval_dim(k)
        labels = list(post[v][dim].to_numpy())
        r = rhat[v].transpose("table", dim).to_numpy()
        eb = ess_b[v].transpose("table", dim).to_numpy()
        et = ess_t[v].transpose("table", dim).to_numpy()
        for t in range(r.shape[0]):
            for j, lab in enumerate(labels):
                ok = bool(r[t, j] <= RHAT_MAX and eb[t, j] >= ESS_BULK_MIN and div[t] == 0)
                rows.append(
                    {
                        "variable": v,
                        "table": t,
                        "interval": str(lab),
                        "r_hat": float(r[t, j]),
                        "ess_bulk": float(eb[t, j]),
                        "ess_tail": float(et[t, j]),
                        "divergences": int(div[t]),
                        "ok": ok,
                    }
                )
    return pd.DataFrame(rows)


def diagnostics_ok(diag: pd.DataFrame) -> bool:
    """True when every hazard of every table passed the convergence checks."""
    return bool(diag["ok"].all())
