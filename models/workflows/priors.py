r"""The prior-set workflows: list the sets and figures, audit one set, draw and write its figures.

A prior set turns published figures into pseudo-events :math:`d_j` and exposure :math:`E_j` on
the model's intervals (constant hazards between landmarks), then into gamma priors by power prior,
robust mixture, MAP prior or commensurate prior (:mod:`models.prior_sources`,
:mod:`models.prior_library`). These workflows are what ``scripts/priors.py`` runs:

- :func:`prior_catalog` (``list``): the named sets, the figures and the hazard-ratio effect priors;
- :func:`audit_prior` (``show``): per transition and interval, the sources, a0 / w, the prior
  hazard, the effective sample size (events, patients), the prior 1-year readings, every figure used
  with its citation, quote and address, and (with outcome tables) the prior–data conflict check;
- :func:`plot_prior` (``plot``): prior densities, prior-predictive incidence and the tables
  ``ess.csv``, ``landmarks_1y.csv``, ``prior.json``, written all or nothing.

Settings errors name the setting (``cuts``, ``draws``, ...); the command maps them to its options.

References
----------
Ibrahim JG, Chen M-H. Stat Sci 2000;15:46–60 (power prior). Schmidli H et al. Biometrics
2014;70:1023–32 (robust mixture). Neuenschwander B et al. Clin Trials 2010;7:5–18 (MAP prior).
Hobbs BP et al. Biometrics 2011;67:1047–56 (commensurate prior). Box GEP. J R Stat Soc A
1980;143:383–430 (prior-predictive check).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.constants import DEFAULT_CUTS, DEFAULT_SEED
from models.errors import ConfigError
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS, TRANSITIONS
from models.prior_sources import SETS_TOML, SOURCES_TOML
from models.progress import SILENT, Progress

#: Upper bound of ``draws``: a million prior draws of every hazard take a few hundred MB
MAX_PRIOR_DRAWS = 1_000_000
#: Lower bound of ``draws``: fewer make the 2.5% and 97.5% prior quantiles too noisy to print
MIN_PRIOR_DRAWS = 100
#: Prior draws for the landmark summaries unless told otherwise
PRIOR_DRAWS = 20_000


@dataclass(frozen=True)
class PriorSettings:
    """Everything that decides a prior set's audit, tables and figures.

    Parameters
    ----------
    prior
        A set name of ``data/priors/sets.toml`` or a prior-set TOML file (same format, one set).
    sources
        The figures TOML (default ``data/priors/sources.toml``).
    cuts, relapse_death_cuts
        Cut points (days from transplant; days since relapse); ``None`` for the defaults.
    seed
        Seed of the MAP fits and of every prior draw.
    draws
        Prior draws for the landmark summaries and 1-year readings (100 to 1,000,000).
    outcomes
        An outcome CSV or a folder of ``draw_*.csv``: the audit adds the posterior weights, the
        prior's pull and the prior–data conflict check on these tables; ``None``: no check.
    """

    prior: str | Path = "literature"
    sources: str | Path = SOURCES_TOML
    cuts: tuple[float, ...] | None = None
    relapse_death_cuts: tuple[float, ...] | None = None
    seed: int = DEFAULT_SEED
    draws: int = PRIOR_DRAWS
    outcomes: str | Path | None = None


@dataclass
class PriorCatalog:
    """The named prior sets, the figures and the hazard-ratio effect priors (``priors.py list``).

    ``tables``: ``sets`` (name, description), ``figures`` (figure, study, endpoint, landmark_m,
    estimate, n, verified) and ``effect_priors`` (figure, hr, lower, upper, log_hr_mean,
    log_hr_sd, citation: log HR ~ Normal(mean, sd), sd = (log U − log L) / (2 × 1.95996)).
    """

    tables: dict[str, pd.DataFrame]

    def report(self) -> str:
        """The listing ``priors.py list`` prints."""
        from models.workflows.priors_outputs import catalog_text

        return catalog_text(self)


@dataclass
class _LoadedPrior:
    """A prior set built on the settings' intervals, with the sources it was built from."""

    settings: PriorSettings
    prior: Any
    cuts: np.ndarray
    relapse_death_cuts: np.ndarray
    sources: Any

    def figures(self) -> dict[str, Any]:
        """Prior densities and prior-predictive incidence as matplotlib Figures, by file stem (caller closes)."""
        from models.workflows.priors_outputs import prior_figures

        return prior_figures(self.prior, self.cuts, self.relapse_death_cuts, seed=self.settings.seed)


