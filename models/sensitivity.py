r"""Prior sensitivity analysis: which conclusions survive which priors, models and reconstructions.

A *scenario* is one complete analysis: a prior set (possibly discounted or re-centred), cut points,
a time origin (delayed entry or the published from-transplant convention) and the reconstructed
outcome tables it is fitted to. The grid (a TOML file, default ``data/sensitivity/default.toml``)
has

* one-at-a-time **factors** varied around a base scenario (named prior sets; power-prior weight
  :math:`a_0`; robust-mixture weight :math:`w`; cut-point sets; time origin; each reconstructed
  table alone) — these feed the tornado figure and the verdict;
* a **grid** of priors on the relapse hazard over (prior centre :math:`p_c` × prior weight
  :math:`m`) — the heat map of :math:`P(\text{claim})` and its tipping-point contour.

Prior centre and weight (grid)
    The relapse hazard of each first-year interval :math:`j` gets
    :math:`\lambda_j \sim \mathrm{Gamma}(a_j + \lambda_c E_j,\; b_j + E_j)` with
    :math:`\lambda_c = -\log(1 - p_c)/365`, :math:`E_j = m\,|I_j \cap [0, 365)|` and
    :math:`\mathrm{Gamma}(a_j, b_j)` the interval's weakly informative baseline
    (:func:`models.priors.weak`): the information of :math:`m` patients followed for one year whose
    1-year relapse incidence (absent competing deaths) is :math:`p_c`, worth :math:`m\,365\,\lambda_c`
    events (:func:`centred_prior`). Other transitions and later intervals keep the base prior.

Power prior (factor ``a0``)
    For a gamma component built from pseudo-data on top of the interval's weakly informative
    baseline, :math:`\mathrm{Gamma}(a_j + d_h,\, b_j + E_h)`, the power prior with weight :math:`a_0` is
    :math:`\mathrm{Gamma}(a_j + a_0 d_h,\, b_j + a_0 E_h)` (Ibrahim & Chen 2000): exact for the
    Poisson–gamma model. :math:`a_0 = 0` is the baseline, :math:`a_0 = 1` full borrowing.

Robust mixture (factor ``w``)
    :math:`w\,\pi_{\text{inf}} + (1 - w)\,\pi_{0}` with the robust component :math:`\pi_0` the
    interval's weakly informative baseline (Schmidli et al. 2014); the exact engine
    updates the weights by the marginal likelihoods; :math:`w = 0` is the baseline.

Every scenario is computed with the exact engine: posterior draws of every hazard for every table
(conjugate updates of gamma mixtures; quadrature for commensurate priors,
:mod:`models.commensurate_exact`, engine column ``exact (quadrature)``), pooled with equal numbers
per table, then 1-year (and other landmark) quantities and the posterior probability of each
claim. Only a prior the exact engine cannot fit (e.g. log-normal or random-walk hazards) runs on
NUTS (``nuts_draws``, ``nuts_chains``, ``nuts_tune``; its row carries R-hat, ESS and divergences).
A scenario that fails is kept in the table with its error message, never dropped.

Power-scaling sensitivity and the agreement verdict
    The base prior's 1-year quantities are power-scaled (:mod:`models.power_scaling`: only the
    prior's departure from the weak baseline) and read together with Box's prior-predictive check by
    the one rule of :mod:`models.agreement` (disagreement from Box's p, strength from power-scaling).
    The configured ``power_scaling_prior`` (the commensurate set) gets the same diagnostics from
    exact-engine draws (:func:`hierarchical_power_scaling`): for a commensurate transition the scaled
    density is its marginal prior density of the hazards
    (:func:`models.commensurate_exact.commensurate_logratio`).

References
----------
Ibrahim JG, Chen M-H. Power prior distributions for regression models. Stat Sci 2000;15:46–60.
Schmidli H, et al. Robust meta-analytic-predictive priors. Biometrics 2014;70:1023–32.
Kallioinen N, Paananen T, Bürkner P-C, Vehtari A. Detecting and diagnosing prior and likelihood
sensitivity with power-scaling. Stat Comput 2023;34:57.
Greenland S. Bayesian perspectives for epidemiological research. Int J Epidemiol 2006;35:765–75.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.agreement import agreement_table, sentence
from models.claims import Claim, load_claims, parse_claims
from models.commensurate_exact import (
    ENGINE_LABEL,
    commensurate_transitions,
    exact_eligible,
    max_events,
    quadrature,
    quadrature_power_scaling,
)
from models.constants import CI_LEVEL, DATA_DIR, DEFAULT_CUTS, DEFAULT_SEED
from models.derived import landmark_values
from models.errors import ConfigError, PriorError, ToolkitError
from models.fit_recipe import fit_draws
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS, TRANSITIONS, TransitionData, transition_data, validate_cuts
from models.io import read_toml
from models.power_scaling import REPORTED, fit_power_scaling
from models.prior_conflict import conflict_pvalue, conflict_table, conflict_table_draws, predictive_pmf
from models.prior_library import (
    LibraryPriorSet,
    load_prior_set,
    robust_component,
    robustify,
    split_robust,
)
from models.prior_weight_tables import ess_summary, ess_table
from models.priors import GammaMixture, PriorSet, all_gamma, gamma_intervals, weak, weak_interval_priors
from models.progress import Progress, as_progress
from models.pwe import Model, diagnostics, diagnostics_ok, exact_posterior_draws, hazard_draws

DEFAULT_CONFIG = DATA_DIR / "sensitivity" / "default.toml"

FACTOR_KINDS = ("prior", "a0", "w", "cuts", "from_transplant", "table")


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Factor:
    name: str
    kind: str
    levels: tuple[Any, ...]


@dataclass(frozen=True)
class GridSpec:
    claim: str
    centres: tuple[float, ...]
    weights: tuple[float, ...]


@dataclass(frozen=True)
class SensitivityConfig:
    """A validated scenario grid (see ``data/sensitivity/default.toml`` for the format)."""

    prior: str
    cuts: tuple[float, ...]
    relapse_death_cuts: tuple[float, ...]
    from_transplant: bool
    draws_per_table: int
    seed: int
    day: int
    claims: tuple[Claim, ...]
    decision_thresholds: tuple[float, ...]
    factors: tuple[Factor, ...]
    grid: GridSpec | None
    source: str = "sensitivity config"
    digest: str = ""
    #: NUTS settings for scenarios whose prior the exact engine cannot fit (e.g. log-normal hazards)
    nuts_draws: int = 500
    nuts_chains: int = 2
    nuts_tune: int = 500
    #: hierarchical prior set (e.g. commensurate) that gets power-scaling diagnostics from exact-engine
    #: draws ("" = none), on this many tables
    power_scaling_prior: str = ""
    power_scaling_tables: int = 3

    def claim(self, name: str) -> Claim:
        for c in self.claims:
            if c.name == name:
                return c
        raise ConfigError(
            self.source, where="grid", field="claim", found=name, expected=f"one of {[c.name for c in self.claims]}"
        )


def _num(
    value: Any,
    source: str,
    where: str,
    field_: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    integer: bool = False,
) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if ok and lo is not None:
        ok = value >= lo
    if ok and hi is not None:
        ok = value <= hi
    if not ok:
        rng = f" in [{lo}, {hi}]" if lo is not None and hi is not None else (f" >= {lo}" if lo is not None else "")
        raise ConfigError(
            source,
            where=where,
            field=field_,
            found=value,
            expected=f"a {'whole number' if integer else 'finite number'}{rng}",
        )
    return float(value)


def _cuts(value: Any, source: str, where: str, field_: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(source, where=where, field=field_, found=value, expected="a list of cut points in days")
    try:
        return tuple(float(c) for c in validate_cuts([float(v) for v in value], option=f"{source}: {where}.{field_}"))
    except (TypeError, ValueError):
        raise ConfigError(source, where=where, field=field_, found=value, expected="numbers") from None


def _prior_ref(value: str, grid: Path) -> str:
    """A prior named in a grid file: a set name as is; a file path relative to the grid's own folder."""
    if "/" in value or value.endswith(".toml"):
        p = Path(value)
        return str(p if p.is_absolute() else (grid.parent / p))
    return value


