r"""Posterior relapse, NRM, EFS, OS and GRFS after blinatumomab maintenance (Huang et al. 2024).

Question
    What do the 21 patients of Huang et al. (Blood Cancer Journal 2024;14:109) say about relapse,
    non-relapse mortality and survival after allogeneic transplant with blinatumomab maintenance,
    once the immortal time before maintenance is handled and the uncertainty of the reconstructed
    per-patient data is carried through?
Data
    Reconstructed per-patient outcome tables (``data/huang2024/reconstructed/draw_*.csv``; one row
    per patient, days from transplant), or any outcome CSV (``--data``).
Model
    Piecewise-exponential illness–death model (remission → relapse → death; remission → NRM; GvHD
    for GRFS) with delayed entry at the start of maintenance, fitted to each reconstructed table and
    pooled with equal weight (:mod:`models.pwe`, :mod:`models.derived`). Engines: ``exact``
    (conjugate gamma / gamma-mixture priors) and ``nuts`` (PyMC or nutpie, any prior).
Outputs (``--out``, default ``results/fit/``, written all-or-nothing)
    summary.csv, curves.csv, claims.csv, diagnostics.csv, reconstruction_variance.csv,
    exposure.csv, posterior.nc, manifest.json and figures (also copied to ``figures/fit/``).
References
    Friedman M. Ann Stat 1982;10:101–13. Andersen PK, Keiding N. Stat Methods Med Res
    2002;11:91–115. Putter H, Fiocco M, Geskus RB. Stat Med 2007;26:2389–430.

Exit status: 0 success; 1 convergence checks failed with ``--strict``; 2 bad input.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":  # Ctrl-C during the imports below: exit quietly
    from models.cli import interrupt_quietly

    interrupt_quietly()

import argparse
import math
import shutil
import time

from models.cli import (
    EXIT_FAILED,
    EXIT_OK,
    ArgumentParser,
    command_line,
    finish,
    nonneg_int,
    parse_float_list,
    positive_int,
    run_guarded,
)
from models.constants import (
    DATA_DIR,
    DEFAULT_CUTS,
    DEFAULT_SEED,
    FIGURES_DIR,
    LANDMARK_DAYS,
    PUBLISHED_TOML,
    RECONSTRUCTED_DIR,
    RESULTS_DIR,
)
from models.errors import ConfigError
from models.fit_recipe import FIT_CHAINS, FIT_DRAWS, FIT_TUNE, MAX_TOTAL_DRAWS, SUMMARY_DRAWS, fit_draws

PROG = "fit.py"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog=PROG, description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data",
        default=str(RECONSTRUCTED_DIR),
        help="an outcome CSV or a folder of reconstructed draw_*.csv (default: %(default)s)",
    )
    p.add_argument(
        "--prior",
        default="literature",
        help="prior set: a name from data/priors/sets.toml (vague, literature, md_anderson, skeptical, "
        "enthusiastic, ...) or a prior-set TOML file (default: %(default)s)",
    )
    p.add_argument("--cuts", default=None, help="cut points in days from transplant, e.g. 0,100,180,365,730 (default)")
    p.add_argument(
        "--relapse-death-cuts",
        default=None,
        help="cut points in days since relapse for death after relapse (default 0,90,365)",
    )
    p.add_argument("--engine", choices=["exact", "nuts"], default="exact")
    p.add_argument(
        "--sampler",
        choices=["auto", "pymc", "nutpie"],
        default="auto",
        help="NUTS implementation (auto: nutpie when installed, else PyMC; nutpie compiles once per "
        "process in ~15 s, then samples a table in under a second)",
    )
    p.add_argument("--draws", type=positive_int, default=FIT_DRAWS, help="draws per chain and table")
    p.add_argument("--tune", type=nonneg_int, default=FIT_TUNE, help="NUTS tuning steps per chain")
    p.add_argument("--chains", type=positive_int, default=FIT_CHAINS)
    p.add_argument("--seed", type=nonneg_int, default=DEFAULT_SEED)
    p.add_argument("--out", default=str(RESULTS_DIR / "fit"), help="output folder (replaced on success)")
    p.add_argument(
        "--figures-dir", default=str(FIGURES_DIR / "fit"), help="where figures are copied (default: %(default)s)"
    )
    p.add_argument(
        "--from-transplant",
        action="store_true",
        help="at risk from day 0 (published convention) instead of from the start of maintenance",
    )
    p.add_argument(
        "--landmark-day",
        type=nonneg_int,
        default=None,
        help="condition on alive in remission at this day (default: published median start of maintenance, 102)",
    )
    p.add_argument(
        "--claims",
        default=str(DATA_DIR / "claims.toml"),
        help="claims TOML whose posterior probabilities are reported (thresholds and cited benchmarks; "
        "default: %(default)s), or 'builtin' for the built-in claims with a placeholder 0.20 benchmark",
    )
    p.add_argument(
        "--max-summary-draws",
        type=positive_int,
        default=SUMMARY_DRAWS,
        help="pooled draws used for curves and summaries (equal per table)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 if convergence checks fail")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr and no report")
    p.add_argument("--no-figures", action="store_true")
    return p


def _claims(spec: str) -> tuple[list, list[tuple[float, str]]]:
    """The claims to report and the 1-year relapse benchmarks to draw on the prior/posterior figure.

    ``builtin``: :func:`models.derived.default_claims` (its 0.20 benchmark is a placeholder);
    otherwise a claims file read by :func:`models.claims.load_claims` (benchmarks from cited figures).
    """
    from models.derived import NO_MAINTENANCE_BENCHMARK_PLACEHOLDER, Claim, default_claims

    if spec == "builtin":
        return default_claims(), [(NO_MAINTENANCE_BENCHMARK_PLACEHOLDER, "No-maintenance benchmark (placeholder)")]
    from models.claims import load_claims

    defs = load_claims(spec)
    claims = [Claim(c.name, c.quantity, c.day, c.op, c.threshold, c.reason) for c in defs]
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


def _prior_and_claim_inputs(args: argparse.Namespace) -> list[Path]:
    """Files besides the outcome tables that decide the result: prior sources and sets, and the claims."""
    from models.prior_sources import SETS_TOML, SOURCES_TOML

    prior = Path(args.prior)
    out = [SOURCES_TOML, SETS_TOML] + ([prior] if prior.is_file() else [])  # a set file, whatever its suffix
    return out if args.claims == "builtin" else [*out, Path(args.claims)]


def _landmark_default() -> int:
    from models.data import load_published

    return round(load_published(PUBLISHED_TOML)["transplant_to_blinatumomab"].value)


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _legend(fig, ax) -> None:
    """One legend for both panels; model colours shown in neutral grey (each panel has its own)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    neutral = []
    for h, lab in zip(handles, labels, strict=True):
        if lab.startswith("Posterior median"):
            h = Line2D([], [], color="#555555", lw=1.8)
        elif "credible band" in lab:
            h = Patch(color="#555555", alpha=0.25, lw=0)
        neutral.append(h)
    fig.legend(neutral, labels, loc="outside lower center", ncols=2, frameon=False, fontsize=8)


