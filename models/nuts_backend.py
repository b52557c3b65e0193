r"""The NUTS engine of the PWE model: one compiled PyMC model per prior structure, data swapped in.

Why a transport map
-------------------
The weakly informative baseline (:func:`models.priors.weak`) gives interval hazards
:math:`\mathrm{Gamma}(a, b)` priors with shapes :math:`a \approx 0.07`–:math:`0.5`, and the robust
mixtures of :mod:`models.prior_library` keep it as their last component. Where nobody is at risk
(:math:`E = 0`, e.g. death more than 90 days after relapse) the posterior is that prior. On the log
scale :math:`u = \log\lambda` its log density :math:`a u - b e^u` has an exponential left tail of
scale :math:`1/a` (:math:`\approx 14` for :math:`a = 0.073`: the 2.5% quantile lies some 50 units
left of the mode) and a double-exponential wall on the right, whose curvature :math:`b e^u` grows
without bound; a mixture adds a narrow informative bump on top. No single step size and diagonal
mass matrix suits both the flat tail and the wall: NUTS diverges at the wall and mixes slowly along
the tail. Rescaling cannot fix a shape, so the engine changes the variable NUTS sees.

Independent conjugate intervals
-------------------------------
An interval whose prior is a gamma mixture :math:`\sum_c w_c\,\mathrm{Gamma}(a_c, b_c)` and which
shares no parameter with any other interval has the exact posterior
:math:`\sum_c \tilde w_c\,\mathrm{Gamma}(\alpha_c, \beta_c)`, :math:`\alpha_c = a_c + D`,
:math:`\beta_c = b_c + E`, :math:`\tilde w_c \propto w_c\,\Gamma(\alpha_c)\,b_c^{a_c} /
(\Gamma(a_c)\,\beta_c^{\alpha_c})`. It is written as a latent-class model (component :math:`c \sim
\mathrm{Cat}(w)`, :math:`\lambda \mid c \sim \mathrm{Gamma}(a_c, b_c)`, whose marginal prior of
:math:`\lambda` is the mixture) and sampled through two free standard-normal coordinates
:math:`(s, z)`:

.. math::
    c(s) = \min\{k : \Phi(s) < \textstyle\sum_{i \le k} \tilde w_i\},\qquad
    u(s, z) = \log G_{c(s)}^{-1}\big(\Phi(z)\big),

with :math:`G_c` the CDF of :math:`\mathrm{Gamma}(\alpha_c, \beta_c)` (pytensor's ``gammaincinv``,
compiled by numba for nutpie). NUTS targets

.. math::
    q(s, z) = \underbrace{w_c\,\pi_c(e^u)\,e^u\, e^{D u - E e^u}}_{\text{model: prior} \times
    \text{likelihood}} \cdot \underbrace{\frac{\varphi(s)\,\varphi(z)}{\tilde w_c\,
    e^u g_c(e^u)}}_{\text{Jacobian}}, \qquad c = c(s),\ u = u(s, z),

where :math:`g_c` is the density of :math:`G_c`, :math:`\partial u / \partial z = \varphi(z) /
(e^u g_c(e^u))`, and the :math:`s`-segment of component :math:`c` has probability :math:`\tilde
w_c`. Its push-forward to :math:`(c, u)` is the latent-class posterior for *any* positive segment
widths and any reference :math:`G_c`, so the reference (computed here, separately from the exact
engine's :func:`models.pwe.gamma_mixture_posterior`) changes efficiency only, never the target:
the model term is the prior density plus the Poisson kernel, and the exact-vs-NUTS agreement tests
keep their meaning — a wrong update in the exact engine, or a wrong prior or likelihood term here,
would make the two disagree. With the exact reference, model and Jacobian cancel to
:math:`\varphi(s)\varphi(z)` times the marginal likelihood: in these coordinates NUTS sees a
standard normal whatever the shape, exposure or number of components (no divergences, and
antithetic draws: bulk ESS above the number of draws). :math:`c(s)` is piecewise constant, so
:math:`u` jumps where :math:`s` crosses a segment boundary; the target does not (the density is the
same constant on both sides), and HMC stays exact for a piecewise-smooth potential in any case
(its energy error enters the acceptance). With one-component priors only (:func:`models.priors.weak`
and every single-gamma set) there is no :math:`s`. The derivative of the map is supplied in closed
form (:func:`_log_gamma_quantile`), so only the value of ``gammaincinv`` is needed; it is computed
from :math:`\Phi(z)`, whose rounding near 1 matters only for :math:`z > 6` (probability
:math:`10^{-9}`), and clipped to :math:`[10^{-300}, 10^{300}]` (reached only for :math:`|z| > 10`).

Log-normal intervals (:class:`~models.priors.LogNormalHazard`) are not conjugate; they use the affine
map :math:`u = m + \tau z` with :math:`(m, \tau^2)` the mode and inverse curvature of their log
posterior :math:`D u - E e^u - (u - \mu)^2 / 2\sigma^2` (Newton's method, a Laplace reference).

Whole-transition priors
-----------------------
A :class:`~models.priors.RandomWalkLogHazard` keeps free :math:`z_j = \log\lambda_j -
\log\hat\lambda_j`, :math:`\hat\lambda_j = (D_j + 1/2) / (E_j + 182.5)`; a prior with ``build_pymc``
(the commensurate prior) creates its own variables. Their intervals are coupled, so no per-interval
reference map applies (the commensurate prior's exact posterior is computed by quadrature in
:mod:`models.commensurate_exact`, which the tests compare with this engine); a hierarchical
prior's shared scale makes a funnel, which :meth:`models.pwe.Model.fit`
meets with a target acceptance of 0.99 by default and, if a table still fails, a longer run.

Recorded log density
--------------------
``sample_stats.lp`` is the log density on the log-hazard scale of the per-interval parameters
(the sampler's log density minus the log Jacobian of the maps above, which the graph records as
``reparam_log_jacobian``), so power-scaling computed from it (:mod:`models.sensitivity`) does not
depend on the reference.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from dataclasses import dataclass
from typing import Any, Literal, cast

import arviz as az
import numpy as np
import xarray as xr
from pytensor.gradient import DisconnectedType
from pytensor.scalar.basic import UnaryScalarOp, same_out
from pytensor.tensor.elemwise import Elemwise
from scipy.special import gammaln, logsumexp, ndtri

from models.intervals import TRANSITIONS, TransitionData
from models.priors import (
    GammaMixture,
    IntervalPrior,
    LogNormalHazard,
    PriorSet,
    RandomWalkLogHazard,
    WholeTransitionPrior,
    is_whole_transition,
)

Sampler = Literal["pymc", "nutpie"]

#: log of the standard normal density's constant, :math:`\log\sqrt{2\pi}`
_LOG_SQRT_2PI: float = 0.5 * float(np.log(2.0 * np.pi))
#: segment boundary of a padded (absent) component on the :math:`s` scale: never crossed
_NEVER: float = 40.0
#: bounds on :math:`G^{-1}(\Phi(z))` (scaled by the rate): keep logarithms finite at :math:`|z| > 10`
_X_MIN, _X_MAX = 1e-300, 1e300


def hazard_var(transition: str) -> str:
    """Name of the posterior variable holding a transition's hazards (per day)."""
    return f"hazard_{transition}"