@dataclass
class PriorAudit(_LoadedPrior):
    """One prior set audited (``priors.py show``): ``tables`` by name, ``report()`` the text.

    ``tables``: ``intervals_<transition>`` (the per-interval table of each transition: pseudo-data,
    source hazard, prior median and mean hazard, ESS, prior weight; with outcome tables the
    posterior weight and pull; MAP fit quality), ``ess_summary`` (first-year weight per
    transition), ``landmarks_1y`` (prior-implied 1-year outcomes), ``one_year`` (each transition's
    prior 1-year reading: median and 95% interval), ``figures_used`` (every figure with its
    citation, quote and address) and, with outcome tables, ``prior_data_conflict``. ``specs`` holds
    each transition's per-interval priors; ``n_tables`` the number of outcome tables checked.
    """

    tables: dict[str, pd.DataFrame]
    specs: dict[str, Any]
    n_tables: int | None = None

    def report(self) -> str:
        """The audit ``priors.py show`` prints."""
        from models.workflows.priors_outputs import audit_text

        return audit_text(self)


@dataclass
class PriorPlots(_LoadedPrior):
    """A prior set's figures and tables (``priors.py plot``); ``write()`` puts them in two folders.

    ``tables``: ``ess.csv`` (the weight of every interval prior) and ``landmarks_1y.csv``
    (prior-implied 1-year outcomes); ``params`` is ``prior.json`` (the set's parameters).
    """

    tables: dict[str, pd.DataFrame]
    params: dict[str, Any]

    def write(self, figures_dir: str | Path, results_dir: str | Path, *, command: str = "") -> list[Path]:
        """Figures (PNG 200 dpi and SVG) into ``figures_dir``, tables and manifest into ``results_dir``.

        Each folder is replaced all or nothing, the figures first; returns the files written, figures
        first. ``command`` is recorded in the manifest (the command line, or the call).
        """
        from models.workflows.priors_outputs import write_plots

        return write_plots(self, Path(figures_dir), Path(results_dir), command=command)


def prior_catalog(sources: str | Path = SOURCES_TOML) -> PriorCatalog:
    """The named sets of ``data/priors/sets.toml``, the figures of ``sources`` and the effect priors."""
    from models.prior_library import read_sets
    from models.prior_sources import load_sources, log_hr_normal

    src = load_sources(sources)
    sets = read_sets(SETS_TOML, src)
    named = pd.DataFrame(
        [{"name": name, "description": s.description} for name, s in sets.items()], columns=["name", "description"]
    )
    figures = pd.DataFrame(
        [
            {
                "figure": f.key,
                "study": f.study,
                "endpoint": f.endpoint,
                "landmark_m": "" if f.landmark_months is None else f"{f.landmark_months:g}",
                "estimate": f.estimate,
                "n": f.n,
                "verified": f.verified,
            }
            for f in src.figures.values()
        ]
    )
    effects = []
    for f in src.figures.values():
        if f.endpoint.startswith("hr_") and f.ci is not None:
            m, s = log_hr_normal(f.estimate, *f.ci)
            effects.append(
                {
                    "figure": f.key,
                    "hr": f.estimate,
                    "lower": f.ci[0],
                    "upper": f.ci[1],
                    "log_hr_mean": m,
                    "log_hr_sd": s,
                    "citation": src.studies[f.study].citation,
                }
            )
    columns = ["figure", "hr", "lower", "upper", "log_hr_mean", "log_hr_sd", "citation"]
    return PriorCatalog(
        tables={"sets": named, "figures": figures, "effect_priors": pd.DataFrame(effects, columns=columns)}
    )


def _load(settings: PriorSettings, progress: Progress) -> tuple[Any, np.ndarray, np.ndarray, Any]:
    """Check the settings, load the sources and build the prior set on the settings' intervals."""
    from models.intervals import validate_cuts
    from models.prior_library import load_prior_set
    from models.prior_sources import load_sources

    s = settings
    cuts = validate_cuts(s.cuts, option="cuts") if s.cuts is not None else np.asarray(DEFAULT_CUTS, dtype=float)
    rcuts = (
        validate_cuts(s.relapse_death_cuts, option="relapse_death_cuts")
        if s.relapse_death_cuts is not None
        else np.asarray(DEFAULT_RELAPSE_DEATH_CUTS, dtype=float)
    )
    if not MIN_PRIOR_DRAWS <= s.draws <= MAX_PRIOR_DRAWS:
        raise ConfigError(
            "draws", found=s.draws, expected=f"a whole number >= {MIN_PRIOR_DRAWS} and <= {MAX_PRIOR_DRAWS:,}"
        )
    if s.seed < 0:
        raise ConfigError("seed", found=s.seed, expected="a whole number >= 0")
    sources = load_sources(s.sources)
    progress.note(f"building prior set {s.prior}")
    prior = load_prior_set(s.prior, cuts, rcuts, seed=s.seed, sources=sources)
    return prior, cuts, rcuts, sources


