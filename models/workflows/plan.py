r"""The planning workflow: design files in, operating characteristics, sample sizes and figures out.

:func:`plan_trial` is what ``scripts/plan_trial.py`` runs. Huang et al. (Blood Cancer Journal
2024;14:109; 21 patients, 1 relapse and 2 non-relapse deaths in about a year) end by asking for
prospective randomised trials: how many patients would a single-arm phase 2 or a randomised trial
need, what are its error rates, and how likely is it to succeed given what is known now?

Designs
    TOML files (default: ``data/designs/single_arm.toml`` and ``data/designs/randomised.toml``):
    accrual, delayed entry, minimum follow-up, dropout, analysis at calendar time or at a target
    number of relapses, an optional interim, the Bayesian success rule and the no-maintenance
    benchmark with its citation (:func:`models.design.load_design`).
Model
    Trials are simulated from piecewise-exponential hazards of relapse, non-relapse mortality and
    death after relapse (:mod:`models.trial_sim`); the Bayesian decision is the exact conjugate
    posterior probability (F / beta distribution for the hazard ratio), the frequentist companion
    the cause-specific log-rank test (one-sample log-rank for the single-arm design).
Sample size
    Operating characteristics are simulated on the grid of N; the sample size for the target power
    or assurance is then found by root search (:mod:`models.sample_size`): a probit fit of simulated
    success on log N with common random numbers, refined around the root and given with its Monte
    Carlo 95% interval. For the randomised design the Schoenfeld (1983) and Freedman (1982)
    log-rank answers are given alongside.
Design priors
    Assurance scenarios of kind ``posterior`` draw from the current study's fitted posterior
    (``results/STUDY/fit/posterior.nc``, or the file in ``posterior``); without one, the default
    study falls back to its published totals (:func:`models.design.published_posterior_draws`).

Settings errors name the setting (``n_grid``, ``designs``, ...); the command maps them to its options.

References
----------
Schoenfeld DA. Biometrics 1983;39:499–503. Freedman LS. Stat Med 1982;1:121–9. O'Hagan A, Stevens
JW, Campbell MJ. Pharm Stat 2005;4:187–201. Spiegelhalter DJ, Abrams KR, Myles JP. Bayesian
Approaches to Clinical Trials and Health-Care Evaluation. Wiley 2004. Berry SM, Carlin BP, Lee JJ,
Müller P. Bayesian Adaptive Methods for Clinical Trials. CRC 2010. Gray RJ. Ann Stat 1988;16:1141–54.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.constants import DEFAULT_SEED, REPO_ROOT
from models.errors import ConfigError, StudyError
from models.progress import SILENT, Progress

if TYPE_CHECKING:
    import pandas as pd

    from models.design import Design
    from models.study import StudyPack

#: The CSV tables of a plan, in the order they are written.
TABLES = ("oc.csv", "sample_size.csv", "calibration.csv")
#: ``posterior`` value asking for the default study's published totals, whatever ``results/`` holds.
NO_POSTERIOR = "none"
#: The design prior's source when no posterior file is used.
PUBLISHED_TOTALS = "published totals (21 patients, 1 relapse, 2 NRM; no posterior file)"
#: The sample-size search's method, as the manifest records it.
SEARCH_METHOD = "probit root search on log N with common random numbers (models.sample_size)"


class PosteriorFallbackWarning(UserWarning):
    """The study's default posterior file could not be read: the published totals are used instead."""


@dataclass(frozen=True)
class PlanSettings:
    """Everything that decides a plan (the defaults are the README's ``plan_trial.py``).

    Parameters
    ----------
    designs
        Design TOML files; ``None``: the shipped ``single_arm`` and ``randomised`` designs.
    study
        A study pack folder (``study.toml``); ``None``: the shipped default (Huang et al. 2024).
    posterior
        The current study's posterior file (design priors of kind ``posterior``); ``None``: the
        study's ``results/STUDY/fit/posterior.nc`` when present, else (default study only) the
        published totals; ``"none"`` (:data:`NO_POSTERIOR`): the default study's published totals.
    n_grid
        Sample sizes to simulate (2 to 100,000, at most 200); ``None``: each design's ``[grid] n``.
    n_sims
        Simulated trials per (N, scenario), 10 to 1,000,000; ``None``: each design's.
    ss_tolerance
        Relative half-width of the sample size's 95% Monte Carlo interval to reach, in (0, 0.5).
    ss_max_trials
        Most simulated trials per N in the sample-size search; ``None``: 16 x the trials per grid N.
    seed
        Decides every simulated trial (the numbers do not depend on ``workers`` or ``dask``).
    workers, dask
        Local worker processes; or a Dask scheduler address (e.g. ``tcp://10.0.0.5:8786``).
    """

    designs: tuple[str | Path, ...] | None = None
    study: str | Path | None = None
    posterior: str | Path | None = None
    n_grid: tuple[int, ...] | None = None
    n_sims: int | None = None
    ss_tolerance: float = 0.02
    ss_max_trials: int | None = None
    seed: int = DEFAULT_SEED
    workers: int = 2
    dask: str | None = None