def interval_dim(transition: str) -> str:
    """Name of the interval dimension of a transition's hazards."""
    return "interval_after_relapse" if transition == "death_after_relapse" else "interval"


# ----------------------------------------------------------------------------- structure and data


@dataclass(frozen=True)
class _Structure:
    """What fixes the compiled graph: intervals per transition, prior family kind per transition
    (``gamma``: one gamma per interval; ``rw``: random walk; ``general``: gamma mixtures and/or
    log-normal; ``custom``: ``build_pymc``), and the largest number of mixture components of the
    ``general`` transitions. Hyperparameter values are data."""

    n_intervals: tuple[tuple[str, int], ...]
    families: tuple[tuple[str, str], ...]
    n_components: int
    #: whole-transition priors that build their own PyMC variables (``build_pymc``), e.g. the
    #: commensurate prior; their hyperparameters are part of the graph, hence of this key
    custom: tuple[tuple[str, Any], ...] = ()
    #: whether any interval has a log-normal prior (the graph then has a log-normal branch)
    lognormal: bool = False


def _family(spec: list[IntervalPrior] | WholeTransitionPrior) -> str:
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
    custom = []
    lognormal = False
    for k in TRANSITIONS:
        spec = priors.per_interval(k, nint[k])
        fam.append((k, _family(spec)))
        if fam[-1][1] == "custom":
            custom.append((k, spec))
        elif fam[-1][1] == "general" and isinstance(spec, list):  # "general" is always a list
            kmax = max([kmax, *(p.n_components for p in spec if isinstance(p, GammaMixture))])
            lognormal = lognormal or any(isinstance(p, LogNormalHazard) for p in spec)
    return _Structure(tuple((k, nint[k]) for k in TRANSITIONS), tuple(fam), kmax, tuple(custom), lognormal)