def _n_intervals(cuts: np.ndarray, rd_cuts: np.ndarray) -> dict[str, int]:
    return {k: len(cuts) for k in TRANSITIONS} | {"death_after_relapse": len(rd_cuts)}


def transition_one_year(
    prior: Any, cuts: np.ndarray, rd_cuts: np.ndarray, *, n: int, seed: int
) -> dict[str, tuple[str, np.ndarray]]:
    """Prior draws of each transition's 1-year reading, with its label.

    Relapse and NRM cumulative incidence (competing risks, from transplant), GvHD incidence
    without competing events :math:`1 - e^{-\\Lambda(365)}`, mortality within a year of relapse.
    """
    from models.derived import cumulative_hazard
    from models.priors import prior_landmarks, sample_prior_hazards

    lm = prior_landmarks(prior, cuts, rd_cuts, n=n, seed=seed)
    hz = sample_prior_hazards(prior, _n_intervals(cuts, rd_cuts), n, np.random.default_rng(seed))
    year = np.array([365.0])
    return {
        "relapse": ("relapse incidence (competing with NRM)", lm["relapse_cif"]),
        "nrm": ("NRM incidence (competing with relapse)", lm["nrm_cif"]),
        "gvhd": (
            "GvHD incidence without competing events",
            1 - np.exp(-cumulative_hazard(hz["gvhd"], cuts, year)[:, 0]),
        ),
        "death_after_relapse": (
            "mortality within a year of relapse",
            1 - np.exp(-cumulative_hazard(hz["death_after_relapse"], rd_cuts, year)[:, 0]),
        ),
    }


def _median_per_year(p: object) -> float:
    from models.prior_library import mixture_quantile
    from models.priors import GammaMixture

    return mixture_quantile(p, 0.5) * 365.0 if isinstance(p, GammaMixture) else float("nan")


#: Columns of an ``intervals_<transition>`` table, in order; those absent for a transition are left out
_INTERVAL_COLUMNS = (
    "interval",
    "pseudo_events",
    "pseudo_exposure_days",
    "source_rate_per_year",
    "median_per_year",
    "prior_mean_per_year",
    "ess_events",
    "ess_patients",
    "ess_method",
    "informative_ess_events",
    "informative_ess_patients",
    "prior_weight",
    "posterior_weight",
    "pull_events",
    "pull_patients",
    "map_ks",
    "map_max_q_err",
    "map_grid_edge_mass",
)


def _interval_table(ess: pd.DataFrame, k: str, spec: Any, pv: Any) -> pd.DataFrame:
    """The per-interval table of transition ``k``: its ESS rows with the sources' pseudo-data and MAP fit quality."""
    e = ess[ess["transition"] == k].copy()
    e["median_per_year"] = [_median_per_year(p) for p in spec] if isinstance(spec, list) else np.nan
    if pv and pv.pseudo_events:
        e["pseudo_events"] = pv.pseudo_events
        e["pseudo_exposure_days"] = pv.pseudo_exposure
        e["source_rate_per_year"] = [
            d / x * 365.0 if x > 0 else np.nan for d, x in zip(pv.pseudo_events, pv.pseudo_exposure, strict=True)
        ]
    if pv and pv.map_quality:
        e["map_ks"] = [np.nan if q is None else q["ks"] for q in pv.map_quality]
        e["map_max_q_err"] = [np.nan if q is None else q["max_quantile_rel_error"] for q in pv.map_quality]
        e["map_grid_edge_mass"] = [np.nan if q is None else q.get("grid_edge_mass", np.nan) for q in pv.map_quality]
    return e[[c for c in _INTERVAL_COLUMNS if c in e]]


_FIGURE_COLUMNS = ["figure", "endpoint", "landmark_months", "estimate", "n", "ci_lower", "ci_upper", "verified"]
_FIGURE_COLUMNS += ["citation", "doi", "quote", "url", "note"]