@dataclass
class DesignPlan:
    """One design's results: the design, its operating characteristics (with ``role``), sample sizes, cut-offs."""

    design: Design
    oc: pd.DataFrame
    sample_sizes: pd.DataFrame
    calibration: pd.DataFrame


@dataclass
class PlanResult:
    """A plan: its settings, each design's results and every output table (``tables[name]``).

    ``tables`` hold exactly what the CSV files hold (``oc.csv``, ``sample_size.csv``,
    ``calibration.csv``); ``write(folder)`` writes them, the figures and the manifest, all or
    nothing; ``figures()`` draws the figures on demand; ``report()`` is the text the command prints.
    """

    settings: PlanSettings
    study: StudyPack
    plans: list[DesignPlan]
    tables: dict[str, pd.DataFrame]
    posterior_note: str
    inputs: list[str | Path]
    seconds: float = 0.0

    @property
    def designs(self) -> list[Design]:
        """The designs, in the order of ``settings.designs``."""
        return [p.design for p in self.plans]

    def figures(self) -> dict[str, Any]:
        """Operating-characteristic figures as matplotlib Figures, by file stem (the caller closes them)."""
        from models.workflows.plan_outputs import plan_figures

        return plan_figures(self)

    def report(self) -> str:
        """The text the command prints: per design its error rates and sample sizes, then the design prior."""
        from models.workflows.plan_outputs import text_report

        return text_report(self)

    def write(
        self,
        folder: str | Path,
        *,
        figures: bool = True,
        command: str = "",
        figure_folder: str | Path | None = None,
    ) -> list[Path]:
        """Write every output into ``folder`` (replaced all or nothing); returns the files written.

        ``figure_folder`` (e.g. ``figures/STUDY/plan``) also receives the figures, replaced together
        with ``folder``.
        """
        from models.workflows.plan_outputs import write_plan

        extra = None if figure_folder is None else Path(figure_folder)
        return write_plan(self, Path(folder), figures=figures, command=command, figure_folder=extra)


def shown_path(path: str | Path) -> str:
    """A path as manifests and messages show it: relative to the repository when inside it."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def grid_sizes(values: Sequence[float]) -> tuple[int, ...]:
    """Sample sizes to simulate, sorted and unique; ``n_grid`` error unless 1-200 whole numbers in 2-100,000."""
    from models.design.schema import MAX_GRID_N, MAX_TRIAL_N

    if any(not 2 <= v <= MAX_TRIAL_N or v != int(v) for v in values) or not 1 <= len(values) <= MAX_GRID_N:
        raise ConfigError(
            "n_grid", found=list(values), expected="1-200 whole numbers from 2 to 100,000, e.g. 100,200,300"
        )
    return tuple(sorted({int(v) for v in values}))


def default_designs() -> tuple[Path, ...]:
    """The shipped designs: ``data/designs/single_arm.toml`` and ``data/designs/randomised.toml``."""
    from models.design.schema import DESIGN_DIR

    return (DESIGN_DIR / "single_arm.toml", DESIGN_DIR / "randomised.toml")


def default_posterior(study: StudyPack) -> Path:
    """The study's fitted posterior as ``fit.py`` writes it by default: ``results/STUDY/fit/posterior.nc``."""
    from models.constants import RESULTS_DIR
    from models.study import output_key

    return RESULTS_DIR / output_key(study, None) / "fit" / "posterior.nc"


def check_posterior(study: StudyPack, posterior: str | Path | None) -> None:
    """Refuse a study other than the default without a posterior (its published totals are Huang's).

    Raises a :class:`~models.errors.StudyError` naming the study file and the missing posterior.
    """
    from models.study import DEFAULT_STUDY_DIR

    if study.root.resolve() == DEFAULT_STUDY_DIR.resolve():
        return
    fitted = default_posterior(study)
    if posterior is None and fitted.is_file():
        return
    if posterior is None or str(posterior) == NO_POSTERIOR:
        raise StudyError(
            study.source,
            field="posterior",
            found=f"no {shown_path(fitted)}" if posterior is None else f"'{NO_POSTERIOR}'",
            expected=f"the study's fitted posterior: run fit.py --study {shown_path(study.root)} first, or --posterior",
        )


def _check(s: PlanSettings) -> None:
    """Bounds of the numeric settings (the command's options check the same before)."""
    from models.design.schema import MAX_SIMS

    if s.n_sims is not None and not 10 <= s.n_sims <= MAX_SIMS:
        raise ConfigError("n_sims", found=s.n_sims, expected=f"a whole number from 10 to {MAX_SIMS:,}")
    if not 0 < s.ss_tolerance < 0.5:
        raise ConfigError("ss_tolerance", found=s.ss_tolerance, expected="a number in (0, 0.5)")
    if s.ss_max_trials is not None and not 10 <= s.ss_max_trials <= 16 * MAX_SIMS:
        raise ConfigError(
            "ss_max_trials", found=s.ss_max_trials, expected=f"a whole number from 10 to {16 * MAX_SIMS:,}"
        )
    if s.workers < 1:
        raise ConfigError("workers", found=s.workers, expected="at least 1 worker process")
    if s.seed < 0:
        raise ConfigError("seed", found=s.seed, expected="a whole number >= 0")