def _independent(structure: _Structure) -> list[str]:
    """Transitions whose intervals have independent priors (one block of the graph)."""
    return [k for k, f in structure.families if f in ("gamma", "general")]


def _laplace_lognormal(mu: float, sigma: float, events: float, exposure: float) -> tuple[float, float]:
    r"""Mode :math:`m` and :math:`\tau = (-f''(m))^{-1/2}` of :math:`f(u) = D u - E e^u - (u-\mu)^2/2\sigma^2`.

    :math:`f` is strictly concave, so damped Newton steps from :math:`\mu` converge.
    """
    u = mu
    for _ in range(100):
        grad = events - exposure * np.exp(u) - (u - mu) / sigma**2
        curv = exposure * np.exp(u) + 1.0 / sigma**2
        step = float(np.clip(grad / curv, -2.0, 2.0))
        u += step
        if abs(step) < 1e-10:
            break
    return float(u), float(1.0 / np.sqrt(exposure * np.exp(u) + 1.0 / sigma**2))


def _interval_arrays(
    spec: list, events: np.ndarray, exposure: np.ndarray, kmax: int, lognormal: bool
) -> dict[str, np.ndarray]:
    r"""Prior hyperparameters of independent intervals and their exact (or Laplace) reference.

    Gamma-mixture intervals: prior log weights, shapes, rates ``(J, kmax)`` (absent components
    padded) and the conjugate posterior's (the reference, computed here independently of the graph's
    prior and likelihood terms), with the boundaries of the components' segments on the :math:`s`
    scale, :math:`\Phi^{-1}` of the cumulative posterior weights. Log-normal intervals: prior
    :math:`(\mu, \sigma)` and Laplace :math:`(m, \tau)`.
    """
    j = len(spec)
    logw = np.full((j, kmax), -700.0)  # absent components: weight e^-700, and never selected
    a = np.ones((j, kmax))
    b = np.ones((j, kmax))
    ref_logw = np.full((j, kmax), -700.0)
    ref_a = np.ones((j, kmax))
    ref_b = np.ones((j, kmax))
    cut = np.full((j, max(kmax - 1, 1)), _NEVER)
    is_g = np.zeros(j)
    ln = np.tile([0.0, 1.0], (j, 1))
    ln_ref = np.tile([0.0, 1.0], (j, 1))
    for i, p in enumerate(spec):
        if isinstance(p, LogNormalHazard):
            ln[i] = [p.mu, p.sigma]
            ln_ref[i] = _laplace_lognormal(p.mu, p.sigma, float(events[i]), float(exposure[i]))
            continue
        is_g[i] = 1.0
        nc = p.n_components
        w, sh, rt = np.log(p.weights), np.asarray(p.shapes), np.asarray(p.rates)
        logw[i, :nc], a[i, :nc], b[i, :nc] = w, sh, rt
        al, be = sh + events[i], rt + exposure[i]
        logm = w + gammaln(al) - gammaln(sh) + sh * np.log(rt) - al * np.log(be)
        ref_logw[i, :nc], ref_a[i, :nc], ref_b[i, :nc] = logm - logsumexp(logm), al, be
        # boundaries between consecutive components; the last present one takes the rest
        cum = np.cumsum(np.exp(ref_logw[i, :nc]))[: nc - 1]
        cut[i, : nc - 1] = np.clip(ndtri(np.clip(cum, 0.0, 1.0)), -_NEVER, _NEVER)
    out: dict[str, np.ndarray] = {
        "shape": a,
        "rate": b,
        "logw": logw,
        "ref_shape": ref_a,
        "ref_rate": ref_b,
        "ref_logw": ref_logw,
    }
    if kmax > 1:
        out["ref_cut"] = cut
    if lognormal:
        out |= {"is_gamma": is_g, "lognormal": ln, "lognormal_ref": ln_ref}
    return out