def _figures_used(prior: Any, sources: Any) -> pd.DataFrame:
    """Every figure the set uses, with its study's citation, the quote and the address read."""
    used = sorted({f for pv in getattr(prior, "provenance", {}).values() for f in pv.figures})
    rows = []
    for key in used:
        f = sources.figures[key]
        st = sources.studies[f.study]
        rows.append(
            {
                "figure": key,
                "endpoint": f.endpoint_reported or f.endpoint,
                "landmark_months": f.landmark_months,
                "estimate": f.estimate,
                "n": f.n,
                "ci_lower": None if f.ci is None else f.ci[0],
                "ci_upper": None if f.ci is None else f.ci[1],
                "verified": f.verified,
                "citation": st.citation,
                "doi": st.doi,
                "quote": f.quote,
                "url": f.url,
                "note": f.note,
            }
        )
    return pd.DataFrame(rows, columns=_FIGURE_COLUMNS)


def audit_prior(settings: PriorSettings = PriorSettings(), *, progress: Progress | None = None) -> PriorAudit:
    """Audit one prior set: what it says per interval, what it weighs, where every number comes from.

    The ESS is the whole prior's (ELIR where defined, else moment matching), its informative
    component's and that component's prior weight; with ``settings.outcomes`` also its posterior
    weight, the prior's pull on these data and Box's prior-predictive check of each transition's
    events in its exposure (medians over tables).
    """
    from models.prior_conflict import conflict_table_draws
    from models.prior_library import landmark_summary
    from models.prior_weight_tables import ess_summary, ess_table

    rep = progress or SILENT
    s = settings
    prior, cuts, rd, sources = _load(s, rep)
    td = None
    if s.outcomes is not None:
        from models.data import load_outcome_draws
        from models.intervals import transition_data

        td = [transition_data(t, cuts, rd) for t in load_outcome_draws(s.outcomes)]
    rep.note("prior weights, landmark summaries and 1-year readings")
    ess = ess_table(prior, cuts, rd, td or ())
    tables: dict[str, pd.DataFrame] = {"ess_summary": ess_summary(ess)}
    tables["landmarks_1y"] = landmark_summary(prior, cuts, rd, n=s.draws, seed=s.seed)
    one_year = transition_one_year(prior, cuts, rd, n=s.draws, seed=s.seed)
    prov = getattr(prior, "provenance", {})
    specs, rows = {}, []
    for k in TRANSITIONS:
        specs[k] = prior.per_interval(k, len(rd if k == "death_after_relapse" else cuts))
        tables[f"intervals_{k}"] = _interval_table(ess, k, specs[k], prov.get(k))
        lab, v = one_year[k]
        lo, med, hi = np.quantile(v, [0.025, 0.5, 0.975])
        rows.append({"transition": k, "reading": lab, "median": med, "lower": lo, "upper": hi})
    tables["one_year"] = pd.DataFrame(rows)
    if td is not None:
        rep.note(f"prior-data conflict over {len(td)} outcome table(s)")
        tables["prior_data_conflict"] = conflict_table_draws(prior, td)
    tables["figures_used"] = _figures_used(prior, sources)
    return PriorAudit(s, prior, cuts, rd, sources, tables=tables, specs=specs, n_tables=None if td is None else len(td))


def plot_prior(settings: PriorSettings = PriorSettings(), *, progress: Progress | None = None) -> PriorPlots:
    """A prior set's tables for ``plot``: the weight of every interval prior and the 1-year outcomes.

    The figures are drawn on demand (:meth:`PriorPlots.figures`) or by :meth:`PriorPlots.write`.
    """
    from models.prior_library import landmark_summary
    from models.prior_weight_tables import ess_table

    rep = progress or SILENT
    prior, cuts, rd, sources = _load(settings, rep)
    rep.note("prior weights and landmark summaries")
    tables = {
        "ess.csv": ess_table(prior, cuts, rd),
        "landmarks_1y.csv": landmark_summary(prior, cuts, rd, n=settings.draws, seed=settings.seed),
    }
    return PriorPlots(settings, prior, cuts, rd, sources, tables=tables, params=prior.params())


def prior_inputs() -> list[Path]:
    """The shipped files a prior set's outputs depend on (recorded in the manifest)."""
    return [p for p in (SOURCES_TOML, SETS_TOML) if p.exists()]