def prior_files(cfg: SensitivityConfig) -> list[Path]:
    """The prior-set files a grid names (for the manifest's input hashes)."""
    names = [cfg.prior, cfg.power_scaling_prior] + [str(v) for f in cfg.factors if f.kind == "prior" for v in f.levels]
    return sorted({Path(n) for n in names if n and Path(n).is_file()})


def load_config(path: str | os.PathLike[str] = DEFAULT_CONFIG) -> SensitivityConfig:
    """Load and validate a scenario grid; errors name the file and key."""
    path = Path(path)
    src = str(path)
    doc = read_toml(path, ConfigError, "sensitivity TOML file")
    if not doc:
        raise ConfigError(src, found="an empty file", expected="at least [base] or [[factors]]")
    shapes = {
        "base": (dict, "a table [base]"),
        "grid": (dict, "a table [grid]"),
        "factors": (list, "[[factors]] tables"),
        "claims": (list, "[[claims]] tables"),
    }
    for key, (kind, what) in shapes.items():
        value = doc.get(key)
        if value is not None and (
            not isinstance(value, kind) or (kind is list and not all(isinstance(x, dict) for x in value))
        ):
            raise ConfigError(src, where=key, found=repr(value)[:60], expected=what)
    unknown = set(doc) - {"base", "claims", "factors", "grid"}
    if unknown:
        raise ConfigError(
            src,
            where=sorted(unknown)[0],
            found="an unknown table",
            expected="only [base], [[claims]], [[factors]] and [grid]",
        )
    base = doc.get("base", {})
    known_base = {
        "prior",
        "cuts",
        "relapse_death_cuts",
        "from_transplant",
        "draws_per_table",
        "seed",
        "day",
        "decision_thresholds",
        "nuts_draws",
        "nuts_chains",
        "nuts_tune",
        "power_scaling_prior",
        "power_scaling_tables",
    }
    for k in base:
        if k not in known_base:
            raise ConfigError(
                src, where="base", field=k, found="an unknown key", expected=f"keys among {sorted(known_base)}"
            )
    prior = base.get("prior", "literature")
    if not isinstance(prior, str):
        raise ConfigError(src, where="base", field="prior", found=prior, expected="a prior-set name")
    prior = _prior_ref(prior, path)
    cuts = _cuts(base.get("cuts", list(DEFAULT_CUTS)), src, "base", "cuts")
    rd_cuts = _cuts(base.get("relapse_death_cuts", list(DEFAULT_RELAPSE_DEATH_CUTS)), src, "base", "relapse_death_cuts")
    ft = base.get("from_transplant", False)
    if not isinstance(ft, bool):
        raise ConfigError(src, where="base", field="from_transplant", found=ft, expected="true or false")
    draws = int(_num(base.get("draws_per_table", 200), src, "base", "draws_per_table", lo=10, hi=100_000, integer=True))
    seed = int(_num(base.get("seed", DEFAULT_SEED), src, "base", "seed", lo=0, integer=True))
    day = int(_num(base.get("day", 365), src, "base", "day", lo=1, hi=3650, integer=True))
    thr = base.get("decision_thresholds", [0.9, 0.95])
    if not isinstance(thr, list) or not thr:
        raise ConfigError(src, where="base", field="decision_thresholds", found=thr, expected="a list of probabilities")
    thresholds = tuple(_num(t, src, "base", "decision_thresholds", lo=0.5, hi=0.999) for t in thr)
    nuts = {
        k: int(_num(base.get(k, d), src, "base", k, lo=lo, hi=100_000, integer=True))
        for k, d, lo in (
            ("nuts_draws", 500, 50),
            ("nuts_chains", 2, 1),
            ("nuts_tune", 500, 50),
            ("power_scaling_tables", 3, 1),
        )
    }
    ps_prior = base.get("power_scaling_prior", "")
    if not isinstance(ps_prior, str):
        raise ConfigError(src, where="base", field="power_scaling_prior", found=ps_prior, expected="a prior-set name")
    ps_prior = _prior_ref(ps_prior, path) if ps_prior else ps_prior

    # claims: the grid file's own [[claims]] (same schema as data/claims.toml), else the shared file
    claims = parse_claims(doc["claims"], src) if "claims" in doc else load_claims()

    factors = []
    for i, f in enumerate(doc.get("factors", [])):
        where = f"factors[{i}]"
        kind = f.get("kind")
        if kind not in FACTOR_KINDS:
            raise ConfigError(src, where=where, field="kind", found=kind, expected=f"one of {list(FACTOR_KINDS)}")
        levels = f.get("levels")
        if kind == "table":
            if levels != "each":
                raise ConfigError(
                    src, where=where, field="levels", found=levels, expected='"each" for the table factor'
                )
            lv: tuple[Any, ...] = ("each",)
        else:
            if not isinstance(levels, list) or not levels:
                raise ConfigError(src, where=where, field="levels", found=levels, expected="a non-empty list")
            if kind in ("a0", "w"):
                lv = tuple(_num(v, src, where, "levels", lo=0.0, hi=1.0) for v in levels)
            elif kind == "cuts":
                lv = tuple(_cuts(v, src, where, "levels") for v in levels)
            elif kind == "from_transplant":
                if not all(isinstance(v, bool) for v in levels):
                    raise ConfigError(src, where=where, field="levels", found=levels, expected="true/false values")
                lv = tuple(levels)
            else:
                if not all(isinstance(v, str) for v in levels):
                    raise ConfigError(src, where=where, field="levels", found=levels, expected="prior-set names")
                lv = tuple(_prior_ref(v, path) for v in levels)
        factors.append(Factor(str(f.get("name", kind)), kind, lv))

    grid = None
    if "grid" in doc:
        g = doc["grid"]
        for req in ("claim", "centres", "weights"):
            if req not in g:
                raise ConfigError(src, where="grid", field=req, found="missing", expected="claim, centres and weights")
        centres = tuple(_num(v, src, "grid", "centres", lo=1e-4, hi=0.99) for v in g["centres"])
        weights = tuple(_num(v, src, "grid", "weights", lo=1e-3, hi=1e5) for v in g["weights"])
        if len(centres) < 2 or len(weights) < 2:
            raise ConfigError(
                src,
                where="grid",
                found=f"{len(centres)} centres x {len(weights)} weights",
                expected="at least 2 of each",
            )
        grid = GridSpec(str(g["claim"]), tuple(sorted(centres)), tuple(sorted(weights)))
    cfg = SensitivityConfig(
        prior,
        cuts,
        rd_cuts,
        ft,
        draws,
        seed,
        day,
        tuple(claims),
        thresholds,
        tuple(factors),
        grid,
        src,
        hashlib.sha256(path.read_bytes()).hexdigest(),
        nuts["nuts_draws"],
        nuts["nuts_chains"],
        nuts["nuts_tune"],
        ps_prior,
        nuts["power_scaling_tables"],
    )
    if grid is not None:
        cfg.claim(grid.claim)
    return cfg


