r"""Hazard draws that represent design priors, and the cache of prior-set draws.

Prior sets of the literature library are turned into draws once per process (``_SET_DRAWS``),
optionally kept on disk by :func:`prefetch_prior_sets`; the current study's posterior comes from a
fitted posterior file (:func:`load_posterior_draws`) or its published totals
(:func:`published_posterior_draws`), and is discounted and robustified by :func:`discount_draws`
(Schmidli et al. 2014).

References
----------
Schmidli H, Gsteiger S, Roychoudhury S, et al. Robust meta-analytic-predictive priors in clinical
trials with historical control information. Biometrics 2014;70:1023-1032.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from models.constants import DATA_DIR, DEFAULT_CUTS, DEFAULT_SEED
from models.design.schema import DESIGN_PRIOR_DRAWS
from models.errors import ConfigError, PriorError, ToolkitError
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS
from models.io import read_toml


def _resolve_prior_set(name: str, path: str, where: str):
    """The named prior set (:func:`models.prior_library.load_prior_set`), errors naming the design file."""
    from models.prior_library import load_prior_set, set_names

    names = set_names()
    if name not in names:
        raise PriorError(path, where=where, field="set", found=name, expected=f"one of {sorted(names)}")
    return load_prior_set(name)


#: Draws of prior sets already built in this process, by (name, seed).
_SET_DRAWS: dict[tuple[str, int], dict[str, np.ndarray]] = {}


def _set_seed(name: str, seed: int) -> int:
    """Seed of a prior set's draws: the same set gives the same draws in every design."""
    return seed + zlib.crc32(name.encode()) % 1_000_000


def _build_set_draws(name: str, seed: int) -> dict[str, np.ndarray]:
    import logging

    from models.priors import sample_prior_hazards as sampler  # every prior family, commensurate included

    try:  # pymc sets its logger level on import: import it first so the quieter level sticks
        import pymc  # noqa: F401
    except ImportError:
        pass
    log = logging.getLogger("pymc")
    level = log.level
    log.setLevel(logging.WARNING)  # building a library set may run a small MCMC fit; keep stdout clean
    try:
        prior = _resolve_prior_set(name, "design prior", name)
        nint = {k: len(DEFAULT_CUTS) for k in ("relapse", "nrm", "gvhd")}
        nint["death_after_relapse"] = len(DEFAULT_RELAPSE_DEATH_CUTS)
        return sampler(prior, nint, DESIGN_PRIOR_DRAWS, np.random.default_rng(_set_seed(name, seed)))
    finally:
        log.setLevel(level)


def _prior_set_draws(name: str, path: str, where: str, seed: int) -> dict[str, np.ndarray]:
    if (name, seed) not in _SET_DRAWS:
        _resolve_prior_set(name, path, where)  # a one-line error naming the design file if unknown
        try:
            _SET_DRAWS[(name, seed)] = _build_set_draws(name, seed)
        except PriorError as exc:
            raise PriorError(path, where=where, found=name, expected=f"a prior set usable here ({exc})") from None
    return _SET_DRAWS[(name, seed)]


