r"""Meta-analytic-predictive (MAP) prior by deterministic quadrature.

Model (Neuenschwander et al. 2010; Schmidli et al. 2014), for each interval :math:`j` separately —
the intervals share no parameter, so each is a two-parameter problem:

.. math::

    d_{sj} \mid \theta_{sj} &\sim \mathrm{Poisson}(E_{sj}\, e^{\theta_{sj}})
        \quad\text{(kernel } \lambda^{d} e^{-\lambda E}\text{; pseudo-counts may be fractional)},\\
    \theta_{sj} &= \mu_j + \tau_j z_{sj}, \qquad z_{sj} \sim \mathcal N(0, 1),\\
    \mu_j &\sim \mathcal N(\log(1/365),\ 2^2), \qquad \tau_j \sim \mathrm{HalfNormal}(s_\tau).

A source with :math:`E_{sj} = 0` contributes nothing to interval :math:`j`; an interval no source
informs gets ``None``. The MAP prior is the predictive of a new source,
:math:`\lambda_{\star j} = \exp(\mu_j + \tau_j z_\star)`, i.e. the posterior mixture of
:math:`\mathrm{LogNormal}(\mu_j, \tau_j^2)`.

Computation (no MCMC)
    1. Source marginal likelihood :math:`L_s(\mu, \tau) = \int \exp(d\theta - E e^\theta)\,
       \mathcal N(\theta; \mu, \tau^2)\,d\theta` by adaptive Gauss–Hermite quadrature (as lme4's
       ``nAGQ``): the log-integrand :math:`h(\theta) = d\theta - E e^\theta - (\theta-\mu)^2/(2\tau^2)`
       is strictly concave with mode in closed form,
       :math:`\theta^\ast = \mu + \tau^2 d - \omega`, :math:`\omega = W\!\big(\tau^2 E e^{\mu + \tau^2 d}\big)`
       (Lambert :math:`W`, computed stably as the Wright omega function of the log argument), and
       curvature :math:`-h''(\theta^\ast) = (1 + \omega)/\tau^2`. With
       :math:`\theta = \theta^\ast + \sqrt2\,\hat\sigma x`, :math:`\hat\sigma = \tau/\sqrt{1+\omega}`,
       :math:`L_s = (1+\omega)^{-1/2}\pi^{-1/2}\sum_k w_k e^{x_k^2 + h(\theta_k)}` (:data:`AGQ_NODES`
       Gauss–Hermite nodes). As :math:`\tau \to 0` this tends to the Poisson kernel at
       :math:`\theta=\mu` without cancellation. Accuracy against adaptive ``scipy.integrate.quad``:
       :math:`|\Delta \log L_s| < 10^{-5}` for :math:`\tau \le 2.5` and any :math:`d \in [0, 200]`;
       the hardest case, :math:`d = 0` with a wide normal (:math:`\tau = 5`), is within
       :math:`2\times10^{-3}` (tests/test_map_prior.py).
    2. Posterior of :math:`(\mu_j, \tau_j)` on a grid: prior density times :math:`\prod_s L_s`.
       The grid is found from the data: coarse passes (:data:`COARSE_GRID`, :data:`COARSE_NODES`)
       start over :math:`\mu` within 10 prior SDs and 5 log-units of the sources' log-rates and
       :math:`\tau \in [0, \max(6 s_\tau, 2\,\mathrm{range\ of\ log\text{-}rates})]`, move an edge out
       while the region within :data:`LOG_TAIL` of the maximum touches it, and shrink the box to
       that region until it fills the box. The final pass has :data:`FINE_GRID` cells:
       ``FINE_GRID[1]`` :math:`\tau` columns, each with its own ``FINE_GRID[0]`` :math:`\mu` cells over
       that column's region (the posterior is a funnel, narrow in :math:`\mu` at small
       :math:`\tau`). The mass of the grid's outer cells and the total-variation change of the
       grid posterior when the nodes are halved are reported as the fit quality.
    3. The predictive is the grid mixture of log-normals with :math:`\mu` uniform within its cell
       (:meth:`MapPosterior.cdf` in closed form). Predictive draws: cells drawn by weight, uniform
       jitter within the cell, then :math:`\exp(\mu + \tau z)` — deterministic given the seed. A
       gamma mixture is fitted to them (:func:`models.prior_library.best_gamma_mixture`).

The quadrature takes 0.1–0.3 s per interval; with the gamma-mixture fit a MAP prior of 3–5
intervals takes 2–4 s, so fits are cached in-process and on disk (``TXBAYES_CACHE``).

References
----------
Neuenschwander B, Capkun-Niggli G, Branson M, Spiegelhalter DJ (2010). Summarizing historical
information on controls in clinical trials. Clin Trials 7:5–18.
Schmidli H, Gsteiger S, Roychoudhury S, O'Hagan A, Spiegelhalter D, Neuenschwander B (2014).
Robust meta-analytic-predictive priors in clinical trials with historical control information.
Biometrics 70:1023–1032.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import special
from scipy.optimize import brentq

from models.constants import DEFAULT_SEED
from models.errors import PriorError
from models.io import atomic_target
from models.priors import GammaMixture

#: Prior of :math:`\mu_j` (log events per day): one event per patient-year, 95% range ×/÷ 50.
MU_PRIOR_MEAN: float = math.log(1 / 365.0)
MU_PRIOR_SD: float = 2.0
#: Gauss–Hermite nodes of the adaptive quadrature of each source's marginal likelihood.
AGQ_NODES: int = 48
#: Grid cells kept: log posterior within this of the maximum (mass beyond is ~exp(-LOG_TAIL)).
LOG_TAIL: float = 25.0
#: Cells (mu, tau) of the coarse search passes and their Gauss–Hermite nodes (they only locate the mass).
COARSE_GRID: tuple[int, int] = (81, 41)
COARSE_NODES: int = 16
#: Cells of the final pass: ``FINE_GRID[0]`` mu cells in each of ``FINE_GRID[1]`` tau columns.
FINE_GRID: tuple[int, int] = (128, 96)
#: Predictive draws per interval (the gamma-mixture fit and its quality use them).
N_DRAWS: int = 40_000


# ----------------------------------------------------------------------------- marginal likelihood


@functools.cache
def _hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite.hermgauss(n)
    return x, np.log(w) + x**2


def log_source_likelihood(
    d: float, e: float, mu: np.ndarray | float, tau: np.ndarray | float, n_nodes: int = AGQ_NODES
) -> np.ndarray:
    r"""Log of :math:`L(\mu,\tau) = \int e^{d\theta - E e^\theta}\,\mathcal N(\theta;\mu,\tau^2)\,d\theta`.

    Adaptive Gauss–Hermite quadrature centred at the integrand's mode (closed form through the
    Wright omega function) and scaled by its curvature; ``mu`` and ``tau`` broadcast. ``tau = 0``
    gives the kernel :math:`d\mu - E e^\mu` exactly. Requires ``e > 0`` and ``d >= 0``.
    """
    mu, tau = np.broadcast_arrays(np.asarray(mu, float), np.asarray(tau, float))
    log_e = math.log(e)
    pos = tau > 0
    t = np.where(pos, tau, 1.0)
    a = mu + t * t * d
    omega = np.where(pos, special.wrightomega(log_e + 2.0 * np.log(t) + a).real, 0.0)
    x, lw = _hermite(n_nodes)
    zs = t * d - omega / t  # mode of theta, standardised: (theta* - mu) / tau
    u = zs[..., None] + math.sqrt(2.0) * x / np.sqrt(1.0 + omega)[..., None]  # (theta_k - mu) / tau
    th = mu[..., None] + t[..., None] * u
    h = d * th - np.exp(log_e + th) - 0.5 * u * u + lw
    hmax = h.max(axis=-1)
    lse = hmax + np.log(np.exp(h - hmax[..., None]).sum(axis=-1))  # scipy's logsumexp is 5x slower
    out = lse - 0.5 * np.log1p(omega) - 0.5 * math.log(math.pi)
    return np.where(pos, out, d * mu - np.exp(log_e + mu))


# ----------------------------------------------------------------------------- grid posterior


def _centres(lo: float, hi: float, n: int) -> tuple[np.ndarray, float]:
    step = (hi - lo) / n
    return lo + step * (np.arange(n) + 0.5), step


def _log_posterior(
    d: np.ndarray, e: np.ndarray, mu: np.ndarray, tau: np.ndarray, tau_scale: float, n_nodes: int
) -> np.ndarray:
    """Unnormalised log posterior density at ``mu`` (2-D) and ``tau`` (broadcast along the rows)."""
    lp = -0.5 * ((mu - MU_PRIOR_MEAN) / MU_PRIOR_SD) ** 2 - 0.5 * (tau / tau_scale) ** 2
    for ds, es in zip(d, e, strict=True):
        lp = lp + log_source_likelihood(float(ds), float(es), mu, tau, n_nodes)
    return lp


@dataclass(frozen=True)
class MapPosterior:
    r"""Grid posterior of :math:`(\mu_j, \tau_j)` of one interval and its log-normal-mixture predictive.

    Column ``k`` of the grid has :math:`\tau` cell centre ``tau[k]`` (width ``tau_step``) and its own
    :math:`\mu` cells centred at ``mu[:, k]`` (width ``mu_step[k]``): the posterior is a funnel,
    narrow in :math:`\mu` at small :math:`\tau`, so each column covers only its own mass.
    ``weights[i, k]`` is the posterior mass of cell ``(i, k)``; ``edge_mass`` is the mass of the
    outermost cells (the ``tau = 0`` boundary excepted) and ``quadrature_tv`` the total-variation
    change of ``weights`` when the Gauss–Hermite nodes are halved (an upper estimate of the
    quadrature error).
    """

    mu: np.ndarray
    tau: np.ndarray
    weights: np.ndarray
    mu_step: np.ndarray
    tau_step: float
    edge_mass: float
    quadrature_tv: float

    def _active(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        i, k = np.nonzero(self.weights > 1e-14 * self.weights.max())
        return self.mu[i, k], self.tau[k], self.weights[i, k], self.mu_step[k]

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        r"""Predictive :math:`P(\lambda_\star \le x)`, :math:`\mu` uniform within its cell (as the draws).

        A cell of width :math:`h` gives :math:`\frac{\tau}{h}[G(\frac{y-a}{\tau}) - G(\frac{y-b}{\tau})]`,
        :math:`y = \log x`, :math:`[a, b]` the cell, :math:`G(u) = u\Phi(u) + \phi(u)`; exact for any
        :math:`\tau`, including :math:`\tau \ll h` where a midpoint rule would be a staircase.
        """
        m, t, w, h = self._active()
        y = np.log(np.atleast_1d(np.asarray(x, float)))[:, None]
        ua, ub = (y - m + 0.5 * h) / t, (y - m - 0.5 * h) / t
        g = lambda u: u * special.ndtr(u) + np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)  # noqa: E731
        return (w * (t / h) * (g(ua) - g(ub))).sum(axis=1) / w.sum()

    def quantile(self, p: float) -> float:
        r"""Predictive quantile of :math:`\lambda_\star` (root of :meth:`cdf`)."""
        m, t, _, h = self._active()
        lo, hi = float(np.min(m - h - 12 * t)), float(np.max(m + h + 12 * t))
        return math.exp(brentq(lambda y: float(self.cdf(math.exp(y))[0]) - p, lo, hi, xtol=1e-12))

    def mean(self) -> float:
        r"""Predictive mean :math:`E\,\lambda_\star = \sum w\, e^{\mu + \tau^2/2}\,\sinh(h/2)/(h/2)`."""
        m, t, w, h = self._active()
        return float((w * np.exp(m + 0.5 * t * t) * np.sinh(0.5 * h) / (0.5 * h)).sum() / w.sum())

    def draws(self, n: int, seed: int) -> np.ndarray:
        """``n`` predictive draws: cells by weight, uniform jitter inside the cell, then exp(mu + tau z)."""
        rng = np.random.default_rng(seed)
        flat = self.weights.ravel()
        idx = rng.choice(flat.size, size=n, p=flat / flat.sum())
        i, k = np.divmod(idx, self.tau.size)
        mu = self.mu[i, k] + (rng.random(n) - 0.5) * self.mu_step[k]
        tau = self.tau[k] + (rng.random(n) - 0.5) * self.tau_step
        return np.exp(mu + tau * rng.standard_normal(n))


def _search_box(
    d: np.ndarray, e: np.ndarray, tau_scale: float, max_passes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Coarse passes: a box of (mu, tau) holding the region within :data:`LOG_TAIL` of the maximum.

    Returns the last coarse grid (``mu``, ``tau``), its selected cells and the final tau range.
    """
    lr = np.log((d + 0.5) / e)
    lo = min(MU_PRIOR_MEAN - 10 * MU_PRIOR_SD, float(lr.min()) - 5.0)
    hi = max(MU_PRIOR_MEAN + 10 * MU_PRIOR_SD, float(lr.max()) + 5.0)
    t_lo, t_hi = 0.0, max(6.0 * tau_scale, 2.0 * float(np.ptp(lr)))
    for _ in range(max_passes):
        mu, ms = _centres(lo, hi, COARSE_GRID[0])
        tau, ts = _centres(t_lo, t_hi, COARSE_GRID[1])
        lp = _log_posterior(d, e, mu[:, None], tau[None, :], tau_scale, COARSE_NODES)
        sel = lp > lp.max() - LOG_TAIL
        rows, cols = np.nonzero(sel.any(axis=1))[0], np.nonzero(sel.any(axis=0))[0]
        grow_lo, grow_hi = rows[0] == 0, rows[-1] == mu.size - 1
        grow_t = cols[-1] == tau.size - 1
        if grow_lo or grow_hi or grow_t:  # the mass reaches an edge: move it out
            w = hi - lo
            lo, hi = lo - w * grow_lo, hi + w * grow_hi
            t_hi = t_lo + 2.0 * (t_hi - t_lo) if grow_t else t_hi
            continue
        nlo, nhi = float(mu[rows[0]] - 1.5 * ms), float(mu[rows[-1]] + 1.5 * ms)
        ntlo, nthi = max(0.0, float(tau[cols[0]] - 1.5 * ts)), float(tau[cols[-1]] + 1.5 * ts)
        if (nhi - nlo) > 0.5 * (hi - lo) and (nthi - ntlo) > 0.5 * (t_hi - t_lo):
            return mu, tau, sel, ntlo, nthi
        lo, hi, t_lo, t_hi = nlo, nhi, ntlo, nthi
    return mu, tau, sel, t_lo, t_hi