# ----------------------------------------------------------------------------- prior variations


def _robust_w(prior: PriorSet, k: str) -> float | None:
    """The robust-mixture weight recorded for transition ``k`` (``None``: not a robust mixture)."""
    prov = getattr(prior, "provenance", {}).get(k)
    return None if prov is None else prov.w


def _is_baseline(g: GammaMixture, base: GammaMixture) -> bool:
    return g.n_components == 1 and all(
        math.isclose(x, y, rel_tol=1e-9) for x, y in ((g.shapes[0], base.shapes[0]), (g.rates[0], base.rates[0]))
    )


def _split(g: GammaMixture, w: float | None) -> GammaMixture:
    """The informative part of ``g`` (all components but the robust last one when ``w`` is set)."""
    parts = split_robust(g, w)
    return g if parts is None else parts[0]


def _map_intervals(
    prior: PriorSet,
    fn: Callable[[GammaMixture, GammaMixture, float | None], GammaMixture],
    cuts: Sequence[float],
    transitions: Sequence[str],
    *,
    new_w: float | None = None,
    name: str,
) -> PriorSet:
    """Apply ``fn(interval prior, baseline of the interval, robust weight)`` to every interval of ``transitions``."""
    base = weak_interval_priors(cuts)
    out = dict(prior.transitions)
    for k in transitions:
        spec = prior.per_interval(k, len(cuts))
        if not all_gamma(spec):
            raise PriorError(
                f"prior set '{prior.name}'",
                where=k,
                found=type(spec).__name__,
                expected="gamma-mixture priors (a0 and w act on conjugate priors)",
            )
        out[k] = [fn(g, base[j], _robust_w(prior, k)) for j, g in enumerate(spec)]
    res = replace(prior, name=name, transitions=out)
    if new_w is not None and isinstance(res, LibraryPriorSet):  # only library prior sets record provenance
        prov = res.provenance
        res = replace(res, provenance={**prov, **{k: replace(prov[k], w=new_w) for k in transitions if k in prov}})
    return res


def power_discount(
    prior: PriorSet, a0: float, cuts: Sequence[float], transitions: Sequence[str] = ("relapse", "nrm")
) -> PriorSet:
    r"""Power prior: each informative component :math:`\mathrm{Gamma}(a_j + d, b_j + E)` built on the interval's
    weakly informative baseline :math:`\mathrm{Gamma}(a_j, b_j)` becomes :math:`\mathrm{Gamma}(a_j + a_0 d,
    b_j + a_0 E)`; the robust component (the baseline, :func:`models.prior_library.robust_component`)
    keeps its weight; baseline intervals are left as they are."""

    def one(g: GammaMixture, base: GammaMixture, w: float | None) -> GammaMixture:
        if _is_baseline(g, base):
            return g
        inf = _split(g, w)
        ab, bb = base.shapes[0], base.rates[0]
        disc = GammaMixture(
            inf.weights,
            tuple(max(ab + a0 * (a - ab), 1e-6) for a in inf.shapes),
            tuple(max(bb + a0 * (b - bb), 1e-6) for b in inf.rates),
        )
        parts = split_robust(g, w)  # (informative part, w) with w set, or None
        return disc if parts is None else robustify(disc, parts[1], robust_component(disc, base))

    return _map_intervals(prior, one, cuts, transitions, name=f"{prior.name}|a0={a0:g}")