def _figures(args, model, curve_df, idata_prior, post_rel, benchmarks, stage: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from models.data import load_published
    from models.endpoints import derive
    from models.nonparametric import aalen_johansen, km_curve
    from models.plotting import add_at_risk, plot_posterior_curve, plot_prior_posterior, save_figure

    pub = load_published(PUBLISHED_TOML)
    ft = model.from_transplant
    xmax = float(curve_df["day"].max())
    ticks = [t for t in (0, 180, 365, 545, 730) if t <= xmax]
    entry_note = "at risk from transplant" if ft else "at risk from start of maintenance"
    rel = [derive(t, "relapse", from_transplant=ft) for t in model.tables]
    written: list[Path] = []

    def save(fig, name: str) -> None:
        for ext in ("png", "svg"):
            path = stage / "figures" / f"{name}.{ext}"
            path.parent.mkdir(parents=True, exist_ok=True)
            save_figure(fig, path, dpi=200, bbox_inches="tight")
            written.append(path)
        plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.0), layout="constrained")
    for ax, q, cause in ((axes[0], "relapse_cif", 1), (axes[1], "nrm_cif", 2)):
        steps = [aalen_johansen(r["duration"], r["event"], cause, entry=r["entry"]) for r in rel]
        plot_posterior_curve(
            curve_df,
            q,
            steps=steps,
            ax=ax,
            legend=False,
            step_label=f"Aalen–Johansen, {len(steps)} table(s), {entry_note}",
        )
        ax.set_xticks(ticks)
        add_at_risk(ax, rel[0]["entry"].to_numpy(), rel[0]["duration"].to_numpy(), ticks)
    _legend(fig, axes[0])
    save(fig, "incidence_relapse_nrm")

    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.0), layout="constrained")
    for ax, q, key in ((axes[0], "efs", "efs_1y"), (axes[1], "os", "os_1y")):
        ends = [derive(t, q, from_transplant=ft) for t in model.tables]
        steps = [km_curve(e["duration"], e["event"], e["entry"]) for e in ends]
        f = pub[key]
        published = [(f.landmark_days, f.value / 100, f.ci[0] / 100, f.ci[1] / 100)] if f.ci else []
        plot_posterior_curve(
            curve_df,
            q,
            steps=steps,
            published=published,
            ylim=(0, 1.02),
            ax=ax,
            legend=False,
            step_label=f"Kaplan–Meier, {len(steps)} table(s), {entry_note}",
            published_label="Published 1-year estimate (95% CI; at risk from transplant)",
        )
        ax.set_xticks(ticks)
        add_at_risk(ax, ends[0]["entry"].to_numpy(), ends[0]["duration"].to_numpy(), ticks)
    _legend(fig, axes[0])
    save(fig, "survival_efs_os")

    fig, ax = plt.subplots(figsize=(5.2, 3.8), layout="constrained")
    plot_prior_posterior(
        idata_prior,
        post_rel,
        benchmarks=benchmarks,
        ax=ax,
        xlabel="1-year cumulative incidence of relapse (from transplant)",
    )
    save(fig, "prior_posterior_relapse_1y")
    return written


