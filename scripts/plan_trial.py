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
Outputs (all-or-nothing)
    ``results/plan/``: oc.csv, sample_size.csv, calibration.csv, manifest.json and the figures;
    ``figures/plan/``: the figures (PNG 200 dpi and SVG). A short report goes to stdout.

References: Schoenfeld 1983; O'Hagan, Stevens & Campbell 2005; Spiegelhalter, Abrams & Myles 2004;
Berry, Carlin, Lee & Müller 2010; Gray 1988.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from models.cli import ArgumentParser, command_line, nonneg_int, parse_float_list, positive_int, run_guarded
from models.constants import DEFAULT_SEED, FIGURES_DIR, REPO_ROOT, RESULTS_DIR
from models.errors import ConfigError

PROG = "plan_trial.py"
DEFAULT_POSTERIOR = RESULTS_DIR / "fit" / "posterior.nc"
#: Draws of prior-library sets, keyed by a hash of the library (building some sets runs an MCMC fit).
PRIOR_CACHE = RESULTS_DIR / ".cache" / "design_priors"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--design",
        action="append",
        metavar="TOML",
        help="design file (repeatable; default: the shipped single_arm and randomised designs)",
    )
    p.add_argument("--n-grid", metavar="N,N,...", help="sample sizes to simulate (default: the design's [grid] n)")
    p.add_argument("--n-sims", type=positive_int, help="simulated trials per (N, scenario) (default: the design's)")
    p.add_argument("--seed", type=nonneg_int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--workers", type=positive_int, default=2, help="local worker processes (default 2)")
    p.add_argument("--dask", metavar="ADDRESS", help="run the grid on a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument(
        "--posterior",
        metavar="NC",
        help="posterior file of the current study (default: results/fit/posterior.nc if present, "
        "else the published totals)",
    )
    p.add_argument("--out", type=Path, default=RESULTS_DIR / "plan", help="output folder (default results/plan)")
    p.add_argument("--figures", type=Path, default=FIGURES_DIR / "plan", help="figure folder (default figures/plan)")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    p.add_argument(
        "--benchmark",
        action="store_true",
        help="only time the fast path (two-arm trials/second) against NUTS per trial; writes nothing",
    )
    return p


def _n_grid(text: str | None) -> list[int] | None:
    if text is None:
        return None
    values = parse_float_list(text, option="--n-grid")
    if any(v < 2 or v != int(v) for v in values):
        raise ConfigError("--n-grid", found=text, expected="whole numbers >= 2, e.g. 100,200,300")
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
    for _, r in ss.iterrows():
        label = "power" if r["metric"] == "power" else "assurance"
        extra = ""
        if r["metric"] == "power" and r["analysis"] == "frequentist" and "schoenfeld_relapses" in ss:
            extra = f" [Schoenfeld: {math.ceil(r['schoenfeld_relapses'])} relapses]"
        if r["metric"] == "power" and r["analysis"] == "bayesian" and math.isfinite(r["n_point"]):
            at = oc[(oc["scenario"] == r["scenario"]) & (oc["N"] == r["n_point"])].iloc[0]
            extra = (
                f" [expected {at['mean_relapses']:.0f} relapses, {at['mean_deaths']:.0f} deaths, "
                f"{at['mean_duration_days'] / 365.25:.1f} years]"
            )
        cons = r["n_conservative"]
        lower = f" (lower 95% MC bound reaches it at {int(cons)})" if math.isfinite(cons) else ""
        w(
            f"N for {100 * design.target:.0f}% {label} ({r['scenario']}, {r['analysis']}): "
            f"{_fmt_n(r['n_point'], r['max_in_grid'])}{lower}{extra}\n"
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
        from models.io import atomic_write_csv, atomic_write_json, manifest, staged_directory

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
        paths = args.design or [str(dz.DESIGN_DIR / "single_arm.toml"), str(dz.DESIGN_DIR / "randomised.toml")]
        inputs = list(paths)
        posterior, posterior_note = None, "published totals (21 patients, 1 relapse, 2 NRM; no posterior file)"
        if args.posterior is not None:
            posterior = dz.load_posterior_draws(args.posterior)
            posterior_note, inputs = args.posterior, [*inputs, args.posterior]
        elif DEFAULT_POSTERIOR.is_file():
            try:
                posterior = dz.load_posterior_draws(DEFAULT_POSTERIOR)
                posterior_note, inputs = str(DEFAULT_POSTERIOR), [*inputs, DEFAULT_POSTERIOR]
            except ConfigError as exc:
                sys.stderr.write(f"{PROG}: note: {exc}; using the published totals instead\n")
        dz.prefetch_prior_sets(paths, seed=args.seed, workers=args.workers, cache_dir=PRIOR_CACHE)
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
                progress=not args.quiet,
                n_grid=n_grid,
                n_sims=args.n_sims,
            )
            oc = dz.summarise(raw, d)
            ocs.append(oc)
            sss.append(dz.sample_size(oc, d))
            cals.append(dz.calibrate(raw, d))
            fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.6), constrained_layout=True)
            dz.plot_oc(oc, d, axes)
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
                    fig.savefig(folder / f"{stem}.png", dpi=200)
                    fig.savefig(folder / f"{stem}.svg")
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
                    "designs": {
                        d.name: {
                            "source": d.source,
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
    raise SystemExit(main())