def _values(structure: _Structure, td: TransitionData, priors: PriorSet) -> dict[str, np.ndarray]:
    """Every shared variable of the compiled model for one table and prior set."""
    nint = dict(structure.n_intervals)
    families = dict(structure.families)
    out: dict[str, np.ndarray] = {}
    block: list[dict[str, np.ndarray]] = []
    for k in TRANSITIONS:
        d, e = td.events[k].astype(float), td.exposure[k].astype(float)
        out[f"events_{k}"] = d
        out[f"exposure_{k}"] = e
        spec = priors.per_interval(k, nint[k])
        if families[k] == "custom":
            continue
        if families[k] == "rw":
            out[f"log_center_{k}"] = np.log((d + 0.5) / (e + 182.5))
            rw = cast(RandomWalkLogHazard, spec)  # the structure was built from priors of the same families
            out[f"rw_{k}"] = np.array([rw.mu0, rw.sigma0, rw.sigma_step])
            continue
        block.append(_interval_arrays(cast(list, spec), d, e, structure.n_components, structure.lognormal))
    if block:  # one array per hyperparameter over the intervals of every independent transition
        out |= {f"{name}_intervals": np.concatenate([x[name] for x in block]) for name in block[0]}
    return out


# ----------------------------------------------------------------------------- graph pieces


class _NoGradient(UnaryScalarOp):
    """Identity whose output is disconnected from its input for differentiation.

    A stop-gradient that graph rewrites keep: pytensor's own (``disconnected_grad``) is a view that
    the pre-gradient rewrites of nutpie's compiler remove, and a straight-through term built on it
    then doubles the derivative. C code for PyMC's backend, numba through ``numpy.positive``;
    defined at module level so that PyMC can pickle the model for its worker processes.
    """

    nfunc_spec = ("positive", 1, 1)

    def impl(self, x):
        return x

    def c_code(self, node, name, inputs, outputs, sub):
        return f"{outputs[0]} = {inputs[0]};"

    def c_code_cache_version(self):
        return (1,)

    def connection_pattern(self, node):
        return [[False]]

    def grad(self, inputs, output_gradients):
        return [DisconnectedType()()]


_no_gradient = Elemwise(_NoGradient(same_out, name="no_gradient"))


def _log_gamma_quantile(z, alpha, beta):
    r""":math:`u = \log G^{-1}(\Phi(z))` for :math:`G = \mathrm{Gamma}(\alpha, \beta)`, elementwise.

    The value comes from ``gammaincinv`` (of :math:`\Phi(z)`, whose rounding near 1 matters only
    for :math:`z > 6`, probability :math:`10^{-9}` under the near-normal target); the derivative is
    supplied in closed form, :math:`du/dz = \varphi(z)\,\Gamma(\alpha) / (x^\alpha e^{-x})` with
    :math:`x = \beta e^u` (a straight-through term: the value of the first summand, the gradient of
    the second), so neither the inverse's own gradient (which overflows for shapes above 171, and
    does not exist with respect to the shape) nor its iterations enter the gradient.
    """
    import pytensor.tensor as pt

    x = pt.gammaincinv(alpha, 0.5 * pt.erfc(-z / float(np.sqrt(2.0))))
    x = _no_gradient(pt.clip(x, pt.constant(_X_MIN, dtype="float64"), pt.constant(_X_MAX, dtype="float64")))
    log_dudz = -0.5 * z**2 - _LOG_SQRT_2PI - (alpha * pt.log(x) - x - pt.gammaln(alpha))
    return pt.log(x) - pt.log(beta) + pt.exp(_no_gradient(log_dudz)) * (z - _no_gradient(z))