def robust_weight(
    prior: PriorSet, w: float, cuts: Sequence[float], transitions: Sequence[str] = ("relapse", "nrm")
) -> PriorSet:
    r"""Robust mixture with weight :math:`w` on the informative components and :math:`1-w` on the robust one
    (:func:`models.prior_library.robustify` of the informative part; ``w = 0`` is the weakly informative
    baseline)."""

    def one(g: GammaMixture, base: GammaMixture, w_old: float | None) -> GammaMixture:
        if _is_baseline(g, base):
            return g
        if w == 0:
            return base
        inf = _split(g, w_old)
        return robustify(inf, w, robust_component(inf, base))

    return _map_intervals(
        prior, one, cuts, transitions, new_w=(None if w in (0, 1) else w), name=f"{prior.name}|w={w:g}"
    )


def centred_prior(prior: PriorSet, centre: float, weight: float, cuts: Sequence[float], day: int = 365) -> PriorSet:
    r"""Relapse prior of a pseudo-cohort of :math:`m` patients followed for ``day`` days at 1-year
    relapse incidence :math:`p_c` (constant hazard :math:`\lambda_c = -\log(1-p_c)/d`).

    Interval :math:`j` receives pseudo-exposure :math:`E_j = m\,|[c_j, c_{j+1}) \cap [0, d)|` and
    pseudo-events :math:`\lambda_c E_j` on top of the interval's weakly informative baseline
    :math:`\mathrm{Gamma}(a_j, b_j)` (:func:`models.priors.weak`):
    :math:`\lambda_j \sim \mathrm{Gamma}(a_j + \lambda_c E_j,\, b_j + E_j)` — the posterior of the baseline
    given the pseudo-cohort, as the power prior is built — so the pseudo-data are worth
    :math:`m` patient-years and :math:`m\,d\,\lambda_c` events, and :math:`m \to 0` gives the baseline.
    Intervals after ``day`` keep the base prior.
    """
    lam = -math.log1p(-centre) / day
    c = np.asarray(cuts, float)
    hi = np.append(c[1:], np.inf)
    base = gamma_intervals(prior.per_interval("relapse", len(c)))  # a per-interval (gamma) relapse prior
    weak_base = weak_interval_priors(c)
    out = []
    for j in range(len(c)):
        e = weight * max(min(hi[j], day) - c[j], 0.0)
        ab, bb = weak_base[j].shapes[0], weak_base[j].rates[0]
        out.append(GammaMixture.single(ab + lam * e, bb + e) if e > 0 else base[j])
    res = replace(
        prior,
        name=f"{prior.name}|relapse centre={centre:g},weight={weight:g}",
        transitions={**prior.transitions, "relapse": out},
    )
    if isinstance(res, LibraryPriorSet) and "relapse" in res.provenance:  # only library sets record provenance
        prov = res.provenance
        res = replace(res, provenance={**prov, "relapse": replace(prov["relapse"], w=None, method="gamma")})
    return res


