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
    log space. Independent draws; milliseconds. A transition with a commensurate prior (Hobbs et
    al. 2011; :class:`models.prior_library.CommensuratePrior`) is drawn by quadrature
    (:mod:`models.commensurate_exact`): given its one commensurability sd :math:`\sigma` the
    intervals are independent, so the posterior is a mixture over a Gauss–Legendre grid of
    :math:`\sigma` of one-dimensional posteriors of the log hazards on a fine uniform grid —
    independent draws whose discretisation error is far below the Monte Carlo error of 4,000 draws.
    The run attribute ``exact_methods`` says which transitions used which.
``nuts``
    The same model in PyMC 5 (:mod:`models.nuts_backend`), so any prior family of
    :mod:`models.priors` applies (log-normal, random walk on log hazards, whole-transition priors
    with ``build_pymc``). Intervals with independent gamma-mixture priors are sampled through the
    exact posterior's quantile map, :math:`\lambda = G_c^{-1}(\Phi(z))` with the component
    :math:`c` chosen by a second standard-normal coordinate: the target is still prior times
    likelihood, but NUTS sees a near-standard normal even where nobody is at risk and the prior's
    shape is far below 1. Events, exposures and prior hyperparameters are shared variables
    (``pm.Data``): one compiled model serves every dataset of the same shape. Sampled with nutpie
    when installed, else PyMC's NUTS. A table that fails the convergence checks is run again with
    2 and then 4 times the draws and tuning (:data:`EXTEND_MAX`), thinned back to the requested
    number of draws; a table that still fails raises a :class:`ConvergenceWarning` saying which
    hazards failed, their data, and what to try.