def _design_prior_posterior(
    study: StudyPack, posterior: str | Path | None
) -> tuple[dict[str, Any] | None, str, list[str | Path]]:
    """Hazard draws of the current study's posterior (or ``None``), how the manifest names them, their file."""
    from models.design import load_posterior_draws

    if posterior is not None and str(posterior) == NO_POSTERIOR:
        return None, PUBLISHED_TOTALS, []
    if posterior is not None:
        return load_posterior_draws(posterior), shown_path(posterior), [posterior]
    fitted = default_posterior(study)
    if not fitted.is_file():
        return None, PUBLISHED_TOTALS, []
    try:
        return load_posterior_draws(fitted), shown_path(fitted), [fitted]
    except ConfigError as exc:
        warnings.warn(f"{exc}; using the published totals instead", PosteriorFallbackWarning, stacklevel=3)
        return None, PUBLISHED_TOTALS, []


def plan_trial(settings: PlanSettings = PlanSettings(), *, progress: Progress | None = None) -> PlanResult:
    """Simulate each design's grid, then search the sample sizes and calibrate the success threshold.

    ``progress`` (:mod:`models.progress`) receives a note per design and the simulated chunks.
    """
    import pandas as pd

    from models import design as dz
    from models import sample_size as ssz
    from models.io import cache_dir
    from models.study import load_study

    t0 = time.perf_counter()
    rep = progress or SILENT
    s = settings
    n_grid = grid_sizes(s.n_grid) if s.n_grid is not None else None
    _check(s)
    study = load_study(s.study)
    check_posterior(study, s.posterior)
    paths: list[str | Path] = list(s.designs) if s.designs else list(default_designs())
    posterior, note, posterior_file = _design_prior_posterior(study, s.posterior)
    dz.prefetch_prior_sets(paths, seed=s.seed, workers=s.workers, cache_dir=cache_dir("design_priors"))
    designs = [dz.load_design(p, posterior=posterior, seed=s.seed) for p in paths]
    names = [d.name for d in designs]
    if len(set(names)) != len(names):
        raise ConfigError("designs", found=names, expected="designs with distinct [design] name")
    plans = []
    for d in designs:
        rep.note(f"simulating design '{d.name}'")
        raw = dz.run_design(
            d, seed=s.seed, workers=s.workers, dask_address=s.dask, progress=rep, n_grid=n_grid, n_sims=s.n_sims
        )
        oc = dz.summarise(raw, d)
        n_sims = s.n_sims or d.n_sims
        search = ssz.SearchSettings(
            rel_tol=s.ss_tolerance, n_trials=n_sims, max_trials=max(n_sims, s.ss_max_trials or 16 * n_sims)
        )
        ss = ssz.sample_size_table(
            oc, d, seed=s.seed, workers=s.workers, dask_address=s.dask, settings=search, progress=rep
        )
        plans.append(DesignPlan(d, oc, ss, dz.calibrate(raw, d)))
    # "role" holds words such as "null" that CSV readers take for missing values: "metric" says it
    tables = {
        "oc.csv": pd.concat([p.oc for p in plans], ignore_index=True).drop(columns="role"),
        "sample_size.csv": pd.concat([p.sample_sizes for p in plans], ignore_index=True),
        "calibration.csv": pd.concat([p.calibration for p in plans], ignore_index=True).drop(columns="role"),
    }
    return PlanResult(
        settings=s,
        study=study,
        plans=plans,
        tables=tables,
        posterior_note=note,
        inputs=[*paths, *posterior_file],
        seconds=time.perf_counter() - t0,
    )


def benchmark_report(workers: int = 2) -> str:
    """Time the fast path (two-arm trials per second) against NUTS per trial; the lines the command prints."""
    from models.design import benchmark_fast_path, benchmark_mcmc

    fast = benchmark_fast_path(40_000, workers=workers)
    mcmc = benchmark_mcmc(3)
    return (
        f"fast path: {fast['trials_per_second']:,.0f} two-arm trials/s ({fast['n_trials']:,.0f} trials of "
        f"{fast['n_patients']:.0f} patients, {workers} workers, {fast['seconds']:.2f} s)\n"
        f"NUTS per trial: {mcmc['seconds_per_trial']:.2f} s (PyMC, 2 chains x 1000 draws, a model per trial)\n"
        f"speed-up: {fast['trials_per_second'] * mcmc['seconds_per_trial']:,.0f}x\n"
    )


__all__ = [
    "NO_POSTERIOR",
    "TABLES",
    "DesignPlan",
    "PlanResult",
    "PlanSettings",
    "PosteriorFallbackWarning",
    "benchmark_report",
    "check_posterior",
    "default_designs",
    "default_posterior",
    "grid_sizes",
    "plan_trial",
    "shown_path",
]