def _library_hash() -> str:
    """Hash of everything prior-set draws depend on (library code and data, draw count)."""
    import hashlib

    h = hashlib.sha256(str(DESIGN_PRIOR_DRAWS).encode())
    root = Path(__file__).resolve().parent.parent  # models/: this module lives in models/design/
    for f in (
        root / "priors.py",
        root / "map_prior.py",
        *sorted((root / "prior_library").glob("*.py")),
        *sorted((root / "prior_sources").glob("*.py")),
        *sorted((DATA_DIR / "priors").glob("*.toml")),
    ):
        if f.is_file():  # keyed by the path under models/ (both packages hold an __init__.py)
            key = f.relative_to(root).as_posix() if f.is_relative_to(root) else f.name
            h.update(key.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def prefetch_prior_sets(
    paths: Sequence[str | Path], *, seed: int = DEFAULT_SEED, workers: int = 2, cache_dir: str | Path | None = None
) -> list[str]:
    """Build the prior-set draws the designs in ``paths`` use, in parallel (some sets run an MCMC fit).

    With ``cache_dir`` the draws are also kept as ``<set>-<seed>-<hash>.npz``, the hash covering the
    prior-library code and data, so a later run with unchanged inputs reuses them. Names that are
    unknown or fail are left for :func:`load_design` to report or skip.
    """
    names: set[str] = set()
    for p in paths:
        try:
            doc = read_toml(p)
        except ToolkitError:
            continue
        for spec in (doc.get("design_priors") or {}).values():
            if isinstance(spec, dict) and spec.get("kind") == "arms":
                names |= {v for k, v in spec.items() if k in ("treatment", "control") and isinstance(v, str)}
    names -= {"benchmark", "posterior"}
    cache = Path(cache_dir) if cache_dir is not None else None
    tag = _library_hash() if cache is not None and names else ""
    for n in sorted(names):
        f = cache / f"{n}-{seed}-{tag}.npz" if cache is not None else None
        if f is not None and f.is_file() and (n, seed) not in _SET_DRAWS:
            with np.load(f) as z:
                _SET_DRAWS[(n, seed)] = {k: z[k] for k in z.files}
    todo = sorted(n for n in names if (n, seed) not in _SET_DRAWS)
    if not todo:
        return []
    results: list[dict[str, np.ndarray] | None]
    if workers <= 1 or len(todo) == 1:
        results = []
        for n in todo:
            try:
                results.append(_build_set_draws(n, seed))
            except Exception:
                results.append(None)
    else:
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            futs = [pool.submit(_build_set_draws, n, seed) for n in todo]
            results = [f.result() if f.exception() is None else None for f in futs]
    for n, r in zip(todo, results, strict=True):
        if r is not None:
            _SET_DRAWS[(n, seed)] = r
            if cache is not None:
                import io

                from models.io import atomic_write_bytes

                buf = io.BytesIO()
                np.savez(buf, **r)  # type: ignore[arg-type]  # numpy's stub: **kwds might fill allow_pickle
                atomic_write_bytes(cache / f"{n}-{seed}-{tag}.npz", buf.getvalue())
    return [n for n, r in zip(todo, results, strict=True) if r is not None]


def discount_draws(
    draws: Mapping[str, np.ndarray],
    *,
    discount: float,
    robust_weight: float,
    centre: Mapping[str, float],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    r"""Discount and robustify posterior hazard draws ``{transition: (M, J)}``.

    Discounting (a power prior with weight :math:`\delta`, Ibrahim & Chen 2000, in its normal
    approximation): :math:`\log\lambda^* = \bar\ell + (\log\lambda - \bar\ell)/\sqrt\delta` per
    interval, :math:`\bar\ell` the mean log draw. Robustification: each draw is replaced, with
    probability :math:`w`, by :math:`\lambda_0 e^{Z}`, :math:`Z \sim N(0, 1)`, around the
    benchmark hazard :math:`\lambda_0` = ``centre[transition]`` (no treatment effect).
    """
    out: dict[str, np.ndarray] = {}
    for k, v in draws.items():
        lv = np.log(np.asarray(v, float))
        m = lv.mean(axis=0, keepdims=True)
        lv = m + (lv - m) / math.sqrt(discount)
        if k in centre and robust_weight > 0:
            swap = rng.random(lv.shape[0]) < robust_weight
            lv[swap] = math.log(centre[k]) + rng.standard_normal((int(swap.sum()), lv.shape[1]))
        out[k] = np.exp(lv)
    return out


def published_posterior_draws(n: int = DESIGN_PRIOR_DRAWS, seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    """Constant-hazard posterior draws of the current study from its published totals.

    Used when no fitted posterior file is given: 1 relapse and 2 non-relapse deaths among 21
    patients followed a median of 325 days (data/huang2024/published.toml); exposure is taken as
    21 x 325 patient-days, and each constant hazard has the weakly informative baseline's total
    information, Gamma(A, A/lambda_0) with A = 1 event and lambda_0 = 1 per patient-year
    (:func:`models.priors.weak` collapsed to one interval). Death after relapse (no data) is drawn
    from that baseline.
    """
    from models.priors import WEAK_LEVEL_PER_DAY, WEAK_TOTAL_EVENTS

    a0, b0 = WEAK_TOTAL_EVENTS, WEAK_TOTAL_EVENTS / WEAK_LEVEL_PER_DAY
    rng = np.random.default_rng(seed)
    exposure = 21 * 325.0
    b = b0 + exposure
    rel = rng.gamma(a0 + 1, 1 / b, n)
    nrm = rng.gamma(a0 + 2, 1 / b, n)
    dar = rng.gamma(a0, 1 / b0, n)
    J, K = len(DEFAULT_CUTS), len(DEFAULT_RELAPSE_DEATH_CUTS)
    return {
        "relapse": np.repeat(rel[:, None], J, 1),
        "nrm": np.repeat(nrm[:, None], J, 1),
        "death_after_relapse": np.repeat(dar[:, None], K, 1),
    }


def load_posterior_draws(path: str | Path) -> dict[str, np.ndarray]:
    """Hazard draws ``{transition: (n, J)}`` of a fitted posterior file (default cut points)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            "posterior", found=str(path), expected="an existing posterior file (results/STUDY/fit/posterior.nc)"
        )
    from models.errors import DataError
    from models.posterior_io import load_posterior  # the one reader of posterior files (and its checks)
    from models.pwe import hazard_draws

    try:
        draws, _ = hazard_draws(load_posterior(path), max_draws=DESIGN_PRIOR_DRAWS)
    except DataError as exc:
        raise ConfigError(str(path), found=str(exc), expected="a posterior file written by scripts/fit.py") from None
    if draws["relapse"].shape[1] != len(DEFAULT_CUTS):
        raise ConfigError(
            str(path),
            field="hazard_relapse",
            found=f"{draws['relapse'].shape[1]} intervals",
            expected=f"{len(DEFAULT_CUTS)} intervals (the default cut points {DEFAULT_CUTS})",
        )
    return draws