def _prior_lines(ess, conflict, agreement) -> list[str]:
    """The prior's weight, its prediction (attributed to its parts) and the agreement verdict."""
    from models.agreement import sentence
    from models.prior_weight_tables import weight_sentence

    lines = [weight_sentence(r) for _, r in ess.iterrows() if r["transition"] != "gvhd"]
    for r in conflict.itertuples():
        if r.transition == "gvhd":
            continue
        parts = []
        if r.predicted_informative > 0:
            parts.append(f"{r.predicted_informative:.1f} from the sources ({r.sources})")
        if r.predicted_robust > 0:
            parts.append(f"{r.predicted_robust:.1f} from the robust component")
        if r.predicted_baseline > 0:
            parts.append(f"{r.predicted_baseline:.1f} from the weak baseline where no source informs")
        own = (
            f"; the sources alone predicted {r.sources_predicted_mean:.1f} against {r.sources_observed_events:.0f} "
            f"in the intervals they inform, p = {r.sources_p_value:.2f}"
            if r.sources_predicted_mean == r.sources_predicted_mean  # not NaN
            else ""
        )
        lines.append(
            f"prior prediction, {r.transition}: {r.prior_predictive_mean:.1f} events predicted "
            f"({', '.join(parts) or 'simulated'}) against {r.observed_events:.0f} observed, Box's p = {r.p_value:.2f}"
            f"{own} (medians over tables)"
        )
    lines += ["prior-data agreement: " + sentence(r) for _, r in agreement.iterrows()]
    return lines


def _report(model, engine, sampler, summary, claims, diag, rv, landmark, elapsed, prior_lines=()) -> str:
    n_div = int(diag.groupby("table")["divergences"].first().sum())
    lines = [
        f"PWE illness–death fit: {len(model.tables)} table(s) of {len(model.tables[0])} patients; "
        f"engine {engine} ({sampler}); prior '{model.priors.name}'; "
        f"{'at risk from transplant' if model.from_transplant else 'delayed entry at start of maintenance'}",
        f"convergence: {'ok' if diag['ok'].all() else 'FAILED'} (max R-hat {diag['r_hat'].max():.3f}, "
        f"min bulk ESS {diag['ess_bulk'].min():.0f}, divergences {n_div})",
        *prior_lines,
    ]
    scales = (("from_transplant", "from transplant"), ("conditional", f"alive in remission at day {landmark}"))
    for scale, title in scales:
        s = summary[(summary["scale"] == scale) & (summary["day"] == 365)]
        if len(s):
            parts = [
                f"{r.quantity} {100 * r.median:.1f}% ({100 * r.lower:.1f}–{100 * r.upper:.1f})" for r in s.itertuples()
            ]
            lines.append(f"1 year, {title}: " + "; ".join(parts))
            if "prior_driven" in s and s["prior_driven"].any():
                lines.append("  prior-driven (the prior holds at least as much information as the data in):")
                flagged = s[s["prior_driven"]]
                for why, g in flagged.groupby("prior_driven_intervals", sort=False):
                    lines.append(f"    {', '.join(g['quantity'])}: {why}")
    c = claims[claims["scale"] == "from_transplant"]
    lines.append(
        "P(claim), from transplant: "
        + "; ".join(f"{r.claim} [{r.operator} {r.threshold:g}] {r.probability:.3f}" for r in c.itertuples())
    )
    if len(model.tables) > 1:
        r = rv[(rv["scale"] == "from_transplant") & (rv["day"] == 365)]
        lines.append(
            "share of posterior variance from reconstruction at 1 year: "
            + "; ".join(f"{x.quantity} {100 * x.between_share:.1f}%" for x in r.itertuples())
        )
    lines.append(f"elapsed {elapsed:.1f} s")
    return "\n".join(lines)


