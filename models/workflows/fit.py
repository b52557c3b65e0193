r"""The fit workflow: outcome tables and a prior set in, posterior tables, figures and checks out.

:func:`fit_study` is what ``scripts/fit.py`` runs: the piecewise-exponential illness–death model
(:class:`models.pwe.Model`) fitted to every outcome table (one, or the reconstructed draws of a
cohort, pooled with equal weight), then the curves, 1-year summaries on both time scales, claim
probabilities, convergence diagnostics, the reconstruction's share of the variance, the prior's
weight, its prior–data conflict and power-scaling agreement. The draws follow
:mod:`models.fit_recipe`, so the sensitivity grid's base scenario reproduces every number.

Settings errors name the setting (``cuts``, ``draws``, ...); the script maps them to its options.

References
----------
Friedman M. Ann Stat 1982;10:101–13. Andersen PK, Keiding N. Stat Methods Med Res 2002;11:91–115.
Putter H, Fiocco M, Geskus RB. Stat Med 2007;26:2389–430.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.claims import CLAIMS_TOML
from models.constants import DEFAULT_CUTS, DEFAULT_SEED, LANDMARK_DAYS
from models.errors import ConfigError
from models.fit_recipe import FIT_CHAINS, FIT_DRAWS, FIT_TUNE, MAX_TOTAL_DRAWS, SUMMARY_DRAWS, FitDraws, fit_draws
from models.progress import SILENT, Progress

#: The CSV tables of a fit, in the order they are written.
TABLES = (
    "summary.csv",
    "curves.csv",
    "claims.csv",
    "diagnostics.csv",
    "reconstruction_variance.csv",
    "exposure.csv",
    "prior_ess.csv",
    "prior_weight_intervals.csv",
    "prior_conflict.csv",
    "power_scaling.csv",
    "prior_agreement.csv",
)


@dataclass(frozen=True)
class FitSettings:
    """Everything that decides a fit (the defaults are the README's main command).

    Parameters
    ----------
    study
        A study pack folder (``study.toml``); ``None``: the shipped default (Huang et al. 2024).
    data
        An outcome CSV or a folder of reconstructed ``draw_*.csv``; ``None``: the pack's own
        outcome tables. Published figures are drawn only when the data are the pack's own.
    prior
        A prior-set name of ``data/priors/sets.toml`` or a prior-set TOML file.
    cuts, relapse_death_cuts
        Cut points (days from transplant; days since relapse); ``None`` for the defaults.
    engine, sampler
        ``exact`` or ``nuts``; NUTS sampler ``auto``, ``pymc`` or ``nutpie``.
    draws, chains, tune, seed
        Per chain and table (:mod:`models.fit_recipe`); the seed decides every draw.
    from_transplant
        At risk from day 0 instead of from each patient's entry day.
    landmark_day
        The conditional scale's landmark (alive in remission at this day); ``None``: the median
        entry day of the outcome tables (0, i.e. no conditioning, when everybody enters at day 0).
    claims
        A claims TOML file, or ``"builtin"`` for the built-in claims (placeholder benchmark).
    max_summary_draws
        Pooled draws for curves and summaries (equal per table).
    controls
        No-maintenance control packs to compare with (shipped names or folders; :mod:`models.comparative`);
        ``None``: the study pack's ``[comparison] controls`` (none when it names none); empty: no
        comparison, and the outputs are exactly those of a fit without it.
    control_a0
        The headline power-prior weight of the controls (1: full borrowing); the sweep over
        :data:`models.comparative.DEFAULT_A0` always runs beside it.
    hr_prior_sd
        Prior sd of each log hazard ratio; ``None``: :data:`models.comparative.HR_PRIOR_SD`.
    """

    study: str | Path | None = None
    data: str | Path | None = None
    prior: str = "literature"
    cuts: tuple[float, ...] | None = None
    relapse_death_cuts: tuple[float, ...] | None = None
    engine: str = "exact"
    sampler: str = "auto"
    draws: int = FIT_DRAWS
    chains: int = FIT_CHAINS
    tune: int = FIT_TUNE
    seed: int = DEFAULT_SEED
    from_transplant: bool = False
    landmark_day: int | None = None
    claims: str | Path = CLAIMS_TOML
    max_summary_draws: int = SUMMARY_DRAWS
    controls: tuple[str, ...] | None = None
    control_a0: float = 1.0
    hr_prior_sd: float | None = None


@dataclass
class FitResult:
    """A fit: its settings, model, posterior and every output table (``tables[name]``).

    ``write(folder)`` writes the tables, the posterior file, the figures and the manifest, all or
    nothing; ``figures()`` draws the figures on demand; ``report()`` is the text summary the script
    prints.
    """

    settings: FitSettings
    study: Any
    own_data: bool
    model: Any
    prior: Any
    draws: FitDraws
    curves: Any
    landmark: int
    sampler: str | None
    tables: dict[str, Any]
    benchmarks: list[tuple[float, str]]
    inputs: list[Path]
    ok: bool
    advice: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: The comparison with no-maintenance controls (:class:`models.comparative.ComparativeResult`), if asked for.
    comparative: Any = None

    @property
    def idata(self) -> Any:
        """The posterior (ArviZ InferenceData): hazard draws per table, diagnostics, data summaries."""
        return self.draws.idata

    def figures(self) -> dict[str, Any]:
        """The fit's figures as matplotlib Figures, by file stem (the caller closes them)."""
        from models.workflows.fit_outputs import fit_figures

        return fit_figures(self)

    def report(self) -> str:
        """The text summary ``fit.py`` prints (verdict, prior weight and agreement, 1-year values, claims)."""
        from models.workflows.fit_outputs import text_report

        return text_report(self)

    def write(self, folder: str | Path, *, figures: bool = True, command: str = "") -> list[Path]:
        """Write every output into ``folder`` (replaced all or nothing); returns the files written."""
        from models.workflows.fit_outputs import write_fit

        return write_fit(self, Path(folder), figures=figures, command=command)


def _claims(spec: str | Path) -> tuple[list, list[tuple[float, str]]]:
    """The claims to report and the 1-year relapse benchmarks to draw on the prior/posterior figure."""
    from models.derived import NO_MAINTENANCE_BENCHMARK_PLACEHOLDER, default_claims

    if str(spec) == "builtin":
        return default_claims(), [(NO_MAINTENANCE_BENCHMARK_PLACEHOLDER, "No-maintenance benchmark (placeholder)")]
    from models.claims import load_claims

    defs = load_claims(spec)
    claims = list(defs)
    lines = [
        (
            c.threshold,
            f"Benchmark {100 * c.threshold:.1f}% ({_cite(c.figures)}, {(c.conversion or '').replace('_', ' ')})",
        )
        for c in defs
        if c.figures and c.quantity == "relapse_cif" and c.day == 365
    ]
    return claims, lines


def _cite(figures: tuple[str, ...]) -> str:
    """Short citations from figure keys such as ``xu2014_relapse_3y_haplo`` -> ``Xu 2014``."""
    out: list[str] = []
    for key in figures:
        head = key.split("_")[0]
        name = f"{head[:-4].capitalize()} {head[-4:]}" if head[-4:].isdigit() else head
        if name not in out:
            out.append(name)
    return ", ".join(out)


def _inputs(settings: FitSettings, files: list[Path]) -> list[Path]:
    """Files that decide the result: outcome tables, prior sources and sets (and a set file), claims."""
    from models.prior_sources import SETS_TOML, SOURCES_TOML

    prior = Path(settings.prior)
    out = [*files, SOURCES_TOML, SETS_TOML] + ([prior] if prior.is_file() else [])  # a set file, any suffix
    return out if str(settings.claims) == "builtin" else [*out, Path(settings.claims)]


def default_landmark(tables: list[Any]) -> int:
    """Median entry day over the outcome tables (pooled), rounded: the conditional scale's landmark.

    For the default study this is day 102, the published median start of maintenance (every
    reconstructed table reproduces it exactly); 0 when everybody enters at the time origin.
    """
    import numpy as np

    entries = np.concatenate([t["entry_day"].to_numpy(float) for t in tables])
    return round(float(np.median(entries)))


def fit_study(settings: FitSettings = FitSettings(), *, progress: Progress | None = None) -> FitResult:
    """Fit the model to the outcome tables of ``settings`` and derive every reported quantity.

    ``progress`` (:mod:`models.progress`) receives a note per step and the NUTS tables as they finish.
    """
    import numpy as np
    import pandas as pd

    from models.agreement import agreement_table
    from models.commensurate_exact import exact_eligible, quadrature_power_scaling
    from models.data import load_outcomes, outcome_files
    from models.derived import (
        claims_table,
        conditional_curves,
        curve_table,
        curves,
        reconstruction_variance,
        summary_table,
    )
    from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS, validate_cuts
    from models.power_scaling import REPORTED, fit_power_scaling
    from models.prior_conflict import conflict_table_draws
    from models.prior_library import load_prior_set
    from models.prior_weight_tables import ess_summary, ess_table, prior_driven_table
    from models.pwe import ConvergenceWarning, Model, default_sampler, diagnostics, diagnostics_ok
    from models.study import load_study

    t0 = time.perf_counter()
    rep = progress or SILENT
    say = rep.note
    s = settings
    cuts = validate_cuts(s.cuts, option="cuts") if s.cuts is not None else np.asarray(DEFAULT_CUTS)
    rcuts = (
        validate_cuts(s.relapse_death_cuts, option="relapse_death_cuts")
        if s.relapse_death_cuts is not None
        else np.asarray(DEFAULT_RELAPSE_DEATH_CUTS)
    )
    claim_list, benchmarks = _claims(s.claims)
    prior = load_prior_set(s.prior, cuts, rcuts)
    packs = None
    study = load_study(s.study)
    controls = study.controls if s.controls is None else s.controls
    if controls:  # checked before any computation
        from models.comparative import load_controls
        from models.comparative.compare import not_comparable

        packs = load_controls(controls)
        blocked = not_comparable(prior, len(cuts))
        if blocked and s.controls is None:  # the study's own controls: compared where the model allows
            say(f"no comparison with the study's control cohorts under this prior: {blocked}")
            packs = None
        elif blocked:
            raise ConfigError(
                "prior",
                found=f"{blocked}, with controls {list(controls)}",
                expected="gamma or gamma-mixture relapse and NRM priors for a comparison (the comparative model "
                "is conjugate), or no controls",
            )
        if not 0.0 <= float(s.control_a0) <= 1.0:
            raise ConfigError("control_a0", found=s.control_a0, expected="a power-prior weight in [0, 1]")
        if s.hr_prior_sd is not None and not (math.isfinite(s.hr_prior_sd) and s.hr_prior_sd > 0):
            raise ConfigError("hr_prior_sd", found=s.hr_prior_sd, expected="a positive, finite sd of log HR")
    if s.data is None and study.outcomes_path is None:
        raise ConfigError(
            "data",
            found=f"none ({study.source} has no [files] outcomes)",
            expected="an outcome CSV or folder of draw_*.csv, or a pack with outcome tables",
        )
    if s.data is None:
        study.check_outcomes_exist()
    data = Path(s.data) if s.data is not None else study.outcomes_path
    assert data is not None  # checked above
    files = outcome_files(data)
    say(f"reading {len(files)} outcome table(s) from {data}")
    tables = [load_outcomes(f) for f in files]
    landmark = default_landmark(tables) if s.landmark_day is None else int(s.landmark_day)
    own = study.owns_outcomes(data)
    total = s.draws * s.chains * len(tables)
    if total > MAX_TOTAL_DRAWS:
        raise ConfigError(
            "draws",
            found=f"{s.draws} x {s.chains} chains x {len(tables)} tables = {total:,} draws",
            expected=f"at most {MAX_TOTAL_DRAWS:,} draws in all (memory); fewer draws or tables",
        )
    last = max(float(t["last_followup_day"].max()) for t in tables)
    if s.cuts is not None and cuts[-1] >= last:  # the default cuts stay: beyond follow-up the prior speaks, flagged
        raise ConfigError(
            "cuts",
            found=f"cut point {cuts[-1]:g} at or beyond the last follow-up (day {last:g})",
            expected="cut points before the last follow-up, so that every interval has patients at risk",
        )
    model = Model(
        tables,
        priors=prior,
        cuts=cuts,
        relapse_death_cuts=rcuts,
        from_transplant=s.from_transplant,
        sources=[str(f) for f in files],
    )
    follow_end = math.ceil(last)
    horizon = int(max(max(LANDMARK_DAYS), follow_end))
    if landmark >= follow_end:
        raise ConfigError(
            "landmark_day", found=landmark, expected=f"a day before the end of follow-up (day {follow_end})"
        )
    sampler = None
    if s.engine == "nuts":
        sampler = s.sampler if s.sampler != "auto" else default_sampler()
    say(
        f"fitting {len(tables)} table(s), engine {s.engine}"
        + (f" ({sampler}, {s.chains} chains x {s.draws} draws)" if sampler else "")
    )
    with warnings.catch_warnings(record=True) as caught:  # the advice is reported once, beside the verdict
        warnings.simplefilter("always", ConvergenceWarning)
        fd = fit_draws(
            model,
            engine=s.engine,
            draws=s.draws,
            chains=s.chains,
            tune=s.tune,
            seed=s.seed,
            sampler=sampler,
            progress=rep,
            max_summary_draws=s.max_summary_draws,
        )
    advice = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    say("deriving curves, summaries and diagnostics")
    cv = curves(fd.hazards, model.cuts, model.relapse_death_cuts, horizon)
    by_scale = {"from_transplant": cv, "conditional": conditional_curves(cv, landmark)}
    summary = summary_table(by_scale)
    diag = diagnostics(fd.idata)
    ok = diagnostics_ok(diag)
    if not ok and not advice:  # the exact engine's draws are independent: only their number can fail
        advice = [
            f"Too few draws for the ESS threshold: draws x chains = {s.draws * s.chains}; "
            f"try draws = {max(FIT_DRAWS, 2 * s.draws)}."
        ]
    exposure = []
    for i, td in enumerate(model.stats):
        t = td.table()
        t.insert(0, "table", i)
        exposure.append(t)
    # the prior's weight (first-year ESS) and its conflict with the data (Box's prior-predictive p)
    weight = ess_table(prior, model.cuts, model.relapse_death_cuts, model.stats)
    ess = ess_summary(weight)
    driven = prior_driven_table(weight, model.cuts, model.relapse_death_cuts, sorted(summary["day"].unique()), landmark)
    summary = summary.merge(driven, on=["scale", "quantity", "day"], how="left")
    conflict = conflict_table_draws(prior, model.stats, seed=s.seed)
    if prior.conjugate or (s.engine == "exact" and exact_eligible(prior)):
        say("power-scaling sensitivity and prior-data agreement")
        scaling = fit_power_scaling if prior.conjugate else quadrature_power_scaling  # commensurate: by quadrature
        power = scaling(
            prior, model.stats, fd.all_hazards, fd.all_table_index, model.cuts, model.relapse_death_cuts, 365, landmark
        ).drop(columns=["prior", "engine"])
    else:  # power-scaling needs the prior density at the draws: gamma mixtures and commensurate priors only
        power = pd.DataFrame(
            {"quantity": [f"{q}@365" for q in REPORTED], "prior_sensitivity": np.nan, "likelihood_sensitivity": np.nan}
        )
    fd.idata.posterior.attrs["landmark_day"] = int(landmark)
    fd.idata.posterior.attrs["convergence_ok"] = int(ok)
    out = {
        "summary.csv": summary,
        "curves.csv": curve_table(by_scale),
        "claims.csv": claims_table(by_scale, claim_list),
        "diagnostics.csv": diag,
        "reconstruction_variance.csv": reconstruction_variance(by_scale, fd.table_index),
        "exposure.csv": pd.concat(exposure, ignore_index=True),
        "prior_ess.csv": ess,
        "prior_weight_intervals.csv": weight,
        "prior_conflict.csv": conflict,
        "power_scaling.csv": power,
        "prior_agreement.csv": agreement_table(conflict, power),
    }
    comparative = None
    if packs:
        from models.comparative import run_comparative

        say(f"comparing with {len(packs)} control(s) over the a0 sweep")
        comparative = run_comparative(
            model,
            landmark,
            packs,
            a0=s.control_a0,
            sd=s.hr_prior_sd,
            draws=s.max_summary_draws,
            seed=s.seed,
        )
        out.update(comparative.tables())
    inputs = [*study.input_files(), *_inputs(s, files)] if own else _inputs(s, files)
    if packs:
        inputs += [p.root / "control.toml" for p in packs.values()]
    return FitResult(
        settings=s,
        study=study,
        own_data=own,
        model=model,
        prior=prior,
        draws=fd,
        curves=cv,
        landmark=landmark,
        sampler=sampler,
        tables=out,
        benchmarks=benchmarks,
        inputs=inputs,
        ok=ok,
        advice=advice,
        seconds=time.perf_counter() - t0,
        comparative=comparative,
    )