def _independent_block(structure: _Structure, data: dict):
    r"""Hazards of every interval with an independent prior, as one vector, and their potentials.

    ``data`` maps each transition to its ``(events, exposure)`` shared variables. Returns
    ``({transition: hazards}, log_potential, log_jacobian)``: ``log_potential`` is the model (prior on
    :math:`\log\lambda` plus likelihood) plus the log Jacobian of :math:`(s, z) \mapsto (c, u)`;
    ``log_potential - log_jacobian`` is the log density of the same prior (the marginal mixture)
    and likelihood on :math:`\log\lambda`. One vector for all transitions keeps the graph, and so
    the compilation, small.
    """
    import pymc as pm
    import pytensor.tensor as pt

    ks = _independent(structure)
    nint = dict(structure.n_intervals)
    kmax = structure.n_components
    sizes = [nint[k] for k in ks]

    def shared(stem: str, shape: tuple[int, ...], fill: float):
        return pm.Data(f"{stem}_intervals", np.full((sum(sizes), *shape), fill))

    d = pt.concatenate([data[k][0] for k in ks])
    e = pt.concatenate([data[k][1] for k in ks])
    a, b, logw = shared("shape", (kmax,), 1.0), shared("rate", (kmax,), 1.0), shared("logw", (kmax,), 0.0)
    ref_a, ref_b = shared("ref_shape", (kmax,), 1.0), shared("ref_rate", (kmax,), 1.0)
    ref_logw = shared("ref_logw", (kmax,), 0.0)
    z = pm.Flat("z_intervals", shape=sum(sizes))
    log_phi = -0.5 * z**2 - _LOG_SQRT_2PI
    if kmax > 1:
        cut = shared("ref_cut", (kmax - 1,), _NEVER)
        s = pm.Flat("s_intervals", shape=sum(sizes))
        onehot = pt.eq(pt.sum(pt.ge(s[:, None], cut), axis=1)[:, None], pt.arange(kmax)[None, :])

        def pick(x):
            return pt.sum(pt.switch(onehot, x, 0.0), axis=1)

        log_phi = log_phi - 0.5 * s**2 - _LOG_SQRT_2PI
    else:

        def pick(x):
            return x[:, 0]

    a_c, b_c, logw_c = pick(a), pick(b), pick(logw)
    alpha, beta, ref_logw_c = pick(ref_a), pick(ref_b), pick(ref_logw)
    u = _log_gamma_quantile(z, alpha, beta)
    lam = pt.exp(u)
    # log prior density of u under the chosen component (the Jacobian lambda included)
    model_c = logw_c + a_c * pt.log(b_c) - pt.gammaln(a_c) + a_c * u - b_c * lam
    ref_c = ref_logw_c + alpha * pt.log(beta) - pt.gammaln(alpha) + alpha * u - beta * lam
    jac = log_phi - ref_c
    if kmax > 1:  # the latent-class prior differs from the marginal mixture on u
        comp_lp = logw + a * pt.log(b) - pt.gammaln(a) + a * u[:, None] - b * lam[:, None]
        jac_natural = jac + model_c - pt.logsumexp(comp_lp, axis=1).flatten()
    else:
        jac_natural = jac
    lp = model_c + jac
    if structure.lognormal:
        is_g = pt.gt(shared("is_gamma", (), 1.0), 0.5)
        ln, ln_ref = shared("lognormal", (2,), 1.0), shared("lognormal_ref", (2,), 1.0)
        u_ln = ln_ref[:, 0] + ln_ref[:, 1] * z
        jac_ln = pt.log(ln_ref[:, 1]) + (log_phi + 0.5 * z**2 + _LOG_SQRT_2PI)  # log tau (+ log phi(s))
        lp_ln = -0.5 * ((u_ln - ln[:, 0]) / ln[:, 1]) ** 2 - pt.log(ln[:, 1]) - _LOG_SQRT_2PI + jac_ln
        u = pt.switch(is_g, u, u_ln)
        lam = pt.exp(u)
        lp = pt.switch(is_g, lp, lp_ln)
        jac_natural = pt.switch(is_g, jac_natural, jac_ln)
    lp = pt.sum(lp + d * u - e * lam)
    bounds = np.cumsum([0, *sizes])
    hazards = {k: lam[bounds[i] : bounds[i + 1]] for i, k in enumerate(ks)}
    return hazards, lp, pt.sum(jac_natural)