Several reconstructed tables are fitted separately with equal numbers of draws; the posterior keeps
a ``table`` dimension and pooled summaries mix the tables with equal weight (multiple imputation by
posterior pooling; Zhou & Reiter 2010).
"""

from __future__ import annotations

import importlib.util
import json
import os
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import arviz as az  # InferenceData groups (posterior, ...) are attributes its types do not declare: ignores below
import numpy as np
import pandas as pd
import xarray as xr

from models.commensurate_exact import commensurate_transitions, exact_eligible, max_events, quadrature, quadrature_attrs
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

# The NUTS engine lives in models.nuts_backend; its names are re-exported here for existing imports.
from models.nuts_backend import _BACKENDS as _BACKENDS
from models.nuts_backend import NutsBackend as NutsBackend
from models.nuts_backend import Sampler, _structure, default_sampler, hazard_var, interval_dim, nuts_backend
from models.nuts_backend import _family as _family
from models.nuts_backend import _Structure as _Structure
from models.priors import GammaMixture, PriorSet, gamma_intervals, weak
from models.progress import SILENT, Progress, as_progress

Engine = Literal["exact", "nuts"]
ENGINES: tuple[str, ...] = ("exact", "nuts")
SAMPLERS: tuple[str, ...] = ("pymc", "nutpie")


#: Convergence thresholds: a run fails if any R-hat exceeds :data:`RHAT_MAX`, any bulk or tail ESS
#: falls below :data:`ESS_BULK_MIN` / :data:`ESS_TAIL_MIN`, or any transition diverges (Vehtari et
#: al. 2021).
RHAT_MAX: float = 1.01
ESS_BULK_MIN: float = 400.0
ESS_TAIL_MIN: float = 400.0
#: Largest factor by which the NUTS run of a table failing the checks is lengthened (draws and tuning).
EXTEND_MAX: int = 4


class ConvergenceWarning(UserWarning):
    """A NUTS fit failed the convergence checks after the bounded extension."""


# ----------------------------------------------------------------------------- exact engine


def gamma_mixture_posterior(prior: GammaMixture, events: float, exposure: float) -> GammaMixture:
    """Conjugate update of a gamma mixture by ``events`` in ``exposure`` days (:meth:`GammaMixture.posterior`)."""
    return prior.posterior(events, exposure)


def exact_posterior_draws(
    prior: Sequence[GammaMixture], events: np.ndarray, exposure: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` draws ``(n, J)`` from the conjugate posterior of each interval's gamma(-mixture) prior."""
    out = np.empty((n, len(prior)))
    for j, p in enumerate(prior):
        post = gamma_mixture_posterior(p, float(events[j]), float(exposure[j]))
        out[:, j] = post.sample(rng, n) if post.n_components > 1 else rng.gamma(post.shapes[0], 1.0 / post.rates[0], n)
    return out


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
        cuts: Sequence[float] | np.ndarray = DEFAULT_CUTS,
        relapse_death_cuts: Sequence[float] | np.ndarray = DEFAULT_RELAPSE_DEATH_CUTS,
        from_transplant: bool = False,
        sources: Sequence[str] | None = None,
    ) -> None:
        tables = [data] if isinstance(data, pd.DataFrame) else list(data)
        if not tables:
            raise ConfigError("data", found="no outcome tables", expected="at least one table")
        names = list(sources) if sources is not None else [f"table {i + 1}" for i in range(len(tables))]
        self.tables = [validate_outcomes(t, s) for t, s in zip(tables, names, strict=True)]
        self.sources = names
        self.cuts = validate_cuts(cuts, option="cuts")
        self.relapse_death_cuts = validate_cuts(relapse_death_cuts, option="relapse_death_cuts")
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
        target_accept: float | None = None,
        progress: bool | Progress = False,
        extend: int = EXTEND_MAX,
    ) -> az.InferenceData:
        """Posterior draws of every hazard, for every table.

        Parameters
        ----------
        engine, sampler
            ``exact`` (closed form; quadrature for commensurate priors) or ``nuts`` with ``pymc`` or
            ``nutpie`` (default: nutpie when installed). ``exact`` needs every transition to have
            gamma-mixture or commensurate priors (:func:`models.commensurate_exact.exact_eligible`).
        draws, chains, tune
            Draws kept per chain and table; NUTS tuning steps per chain.
        target_accept
            NUTS target acceptance rate; default 0.9, or 0.99 when a whole-transition prior builds its
            own hierarchical variables (``build_pymc``, e.g. the commensurate prior: a shared scale
            over log hazards makes a funnel, whose neck needs small steps).
        seed
            Seed of the whole run; every table gets its own stream.
        progress
            A :class:`models.progress.Progress` reporter of the NUTS tables (``True``: lines on
            standard error, with the sampler's own progress bar).
        extend
            NUTS only: largest factor by which a table failing the checks of :func:`diagnostics` is
            run longer. A failing table is sampled again with twice, then four times (up to
            ``extend``) the draws and tuning and a target acceptance of at least 0.95, then 0.99,
            and every ``f``-th draw is kept, so every table keeps ``draws`` draws per chain (a kept
            draw counts as divergent if any transition it stands for diverged). ``1`` never
            extends; nor is a run extended when ``draws * chains`` is below the ESS thresholds,
            which thinning cannot reach. A table that still fails raises a
            :class:`ConvergenceWarning` with :func:`convergence_advice`.

        Returns
        -------
        InferenceData
            ``posterior``: ``hazard_<transition>`` (per day) with dims ``(chain, draw, table,
            interval)``; ``sample_stats.diverging`` (chain, draw, table) and, for NUTS, ``lp``;
            ``constant_data``: the events and exposures (aggregates, never patient rows); attributes
            describing the prior, engine, sampler settings (with the extension factor of each
            table), cut points, seed and data hashes.
        """
        if engine not in ENGINES:
            raise ConfigError("engine", found=engine, expected=f"one of {list(ENGINES)}")
        if sampler is not None and sampler not in SAMPLERS:
            raise ConfigError("sampler", found=sampler, expected=f"one of {list(SAMPLERS)}")
        for name, v in (("draws", draws), ("chains", chains)):
            if int(v) < 1:
                raise ConfigError(name, found=v, expected="a whole number >= 1")
        if engine == "exact" and not exact_eligible(self.priors):
            raise ConfigError(
                "engine",
                found="exact",
                expected=f"'nuts' (prior set '{self.priors.name}' is not all gamma mixtures or commensurate priors)",
            )
        if target_accept is None:
            custom = _structure(self.priors, self.n_intervals).custom if engine == "nuts" else ()
            target_accept = 0.99 if custom else 0.9
        seeds = np.random.SeedSequence(seed).spawn(len(self.stats))
        rep = as_progress(progress)
        per_table = []
        factors: list[int] = []
        if engine == "exact":
            used_sampler = "closed-form"
            for k, cp in commensurate_transitions(self.priors).items():  # build each grid once, for all tables
                quadrature(cp, max_events=max_events(self.stats, k))
            for td, ss in zip(self.stats, seeds, strict=True):
                rng = np.random.default_rng(ss)
                per_table.append(self._fit_exact(td, draws=draws, chains=chains, rng=rng))
        else:
            used_sampler = sampler or default_sampler()
            if used_sampler == "nutpie" and importlib.util.find_spec("nutpie") is None:
                raise ConfigError("sampler", found="nutpie", expected="'pymc' (nutpie is not installed)")
            backend = nuts_backend(_structure(self.priors, self.n_intervals), self.coords)
            for i, (td, ss) in enumerate(zip(self.stats, seeds, strict=True)):
                if i == 0:
                    first = used_sampler == "nutpie" and backend._nutpie_compiled is None
                    rep.note(
                        f"NUTS ({used_sampler}) on {len(self.stats)} table(s): {chains} chains x ({tune} tuning + "
                        f"{draws} draws) each" + (", after a one-off compilation (~20 s)" if first else "")
                    )
                one, factor = _sample_extending(
                    backend,
                    td,
                    self.priors,
                    sampler=used_sampler,
                    draws=draws,
                    tune=tune,
                    chains=chains,
                    seed=ss,
                    progress=progress is True,  # the sampler's own bar only for the plain line reporter
                    report=rep,
                    target_accept=target_accept,
                    extend=max(1, int(extend)) if draws * chains >= max(ESS_BULK_MIN, ESS_TAIL_MIN) else 1,
                )
                per_table.append(one)
                factors.append(factor)
                rep.advance(f"NUTS tables ({used_sampler})", i + 1, len(self.stats))
        post = xr.concat([p.posterior for p in per_table], dim="table")  # type: ignore[attr-defined]
        post = post.transpose("chain", "draw", "table", ...)
        div = xr.concat([p.sample_stats["diverging"] for p in per_table], dim="table")  # type: ignore[attr-defined]
        div = div.transpose("chain", "draw", "table")
        tables = np.arange(len(self.stats))
        post = post.assign_coords(table=tables)
        div = div.assign_coords(table=tables)
        stats = {"diverging": div}
        if all("lp" in p.sample_stats for p in per_table):  # type: ignore[attr-defined]
            lp = xr.concat([p.sample_stats["lp"] for p in per_table], dim="table").transpose("chain", "draw", "table")  # type: ignore[attr-defined]
            stats["lp"] = lp.assign_coords(table=tables)
        const = {}
        for k in TRANSITIONS:
            dim = interval_dim(k)
            const[f"events_{k}"] = (("table", dim), np.stack([td.events[k] for td in self.stats]))
            const[f"exposure_{k}"] = (("table", dim), np.stack([td.exposure[k] for td in self.stats]))
        constant = xr.Dataset(const, coords={"table": tables, **self.coords})
        idata = az.InferenceData(posterior=post, sample_stats=xr.Dataset(stats), constant_data=constant)
        if engine == "exact":
            idata.posterior.attrs["exact_methods"] = quadrature_attrs(self.priors, self.stats)  # type: ignore[attr-defined]
        idata.posterior.attrs.update(  # type: ignore[attr-defined]
            self.run_attrs(
                engine=engine,
                sampler=used_sampler,
                draws=draws,
                chains=chains,
                tune=tune if engine == "nuts" else 0,
                seed=seed,
                target_accept=target_accept,
                **({"extension": factors} if engine == "nuts" else {}),
            )
        )
        if engine == "nuts":
            diag = diagnostics(idata)
            if not diagnostics_ok(diag):
                warnings.warn(
                    convergence_advice(
                        diag, idata, draws=draws, chains=chains, extend=extend, conjugate=exact_eligible(self.priors)
                    ),
                    ConvergenceWarning,
                    stacklevel=2,
                )
        return idata

    def _fit_exact(self, td: TransitionData, *, draws: int, chains: int, rng: np.random.Generator) -> az.InferenceData:
        n = draws * chains
        data = {}
        comm = commensurate_transitions(self.priors)
        for k in TRANSITIONS:
            spec = self.priors.per_interval(k, self.n_intervals[k])
            if k in comm:
                grid = quadrature(comm[k], max_events=max_events(self.stats, k))
                x = grid.draw(td.events[k], td.exposure[k], n, rng)
            else:
                x = exact_posterior_draws(gamma_intervals(spec), td.events[k], td.exposure[k], n, rng)
            data[hazard_var(k)] = (("chain", "draw", interval_dim(k)), x.reshape(chains, draws, -1))
        post = xr.Dataset(data, coords={"chain": np.arange(chains), "draw": np.arange(draws), **self.coords})
        div = xr.DataArray(
            np.zeros((chains, draws), bool),
            dims=("chain", "draw"),
            coords={"chain": np.arange(chains), "draw": np.arange(draws)},
        )
        return az.InferenceData(posterior=post, sample_stats=xr.Dataset({"diverging": div}))

    def run_attrs(self, **settings: Any) -> dict[str, str | int | float]:
        """Attributes describing the run (JSON strings where structured)."""
        return {
            "model": "piecewise-exponential illness-death (models.pwe)",
            "engine": str(settings["engine"]),
            "seed": int(settings["seed"]),
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
    post = idata.posterior  # type: ignore[attr-defined]
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
    (``ok`` False) if R-hat > :data:`RHAT_MAX`, bulk ESS < :data:`ESS_BULK_MIN`, tail ESS <
    :data:`ESS_TAIL_MIN` or its table had any divergent transition.
    """
    post = idata.posterior[[hazard_var(k) for k in TRANSITIONS]]  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rhat = az.rhat(post)
        ess_b = az.ess(post, method="bulk")
        ess_t = az.ess(post, method="tail")
    div = idata.sample_stats["diverging"].sum(dim=("chain", "draw")).to_numpy().astype(int)  # type: ignore[attr-defined]
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
                ok = bool(r[t, j] <= RHAT_MAX and eb[t, j] >= ESS_BULK_MIN and et[t, j] >= ESS_TAIL_MIN and div[t] == 0)
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


def convergence_advice(
    diag: pd.DataFrame,
    idata: az.InferenceData,
    *,
    draws: int,
    chains: int,
    extend: int = EXTEND_MAX,
    conjugate: bool = False,
) -> str:
    """One paragraph on a failed NUTS fit: which hazards failed, their data, and what to try.

    Names the tables with divergent transitions, and each hazard failing R-hat or ESS with its worst
    values over the tables and its events and exposure (range over the tables); suggests: enough
    draws for the thresholds, more tuning and draws, a higher target acceptance for divergences,
    the exact engine for prior sets it fits, and a prior with more shape (or merged intervals)
    where nobody is at risk. ``extend`` is the extension factor allowed; ``conjugate`` says
    whether the exact engine applies (every prior a gamma mixture or commensurate).
    """
    const = idata.constant_data if "constant_data" in idata.groups() else None  # type: ignore[attr-defined]
    by_table = diag.groupby("table")["divergences"].first()
    parts = []
    if (by_table > 0).any():
        div = by_table[by_table > 0]
        parts.append(
            f"divergent transitions in table(s) {', '.join(str(int(t) + 1) for t in div.index)} "
            f"({int(div.min())}-{int(div.max())} each)"
        )
    slow = diag[(diag["r_hat"] > RHAT_MAX) | (diag["ess_bulk"] < ESS_BULK_MIN) | (diag["ess_tail"] < ESS_TAIL_MIN)]
    for (var, interval), rows in slow.groupby(["variable", "interval"], sort=False):
        k = str(var).removeprefix("hazard_")
        data = ""
        if const is not None and f"events_{k}" in const:
            dim = interval_dim(k)
            d = const[f"events_{k}"].sel({dim: interval}).to_numpy()
            e = const[f"exposure_{k}"].sel({dim: interval}).to_numpy()
            data = f"; {d.min():g}-{d.max():g} events in {e.min():.0f}-{e.max():.0f} days"
        parts.append(
            f"{var}[{interval}] (table(s) {', '.join(str(int(t) + 1) for t in rows['table'])}: R-hat "
            f"{rows['r_hat'].max():.3f}, ESS bulk {rows['ess_bulk'].min():.0f}, tail {rows['ess_tail'].min():.0f}"
            f"{data})"
        )
    shown = "; ".join(parts[:8]) + (f"; and {len(parts) - 8} more" if len(parts) > 8 else "")
    tips = []
    if draws * chains < max(ESS_BULK_MIN, ESS_TAIL_MIN):
        tips.append(f"draws x chains = {draws * chains} cannot reach ESS {ESS_BULK_MIN:.0f}: use more draws")
    tips.append("more tuning and draws (tune = 4000, draws = 4000)")
    if (by_table > 0).any():
        tips.append("a higher target acceptance (0.99) or the other sampler (pymc / nutpie)")
    if conjugate:
        tips.append(
            "engine = exact (every prior here is a gamma mixture or commensurate: it samples the posterior exactly)"
        )
    tips.append(
        "where nobody is at risk (0 days of exposure) the posterior is the prior: give such intervals a "
        "proper prior with more shape (gamma shape >= 1, or a log-normal) or merge them (cuts / "
        "relapse_death_cuts)"
    )
    return (
        f"NUTS convergence checks failed (R-hat <= {RHAT_MAX}, bulk and tail ESS >= {ESS_BULK_MIN:.0f}, "
        f"no divergences; failing tables run up to {extend}x longer): {shown}. Try: " + "; ".join(tips) + "."
    )


def _sample_extending(
    backend: NutsBackend,
    td: TransitionData,
    priors: PriorSet,
    *,
    sampler: Sampler,
    draws: int,
    tune: int,
    chains: int,
    seed: np.random.SeedSequence,
    progress: bool,
    target_accept: float,
    extend: int,
    report: Progress = SILENT,
) -> tuple[az.InferenceData, int]:
    """Sample one table; while it fails the checks, again with 2x, 4x ... (<= ``extend``) the run, thinned.

    Returns the kept run (``draws`` per chain) and its extension factor. Attempt ``m`` uses the
    ``m``-th word of the table's seed stream, so results are reproducible.
    """
    factors = [1] + [f for f in (2, 4, 8, 16) if f <= extend]
    accept = {1: target_accept, 2: max(target_accept, 0.95)}
    states = seed.generate_state(len(factors))
    for m, f in enumerate(factors):
        run = backend.sample(
            td,
            priors,
            sampler=sampler,
            draws=draws * f,
            tune=tune * f,
            chains=chains,
            seed=int(states[m]),
            progress=progress,
            target_accept=accept.get(f, max(target_accept, 0.99)),
        )
        one = _thin(run, f, draws)
        if m == len(factors) - 1 or diagnostics_ok(diagnostics(_as_table(one))):
            return one, f
        report.note(f"convergence checks failed: sampling the table again with {factors[m + 1]}x draws and tuning")
    raise AssertionError("unreachable")  # pragma: no cover


def _thin(run: az.InferenceData, f: int, draws: int) -> az.InferenceData:
    """Every ``f``-th draw (the last of each block); a kept draw diverges if any draw of its block did."""
    if f == 1:
        return run
    keep = slice(f - 1, f * draws, f)
    post = run.posterior.isel(draw=keep).assign_coords(draw=np.arange(draws))  # type: ignore[attr-defined]
    stats = {"diverging": run.sample_stats["diverging"].coarsen(draw=f).max().astype(bool)}  # type: ignore[attr-defined]
    if "lp" in run.sample_stats:  # type: ignore[attr-defined]
        stats["lp"] = run.sample_stats["lp"].isel(draw=keep)  # type: ignore[attr-defined]
    stats = {k: v.assign_coords(draw=np.arange(draws)) for k, v in stats.items()}
    return az.InferenceData(posterior=post, sample_stats=xr.Dataset(stats))


def _as_table(one: az.InferenceData) -> az.InferenceData:
    """A single table's run with a ``table`` dimension of length 1 (for :func:`diagnostics`)."""
    return az.InferenceData(
        posterior=one.posterior.expand_dims(table=[0]),  # type: ignore[attr-defined]
        sample_stats=xr.Dataset({"diverging": one.sample_stats["diverging"].expand_dims(table=[0])}),  # type: ignore[attr-defined]
    )