def run(args: argparse.Namespace, argv: list[str] | None) -> int:
    t0 = time.perf_counter()
    import warnings

    import numpy as np
    import pandas as pd

    from models.agreement import agreement_table
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
    from models.io import atomic_write_csv, atomic_write_json, check_output_folder, manifest, staged_directory
    from models.posterior_io import save_posterior
    from models.power_scaling import REPORTED, fit_power_scaling
    from models.prior_conflict import conflict_table_draws
    from models.prior_library import load_prior_set
    from models.prior_weight_tables import ess_summary, ess_table, prior_driven_table
    from models.priors import prior_landmarks
    from models.pwe import ConvergenceWarning, Model, default_sampler, diagnostics, diagnostics_ok

    out = check_output_folder(args.out, "--out")  # before any computation: never after it
    if not args.no_figures:
        check_output_folder(args.figures_dir, "--figures-dir")
    cuts = (
        validate_cuts(parse_float_list(args.cuts, option="--cuts"), option="--cuts")
        if args.cuts is not None
        else DEFAULT_CUTS
    )
    rcuts = (
        validate_cuts(
            parse_float_list(args.relapse_death_cuts, option="--relapse-death-cuts"), option="--relapse-death-cuts"
        )
        if args.relapse_death_cuts is not None
        else DEFAULT_RELAPSE_DEATH_CUTS
    )
    claim_list, benchmarks = _claims(args.claims)
    prior = load_prior_set(args.prior, cuts, rcuts)
    landmark = _landmark_default() if args.landmark_day is None else args.landmark_day
    files = outcome_files(args.data)
    _say(args, f"{PROG}: reading {len(files)} outcome table(s) from {args.data}")
    tables = [load_outcomes(f) for f in files]
    total = args.draws * args.chains * len(tables)
    if total > MAX_TOTAL_DRAWS:
        raise ConfigError(
            "--draws",
            found=f"{args.draws} x {args.chains} chains x {len(tables)} tables = {total:,} draws",
            expected=f"at most {MAX_TOTAL_DRAWS:,} draws in all (memory); fewer --draws or tables",
        )
    last = max(float(t["last_followup_day"].max()) for t in tables)
    if args.cuts is not None and cuts[-1] >= last:  # the default cuts stay: beyond follow-up the prior speaks, flagged
        raise ConfigError(
            "--cuts",
            found=f"cut point {cuts[-1]:g} at or beyond the last follow-up (day {last:g})",
            expected="cut points before the last follow-up, so that every interval has patients at risk",
        )
    model = Model(
        tables,
        priors=prior,
        cuts=cuts,
        relapse_death_cuts=rcuts,
        from_transplant=args.from_transplant,
        sources=[str(f) for f in files],
    )
    follow_end = math.ceil(max(float(t["last_followup_day"].max()) for t in model.tables))
    horizon = int(max(max(LANDMARK_DAYS), follow_end))
    if landmark >= follow_end:
        raise ConfigError(
            "--landmark-day", found=landmark, expected=f"a day before the end of follow-up (day {follow_end})"
        )
    sampler = None
    if args.engine == "nuts":
        sampler = args.sampler if args.sampler != "auto" else default_sampler()
    _say(
        args,
        f"{PROG}: fitting {len(tables)} table(s), engine {args.engine}"
        + (f" ({sampler}, {args.chains} chains x {args.draws} draws)" if sampler else ""),
    )
    with warnings.catch_warnings(record=True) as caught:  # the advice is printed once, beside the verdict
        warnings.simplefilter("always", ConvergenceWarning)
        fd = fit_draws(
            model,
            engine=args.engine,
            draws=args.draws,
            chains=args.chains,
            tune=args.tune,
            seed=args.seed,
            sampler=sampler,
            progress=not args.quiet,
            max_summary_draws=args.max_summary_draws,
        )
    advice = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    idata, hz, table_index = fd.idata, fd.hazards, fd.table_index
    _say(args, f"{PROG}: deriving curves, summaries and diagnostics")
    cv = curves(hz, model.cuts, model.relapse_death_cuts, horizon)
    by_scale = {"from_transplant": cv, "conditional": conditional_curves(cv, landmark)}
    summary = summary_table(by_scale)
    curve_df = curve_table(by_scale)
    claims = claims_table(by_scale, claim_list)
    rv = reconstruction_variance(by_scale, table_index)
    diag = diagnostics(idata)
    ok = diagnostics_ok(diag)
    exposure = []
    for i, td in enumerate(model.stats):
        t = td.table()
        t.insert(0, "table", i)
        exposure.append(t)
    exposure_df = pd.concat(exposure, ignore_index=True)
    # the prior's weight (first-year ESS) and its conflict with the data (Box's prior-predictive p)
    weight = ess_table(prior, model.cuts, model.relapse_death_cuts, model.stats)
    ess = ess_summary(weight)
    driven = prior_driven_table(weight, model.cuts, model.relapse_death_cuts, sorted(summary["day"].unique()), landmark)
    summary = summary.merge(driven, on=["scale", "quantity", "day"], how="left")
    conflict = conflict_table_draws(prior, model.stats, seed=args.seed)
    if prior.conjugate:
        _say(args, f"{PROG}: power-scaling sensitivity and prior-data agreement")
        power = fit_power_scaling(
            prior, model.stats, fd.all_hazards, fd.all_table_index, model.cuts, model.relapse_death_cuts, 365, landmark
        ).drop(columns=["prior", "engine"])
    else:  # power-scaling needs the prior density at the draws: gamma mixtures only
        power = pd.DataFrame(
            {"quantity": [f"{q}@365" for q in REPORTED], "prior_sensitivity": np.nan, "likelihood_sensitivity": np.nan}
        )
    agreement = agreement_table(conflict, power)
    idata.posterior.attrs["landmark_day"] = int(landmark)
    idata.posterior.attrs["convergence_ok"] = int(ok)

    with staged_directory(out) as stage:
        written: list[Path] = []
        for name, df in (
            ("summary.csv", summary),
            ("curves.csv", curve_df),
            ("claims.csv", claims),
            ("diagnostics.csv", diag),
            ("reconstruction_variance.csv", rv),
            ("exposure.csv", exposure_df),
            ("prior_ess.csv", ess),
            ("prior_weight_intervals.csv", weight),
            ("prior_conflict.csv", conflict),
            ("power_scaling.csv", power),
            ("prior_agreement.csv", agreement),
        ):
            written.append(atomic_write_csv(stage / name, df, float_format="%.6g"))
        written.append(save_posterior(idata, stage / "posterior.nc"))
        if not args.no_figures:
            _say(args, f"{PROG}: drawing figures")
            pri = prior_landmarks(
                prior,
                model.cuts,
                model.relapse_death_cuts,
                day=365,
                n=10_000,
                seed=args.seed,
                quantities=("relapse_cif",),
            )
            written += _figures(args, model, curve_df, pri["relapse_cif"], cv.relapse_cif[:, 365], benchmarks, stage)
        rel = sorted(str(p.relative_to(stage)) for p in written)
        doc = manifest(
            command=command_line(argv, "scripts/fit.py"),
            seed=args.seed,
            inputs=[*files, *_prior_and_claim_inputs(args)],
            outputs=[*rel, "manifest.json"],
            extra={
                "engine": args.engine,
                "sampler": sampler or "closed-form",
                "prior_set": prior.name,
                "cuts": [float(c) for c in model.cuts],
                "relapse_death_cuts": [float(c) for c in model.relapse_death_cuts],
                "from_transplant": model.from_transplant,
                "landmark_day": int(landmark),
                "data_sha256": model.data_hashes,
                "convergence_ok": ok,
            },
        )
        atomic_write_json(stage / "manifest.json", doc)
    if not args.no_figures:
        fig_dir = Path(args.figures_dir)
        with staged_directory(fig_dir) as fstage:
            for f in sorted((out / "figures").iterdir()):
                shutil.copy2(f, fstage / f.name)
    if not args.quiet:
        print(
            _report(
                model,
                args.engine,
                sampler or "closed form",
                summary,
                claims,
                diag,
                rv,
                landmark,
                time.perf_counter() - t0,
                _prior_lines(ess, conflict, agreement),
            )
        )
        print(f"outputs: {out}" + ("" if ok else "  (convergence checks FAILED: see diagnostics.csv)"))
        if not ok and not advice:  # the exact engine's draws are independent: only their number can fail
            advice = [
                f"Too few draws for the ESS threshold: draws x chains = {args.draws * args.chains}; "
                f"try --draws {max(FIT_DRAWS, 2 * args.draws)}."
            ]
        for line in [] if ok else advice:
            print(line)
    return EXIT_FAILED if (args.strict and not ok) else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded(PROG, lambda: run(args, argv))


if __name__ == "__main__":
    raise SystemExit(finish(main()))