def map_posterior(
    events: np.ndarray,
    exposure: np.ndarray,
    tau_scale: float,
    *,
    n_nodes: int = AGQ_NODES,
    fine: tuple[int, int] = FINE_GRID,
    max_passes: int = 12,
) -> MapPosterior:
    r"""Grid posterior of :math:`(\mu, \tau)` of one interval from its sources' events and exposure.

    Sources with zero exposure are left out; at least one source must have exposure.
    """
    d, e = np.asarray(events, float).ravel(), np.asarray(exposure, float).ravel()
    keep = e > 0
    d, e = d[keep], e[keep]
    if d.size == 0:
        raise PriorError("MAP prior", found="no source with exposure", expected="at least one")
    mu_c, tau_c, sel, t_lo, t_hi = _search_box(d, e, tau_scale, max_passes)
    # each coarse column's mu range (one coarse cell beyond its selected cells), filled across gaps
    ms = mu_c[1] - mu_c[0]
    has = sel.any(axis=0)
    first = np.where(has, np.argmax(sel, axis=0), 0)
    last = np.where(has, mu_c.size - 1 - np.argmax(sel[::-1], axis=0), 0)
    lo_c = np.interp(tau_c, tau_c[has], mu_c[first[has]] - 1.5 * ms)
    hi_c = np.interp(tau_c, tau_c[has], mu_c[last[has]] + 1.5 * ms)
    tau, ts = _centres(t_lo, t_hi, fine[1])
    k = np.searchsorted(tau_c, tau)
    c0, c1 = np.clip(k - 1, 0, tau_c.size - 1), np.clip(k, 0, tau_c.size - 1)
    lo, hi = np.minimum(lo_c[c0], lo_c[c1]), np.maximum(hi_c[c0], hi_c[c1])
    step = (hi - lo) / fine[0]
    mu = lo + step * (np.arange(fine[0])[:, None] + 0.5)

    def weights(nodes: int) -> np.ndarray:
        lp = _log_posterior(d, e, mu, tau[None, :], tau_scale, nodes) + np.log(step)
        w = np.exp(lp - lp.max())
        return w / w.sum()

    w = weights(n_nodes)
    tv = 0.5 * float(np.abs(w - weights(max(n_nodes // 2, 4))).sum())
    edge = np.zeros_like(w, bool)
    edge[[0, -1], :] = True
    edge[:, -1] = True
    edge[:, 0] |= t_lo > 0
    return MapPosterior(mu, tau, w, step, ts, float(w[edge].sum()), tv)


# ----------------------------------------------------------------------------- MAP fit


@dataclass(frozen=True)
class MapFit:
    """MAP prior per interval: the gamma mixtures, the predictive draws and the fit quality.

    ``quality[j]`` holds the gamma-mixture fit quality (``ks``, ``max_quantile_rel_error``, one entry
    per quantile) and the quadrature's ``grid_edge_mass`` and ``quadrature_tv``.
    """

    mixtures: tuple[GammaMixture | None, ...]
    draws: tuple[np.ndarray | None, ...]
    quality: tuple[dict[str, float] | None, ...]
    tau_scale: float


@functools.lru_cache(maxsize=64)
def _map_fit_cached(
    events: tuple, exposure: tuple, tau_scale: float, seed: int, draws: int, max_components: int
) -> MapFit:
    from models.prior_library import MAP_KS_TOL, MAP_QUANTILE_TOL, best_gamma_mixture  # (no import cycle)

    d = np.asarray(events, float)
    e = np.asarray(exposure, float)
    mixtures: list[GammaMixture | None] = []
    preds: list[np.ndarray | None] = []
    qual: list[dict[str, float] | None] = []
    for j in range(d.shape[1]):
        if not np.any(e[:, j] > 0):
            mixtures.append(None)
            preds.append(None)
            qual.append(None)
            continue
        post = map_posterior(d[:, j], e[:, j], tau_scale)
        lam = post.draws(draws, seed + j)
        mix, q = best_gamma_mixture(lam, max_components)
        if not (q["ks"] < MAP_KS_TOL and q["max_quantile_rel_error"] < MAP_QUANTILE_TOL):
            # EM runs on a random subset of the draws: retry once on a larger one, keep the better fit
            mix2, q2 = best_gamma_mixture(lam, max_components, n_fit=min(draws, 16_000), seed=1)
            if q2["max_quantile_rel_error"] < q["max_quantile_rel_error"]:
                mix, q = mix2, q2
        q["grid_edge_mass"] = post.edge_mass
        q["quadrature_tv"] = post.quadrature_tv
        mixtures.append(mix)
        preds.append(lam)
        qual.append(q)
    return MapFit(tuple(mixtures), tuple(preds), tuple(qual), tau_scale)


def fit_map(
    events: np.ndarray,
    exposure: np.ndarray,
    *,
    tau_scale: float = 0.5,
    seed: int = DEFAULT_SEED,
    draws: int = N_DRAWS,
    max_components: int = 4,
) -> MapFit:
    """Fit the hierarchical Poisson model (sources × intervals) and approximate each predictive by a mixture.

    ``events`` and ``exposure`` have shape ``(n_sources, n_intervals)``; an interval with no exposure in
    any source gets ``None`` (the caller keeps the weakly informative baseline there). ``draws`` is the
    number of predictive draws per interval. Results are cached per input, in-process and on disk
    (:func:`_map_cache_path`). The returned object may be shared: do not modify its arrays.
    """
    d, e = np.atleast_2d(events).astype(float), np.atleast_2d(exposure).astype(float)
    if d.shape != e.shape or np.any(d < 0) or np.any(e < 0) or not tau_scale > 0:
        raise PriorError(
            "MAP prior",
            found=(d.shape, e.shape, tau_scale),
            expected="events and exposure >= 0 of equal shape, tau_scale > 0",
        )
    args = (
        tuple(map(tuple, np.round(d, 10))),
        tuple(map(tuple, np.round(e, 8))),
        float(tau_scale),
        int(seed),
        int(draws),
        int(max_components),
    )
    path = _map_cache_path(args)
    if path is not None and path.exists():
        try:
            return _load_map_fit(path)
        except (OSError, ValueError, KeyError):  # unreadable cache entry: refit and overwrite
            pass
    fit = _map_fit_cached(*args)
    if path is not None:
        _save_map_fit(path, fit)
    return fit


# ----------------------------------------------------------------------------- on-disk cache

#: Kind of the on-disk MAP cache (:func:`models.io.cache_dir`: the user's cache folder, ``TXBAYES_CACHE``
#: moves it, ``TXBAYES_CACHE=off`` disables it).
MAP_CACHE_KIND = "map"


def _map_cache_path(args: tuple) -> Path | None:
    """Cache file of one MAP fit, keyed by its inputs, the numpy/scipy versions and the fitting code.

    The quadrature takes 0.1–0.3 s per interval, the gamma-mixture EM fit of its draws another
    ~0.5 s; sensitivity grids and trial planning build the same MAP priors many times, so fits are
    kept on disk. Any change of inputs, library version or of the code that computes and
    approximates the predictive (this module and the mixture fitting) changes the key.
    """
    from models.io import cache_dir

    root = cache_dir(MAP_CACHE_KIND)
    if root is None:
        return None
    import scipy

    from models import prior_library as pl

    code = inspect.getsource(sys.modules[__name__]) + "".join(
        inspect.getsource(f) for f in (pl.best_gamma_mixture, pl.fit_gamma_mixture, pl.mixture_fit_quality)
    )
    payload = json.dumps([args, scipy.__version__, np.__version__, pl.MAP_KS_TOL, pl.MAP_QUANTILE_TOL, code])
    return Path(root) / f"{hashlib.sha256(payload.encode()).hexdigest()[:32]}.npz"


def _save_map_fit(path: Path, fit: MapFit) -> None:
    arrays: dict[str, np.ndarray] = {"tau_scale": np.array(fit.tau_scale)}
    for j, (mix, dr, q) in enumerate(zip(fit.mixtures, fit.draws, fit.quality, strict=True)):
        if mix is None:
            continue
        arrays[f"w{j}"], arrays[f"a{j}"], arrays[f"b{j}"] = (
            np.asarray(x) for x in (mix.weights, mix.shapes, mix.rates)
        )
        arrays[f"draws{j}"] = np.asarray(dr)
        arrays[f"quality{j}"] = np.array(json.dumps(q))
    arrays["n"] = np.array(len(fit.mixtures))
    try:
        with atomic_target(path, suffix=".npz") as tmp:
            np.savez(tmp, **arrays)  # type: ignore[arg-type]  # numpy's stub: **kwds might fill allow_pickle
    except OSError:  # an unwritable cache only costs a refit next time
        pass


def _load_map_fit(path: Path) -> MapFit:
    with np.load(path, allow_pickle=False) as z:
        n = int(z["n"])
        mixtures: list[GammaMixture | None] = []
        draws: list[np.ndarray | None] = []
        quality: list[dict[str, float] | None] = []
        for j in range(n):
            if f"w{j}" not in z:
                mixtures.append(None)
                draws.append(None)
                quality.append(None)
                continue
            mixtures.append(GammaMixture(tuple(z[f"w{j}"]), tuple(z[f"a{j}"]), tuple(z[f"b{j}"])))
            draws.append(z[f"draws{j}"].copy())
            quality.append(json.loads(str(z[f"quality{j}"])))
        return MapFit(tuple(mixtures), tuple(draws), tuple(quality), float(z["tau_scale"]))