# ----------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class GridScenario:
    """One analysis of the grid."""

    id: str
    factor: str
    level: str
    prior_name: str
    cuts: tuple[float, ...]
    from_transplant: bool
    tables: tuple[int, ...]
    a0: float | None = None
    w: float | None = None
    centre: float | None = None
    weight: float | None = None
    kind: str = "factor"  # "base", "factor" or "grid"

    def key(self) -> str:
        payload = json.dumps(
            [self.prior_name, self.cuts, self.from_transplant, self.tables, self.a0, self.w, self.centre, self.weight],
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def build_scenarios(cfg: SensitivityConfig, n_tables: int) -> list[GridScenario]:
    """Expand the grid: the base, every factor level, every (centre, weight) cell."""
    all_tables = tuple(range(n_tables))
    base = GridScenario("base", "base", "base", cfg.prior, cfg.cuts, cfg.from_transplant, all_tables, kind="base")
    out = [base]
    for f in cfg.factors:
        if f.kind == "table":
            for m in all_tables:
                out.append(
                    replace(
                        base, id=f"{f.kind}={m + 1}", factor=f.name, level=f"table {m + 1}", tables=(m,), kind="factor"
                    )
                )
            continue
        for lv in f.levels:
            if f.kind == "prior":
                sc = replace(base, prior_name=lv, level=str(lv))
            elif f.kind == "a0":
                sc = replace(base, a0=lv, level=f"a0 = {lv:g}")
            elif f.kind == "w":
                sc = replace(base, w=lv, level=f"w = {lv:g}")
            elif f.kind == "cuts":
                sc = replace(base, cuts=lv, level=f"{len(lv)} intervals" + (" (base)" if lv == cfg.cuts else ""))
            else:
                sc = replace(base, from_transplant=lv, level="from transplant" if lv else "delayed entry")
            out.append(replace(sc, id=f"{f.kind}={sc.level}", factor=f.name, kind="factor"))
    if cfg.grid is not None:
        for c in cfg.grid.centres:
            for wgt in cfg.grid.weights:
                out.append(
                    replace(
                        base,
                        id=f"grid:centre={c:g},weight={wgt:g}",
                        factor="grid",
                        level=f"centre {c:g}, weight {wgt:g}",
                        centre=c,
                        weight=wgt,
                        kind="grid",
                    )
                )
    return out


def scenario_prior(sc: GridScenario, cache: dict, relapse_death_cuts: Sequence[float], day: int = 365) -> PriorSet:
    """The prior of a scenario: its named set built for the scenario's cuts, then a0, w or the grid's
    centre and weight applied. ``cache`` maps a name, or (name, cuts), to a prior set."""
    key = (sc.prior_name, sc.cuts)
    if key not in cache:
        cache[key] = (
            cache[sc.prior_name]
            if sc.prior_name in cache
            else load_prior_set(sc.prior_name, sc.cuts, relapse_death_cuts)
        )
    p = cache[key]
    if sc.a0 is not None:
        p = power_discount(p, sc.a0, sc.cuts)
    if sc.w is not None:
        p = robust_weight(p, sc.w, sc.cuts)
    if sc.centre is not None and sc.weight is not None:
        p = centred_prior(p, sc.centre, sc.weight, sc.cuts, day)
    return p


# ----------------------------------------------------------------------------- exact engine, vectorised


def posterior_hazards(
    prior: PriorSet,
    stats: Sequence[TransitionData],
    n_intervals: Mapping[str, int],
    draws_per_table: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Pooled exact posterior draws ``{transition: (M * draws, J)}`` over the tables in ``stats``
    (conjugate updates; quadrature for commensurate transitions, :mod:`models.commensurate_exact`)."""
    if not exact_eligible(prior):
        raise PriorError(
            f"prior set '{prior.name}'",
            found="priors the exact engine cannot fit",
            expected="gamma mixtures or commensurate priors for the exact engine (use scripts/fit.py --engine nuts)",
        )
    comm = commensurate_transitions(prior)
    grids = {k: quadrature(cp, max_events=max_events(stats, k)) for k, cp in comm.items()}
    out: dict[str, list[np.ndarray]] = {k: [] for k in TRANSITIONS}
    for td in stats:
        for k in TRANSITIONS:
            if k in grids:
                out[k].append(grids[k].draw(td.events[k], td.exposure[k], draws_per_table, rng))
                continue
            spec = gamma_intervals(prior.per_interval(k, n_intervals[k]))  # exact_eligible: gamma mixtures
            out[k].append(exact_posterior_draws(spec, td.events[k], td.exposure[k], draws_per_table, rng))
    return {k: np.vstack(v) for k, v in out.items()}


# ----------------------------------------------------------------------------- running the grid


@dataclass
class GridResult:
    table: pd.DataFrame
    power_scaling: pd.DataFrame
    tipping: pd.DataFrame
    verdict: list[str]
    config: SensitivityConfig
    n_tables: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def _quantity_summary(values: np.ndarray, prefix: str) -> dict[str, float]:
    a = (1 - CI_LEVEL) / 2
    lo, med, hi = np.quantile(values, [a, 0.5, 1 - a])
    return {
        f"{prefix}_mean": float(values.mean()),
        f"{prefix}_median": float(med),
        f"{prefix}_lower": float(lo),
        f"{prefix}_upper": float(hi),
    }


def _ess_and_conflict(
    prior: PriorSet,
    stats: Sequence[TransitionData],
    cuts: Sequence[float],
    relapse_death_cuts: Sequence[float],
    memo: dict | None = None,
) -> dict[str, float]:
    r"""First-year prior weight and Box's conflict p-value (median over tables) of relapse and NRM.

    Weight (:mod:`models.prior_weight`): the effective current sample size (events and patients added
    to these data by the prior, median over tables), the informative component's ESS and its smallest
    posterior weight, and the whole prior's ESS (ELIR or moment matching). The p-value
    :math:`\min\{1, 2\min(P(D \le d), P(D \ge d))\}` needs the exact negative-binomial (mixture)
    predictive pmf only up to the observed count :math:`d`, so the convolution is truncated there;
    results are memoised per (transition prior, data) because grid cells share most priors.
    """
    memo = {} if memo is None else memo
    out: dict[str, float] = {}
    for k in ("relapse", "nrm"):
        spec = prior.per_interval(k, len(cuts))
        key = (k, repr(spec), tuple(cuts), tuple(id(td) for td in stats))
        if key not in memo:
            one = replace(prior, name="one", transitions={**weak(cuts, relapse_death_cuts).transitions, k: spec})
            ess = ess_summary(ess_table(one, cuts, relapse_death_cuts, stats)).set_index("transition").loc[k]
            pvals = []
            gammas = spec if all_gamma(spec) else None
            for td in stats:
                d = round(float(np.sum(td.events[k])))
                if gammas is not None:
                    pmf = predictive_pmf(gammas, td.exposure[k], max(d, 1))
                    pvals.append(conflict_pvalue(pmf, d)[2])
                else:  # other families: the library's simulated prior predictive
                    ct = conflict_table(one, td, n_sim=20_000, seed=0).set_index("transition")
                    pvals.append(float(ct.loc[k, "p_value"]))
            memo[key] = {
                f"pull_events_{k}": float(ess["pull_events"]),
                f"pull_patients_{k}": float(ess["pull_patients"]),
                f"informative_ess_events_{k}": float(ess["informative_ess_events"]),
                f"posterior_weight_min_{k}": float(ess["posterior_weight_min"]),
                f"ess_events_{k}": float(ess["ess_events"]),
                f"ess_patients_{k}": float(ess["ess_patients"]),
                f"conflict_p_{k}": float(np.median(pvals)),
            }
        out |= memo[key]
    return out


def _cache_path(cache_dir: Path | None, cfg: SensitivityConfig, sc: GridScenario, data_digest: str) -> Path | None:
    if cache_dir is None:
        return None
    return cache_dir / f"{cfg.digest[:12]}-{data_digest[:12]}-{sc.key()}.json"


def run_grid(
    cfg: SensitivityConfig,
    tables: Sequence[pd.DataFrame],
    *,
    progress: bool | Progress = True,
    cache_dir: Path | None = None,
    data_digest: str = "",
    priors: Mapping[str, PriorSet] | None = None,
) -> GridResult:
    """Run every scenario of the grid on the reconstructed ``tables`` (exact engine).

    ``priors`` supplies prior sets by name (others are resolved through the prior library);
    ``progress`` reports the steps (:mod:`models.progress`; ``True``: lines on standard error).
    """
    t0 = time.perf_counter()
    rep = as_progress(progress)
    scenarios = build_scenarios(cfg, len(tables))
    rep.note(f"{len(scenarios)} scenarios over {len(tables)} table(s): building the prior sets they name")
    stats_cache: dict[tuple, list[TransitionData]] = {}
    prior_cache: dict = dict(priors or {})
    # every prior set the grid names must exist before anything runs (one-line PriorError otherwise)
    for name in dict.fromkeys(sc.prior_name for sc in scenarios):
        if name not in prior_cache and (name, tuple(cfg.cuts)) not in prior_cache:
            prior_cache[(name, tuple(cfg.cuts))] = load_prior_set(name, cfg.cuts, cfg.relapse_death_cuts)
    rows = []
    memo: dict[str, dict[str, Any]] = {}
    conflict_memo: dict = {}
    fit_cache: dict = {}  # the base scenario's fit, shared with its power-scaling
    for i, sc in enumerate(scenarios):
        identity: dict[str, Any] = {
            "scenario": sc.id,
            "factor": sc.factor,
            "level": sc.level,
            "kind": sc.kind,
            "prior": sc.prior_name,
            "a0": sc.a0,
            "w": sc.w,
            "centre": sc.centre,
            "weight": sc.weight,
            "cuts": ",".join(f"{c:g}" for c in sc.cuts),
            "from_transplant": sc.from_transplant,
            "n_tables": len(sc.tables),
        }
        cpath = _cache_path(cache_dir, cfg, sc, data_digest)
        if sc.key() in memo:  # the same analysis under another factor's name (e.g. a level equal to the base)
            result = memo[sc.key()]
        elif cpath is not None and cpath.exists():
            result = json.loads(cpath.read_text())
        else:
            result = _run_scenario(cfg, sc, tables, stats_cache, prior_cache, conflict_memo, fit_cache)
            if cpath is not None:
                cpath.parent.mkdir(parents=True, exist_ok=True)
                tmp = cpath.with_suffix(".tmp")
                tmp.write_text(json.dumps(result, default=float))
                os.replace(tmp, cpath)
        memo[sc.key()] = result
        rows.append({**identity, **result})
        rep.advance("scenarios", i + 1, len(scenarios))
    rep.note("power-scaling and prior-data agreement")
    table = pd.DataFrame(rows)
    tip = tipping_points(table, cfg) if cfg.grid is not None else pd.DataFrame(columns=list(TIPPING_COLUMNS))
    ps = with_agreement(base_power_scaling(cfg, tables, prior_cache, fit_cache), cfg, tables, prior_cache, cfg.prior)
    if cfg.power_scaling_prior:
        try:
            ps_prior = prior_cache.get(cfg.power_scaling_prior) or load_prior_set(
                cfg.power_scaling_prior, cfg.cuts, cfg.relapse_death_cuts
            )
            prior_cache.setdefault(cfg.power_scaling_prior, ps_prior)
            h_ps = hierarchical_power_scaling(cfg, tables, ps_prior)
            ps = pd.concat(
                [ps, with_agreement(h_ps, cfg, tables, prior_cache, cfg.power_scaling_prior)], ignore_index=True
            )
        except ToolkitError as exc:  # reported, never silently dropped
            failed = {"prior": cfg.power_scaling_prior, "engine": ENGINE_LABEL, "verdict": f"failed: {exc}"}
            ps = pd.concat([ps, pd.DataFrame([failed])], ignore_index=True)
    res = GridResult(table, ps, tip, [], cfg, len(tables), time.perf_counter() - t0)
    res.verdict = verdict(res)
    return res


def with_agreement(
    ps: pd.DataFrame, cfg: SensitivityConfig, tables: Sequence[pd.DataFrame], prior_cache: dict, prior_name: str
) -> pd.DataFrame:
    """Add Box's p (whole prior and sources alone, medians over tables) and the agreement verdict
    (:mod:`models.agreement`) to power-scaling rows of one prior."""
    prior = prior_cache.get((prior_name, cfg.cuts)) or prior_cache.get(prior_name)
    if prior is None:
        prior = load_prior_set(prior_name, cfg.cuts, cfg.relapse_death_cuts)
    stats = [transition_data(t, cfg.cuts, cfg.relapse_death_cuts, from_transplant=cfg.from_transplant) for t in tables]
    agree = agreement_table(conflict_table_draws(prior, stats, n_sim=20_000), ps).set_index("quantity")
    out = ps.copy()
    for col in ("box_p", "sources_p", "verdict"):
        out[col] = out["quantity"].map(agree[col])
    return out


def _run_scenario(
    cfg: SensitivityConfig,
    sc: GridScenario,
    tables: Sequence[pd.DataFrame],
    stats_cache: dict[tuple, list[TransitionData]],
    prior_cache: dict,
    conflict_memo: dict | None = None,
    fit_cache: dict | None = None,
) -> dict[str, Any]:
    """Summaries of one scenario; a failure is returned as its status, never raised.

    The base scenario is the fit of ``scripts/fit.py`` with the grid's seed
    (:func:`models.fit_recipe.fit_draws`): its quantities, claims and prior weight are the fit's, number
    for number. The other scenarios use common random numbers among themselves.
    """
    result: dict[str, Any] = {}
    try:
        skey = (sc.cuts, sc.from_transplant)
        if skey not in stats_cache:
            stats_cache[skey] = [
                transition_data(t, sc.cuts, cfg.relapse_death_cuts, from_transplant=sc.from_transplant) for t in tables
            ]
        stats = [stats_cache[skey][m] for m in sc.tables]
        nint = {k: len(cfg.relapse_death_cuts) if k == "death_after_relapse" else len(sc.cuts) for k in TRANSITIONS}
        prior = scenario_prior(sc, prior_cache, cfg.relapse_death_cuts, cfg.day)
        prior.validate(nint)
        # common random numbers: every scenario starts from the same stream, so differences between
        # scenarios reflect the priors and data, not Monte Carlo noise (smooth tipping contours)
        rng = np.random.default_rng(np.random.SeedSequence(cfg.seed))
        if sc.kind == "base" and exact_eligible(prior):
            hz = _base_fit(cfg, sc, tables, prior, {} if fit_cache is None else fit_cache).hazards
            result["engine"] = "exact (the fit)" if prior.conjugate else "exact (quadrature; the fit)"
        elif exact_eligible(prior):
            # a single-table scenario gets as many draws as the pooled ones
            per_table = cfg.draws_per_table * len(tables) // len(sc.tables)
            hz = posterior_hazards(prior, stats, nint, per_table, rng)
            result["engine"] = "exact" if prior.conjugate else ENGINE_LABEL
        else:
            hz, diag = _nuts_hazards(cfg, sc, [tables[m] for m in sc.tables], prior)
            result.update(diag)
        days = sorted({cfg.day, *(c.day for c in cfg.claims)})
        lm = landmark_values(hz, sc.cuts, cfg.relapse_death_cuts, days)
        for q in REPORTED:
            result.update(_quantity_summary(lm[q][cfg.day], q))
        for c in cfg.claims:
            result[f"P[{c.name}]"] = float(np.mean(c.holds(lm[c.quantity][c.day])))
        result.update(_ess_and_conflict(prior, stats, sc.cuts, cfg.relapse_death_cuts, conflict_memo))
        result["status"] = "ok" if result.get("diagnostics_ok", True) else "ok, NUTS diagnostics failed"
    except ToolkitError as exc:
        result["status"] = f"failed: {exc}"
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        result["status"] = f"failed: {type(exc).__name__}: {exc}"
    return result


def _nuts_hazards(
    cfg: SensitivityConfig, sc: GridScenario, tables: Sequence[pd.DataFrame], prior: PriorSet
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Pooled NUTS hazard draws of a scenario whose prior the exact engine cannot fit (log-normal or
    random-walk hazards) and its convergence summary (one compiled model per prior structure, reused
    across tables and scenarios: the data and gamma hyperparameters are swapped in as shared data)."""
    model = Model(
        list(tables),
        priors=prior,
        cuts=sc.cuts,
        relapse_death_cuts=cfg.relapse_death_cuts,
        from_transplant=sc.from_transplant,
    )
    # hierarchical priors (a random walk's scale over log hazards) make funnels: take small steps
    idata = model.fit(
        engine="nuts",
        draws=cfg.nuts_draws,
        chains=cfg.nuts_chains,
        tune=cfg.nuts_tune,
        seed=cfg.seed,
        target_accept=0.99,
    )
    diag = diagnostics(idata)
    hz, _ = hazard_draws(idata, max_draws=None)
    return hz, {
        "engine": "nuts",
        "rhat_max": float(diag["r_hat"].max()),
        "ess_bulk_min": float(diag["ess_bulk"].min()),
        "divergences": int(diag.groupby("table")["divergences"].first().sum()),
        "diagnostics_ok": bool(diagnostics_ok(diag)),
    }


def hierarchical_power_scaling(cfg: SensitivityConfig, tables: Sequence[pd.DataFrame], prior: PriorSet) -> pd.DataFrame:
    r"""Power-scaling sensitivity of a hierarchical (commensurate) prior set, per 1-year quantity.

    The first ``power_scaling_tables`` tables are fitted as ``fit.py`` fits them
    (:func:`models.fit_recipe.fit_draws`, exact engine: quadrature for the commensurate transitions)
    and every draw is importance-reweighted with each table's own likelihood; results are averaged
    over the tables. What is scaled: :math:`p_\alpha \propto p_0\,(p/p_0)^\alpha` with
    :math:`p_0` the weakly informative baseline (:func:`models.priors.weak`) and :math:`p` the
    prior density of all hazards, in which a commensurate transition enters through its *marginal*
    density of the hazards, :math:`p(\lambda_1..\lambda_J) = \int \mathrm{HN}(\sigma)\prod_j
    p(\lambda_j\mid\sigma)\,d\sigma` (historical hazards and :math:`\sigma` integrated out;
    :func:`models.commensurate_exact.commensurate_logratio`) and gamma-mixture transitions through
    their own densities, exactly as for the base prior (:func:`models.power_scaling.fit_power_scaling`).
    """
    if not exact_eligible(prior):
        raise ConfigError(
            "power_scaling_prior",
            found=f"prior set '{prior.name}' (not gamma mixtures or commensurate priors)",
            expected="a prior set the exact engine fits",
        )
    use = list(tables)[: cfg.power_scaling_tables]
    model = Model(
        use, priors=prior, cuts=cfg.cuts, relapse_death_cuts=cfg.relapse_death_cuts, from_transplant=cfg.from_transplant
    )
    fd = fit_draws(model, seed=cfg.seed)
    fn = fit_power_scaling if prior.conjugate else quadrature_power_scaling
    return fn(prior, model.stats, fd.all_hazards, fd.all_table_index, cfg.cuts, cfg.relapse_death_cuts, cfg.day)


def _base_fit(cfg: SensitivityConfig, sc: GridScenario, tables: Sequence[pd.DataFrame], prior: PriorSet, cache: dict):
    """The base scenario's posterior, drawn exactly as ``fit.py`` draws it (:mod:`models.fit_recipe`)."""
    if "fit" not in cache:
        model = Model(
            [tables[m] for m in sc.tables],
            priors=prior,
            cuts=sc.cuts,
            relapse_death_cuts=cfg.relapse_death_cuts,
            from_transplant=sc.from_transplant,
        )
        cache["model"], cache["fit"] = model, fit_draws(model, seed=cfg.seed)
    return cache["fit"]


def base_power_scaling(
    cfg: SensitivityConfig,
    tables: Sequence[pd.DataFrame],
    prior_cache: dict[str, PriorSet] | None = None,
    fit_cache: dict | None = None,
) -> pd.DataFrame:
    """Power-scaling sensitivity of the base scenario's quantities from the fit's draws (each table's
    own likelihood), averaged over tables: the numbers ``fit.py`` reports for the same prior and data."""
    prior_cache = {} if prior_cache is None else prior_cache
    base = GridScenario(
        "base", "base", "base", cfg.prior, cfg.cuts, cfg.from_transplant, tuple(range(len(tables))), kind="base"
    )
    prior = scenario_prior(base, prior_cache, cfg.relapse_death_cuts, cfg.day)
    fd = _base_fit(cfg, base, tables, prior, {} if fit_cache is None else fit_cache)
    stats = [transition_data(t, cfg.cuts, cfg.relapse_death_cuts, from_transplant=cfg.from_transplant) for t in tables]
    fn = fit_power_scaling if prior.conjugate else quadrature_power_scaling
    return fn(prior, stats, fd.all_hazards, fd.all_table_index, cfg.cuts, cfg.relapse_death_cuts, cfg.day)


# ----------------------------------------------------------------------------- tipping points and verdict


#: Columns of the tipping-point table (also written, empty, for a grid without ``[grid]``).
TIPPING_COLUMNS = ("claim", "weight", "threshold", "tipping_centre", "side")


def tipping_points(table: pd.DataFrame, cfg: SensitivityConfig) -> pd.DataFrame:
    """For each prior weight, the prior centre at which ``P(claim)`` crosses each decision threshold.

    Linear interpolation between adjacent centres of the grid; ``NaN`` when the probability does not
    cross the threshold within the grid (``side`` says whether it stays above or below).
    """
    assert cfg.grid is not None
    col = f"P[{cfg.grid.claim}]"
    g = table[(table["kind"] == "grid") & (table["status"] == "ok")]
    rows: list[dict[str, Any]] = []
    if col not in g.columns or g.empty:  # every grid scenario failed: reported in the verdict, no crossing
        return pd.DataFrame(rows, columns=["claim", "weight", "threshold", "tipping_centre", "side"])
    for wgt in cfg.grid.weights:
        sub = g[np.isclose(g["weight"].astype(float), wgt)].sort_values("centre")
        c = sub["centre"].to_numpy(float)
        p = sub[col].to_numpy(float)
        for thr in cfg.decision_thresholds:
            crossing = np.nan
            side = "above" if (p >= thr).all() else "below" if (p < thr).all() else "crosses"
            for i in range(len(c) - 1):
                if (p[i] - thr) * (p[i + 1] - thr) <= 0 and p[i] != p[i + 1]:
                    crossing = c[i] + (thr - p[i]) * (c[i + 1] - c[i]) / (p[i + 1] - p[i])
                    break
            rows.append(
                {"claim": cfg.grid.claim, "weight": wgt, "threshold": thr, "tipping_centre": crossing, "side": side}
            )
    return pd.DataFrame(rows)


def verdict(res: GridResult) -> list[str]:
    """Plain sentences: which claims hold in every scenario, which depend on what."""
    cfg, t = res.config, res.table
    ok = t[t["status"].astype(str).str.startswith("ok") & (t["kind"] != "grid")]
    failed = t[~t["status"].astype(str).str.startswith("ok")]
    lines = [
        f"{len(t)} scenarios ({len(ok)} prior/model/reconstruction scenarios ok, {len(failed)} failed) "
        f"over {res.n_tables} reconstructed tables."  # no elapsed time: the file is byte-reproducible
    ]
    for c in cfg.claims:
        col = f"P[{c.name}]"
        p = ok[col].astype(float)
        for thr in cfg.decision_thresholds:
            lo, hi = float(p.min()), float(p.max())
            what = f"P({c.quantity} at day {c.day} {c.op} {100 * c.threshold:.1f}%)"
            base = float(t.loc[t["kind"] == "base", col].iloc[0]) if (t["kind"] == "base").any() else float("nan")
            if lo >= thr:
                lines.append(f"HOLDS at {thr:g}: {what} >= {thr:g} in every scenario (range {lo:.2f}-{hi:.2f}).")
            elif hi < thr:
                lines.append(f"NOT SUPPORTED at {thr:g}: {what} < {thr:g} in every scenario (range {lo:.2f}-{hi:.2f}).")
            else:
                # name the minority side: where the claim is reached if it mostly fails, and vice versa
                reach = p >= thr
                side, rows = ("reaches", ok[reach]) if reach.sum() <= (~reach).sum() else ("falls short", ok[~reach])
                names = sorted({f"{f}: {lv}" for f, lv in zip(rows["factor"], rows["level"], strict=True)})
                lines.append(
                    f"DEPENDS at {thr:g}: {what} is {base:.2f} in the base scenario and ranges {lo:.2f}-{hi:.2f}; "
                    f"it {side} {thr:g} only under {', '.join(names[:8])}" + (" ..." if len(names) > 8 else "") + "."
                )
    if not res.tipping.empty:
        for _, r in res.tipping.iterrows():
            if r["side"] == "crosses" and np.isfinite(r["tipping_centre"]):
                lines.append(
                    f"Tipping point ({r['claim']}, threshold {r['threshold']:g}): a relapse prior worth "
                    f"{r['weight']:g} patient-years reaches the threshold when centred at a 1-year relapse "
                    f"incidence of {100 * r['tipping_centre']:.1f}%."
                )
    for _, r in res.power_scaling.iterrows():
        if str(r["verdict"]).startswith("failed"):
            lines.append(f"Power-scaling under '{r['prior']}' ({r['engine']}) {r['verdict']}")
        else:
            lines.append(f"Prior-data agreement under '{r['prior']}' ({r['engine']}): " + sentence(r) + ".")
    nuts_bad = t[t["status"].astype(str).str.contains("NUTS diagnostics failed")]
    for _, r in nuts_bad.iterrows():
        lines.append(
            f"NUTS DIAGNOSTICS FAILED in scenario {r['scenario']}: max R-hat {r['rhat_max']:.3f}, "
            f"min bulk ESS {r['ess_bulk_min']:.0f}, divergences {int(r['divergences'])}"
        )
    for _, r in failed.iterrows():
        lines.append(f"FAILED scenario {r['scenario']}: {r['status']}")
    return lines


def tornado_table(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per factor: the base value and the min/max of ``column`` over its levels (for tornado plots)."""
    ok = table[table["status"] == "ok"]
    base = float(ok.loc[ok["kind"] == "base", column].iloc[0])
    rows = []
    for f, sub in ok[ok["kind"] == "factor"].groupby("factor", sort=False):
        v = sub[column].astype(float)
        rows.append(
            {
                "factor": f,
                "base": base,
                "low": float(v.min()),
                "high": float(v.max()),
                "low_level": sub.loc[v.idxmin(), "level"],
                "high_level": sub.loc[v.idxmax(), "level"],
            }
        )
    out = pd.DataFrame(rows)
    if not out.empty:
        out["span"] = out["high"] - out["low"]
        out = out.sort_values("span", ascending=True, ignore_index=True)
    return out
