"""Plan a prospective trial of maintenance after allogeneic HCT: sample size, error rates, assurance.

Question
    Huang et al. (Blood Cancer Journal 2024;14:109; 21 patients, 1 relapse and 2 non-relapse deaths
    in about a year) end by asking for prospective randomised trials. How many patients would a
    single-arm phase 2 or a randomised trial need, what are its error rates, and how likely is it
    to succeed given what is known now?
Designs
    TOML files (default: ``data/designs/single_arm.toml`` and ``data/designs/randomised.toml``):
    accrual, delayed entry, minimum follow-up, dropout, analysis at calendar time or at a target
    number of relapses, an optional interim, the Bayesian success rule and the no-maintenance
    benchmark with its citation.
Model
    Trials are simulated from piecewise-exponential hazards of relapse, non-relapse mortality and
    death after relapse (:mod:`models.trial_sim`); the Bayesian decision is the exact conjugate
    posterior probability (F / beta distribution for the hazard ratio), the frequentist companion
    the cause-specific log-rank test (one-sample log-rank for the single-arm design).
Sample size
    Operating characteristics are simulated on the grid of N (the curves); the sample size for the
    target power or assurance is then found by root search (:mod:`models.sample_size`): a probit fit
    of simulated success on log N with common random numbers, refined around the root and given
    with its Monte Carlo 95% interval, to within +-2% of N. For the randomised design the
    Schoenfeld (1983) and Freedman (1982) log-rank answers are given alongside.
Outputs (all-or-nothing)
    ``results/STUDY/plan/``: oc.csv, sample_size.csv, calibration.csv, manifest.json and the figures;
    ``figures/STUDY/plan/``: the figures (PNG 200 dpi and SVG). A short report goes to stdout.

References: Schoenfeld 1983; Freedman 1982; O'Hagan, Stevens & Campbell 2005; Spiegelhalter, Abrams &
Myles 2004; Berry, Carlin, Lee & Müller 2010; Gray 1988.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from models.cli import (
    ArgumentParser,
    add_study_option,
    command_line,
    default_output,
    finish,
    int_at_least,
    nonneg_int,
    parse_float_list,
    run_guarded,
)
from models.constants import DEFAULT_SEED, REPO_ROOT
from models.errors import ConfigError, StudyError

PROG = "plan_trial.py"
#: Most simulated trials per (N, scenario) (models.design.MAX_SIMS; not imported here, so --help needs no numpy)
MAX_SIMS = 1_000_000
#: Draws of prior-library sets, keyed by a hash of the library (building some sets runs an MCMC fit).


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--design",
        action="append",
        metavar="TOML",
        help="design file (repeatable; default: the shipped single_arm and randomised designs)",
    )
    p.add_argument("--n-grid", metavar="N,N,...", help="sample sizes to simulate (default: the design's [grid] n)")
    p.add_argument(
        "--n-sims",
        type=int_at_least(10, MAX_SIMS),
        help="simulated trials per (N, scenario), 10 to 1,000,000 (default: the design's)",
    )
    p.add_argument(
        "--ss-tolerance",
        type=_tolerance,
        default=0.02,
        metavar="FRACTION",
        help="relative half-width of the sample size's 95%% Monte Carlo interval to reach (default 0.02)",
    )
    p.add_argument(
        "--ss-max-trials",
        type=int_at_least(10, 16 * MAX_SIMS),
        metavar="T",
        help="most simulated trials per N in the sample-size search (default 16 x the trials per grid N)",
    )
    p.add_argument("--seed", type=nonneg_int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--workers", type=int_at_least(1, 256), default=2, help="local worker processes (default 2)")
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the grid and the sample-size search on a Dask scheduler, e.g. tcp://10.0.0.5:8786",
    )
    p.add_argument(
        "--posterior",
        metavar="NC",
        help="posterior file of the current study (default: results/STUDY/fit/posterior.nc if present; for the "
        "default study else its published totals); 'none' for the default study's published totals",
    )
    add_study_option(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default results/STUDY/plan)")
    p.add_argument("--figures", type=Path, default=None, help="figure folder (default figures/STUDY/plan)")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    p.add_argument(
        "--benchmark",
        action="store_true",
        help="only time the fast path (two-arm trials/second) against NUTS per trial; writes nothing",
    )
    return p


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 0.5), found {text!r}") from None
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 0.5), found {value}")
    return value


def _shown(path: str | Path) -> str:
    """A path as manifests and messages show it: relative to the repository when inside it."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _n_grid(text: str | None) -> list[int] | None:
    if text is None:
        return None
    values = parse_float_list(text, option="--n-grid")
    if any(not 2 <= v <= 100_000 or v != int(v) for v in values) or len(values) > 200:
        raise ConfigError("--n-grid", found=text, expected="1-200 whole numbers from 2 to 100,000, e.g. 100,200,300")
    return sorted({int(v) for v in values})


