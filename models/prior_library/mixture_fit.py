r"""Gamma mixtures fitted by EM to a MAP prior's predictive draws, and their fit quality.

Meta-analytic-predictive prior (Neuenschwander et al. 2010; Schmidli et al. 2014)
    :math:`d_{sj} \sim \mathrm{Poisson}(\lambda_{sj} E_{sj})` (kernel, pseudo-counts may be fractional),
    :math:`\log\lambda_{sj} = \mu_j + \tau_j z_{sj}`, :math:`z_{sj}\sim\mathcal N(0,1)`,
    :math:`\mu_j \sim \mathcal N(\log(1/365), 2^2)` (one event per patient-year, 95% range ×/÷ 50),
    :math:`\tau_j \sim \mathrm{HalfNormal}(s_\tau)` (default :math:`s_\tau = 0.5`, "moderate"
    between-study heterogeneity). The predictive :math:`\lambda_{\star j} = \exp(\mu_j + \tau_j z_\star)`
    is approximated by a gamma mixture fitted by EM to its draws (:func:`fit_gamma_mixture`) with
    the fewest components (1–4) whose fit quality — KS distance and relative quantile errors
    (:func:`mixture_fit_quality`) — is below :data:`MAP_KS_TOL` and :data:`MAP_QUANTILE_TOL`.

The MAP fit itself (:class:`~models.map_prior.MapFit`, :func:`~models.map_prior.fit_map`, by
quadrature, and its on-disk cache) lives in :mod:`models.map_prior`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from models.priors import GammaMixture

#: Tolerances the MAP mixture must meet against the hierarchical model's predictive draws.
MAP_KS_TOL: float = 0.03
MAP_QUANTILE_TOL: float = 0.10
MAP_QUANTILES: tuple[float, ...] = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)


def _gamma_mle(x: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    """Weighted gamma MLE (Minka 2002 start + Newton on the shape)."""
    sw = r.sum()
    m = float((r * x).sum() / sw)
    s = math.log(m) - float((r * np.log(x)).sum() / sw)
    s = max(s, 1e-8)
    a = (3 - s + math.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
    for _ in range(20):
        g = math.log(a) - special.digamma(a) - s
        a_new = a - g / (1 / a - special.polygamma(1, a))
        a = a_new if a_new > 0 else a / 2
        if abs(g) < 1e-10:
            break
    return a, a / m


def _gamma_logpdf(x: np.ndarray, lx: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Log densities of draws ``x`` (log ``lx``) under gammas ``(a_k, b_k)``: shape ``(n, K)``."""
    return a * np.log(b) - special.gammaln(a) + (a - 1.0) * lx[:, None] - b * x[:, None]


def fit_gamma_mixture(draws: np.ndarray, n_components: int, *, iters: int = 200, tol: float = 1e-6) -> GammaMixture:
    r"""EM for a ``n_components`` gamma mixture to positive draws (components started at quantile bands).

    E-step: responsibilities :math:`r_{ik} \propto w_k\,\mathrm{Gamma}(x_i; a_k, b_k)`; M-step: weights
    :math:`\bar r_k` and the weighted gamma MLE of each component (exact, Newton on the shape).
    """
    x = np.asarray(draws, float)
    lx = np.log(x)
    edges = np.quantile(lx, np.linspace(0, 1, n_components + 1))
    lab = np.clip(np.searchsorted(edges, lx, side="right") - 1, 0, n_components - 1)
    resp = np.eye(n_components)[lab] * 0.9 + 0.1 / n_components
    prev = -np.inf
    for _ in range(iters):
        w = resp.mean(axis=0)
        ab = np.array([_gamma_mle(x, resp[:, k]) for k in range(n_components)])
        logp = np.log(w) + _gamma_logpdf(x, lx, ab[:, 0], ab[:, 1])
        top = logp.max(axis=1, keepdims=True)  # log-sum-exp by hand: scipy's is 5x slower at this size
        dens = np.exp(logp - top)
        tot = dens.sum(axis=1, keepdims=True)
        ll = (top + np.log(tot))[:, 0]
        resp = dens / tot
        total = float(ll.sum())
        if total - prev < tol * abs(total):
            break
        prev = total
    w = resp.mean(axis=0)
    fits = [_gamma_mle(x, resp[:, k]) for k in range(n_components)]
    return GammaMixture(tuple(w), tuple(a for a, _ in fits), tuple(b for _, b in fits))


def mixture_cdf(mix: GammaMixture, x: np.ndarray) -> np.ndarray:
    """CDF of a gamma mixture (``special.gdtr(rate, shape, x)``: the regularised incomplete gamma)."""
    x = np.asarray(x, float)
    return sum(w * special.gdtr(b, a, x) for w, a, b in zip(mix.weights, mix.shapes, mix.rates, strict=True))


def mixture_quantile(mix: GammaMixture, p: float) -> float:
    from scipy.optimize import brentq

    lo, hi = 1e-14, max(stats.gamma.ppf(1 - 1e-9, a, scale=1 / b) for a, b in zip(mix.shapes, mix.rates, strict=True))
    return float(brentq(lambda v: float(mixture_cdf(mix, np.array([v]))[0]) - p, lo, hi, xtol=1e-14, rtol=1e-10))


def mixture_fit_quality(mix: GammaMixture, draws: np.ndarray) -> dict[str, float]:
    """KS distance and the largest relative quantile error (:data:`MAP_QUANTILES`) of ``mix`` vs ``draws``."""
    x = np.sort(np.asarray(draws, float))
    n = x.size
    cdf = mixture_cdf(mix, x)
    ks = float(max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n)))
    errs = {f"q{p:g}": abs(mixture_quantile(mix, p) / np.quantile(x, p) - 1.0) for p in MAP_QUANTILES}
    return {"ks": ks, "max_quantile_rel_error": float(max(errs.values())), **errs}


def best_gamma_mixture(
    draws: np.ndarray, max_components: int = 4, *, n_fit: int = 6000, seed: int = 0
) -> tuple[GammaMixture, dict[str, float]]:
    """The fewest-component EM fit (1..``max_components``) meeting the MAP tolerances, and its quality.

    EM runs on a random subset of ``n_fit`` draws (speed); the quality (:func:`mixture_fit_quality`)
    is measured on all draws. If no fit meets :data:`MAP_KS_TOL` and :data:`MAP_QUANTILE_TOL`, the
    one with the smallest largest-quantile error is returned (its quality says so).
    """
    full = np.asarray(draws, float)
    x = np.random.default_rng(seed).choice(full, n_fit, replace=False) if full.size > n_fit else full
    best, best_q = None, None
    for k in range(1, max_components + 1):
        mix = fit_gamma_mixture(x, k)
        q = mixture_fit_quality(mix, full)
        if best_q is None or q["max_quantile_rel_error"] < best_q["max_quantile_rel_error"]:
            best, best_q = mix, q
        if q["ks"] < MAP_KS_TOL and q["max_quantile_rel_error"] < MAP_QUANTILE_TOL:
            return mix, q
    assert best is not None and best_q is not None  # max_components >= 1
    return best, best_q
