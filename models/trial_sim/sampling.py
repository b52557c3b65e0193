r"""Drawing event times from piecewise-exponential hazards with competing non-relapse deaths.

Every function works on a whole chunk of simulated trials at once: arrays are ``(T, n)`` for
``T`` trials of ``n`` patients, hazards are ``(T, J)`` (one hazard vector per trial, so a design
prior gives every trial its own truth).

Simulation (inverse CDF of the piecewise-exponential competing risks)
    On the clock *days since study entry* with cut points :math:`0 = c_0 < \dots < c_{J-1}` (last
    interval open), relapse hazard :math:`\lambda^R_j` and NRM hazard :math:`\lambda^N_j`. The total
    hazard :math:`h_j = \lambda^R_j + \lambda^N_j` has cumulative hazard
    :math:`H(t) = \sum_j h_j |[0, t) \cap [c_j, c_{j+1})|`, so the first event time is
    :math:`T = H^{-1}(E)`, :math:`E = -\log U \sim \mathrm{Exp}(1)`, found by locating the interval
    :math:`k` with :math:`H(c_k) \le E < H(c_{k+1})` and solving linearly inside it. The cause is
    relapse with probability :math:`\lambda^R_k / h_k` (the hazard share in that interval), which is
    exact for constant hazards within intervals (Beyersmann, Allignol & Schumacher 2012, ch. 3).
    Death after relapse is sampled the same way on the clock *days since relapse* (clock reset).

References
----------
Beyersmann J, Allignol A, Schumacher M. Competing Risks and Multistate Models with R. Springer 2012.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def shift_cuts(cuts: Sequence[float], start: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut points re-expressed on the clock *days since* ``start`` and the intervals they keep.

    Returns ``(new_cuts, kept)``: ``new_cuts[0] = 0`` and ``kept`` indexes the original intervals
    that overlap ``[start, inf)`` (the first one partially).
    """
    c = np.asarray(cuts, float)
    first = int(np.searchsorted(c, start, side="right") - 1)
    kept = np.arange(first, c.size)
    new = np.concatenate([[0.0], c[first + 1 :] - start])
    return new, kept


def _cumulative(h: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Cumulative hazard at each cut point, ``(T, J)`` (the last interval is open)."""
    widths = np.diff(cuts)
    H = np.zeros_like(h)
    if widths.size:
        H[:, 1:] = np.cumsum(h[:, :-1] * widths, axis=1)
    return H


def _invert(E: np.ndarray, h: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Times ``H^{-1}(E)`` and the interval index of each, for ``E`` of shape ``(T, n)``."""
    H = _cumulative(h, cuts)
    k = np.zeros(E.shape, dtype=np.intp)
    for j in range(1, cuts.size):
        k += E >= H[:, j : j + 1]
    Hk = np.take_along_axis(H, k, axis=1)
    hk = np.take_along_axis(h, k, axis=1)
    t = cuts[k] + (E - Hk) / hk
    return t, k


def _merge_equal(cuts: np.ndarray, *hazards: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Drop cut points between intervals whose hazards are equal in every trial (fewer passes, same law)."""
    keep = [0] + [j for j in range(1, cuts.size) if not all(np.array_equal(h[:, j], h[:, j - 1]) for h in hazards)]
    if len(keep) == cuts.size:
        return cuts, hazards
    return cuts[keep], tuple(h[:, keep] for h in hazards)


def competing_from(
    E: np.ndarray, u: np.ndarray, lam_r: np.ndarray, lam_n: np.ndarray, cuts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First event time and cause (1 relapse, 2 NRM) from given ``Exp(1)`` draws ``E`` and uniforms ``u``.

    ``E``, ``u`` are ``(T, n)``; ``lam_r``, ``lam_n`` are ``(T, J)`` hazards per day on ``cuts``
    (clock starting at 0, last interval open), all > 0. Inverse CDF as in the module docstring.
    """
    cuts, (lam_r, lam_n) = _merge_equal(cuts, lam_r, lam_n)
    h = lam_r + lam_n
    if cuts.size == 1:
        t = E / h
        share = lam_r / h
    else:
        t, k = _invert(E, h, cuts)
        share = np.take_along_axis(lam_r / h, k, axis=1)
    cause = np.where(u < share, 1, 2).astype(np.int8)
    return t, cause


def sample_competing(
    lam_r: np.ndarray, lam_n: np.ndarray, cuts: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """First event time and cause (1 relapse, 2 NRM) for ``n`` patients in each of ``T`` trials.

    ``lam_r``, ``lam_n`` are ``(T, J)`` hazards per day on ``cuts`` (clock starting at 0, last
    interval open), all > 0.
    """
    E = rng.standard_exponential((lam_r.shape[0], n))
    u = rng.random((lam_r.shape[0], n))
    return competing_from(E, u, lam_r, lam_n, cuts)


def pwe_from(E: np.ndarray, lam: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Event times ``H^{-1}(E)`` from given ``Exp(1)`` draws ``E`` ``(T, n)`` and one PWE hazard ``(T, J)``."""
    cuts, (lam,) = _merge_equal(cuts, lam)
    if cuts.size == 1:
        return E / lam
    t, _ = _invert(E, lam, cuts)
    return t


def sample_pwe(lam: np.ndarray, cuts: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Event times from one piecewise-exponential hazard ``(T, J)``: ``(T, n)``."""
    return pwe_from(rng.standard_exponential((lam.shape[0], n)), lam, cuts)


def sample_pwe_rows(lam: np.ndarray, cuts: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One event time per entry of ``rows`` (trial index) from hazard ``lam[rows]``: ``(len(rows),)``."""
    if rows.size == 0:
        return np.empty(0)
    return sample_pwe(lam[rows], cuts, 1, rng)[:, 0]