def _fmt_n(value: float, best: float) -> str:
    return f"{int(value)}" if math.isfinite(value) else f"not reached (max {best:.2f} in the grid)"


def report(design, oc, ss, cal, stream) -> None:
    """The short text report of one design."""
    w = stream.write
    rule = f"HR < {design.margin:g}" if design.kind == "randomised" else f"CIR < {design.benchmark_cir:.4f}"
    test = "log-rank" if design.kind == "randomised" else "one-sample log-rank"
    w(f"\n== {design.name} ({design.source}) ==\n")
    w(f"{design.description}\n")
    w(
        f"benchmark 1-year relapse incidence {100 * design.benchmark_cir:.1f}% (no maintenance); "
        f"success if P({rule} | data) > {design.threshold}\n"
    )
    null = oc[oc["role"] == "null"]
    w(
        f"type I error, Bayesian rule: {null['p_success'].min():.3f}-{null['p_success'].max():.3f} over N "
        f"(MC s.e. <= {null['p_success_mcse'].max():.3f}); "
        f"{test}: {null['p_success_freq'].min():.3f}-{null['p_success_freq'].max():.3f} "
        f"(nominal {design.alpha / 2:g} one-sided)\n"
    )
    from models.design.plotting import type1_ranges

    t1 = type1_ranges(oc)
    for _, r in ss.iterrows():
        label = "power" if r["metric"] == "power" else "assurance"
        alpha = f"; type I error {t1[r['analysis']]}" if r["metric"] == "power" else ""
        head = f"N for {100 * design.target:.0f}% {label} ({r['scenario']}, {r['analysis']}{alpha}): "
        if not math.isfinite(r["n_point"]):
            w(head + _fmt_n(r["n_point"], r["max_in_grid"]) + "\n")
            continue
        interval = (
            f"95% MC interval {int(r['n_lower'])}-{int(r['n_upper'])}"
            if math.isfinite(r["n_lower"]) and math.isfinite(r["n_upper"])
            else "no MC interval (flat curve)"
        )
        if not r["within_tolerance"]:
            interval += ", wider than the tolerance: raise --ss-max-trials"
        grid = f"grid {int(r['grid_n_point'])}" if math.isfinite(r["grid_n_point"]) else "grid: not reached"
        w(
            f"{head}{int(r['n_point'])} ({interval}; simulated {label} {r['p_at_n']:.3f} ± {r['p_at_n_mcse']:.3f} "
            f"at N, {int(r['n_trials']):,} trials at each of {int(r['n_points_fit'])} N; {grid})\n"
        )
        if r["metric"] == "power" and r["analysis"] == "bayesian":
            w(
                f"    expected {r['mean_relapses_at_n']:.0f} relapses, {r['mean_deaths_at_n']:.0f} deaths, "
                f"{r['mean_duration_days_at_n'] / 365.25:.1f} years (interim stops included)\n"
            )
        if math.isfinite(r.get("schoenfeld_n", float("nan"))):
            w(
                f"    closed forms (no interim, exponential hazards, NRM and dropout as censoring): "
                f"Schoenfeld {r['schoenfeld_relapses']:.1f} relapses, N {int(r['schoenfeld_n'])}; "
                f"Freedman {r['freedman_relapses']:.1f} relapses, N {int(r['freedman_n'])}\n"
            )
    c = cal[cal["role"] == "null"]
    if len(c):
        w(
            f"threshold holding type I error at {design.type1_target:g}: "
            f"{c['threshold_calibrated'].min():.4f}-{c['threshold_calibrated'].max():.4f} over N\n"
        )
    if design.skipped_priors:
        w(f"design priors skipped (prior set not available): {', '.join(design.skipped_priors)}\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import pandas as pd

        from models import design as dz
        from models import sample_size as ssz
        from models.io import (
            atomic_write_csv,
            atomic_write_json,
            cache_dir,
            check_output_folder,
            manifest,
            staged_directory,
        )
        from models.plotting import save_figure

        started = time.perf_counter()
        if args.benchmark:
            fast = dz.benchmark_fast_path(40_000, workers=args.workers)
            mcmc = dz.benchmark_mcmc(3)
            sys.stdout.write(
                f"fast path: {fast['trials_per_second']:,.0f} two-arm trials/s ({fast['n_trials']:,.0f} trials of "
                f"{fast['n_patients']:.0f} patients, {args.workers} workers, {fast['seconds']:.2f} s)\n"
                f"NUTS per trial: {mcmc['seconds_per_trial']:.2f} s (PyMC, 2 chains x 1000 draws, a model per trial)\n"
                f"speed-up: {fast['trials_per_second'] * mcmc['seconds_per_trial']:,.0f}x\n"
            )
            return 0
        n_grid = _n_grid(args.n_grid)
        from models.study import DEFAULT_STUDY_DIR, load_study

        study = load_study(args.study)
        is_default = study.root.resolve() == DEFAULT_STUDY_DIR.resolve()
        args.out = args.out or default_output(study, None, "results", "plan")
        args.figures = args.figures or default_output(study, None, "figures", "plan")
        default_posterior = default_output(study, None, "results", "fit") / "posterior.nc"
        if not is_default and args.posterior in (None, "none") and not default_posterior.is_file():
            raise StudyError(
                study.source,
                field="posterior",
                found=f"no {_shown(default_posterior)}" if args.posterior is None else "'none'",
                expected=f"the study's fitted posterior: run fit.py --study {_shown(study.root)} first, or --posterior",
            )
        check_output_folder(args.out, "--out")
        check_output_folder(args.figures, "--figures")
        from models.progress import reporter

        progress = reporter(PROG, quiet=args.quiet)
        paths = args.design or [str(dz.DESIGN_DIR / "single_arm.toml"), str(dz.DESIGN_DIR / "randomised.toml")]
        inputs = list(paths)
        posterior, posterior_note = None, "published totals (21 patients, 1 relapse, 2 NRM; no posterior file)"
        if args.posterior == "none":
            pass
        elif args.posterior is not None:
            posterior = dz.load_posterior_draws(args.posterior)
            posterior_note, inputs = _shown(args.posterior), [*inputs, args.posterior]
        elif default_posterior.is_file():
            try:
                posterior = dz.load_posterior_draws(default_posterior)
                posterior_note, inputs = _shown(default_posterior), [*inputs, default_posterior]
            except ConfigError as exc:
                sys.stderr.write(f"{PROG}: note: {exc}; using the published totals instead\n")
        dz.prefetch_prior_sets(paths, seed=args.seed, workers=args.workers, cache_dir=cache_dir("design_priors"))
        designs = [dz.load_design(p, posterior=posterior, seed=args.seed) for p in paths]
        names = [d.name for d in designs]
        if len(set(names)) != len(names):
            raise ConfigError("--design", found=names, expected="designs with distinct [design] name")
        ocs, sss, cals, figs = [], [], [], []
        for d in designs:
            if not args.quiet:
                sys.stderr.write(f"{PROG}: simulating design '{d.name}'\n")
            raw = dz.run_design(
                d,
                seed=args.seed,
                workers=args.workers,
                dask_address=args.dask,
                progress=progress,
                n_grid=n_grid,
                n_sims=args.n_sims,
            )
            oc = dz.summarise(raw, d)
            ocs.append(oc)
            n_sims = args.n_sims or d.n_sims
            settings = ssz.SearchSettings(
                rel_tol=args.ss_tolerance, n_trials=n_sims, max_trials=max(n_sims, args.ss_max_trials or 16 * n_sims)
            )
            sss.append(
                ssz.sample_size_table(
                    oc,
                    d,
                    seed=args.seed,
                    workers=args.workers,
                    dask_address=args.dask,
                    settings=settings,
                    progress=progress,
                )
            )
            cals.append(dz.calibrate(raw, d))
            fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.6), constrained_layout=True)
            dz.plot_oc(oc, d, axes, sample_sizes=sss[-1])
            figs.append((f"plan_{d.name}", fig))
        oc_all = pd.concat(ocs, ignore_index=True)
        ss_all = pd.concat(sss, ignore_index=True)
        cal_all = pd.concat(cals, ignore_index=True)
        outputs = ["oc.csv", "sample_size.csv", "calibration.csv", "manifest.json"]
        outputs += [f"{stem}.{ext}" for stem, _ in figs for ext in ("png", "svg")]
        with staged_directory(args.out) as stage, staged_directory(args.figures) as fstage:
            # "role" holds words such as "null" that CSV readers take for missing values: "metric" says it
            atomic_write_csv(stage / "oc.csv", oc_all.drop(columns="role"), float_format="%.6g")
            atomic_write_csv(stage / "sample_size.csv", ss_all, float_format="%.6g")
            atomic_write_csv(stage / "calibration.csv", cal_all.drop(columns="role"), float_format="%.6g")
            for stem, fig in figs:
                for folder in (stage, fstage):
                    save_figure(fig, folder / f"{stem}.png", dpi=200)
                    save_figure(fig, folder / f"{stem}.svg")
                plt.close(fig)
            doc = manifest(
                command=command_line(argv, "scripts/plan_trial.py"),
                seed=args.seed,
                inputs=inputs,
                outputs=outputs,
                extra={
                    "design_prior_posterior": posterior_note,
                    "workers": args.workers,
                    "dask": args.dask,
                    "seconds": round(time.perf_counter() - started, 2),
                    "sample_size_search": {
                        "method": "probit root search on log N with common random numbers (models.sample_size)",
                        "tolerance": args.ss_tolerance,
                        "max_trials_per_n": args.ss_max_trials or "16 x n_sims",
                    },
                    "designs": {
                        d.name: {
                            "source": _shown(d.source),
                            "n_grid": list(n_grid or d.n_grid),
                            "n_sims": args.n_sims or d.n_sims,
                            "scenarios": [s.name for s in d.scenarios],
                            "skipped_design_priors": list(d.skipped_priors),
                        }
                        for d in designs
                    },
                },
            )
            atomic_write_json(stage / "manifest.json", doc)
        for d, oc, ss, cal in zip(designs, ocs, sss, cals, strict=True):
            report(d, oc, ss, cal, sys.stdout)
        try:
            shown = args.out.resolve().relative_to(REPO_ROOT)
        except ValueError:
            shown = args.out
        sys.stdout.write(
            f"\ndesign-prior posterior: {posterior_note}\nwritten: {shown}/ ({time.perf_counter() - started:.1f} s)\n"
        )
        return 0

    return run_guarded(PROG, body)


if __name__ == "__main__":
    raise SystemExit(finish(main()))
