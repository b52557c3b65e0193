r"""Trial planning: sample size, operating characteristics and Bayesian assurance.

Designs (TOML files in ``data/designs/``, read by :func:`load_design`)
    ``single_arm``
        Phase 2 of maintenance. Endpoint: relapse incidence one year after study entry, NRM
        competing, :math:`\mathrm{CIR}(\tau) = \pi(1 - e^{-S\tau})` under constant cause-specific
        hazards (:func:`models.trial_sim.prob_cir_below`). Success when
        :math:`P(\mathrm{CIR}(\tau) < p_0 \mid \text{data}) > c`, :math:`p_0` the no-maintenance
        benchmark. Frequentist companion: one-sample log-rank test of the relapse hazard against
        the benchmark hazard (Breslow 1975).
    ``randomised``
        Maintenance vs observation, allocation ratio :math:`r{:}1`. Endpoint: the cause-specific
        relapse hazard ratio (and EFS). Bayesian PWE analysis with independent
        :math:`\mathrm{Gamma}(a, b)` priors per arm and interval; success when
        :math:`P(\mathrm{HR} < m \mid \text{data}) > c` (:math:`m = 1` or a clinically relevant
        margin). Frequentist companion: the log-rank test on the cause-specific relapse hazard
        (NRM censored), two-sided level :math:`\alpha`, success in the favourable direction.
        Gray's (1988) test is not implemented.

Conduct: uniform accrual (rate per month or duration), delayed entry at ``entry_day`` after
transplant, exponential dropout, analysis at calendar time (end of accrual + minimum follow-up) or
at a target number of relapses, and an optional interim (futility if the posterior probability is
below a threshold, efficacy above another) at a fraction of the final calendar time or events.

Design priors (O'Hagan, Stevens & Campbell 2005; Spiegelhalter, Abrams & Myles 2004, ch. 6)
    fixed scenarios (``null``: both arms at the benchmark; ``alternative``: relapse hazard times
    the design HR); ``hr_lognormal``: a log-normal HR from a published estimate and 95% CI;
    ``posterior``: treatment-arm hazards from the current study's posterior draws, discounted by
    scaling log-hazard deviations by :math:`1/\sqrt{\delta}` and robustified by a weight-:math:`w`
    component centred on the benchmark (no effect) with log-scale s.d. 1 (Schmidli et al. 2014);
    ``prior_set``: treatment-arm hazards from a named prior set (literature library).
    Assurance is the probability of success averaged over the design prior,
    :math:`\int P(\text{success}\mid\theta)\,\pi_d(\theta)\,d\theta`, estimated by drawing one
    :math:`\theta` per simulated trial.

Operating characteristics over a grid of sample sizes (Berry, Carlin, Lee & Müller 2010, ch. 2):
type I error (null), power (alternative), assurance (design priors), expected relapses, deaths and
duration, each with its Monte Carlo standard error; seeds are spawned per (N, scenario, chunk) by
:class:`numpy.random.SeedSequence`, so the numbers do not depend on how many workers run them.

References
----------
Schoenfeld DA. Biometrics 1983;39:499-503.
O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial design. Pharm Stat 2005;4:187-201.
Spiegelhalter DJ, Abrams KR, Myles JP. Bayesian Approaches to Clinical Trials and Health-Care
Evaluation. Wiley 2004.
Berry SM, Carlin BP, Lee JJ, Müller P. Bayesian Adaptive Methods for Clinical Trials. CRC 2010.
Gray RJ. Ann Stat 1988;16:1141-1154.
Schmidli H, Gsteiger S, Roychoudhury S, et al. Robust meta-analytic-predictive priors in clinical
trials with historical control information. Biometrics 2014;70:1023-1032.
Breslow NE. Analysis of survival data under the proportional hazards model. Int Stat Rev 1975;43:45-57.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from models import trial_sim as ts
from models.constants import DATA_DIR, DAYS_PER_MONTH, DEFAULT_CUTS, DEFAULT_SEED
from models.errors import ConfigError, PriorError, ToolkitError
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS
from models.io import read_toml
from models.progress import Progress

DESIGN_DIR = DATA_DIR / "designs"
#: What the success probability of each scenario role measures (the ``metric`` column of the outputs).
METRIC = {"null": "type I error", "alternative": "power", "design_prior": "assurance"}
#: Draws kept from a prior set or posterior to represent a design prior.
DESIGN_PRIOR_DRAWS = 4000
#: Bounds that keep a design's simulation sane: patients per trial and simulated trials per (N, scenario)
MAX_TRIAL_N = 100_000
MAX_SIMS = 1_000_000

Kind = Literal["single_arm", "randomised"]

_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "design": {
        "name": str,
        "type": str,
        "description": str,
        "entry_day": (int, float),
        "allocation_ratio": (int, float),
    },
    "conduct": {
        "accrual_per_month": (int, float),
        "accrual_months": (int, float),
        "min_followup_days": (int, float),
        "dropout_per_year": (int, float),
        "analysis": str,
        "target_events": int,
        "max_followup_days": (int, float),
        "interim": dict,
    },
    "conduct.interim": {
        "information": (int, float),
        "futility_threshold": (int, float),
        "efficacy_threshold": (int, float),
    },
    "analysis": {
        "cuts_days": list,
        "horizon_days": (int, float),
        "margin": (int, float),
        "threshold": (int, float),
        "prior_shape": (int, float),
        "prior_rate_days": (int, float),
        "alpha": (int, float),
        "nrm_prior_shape": (int, float),
    },
    "benchmark": {
        "relapse_cif": (int, float),
        "nrm_cif": (int, float),
        "years": (int, float),
        "citation": str,
        "quote": str,
        "quote_nrm": str,
        "os_after_relapse_1y": (int, float),
        "citation_after_relapse": str,
        "quote_after_relapse": str,
        "note": str,
    },
    "scenario": {"role": str, "hr_relapse": (int, float), "hr_nrm": (int, float), "note": str},
    "design_prior": {
        "kind": str,
        "median": (int, float),
        "lower": (int, float),
        "upper": (int, float),
        "treatment": str,
        "control": str,
        "if_missing": str,
        "discount": (int, float),
        "robust_weight": (int, float),
        "citation": str,
        "quote": str,
        "note": str,
    },
    "grid": {"n": list, "n_sims": int, "chunk_trials": int, "target": (int, float), "type1_target": (int, float)},
}
_REQUIRED = {
    "design": ("name", "type", "entry_day"),
    "conduct": ("min_followup_days", "dropout_per_year"),
    "analysis": ("threshold",),
    "benchmark": ("relapse_cif", "nrm_cif", "years", "citation", "quote"),
    "grid": ("n", "n_sims"),
}


@dataclass(frozen=True)
class TrialScenario:
    """A truth to simulate: fixed HRs on the benchmark, or a design prior (one draw per trial).

    ``hr_lognormal = (mu, sigma)`` draws the relapse HR per trial; ``draws`` / ``control_draws``
    hold treatment / control hazards on the transplant clock ``{transition: (M, J)}`` (posterior or
    prior set; ``None`` = the benchmark). ``shared``: both arms take the same draw (no effect).
    """

    name: str
    role: Literal["null", "alternative", "design_prior"]
    hr_relapse: float = 1.0
    hr_nrm: float = 1.0
    hr_lognormal: tuple[float, float] | None = None
    draws: Mapping[str, np.ndarray] | None = field(default=None, compare=False, repr=False)
    control_draws: Mapping[str, np.ndarray] | None = field(default=None, compare=False, repr=False)
    shared: bool = False
    note: str = ""


@dataclass(frozen=True)
class Design:
    """A validated trial design (see ``data/designs/*.toml`` for the meaning of each field)."""

    name: str
    kind: Kind
    source: str
    description: str
    entry_day: float
    allocation_ratio: float
    accrual_per_month: float | None
    accrual_months: float | None
    min_followup_days: float
    dropout_per_year: float
    analysis: Literal["calendar", "events"]
    target_events: int
    max_followup_days: float
    interim: tuple[float, float, float] | None  # information, futility, efficacy
    cuts_days: tuple[float, ...]
    horizon_days: float
    margin: float
    threshold: float
    prior_shape: float
    nrm_prior_shape: float
    prior_rate_days: float
    alpha: float
    control_relapse: float  # benchmark hazards per day
    control_nrm: float
    control_after_relapse: float
    benchmark_cir: float  # 1-year (horizon) relapse incidence at the benchmark hazards
    scenarios: tuple[TrialScenario, ...]
    n_grid: tuple[int, ...]
    n_sims: int
    chunk_trials: int
    target: float
    type1_target: float
    skipped_priors: tuple[str, ...] = ()

    def accrual_days(self, n: int) -> float:
        if self.accrual_months is not None:
            return self.accrual_months * DAYS_PER_MONTH
        assert self.accrual_per_month is not None  # validated: exactly one of the two is set
        return n / float(self.accrual_per_month) * DAYS_PER_MONTH

    def n_treatment(self, n: int) -> int:
        if self.kind == "single_arm":
            return n
        return round(n * self.allocation_ratio / (1.0 + self.allocation_ratio))


# ----------------------------------------------------------------------------------------- loading
def _check(path: str, table: str, doc: Mapping[str, Any], schema_key: str) -> None:
    allowed = _SCHEMA[schema_key]
    for key, value in doc.items():
        if key not in allowed:
            raise ConfigError(
                path, where=f"[{table}]", field=key, found="an unknown key", expected=f"one of {sorted(allowed)}"
            )
        want = allowed[key]
        if not isinstance(value, want) or isinstance(value, bool):
            raise ConfigError(
                path,
                where=f"[{table}]",
                field=key,
                found=value,
                expected=f"a {'number' if want == (int, float) else getattr(want, '__name__', want)}",
            )
    for key in _REQUIRED.get(schema_key, ()):
        if key not in doc:
            raise ConfigError(path, where=f"[{table}]", field=key, found="missing", expected="a value")


def _range(
    path: str,
    table: str,
    key: str,
    value: float,
    lo: float,
    hi: float,
    *,
    lo_open: bool = True,
    hi_open: bool = True,
    what: str = "",
) -> float:
    bad = (value <= lo if lo_open else value < lo) or (value >= hi if hi_open else value > hi)
    if not math.isfinite(value) or bad:
        lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
        raise ConfigError(
            path, where=f"[{table}]", field=key, found=value, expected=what or f"a number in {lb}{lo:g}, {hi:g}{rb}"
        )
    return float(value)


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
    root = Path(__file__).resolve().parent
    for f in (
        root / "priors.py",
        root / "prior_library.py",
        root / "prior_sources.py",
        *sorted((DATA_DIR / "priors").glob("*.toml")),
    ):
        if f.is_file():
            h.update(f.name.encode() + f.read_bytes())
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
            "--posterior", found=str(path), expected="an existing posterior file (results/fit/posterior.nc)"
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


def load_design(
    path: str | Path,
    *,
    posterior: Mapping[str, np.ndarray] | None = None,
    seed: int = DEFAULT_SEED,
    design_priors: bool = True,
) -> Design:
    """Read and validate a design TOML; a failure is a one-line ConfigError/PriorError naming file and key.

    ``posterior`` (hazard draws of the current study) feeds design priors of kind ``posterior``;
    without it they use :func:`published_posterior_draws`. ``design_priors=False`` keeps only the
    fixed scenarios (null, alternative), e.g. for benchmarks.
    """
    p = str(path)
    doc = read_toml(path, ConfigError, "design TOML file (e.g. data/designs/randomised.toml)")
    allowed_top = {"design", "conduct", "analysis", "benchmark", "scenarios", "design_priors", "grid"}
    for key in doc:
        if key not in allowed_top:
            raise ConfigError(
                p, where="top level", field=key, found="an unknown table", expected=f"one of {sorted(allowed_top)}"
            )
    for key in ("design", "conduct", "analysis", "benchmark", "grid"):
        if not isinstance(doc.get(key), dict):
            raise ConfigError(p, where=f"[{key}]", found="missing", expected="a table")
        _check(p, key, doc[key], key)
    d, c, a, b, g = doc["design"], doc["conduct"], doc["analysis"], doc["benchmark"], doc["grid"]
    kind = d["type"]
    if kind not in ("single_arm", "randomised"):
        raise ConfigError(p, where="[design]", field="type", found=kind, expected="'single_arm' or 'randomised'")
    entry = _range(p, "design", "entry_day", d["entry_day"], 0, 1e5, lo_open=False)
    ratio = _range(p, "design", "allocation_ratio", d.get("allocation_ratio", 1.0), 0, 20)
    if ("accrual_per_month" in c) == ("accrual_months" in c):
        raise ConfigError(
            p,
            where="[conduct]",
            field="accrual_per_month",
            found="both or neither of accrual_per_month and accrual_months",
            expected="exactly one of them",
        )
    apm = (
        _range(p, "conduct", "accrual_per_month", c["accrual_per_month"], 0, 1e4) if "accrual_per_month" in c else None
    )
    am = _range(p, "conduct", "accrual_months", c["accrual_months"], 0, 1200) if "accrual_months" in c else None
    fu = _range(p, "conduct", "min_followup_days", c["min_followup_days"], 0, 1e5, lo_open=False)
    drop = _range(
        p,
        "conduct",
        "dropout_per_year",
        c["dropout_per_year"],
        0,
        10,
        lo_open=False,
        what="a dropout rate per year >= 0 (exponential censoring)",
    )
    analysis = c.get("analysis", "calendar")
    if analysis not in ("calendar", "events"):
        raise ConfigError(p, where="[conduct]", field="analysis", found=analysis, expected="'calendar' or 'events'")
    target_events = int(c.get("target_events", 0))
    if analysis == "events" and target_events < 1:
        raise ConfigError(
            p,
            where="[conduct]",
            field="target_events",
            found=target_events,
            expected="a whole number >= 1 when analysis = 'events'",
        )
    max_fu = _range(p, "conduct", "max_followup_days", c.get("max_followup_days", 5 * 365.0), 0, 1e5)
    interim = None
    if "interim" in c:
        _check(p, "conduct.interim", c["interim"], "conduct.interim")
        it = c["interim"]
        info = _range(p, "conduct.interim", "information", it.get("information", 0.5), 0, 1)
        fut = _range(p, "conduct.interim", "futility_threshold", it.get("futility_threshold", 0.0), 0, 1, lo_open=False)
        eff = _range(p, "conduct.interim", "efficacy_threshold", it.get("efficacy_threshold", 1.0), 0, 1, hi_open=False)
        interim = (info, fut, eff)
    cuts = a.get("cuts_days", [0.0])
    if not cuts or not all(isinstance(x, int | float) for x in cuts) or cuts[0] != 0 or np.any(np.diff(cuts) <= 0):
        raise ConfigError(
            p, where="[analysis]", field="cuts_days", found=cuts, expected="increasing days from entry starting at 0"
        )
    if kind == "single_arm" and len(cuts) != 1:
        raise ConfigError(
            p,
            where="[analysis]",
            field="cuts_days",
            found=cuts,
            expected="[0.0] (the single-arm rule is exact for constant hazards)",
        )
    horizon = _range(p, "analysis", "horizon_days", a.get("horizon_days", 365.0), 0, 1e5)
    margin = _range(p, "analysis", "margin", a.get("margin", 1.0), 0, 10)
    thr = _range(p, "analysis", "threshold", a["threshold"], 0, 1)
    shape = _range(p, "analysis", "prior_shape", a.get("prior_shape", 0.5), 0, 1e6)
    nshape = _range(p, "analysis", "nrm_prior_shape", a.get("nrm_prior_shape", shape), 0, 1e6)
    rate = _range(p, "analysis", "prior_rate_days", a.get("prior_rate_days", 182.5), 0, 1e9)
    alpha = _range(p, "analysis", "alpha", a.get("alpha", 0.05), 0, 1)
    cir = _range(p, "benchmark", "relapse_cif", b["relapse_cif"], 0, 1)
    nrm = _range(p, "benchmark", "nrm_cif", b["nrm_cif"], 0, 1)
    if cir + nrm >= 1:
        raise ConfigError(
            p,
            where="[benchmark]",
            field="nrm_cif",
            found=nrm,
            expected=f"relapse_cif + nrm_cif < 1 (relapse_cif = {cir})",
        )
    years = _range(p, "benchmark", "years", b["years"], 0, 100)
    os1 = _range(p, "benchmark", "os_after_relapse_1y", b.get("os_after_relapse_1y", 0.36), 0, 1)
    lam_r, lam_n = ts.hazards_from_cif(cir, nrm, years)
    lam_d = -math.log(os1) / 365.0
    n_grid = g["n"]
    if (
        not n_grid
        or not all(isinstance(x, int) and not isinstance(x, bool) and 2 <= x <= MAX_TRIAL_N for x in n_grid)
        or len(n_grid) > 200
    ):
        raise ConfigError(
            p, where="[grid]", field="n", found=n_grid, expected=f"1-200 whole numbers from 2 to {MAX_TRIAL_N:,}"
        )
    if not 10 <= g["n_sims"] <= MAX_SIMS:
        raise ConfigError(
            p, where="[grid]", field="n_sims", found=g["n_sims"], expected=f"a whole number from 10 to {MAX_SIMS:,}"
        )
    if kind == "randomised":  # every N of the grid must put patients in both arms
        for n in n_grid:
            n_t = round(n * ratio / (1.0 + ratio))
            if n_t < 1 or n - n_t < 1:
                raise ConfigError(
                    p,
                    where="[design]",
                    field="allocation_ratio",
                    found=f"{ratio:g}: N = {n} gives {n_t} treated and {n - n_t} controls",
                    expected="a ratio that leaves at least one patient in each arm at every N of [grid] n",
                )
    chunk = int(g.get("chunk_trials", 500))
    if chunk < 1:
        raise ConfigError(p, where="[grid]", field="chunk_trials", found=chunk, expected="a whole number >= 1")
    target = _range(p, "grid", "target", g.get("target", 0.8), 0, 1)
    t1 = _range(p, "grid", "type1_target", g.get("type1_target", alpha / 2), 0, 1)
    if not design_priors:
        doc = {k: v for k, v in doc.items() if k != "design_priors"}
    scenarios, skipped = _scenarios(p, doc, lam_r, lam_n, lam_d, posterior, seed)
    return Design(
        name=d["name"],
        kind=kind,
        source=p,
        description=d.get("description", ""),
        entry_day=entry,
        allocation_ratio=ratio,
        accrual_per_month=apm,
        accrual_months=am,
        min_followup_days=fu,
        dropout_per_year=drop,
        analysis=analysis,
        target_events=target_events,
        max_followup_days=max_fu,
        interim=interim,
        cuts_days=tuple(float(x) for x in cuts),
        horizon_days=horizon,
        margin=margin,
        threshold=thr,
        prior_shape=shape,
        nrm_prior_shape=nshape,
        prior_rate_days=rate,
        alpha=alpha,
        control_relapse=lam_r,
        control_nrm=lam_n,
        control_after_relapse=lam_d,
        benchmark_cir=ts.cir_constant(lam_r, lam_n, horizon),
        scenarios=scenarios,
        n_grid=tuple(sorted(set(n_grid))),
        n_sims=int(g["n_sims"]),
        chunk_trials=chunk,
        target=target,
        type1_target=t1,
        skipped_priors=tuple(skipped),
    )


def _scenarios(
    p: str,
    doc: Mapping[str, Any],
    lam_r: float,
    lam_n: float,
    lam_d: float,
    posterior: Mapping[str, np.ndarray] | None,
    seed: int,
) -> tuple[tuple[TrialScenario, ...], list[str]]:
    out: list[TrialScenario] = []
    sc = doc.get("scenarios", {})
    if not isinstance(sc, dict):
        raise ConfigError(p, where="[scenarios]", found=sc, expected="tables [scenarios.<name>]")
    for name, s in sc.items():
        if not isinstance(s, dict):
            raise ConfigError(p, where=f"[scenarios.{name}]", found=s, expected="a table")
        _check(p, f"scenarios.{name}", s, "scenario")
        role = s.get("role", name if name in ("null", "alternative") else "alternative")
        if role not in ("null", "alternative"):
            raise ConfigError(
                p, where=f"[scenarios.{name}]", field="role", found=role, expected="'null' or 'alternative'"
            )
        hr = _range(p, f"scenarios.{name}", "hr_relapse", s.get("hr_relapse", 1.0), 0, 100)
        hn = _range(p, f"scenarios.{name}", "hr_nrm", s.get("hr_nrm", 1.0), 0, 100)
        out.append(TrialScenario(name, role, hr, hn, note=s.get("note", "")))
    roles = {s.role for s in out}
    if not {"null", "alternative"} <= roles:
        raise ConfigError(
            p,
            where="[scenarios]",
            found=sorted(sc),
            expected="a scenario with role = 'null' and one with role = 'alternative' "
            "(a table named null or alternative has that role by default)",
        )
    skipped: list[str] = []
    dps = doc.get("design_priors", {})
    if not isinstance(dps, dict):
        raise ConfigError(p, where="[design_priors]", found=dps, expected="tables [design_priors.<name>]")
    for i, (name, s) in enumerate(dps.items()):
        where = f"[design_priors.{name}]"
        if not isinstance(s, dict):
            raise ConfigError(p, where=where, found=s, expected="a table")
        _check(p, f"design_priors.{name}", s, "design_prior")
        kind = s.get("kind")
        if kind == "hr_lognormal":
            med = _range(p, where[1:-1], "median", s.get("median", float("nan")), 0, 100)
            lo = _range(p, where[1:-1], "lower", s.get("lower", float("nan")), 0, med)
            hi = _range(p, where[1:-1], "upper", s.get("upper", float("nan")), med, 100)
            sigma = (math.log(hi) - math.log(lo)) / (2 * stats.norm.ppf(0.975))
            out.append(
                TrialScenario(name, "design_prior", hr_lognormal=(math.log(med), sigma), note=s.get("citation", ""))
            )
        elif kind == "arms":
            if s.get("if_missing", "error") not in ("error", "skip"):
                raise ConfigError(
                    p, where=where, field="if_missing", found=s["if_missing"], expected="'error' or 'skip'"
                )
            disc = _range(p, where[1:-1], "discount", s.get("discount", 1.0), 0, 1, hi_open=False)
            w = _range(p, where[1:-1], "robust_weight", s.get("robust_weight", 0.0), 0, 1, lo_open=False)
            arms: dict[str, dict[str, np.ndarray] | None] = {}
            try:
                for arm in ("treatment", "control"):
                    src = s.get(arm, "benchmark")
                    if src == "benchmark":
                        arms[arm] = None
                    elif src == "posterior":
                        base = posterior if posterior is not None else published_posterior_draws(seed=seed)
                        centre = {"relapse": lam_r, "nrm": lam_n, "death_after_relapse": lam_d}
                        arms[arm] = discount_draws(
                            base, discount=disc, robust_weight=w, centre=centre, rng=np.random.default_rng([seed, i])
                        )
                    else:
                        arms[arm] = _prior_set_draws(src, p, f"{where}, {arm}", seed)
            except PriorError:
                if s.get("if_missing", "error") == "skip":
                    skipped.append(name)
                    continue
                raise
            shared = s.get("treatment", "benchmark") == s.get("control", "benchmark") != "benchmark"
            out.append(
                TrialScenario(
                    name,
                    "design_prior",
                    draws=arms["treatment"],
                    control_draws=arms["control"],
                    shared=shared,
                    note=s.get("note", ""),
                )
            )
        else:
            raise ConfigError(p, where=where, field="kind", found=kind, expected="'hr_lognormal' or 'arms'")
    return tuple(out), skipped


def run_design(
    design: Design,
    *,
    seed: int = DEFAULT_SEED,
    workers: int = 2,
    dask_address: str | None = None,
    progress: bool | Progress = False,
    n_grid: Sequence[int] | None = None,
    n_sims: int | None = None,
) -> pd.DataFrame:
    """Simulate the whole grid of a design; raw sums per (N, scenario) (see :func:`summarise`)."""
    tasks = ts.make_tasks(design, seed=seed, n_grid=n_grid, n_sims=n_sims)
    return ts.collect(tasks, ts.execute(tasks, workers=workers, dask_address=dask_address, progress=progress))


# ----------------------------------------------------------------------------------------- summaries
def summarise(raw: pd.DataFrame, design: Design) -> pd.DataFrame:
    r"""Operating characteristics with Monte Carlo standard errors, one row per (N, scenario).

    Rates :math:`\hat p` have MCSE :math:`\sqrt{\hat p(1-\hat p)/n}`; means :math:`\bar x` have
    :math:`s/\sqrt n`. ``success`` is type I error under ``null``, power under ``alternative`` and
    assurance under a design prior.
    """
    out = pd.DataFrame(
        {
            "design": design.name,
            "N": raw["N"],
            "scenario": raw["scenario"],
            "role": raw["role"],
            "metric": raw["role"].map(METRIC),
            "n_sims": raw["n"].astype(int),
        }
    )
    n = raw["n"].to_numpy()
    for k, col in (
        ("success", "p_success"),
        ("success_freq", "p_success_freq"),
        ("success_efs", "p_success_efs"),
        ("stop_efficacy", "p_stop_efficacy"),
        ("stop_futility", "p_stop_futility"),
    ):
        p = raw[k].to_numpy() / n
        out[col] = p
        out[f"{col}_mcse"] = np.sqrt(p * (1 - p) / n)
    if design.kind == "single_arm":
        out[["p_success_efs", "p_success_efs_mcse"]] = np.nan
    for k, col in (("events", "mean_relapses"), ("deaths", "mean_deaths"), ("duration", "mean_duration_days")):
        m = raw[k].to_numpy() / n
        var = np.maximum(raw[f"{k}_sq"].to_numpy() / n - m**2, 0.0) * n / np.maximum(n - 1, 1)
        out[col] = m
        out[f"{col}_mcse"] = np.sqrt(var / n)
    order = out["scenario"].map({s.name: i for i, s in enumerate(design.scenarios)})
    return out.assign(_o=order).sort_values(["_o", "N"], kind="stable").drop(columns="_o").reset_index(drop=True)


def _first_reaching(df: pd.DataFrame, col: str, target: float, lower: bool) -> float:
    ok = df[col] - (1.959963984540054 * df[f"{col}_mcse"] if lower else 0.0) >= target
    return float(df.loc[ok, "N"].min()) if ok.any() else float("nan")


def sample_size(oc: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Smallest N of the grid whose success probability reaches ``design.target`` (the grid reading).

    ``n_point``: estimate >= target; ``n_conservative``: lower 95% MC bound >= target. For the
    randomised design Schoenfeld's event count at the alternative HR is added. The reported sample
    size comes from the root search of :func:`models.sample_size.sample_size_table`, which keeps
    these two as ``grid_n_point`` and ``grid_n_conservative``.
    """
    rows = []
    for name, df in oc.groupby("scenario", sort=False):
        df = df.sort_values("N")
        role = df["role"].iloc[0]
        metric = METRIC[role]
        entries = [("bayesian", "p_success")] + ([("frequentist", "p_success_freq")] if role == "alternative" else [])
        for analysis, col in entries:
            if role == "null":
                continue
            rows.append(
                {
                    "design": design.name,
                    "scenario": name,
                    "metric": metric,
                    "analysis": analysis,
                    "target": design.target,
                    "n_point": _first_reaching(df, col, design.target, False),
                    "n_conservative": _first_reaching(df, col, design.target, True),
                    "max_in_grid": float(df[col].max()),
                }
            )
    out = pd.DataFrame(rows)
    if design.kind == "randomised":
        alt = next(s for s in design.scenarios if s.role == "alternative")
        p = design.allocation_ratio / (1 + design.allocation_ratio)
        out["schoenfeld_relapses"] = ts.schoenfeld_events(alt.hr_relapse, design.alpha, design.target, p)
    return out


def calibrate(raw: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Posterior-probability cut-off holding type I error at ``design.type1_target``, for each N.

    The cut-off is the smallest candidate in :data:`models.trial_sim.CAL_THRESHOLDS` whose simulated
    type I error under the null is <= the target (interim rules held fixed); the success rate of
    every scenario at that cut-off is reported with its MC standard error.
    """
    rows = []
    thr = ts.CAL_THRESHOLDS
    for n, df in raw.groupby("N"):
        null = df[df["role"] == "null"].iloc[0]
        t1 = np.asarray(null["cal_counts"]) / null["n"]
        ok = np.flatnonzero(t1 <= design.type1_target)
        i = int(ok[0]) if ok.size else -1
        for _, r in df.iterrows():
            rate = float(np.asarray(r["cal_counts"])[i] / r["n"]) if i >= 0 else float("nan")
            rows.append(
                {
                    "design": design.name,
                    "N": int(n),
                    "scenario": r["scenario"],
                    "role": r["role"],
                    "metric": METRIC[r["role"]],
                    "type1_target": design.type1_target,
                    "threshold_design": design.threshold,
                    "threshold_calibrated": float(thr[i]) if i >= 0 else float("nan"),
                    "p_success": rate,
                    "p_success_mcse": math.sqrt(rate * (1 - rate) / r["n"]) if i >= 0 else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def plot_oc(oc: pd.DataFrame, design: Design, axes=None, sample_sizes: pd.DataFrame | None = None):
    """Power and assurance (left) and type I error (right) vs N, with 95% Monte Carlo bands.

    With ``sample_sizes`` (:func:`models.sample_size.sample_size_table`) each root-searched N is
    marked at the target with its 95% Monte Carlo interval. Returns the two Axes; never saves.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9.5, 4.6), constrained_layout=True)
    ax, bx = axes
    z = 1.959963984540054
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    test = "log-rank" if design.kind == "randomised" else "one-sample log-rank"
    curves = []
    for s in design.scenarios:
        if s.role == "alternative":
            curves.append((s.name, "p_success", f"power, Bayesian ({s.name})", "-"))
            curves.append((s.name, "p_success_freq", f"power, {test} ({s.name})", "--"))
        elif s.role == "design_prior":
            curves.append((s.name, "p_success", f"assurance ({s.name})", "-."))
    for i, (name, col, label, ls) in enumerate(curves):
        df = oc[oc["scenario"] == name].sort_values("N")
        c = colours[i % len(colours)]
        ax.plot(df["N"], df[col], ls, color=c, lw=1.6, label=label)
        ax.fill_between(
            df["N"], df[col] - z * df[f"{col}_mcse"], df[col] + z * df[f"{col}_mcse"], color=c, alpha=0.2, lw=0
        )
        analysis = "frequentist" if col == "p_success_freq" else "bayesian"
        hit = (
            sample_sizes[(sample_sizes["scenario"] == name) & (sample_sizes["analysis"] == analysis)]
            if sample_sizes is not None
            else None
        )
        if hit is not None and len(hit) and math.isfinite(hit["n_point"].iloc[0]):
            r = hit.iloc[0]
            lo, hi = r["n_point"] - r["n_lower"], r["n_upper"] - r["n_point"]
            err = [[lo], [hi]] if math.isfinite(lo) and math.isfinite(hi) else None
            first = not any(h.get_label().startswith("N by root search") for h in ax.containers)
            err_label = "N by root search (95% MC interval)" if first else None
            style = {"fmt": "o", "ms": 3.5, "color": c, "capsize": 2.5, "lw": 1, "zorder": 5}
            ax.errorbar(r["n_point"], design.target, xerr=err, label=err_label, **style)
    ax.axhline(design.target, color="0.4", lw=0.8, ls=":", label=f"target {design.target:g}")
    ax.set(
        xlabel="patients randomised (N)" if design.kind == "randomised" else "patients enrolled (N)",
        ylabel="probability of success",
        ylim=(0, 1),
        title=f"{design.name}: power and assurance",
    )
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    null = oc[oc["role"] == "null"].sort_values("N")
    for i, (col, label) in enumerate((("p_success", "Bayesian rule"), ("p_success_freq", test))):
        c = colours[i]
        bx.plot(null["N"], null[col], "-o", ms=3, color=c, lw=1.4, label=label)
        bx.fill_between(
            null["N"],
            null[col] - z * null[f"{col}_mcse"],
            null[col] + z * null[f"{col}_mcse"],
            color=c,
            alpha=0.2,
            lw=0,
        )
    bx.axhline(design.alpha / 2, color="0.4", lw=0.8, ls=":", label=f"{test}: nominal one-sided {design.alpha / 2:g}")
    if not math.isclose(design.type1_target, design.alpha / 2):
        bx.axhline(
            design.type1_target, color="0.4", lw=0.8, ls="--", label=f"Bayesian rule: target {design.type1_target:g}"
        )
    bx.set(
        xlabel="patients randomised (N)" if design.kind == "randomised" else "patients enrolled (N)",
        ylabel="type I error",
        ylim=(0, max(0.1, float(null["p_success"].max()) * 1.2)),
        title="type I error (null)",
    )
    bx.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    for a in axes:
        a.spines[["top", "right"]].set_visible(False)
        a.grid(alpha=0.25, lw=0.5)
    return axes


# ------------------------------------------------------------------------ validation and benchmarks
def nuts_agreement(
    design: Design,
    *,
    n_trials: int = 200,
    n_patients: int = 200,
    scenario: str = "alternative",
    seed: int = DEFAULT_SEED,
    draws: int = 2000,
    tune: int = 1000,
    chains: int = 4,
) -> dict[str, float]:
    """Decisions of the exact conjugate rule vs full NUTS on the same simulated trials (final analysis).

    ``scenario`` is a scenario name or a role (``"alternative"``, ``"null"``).
    Returns the rate of identical decisions (``P > threshold``), the largest absolute difference in
    posterior probability and the number of trials compared.
    """
    if design.kind != "randomised":
        raise ConfigError(design.source, where="[design]", field="type", found=design.kind, expected="'randomised'")
    idx = next((i for i, s in enumerate(design.scenarios) if s.name == scenario), None)
    if idx is None:  # a role ("null", "alternative") picks the first scenario with it
        idx = next((i for i, s in enumerate(design.scenarios) if s.role == scenario), None)
    if idx is None:
        raise ConfigError(design.source, where="[scenarios]", found=scenario, expected="a scenario name or role")
    r = ts.run_chunk(design, design.scenarios[idx], n_patients, n_trials, seed, (n_patients, idx, 0), per_trial=True)
    tr = r["trials"]
    weights = ts.horizon_weights(np.asarray(design.cuts_days), design.horizon_days)
    p_nuts = ts.nuts_prob_hr(
        tr["D1"],
        tr["E1"],
        tr["D0"],
        tr["E0"],
        design.prior_shape,
        design.prior_rate_days,
        weights,
        design.margin,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
    )
    agree = (tr["p"] > design.threshold) == (p_nuts > design.threshold)
    return {
        "n_trials": float(n_trials),
        "agreement": float(agree.mean()),
        "max_abs_diff": float(np.max(np.abs(tr["p"] - p_nuts))),
        "p_exact": tr["p"],
        "p_nuts": p_nuts,
    }


def benchmark_fast_path(
    n_trials: int = 20_000,
    *,
    n_patients: int = 200,
    workers: int = 2,
    design_path: str | Path = DESIGN_DIR / "randomised.toml",
) -> dict[str, float]:
    """Simulated and analysed two-arm trials per second on the fast (conjugate) path.

    Simulation of every transition, interim and final Bayesian decisions and the log-rank test,
    ``n_trials`` trials of ``n_patients`` under the design alternative, run on ``workers`` processes.
    """
    design = load_design(design_path, design_priors=False)
    idx = next(i for i, s in enumerate(design.scenarios) if s.role == "alternative")
    size = max(1, min(2500, n_trials // (2 * max(workers, 1)) or 1))
    tasks = [
        ts.Task(design, idx, n_patients, min(size, n_trials - lo), DEFAULT_SEED, c)
        for c, lo in enumerate(range(0, n_trials, size))
    ]
    start = time.perf_counter()
    ts.execute(tasks, workers=workers)
    sec = time.perf_counter() - start
    return {
        "n_trials": float(n_trials),
        "n_patients": float(n_patients),
        "workers": float(workers),
        "seconds": sec,
        "trials_per_second": n_trials / sec,
    }


def benchmark_mcmc(
    n_trials: int = 3,
    *,
    n_patients: int = 200,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    design_path: str | Path = DESIGN_DIR / "randomised.toml",
) -> dict[str, float]:
    """Seconds per trial to fit the same decision model by NUTS, one trial at a time (PyMC defaults)."""
    design = load_design(design_path, design_priors=False)
    idx = next(i for i, s in enumerate(design.scenarios) if s.role == "alternative")
    r = ts.run_chunk(design, design.scenarios[idx], n_patients, n_trials, DEFAULT_SEED, (0, idx, 0), per_trial=True)
    tr = r["trials"]
    weights = ts.horizon_weights(np.asarray(design.cuts_days), design.horizon_days)
    start = time.perf_counter()
    for i in range(n_trials):
        ts.nuts_prob_hr(
            tr["D1"][i : i + 1],
            tr["E1"][i : i + 1],
            tr["D0"][i : i + 1],
            tr["E0"][i : i + 1],
            design.prior_shape,
            design.prior_rate_days,
            weights,
            design.margin,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=i,
        )
    sec = time.perf_counter() - start
    return {"n_trials": float(n_trials), "seconds": sec, "seconds_per_trial": sec / n_trials}