class NutsBackend:
    """A PyMC model compiled once for a given shape of data and prior; datasets swapped in.

    Free parameters and potentials per transition family are described in the module docstring.
    """

    def __init__(self, structure: _Structure, coords: dict[str, list[str]]) -> None:
        self.structure = structure
        self.coords = coords
        self._model = None
        self._nutpie_compiled: Any = None  # nutpie's compiled model (untyped library)

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
        data = {}
        with pm.Model(coords=self.coords) as model:
            for k in TRANSITIONS:
                j = nint[k]
                dim = interval_dim(k)
                d = pm.Data(f"events_{k}", np.zeros(j), dims=dim)
                e = pm.Data(f"exposure_{k}", np.ones(j), dims=dim)
                data[k] = (d, e)
                if families[k] == "custom":
                    # the prior creates its own variables and returns the hazards (per day)
                    lam = custom[k].build_pymc(k, j)
                    pm.Deterministic(hazard_var(k), lam, dims=dim)
                    pm.Potential(f"log_lik_{k}", pt.sum(d * pt.log(lam) - lam * e))
                elif families[k] == "rw":
                    center = pm.Data(f"log_center_{k}", np.zeros(j), dims=dim)
                    z = pm.Flat(f"z_{k}", dims=dim)
                    log_h = center + z
                    lam = pt.exp(log_h)
                    pm.Deterministic(hazard_var(k), lam, dims=dim)
                    hyper = pm.Data(f"rw_{k}", np.array([0.0, 1.0, 1.0]))
                    mu0, s0, ss = hyper[0], hyper[1], hyper[2]
                    lp = -0.5 * ((log_h[0] - mu0) / s0) ** 2 - pt.log(s0)
                    if j > 1:
                        steps = log_h[1:] - log_h[:-1]
                        lp = lp + pt.sum(-0.5 * (steps / ss) ** 2 - pt.log(ss))
                    pm.Potential(f"log_prior_{k}", lp)
                    pm.Potential(f"log_lik_{k}", pt.sum(d * log_h - lam * e))
            jacobian = pt.constant(0.0)
            if _independent(self.structure):
                hazards, lp, jacobian = _independent_block(self.structure, data)
                for k, lam in hazards.items():
                    pm.Deterministic(hazard_var(k), lam, dims=interval_dim(k))
                pm.Potential("log_post_intervals", lp)
            pm.Deterministic("reparam_log_jacobian", jacobian)
        return model

    def _values(self, td: TransitionData, priors: PriorSet) -> dict[str, np.ndarray]:
        return _values(self.structure, td, priors)

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
        """Posterior hazards of one table: ``posterior`` and ``sample_stats`` (``diverging``, ``lp``)."""
        values = self._values(td, priors)
        names = [hazard_var(k) for k in TRANSITIONS]
        keep = [*names, "reparam_log_jacobian"]
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
                        var_names=keep,
                    )
            finally:
                logger.setLevel(level)
        post = idata.posterior[names]
        div = idata.sample_stats["diverging"].astype(bool)
        stats = {"diverging": div}
        # the log posterior density at each draw (PyMC: "lp", nutpie: "logp") on the log-hazard
        # scale (module docstring), kept as "lp" for power-scaling: log prior = lp - log likelihood
        lp_name = next((n for n in ("lp", "logp") if n in idata.sample_stats), None)
        if lp_name is not None:
            lp = idata.sample_stats[lp_name].astype(float)
            if "reparam_log_jacobian" in idata.posterior:
                lp = lp - idata.posterior["reparam_log_jacobian"].astype(float)
            stats["lp"] = lp
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
