"""Inspect, audit and plot the literature prior sets.

Question
    What does each prior set say, where does every number come from, how much is it worth in
    events and patients, and does it conflict with the study's data?

Data
    ``data/priors/sources.toml`` (published figures with quotes and addresses, from
    ``/work/shared/literature/sources.md``) and ``data/priors/sets.toml`` (named sets); a user's
    own set file in the same format can be given instead of a name.

Model
    Figures become pseudo-events and exposure on the model's intervals (constant hazards between
    landmarks), then gamma priors by power prior (Ibrahim & Chen 2000), robust mixture (Schmidli et
    al. 2014), MAP prior (Neuenschwander et al. 2010) or commensurate prior (Hobbs et al. 2011); see
    ``models/prior_sources.py`` and ``models/prior_library.py``.

Commands
    ``list``                 the named sets, the figures and the hazard-ratio effect priors
    ``show NAME|FILE``       a table per transition: sources, a0/w, prior hazard, 1-year incidence
                             and ESS, then every figure used with its citation, quote and address;
                             ``--outcomes`` adds the prior-data conflict check
    ``plot NAME|FILE``       prior densities and prior-predictive incidence curves (PNG 200 dpi +
                             SVG) in ``--out`` (default figures/priors/NAME), tables in
                             ``--results`` (default results/priors/NAME)

Exit status 0 on success, 2 with a one-line message naming file and key for a bad prior file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":  # Ctrl-C during the imports below: exit quietly
    from models.cli import interrupt_quietly

    interrupt_quietly()

import numpy as np
import pandas as pd

from models.cli import (
    ArgumentParser,
    command_line,
    finish,
    int_at_least,
    nonneg_int,
    parse_float_list,
    run_guarded,
)
from models.constants import DEFAULT_CUTS, DEFAULT_SEED, FIGURES_DIR, RECONSTRUCTED_DIR, RESULTS_DIR
from models.intervals import DEFAULT_RELAPSE_DEATH_CUTS, TRANSITIONS, interval_labels, validate_cuts
from models.prior_conflict import conflict_table_draws
from models.prior_library import (
    CommensuratePrior,
    landmark_summary,
    load_prior_set,
    mixture_quantile,
    read_sets,
)
from models.prior_sources import SETS_TOML, SOURCES_TOML, load_sources, log_hr_normal
from models.prior_weight_tables import ess_summary, ess_table, weight_sentence
from models.priors import GammaMixture, prior_landmarks
from models.priors import sample_prior_hazards as sample_hazards

#: Upper bound of --draws: a million prior draws of every hazard take a few hundred MB
MAX_PRIOR_DRAWS = 1_000_000

pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 30)
pd.set_option("display.max_colwidth", 80)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="priors.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="named sets, figures and effect priors")
    ls.add_argument(
        "--sources", type=Path, default=SOURCES_TOML, help="figures TOML (default data/priors/sources.toml)"
    )
    for name in ("show", "plot"):
        s = sub.add_parser(name, help=f"{name} a prior set")
        s.add_argument("prior", help="a set name of data/priors/sets.toml, or a prior-set TOML file")
        s.add_argument(
            "--sources", type=Path, default=SOURCES_TOML, help="figures TOML (default data/priors/sources.toml)"
        )
        s.add_argument("--cuts", default=",".join(f"{c:g}" for c in DEFAULT_CUTS), help="cut points (days)")
        s.add_argument(
            "--relapse-death-cuts",
            default=",".join(f"{c:g}" for c in DEFAULT_RELAPSE_DEATH_CUTS),
            help="cut points (days since relapse) for death after relapse",
        )
        s.add_argument("--seed", type=nonneg_int, default=DEFAULT_SEED, help="seed of MAP fits and prior draws")
        s.add_argument(
            "--draws",
            type=int_at_least(100, MAX_PRIOR_DRAWS),
            default=20_000,
            help=f"prior draws for landmark summaries (100 to {MAX_PRIOR_DRAWS:,})",
        )
        if name == "show":
            s.add_argument(
                "--outcomes",
                type=Path,
                default=RECONSTRUCTED_DIR if RECONSTRUCTED_DIR.is_dir() else None,
                help="an outcome CSV or a folder of draw_*.csv for the conflict check (default: the reconstructed "
                "draws when present; 'none' to skip)",
            )
        else:
            s.add_argument("--out", type=Path, default=None, help="figure folder (default figures/priors/NAME)")
            s.add_argument("--results", type=Path, default=None, help="table folder (default results/priors/NAME)")
    return p


def _cuts(args) -> tuple[np.ndarray, np.ndarray]:
    c = validate_cuts(parse_float_list(args.cuts, option="--cuts"), option="--cuts")
    r = validate_cuts(
        parse_float_list(args.relapse_death_cuts, option="--relapse-death-cuts"), option="--relapse-death-cuts"
    )
    return c, r


def _fmt(v: float) -> str:
    """Four significant digits, without scientific notation for exposures in days."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _median_per_year(p: object) -> float:
    if isinstance(p, GammaMixture):
        return mixture_quantile(p, 0.5) * 365.0
    return float("nan")


def list_text(sources_path: Path = SOURCES_TOML) -> str:
    """The named sets, figures and hazard-ratio effect priors, as text."""
    src = load_sources(sources_path)
    sets = read_sets(SETS_TOML, src)
    lines = ["Named prior sets (data/priors/sets.toml):"]
    lines += [f"  {name:26s} {s.description}" for name, s in sets.items()]
    rows = [
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
    lines += ["", "Figures (data/priors/sources.toml):", pd.DataFrame(rows).to_string(index=False)]
    lines += ["", "Effect priors from hazard ratios (log HR ~ Normal(mean, sd), sd = (log U - log L) / (2 x 1.96)):"]
    for f in src.figures.values():
        if f.endpoint.startswith("hr_") and f.ci is not None:
            m, s = log_hr_normal(f.estimate, *f.ci)
            lines.append(
                f"  {f.key:24s} HR {f.estimate:g} ({f.ci[0]:g}-{f.ci[1]:g}): log HR ~ N({m:.3f}, {s:.3f}^2)"
                f"  [{src.studies[f.study].citation}]"
            )
    return "\n".join(lines)


def transition_one_year(prior, cuts, rd_cuts, *, n: int, seed: int) -> dict[str, tuple[str, np.ndarray]]:
    """Prior draws of each transition's 1-year reading: relapse and NRM cumulative incidence (competing
    risks, from transplant), GvHD incidence without competing events, mortality within a year of relapse."""
    from models.derived import cumulative_hazard

    lm = prior_landmarks(prior, cuts, rd_cuts, n=n, seed=seed)
    nint = {k: len(cuts) for k in TRANSITIONS} | {"death_after_relapse": len(rd_cuts)}
    hz = sample_hazards(prior, nint, n, np.random.default_rng(seed))
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


def show_text(prior, cuts, rd_cuts, *, draws: int, seed: int, td=None, sources=None) -> str:
    """The audit table of one prior set, as text."""
    src = sources or load_sources()
    ess = ess_table(prior, cuts, rd_cuts, td or ())
    tot = ess_summary(ess).set_index("transition")
    lm = landmark_summary(prior, cuts, rd_cuts, n=draws, seed=seed).set_index("quantity")
    prov = getattr(prior, "provenance", {})
    one_year = transition_one_year(prior, cuts, rd_cuts, n=draws, seed=seed)
    out = [
        f"Prior set '{prior.name}': {prior.description}",
        "",
        "Per interval: pseudo-events and exposure implied by the sources (after a0; summed over sources for "
        "MAP), the source hazard d/E, the prior median and mean hazard (events per patient-year); the ESS of the "
        "whole prior (ELIR where defined, else moment matching), of its informative component and that component's "
        "prior weight; with outcome tables, its posterior weight and the prior's pull given these data "
        "(posterior-weighted ESS over the weak baseline; medians over tables). Patients = ESS exposure / at-risk "
        "days of one source patient.",
        "",
    ]
    for k in TRANSITIONS:
        c = rd_cuts if k == "death_after_relapse" else cuts
        pv = prov.get(k)
        spec = prior.per_interval(k, len(c))
        out.append(
            f"== {k} ==  method: {pv.method if pv else '?'}"
            + (f"; robust weight w = {pv.w:g}" if pv and pv.w is not None else "")
            + (f"; a0 = {', '.join(f'{a:g}' for a in pv.a0)}" if pv and pv.method == "power" else "")
        )
        if pv and pv.sources:
            out.append(f"   sources: {'; '.join(pv.sources)}")
            out.append(f"   figures: {', '.join(pv.figures)}")
        if pv and pv.note:
            out.append(f"   note: {pv.note}")
        if isinstance(spec, CommensuratePrior):
            out.append(
                f"   commensurate prior: historical events {np.round(spec.hist_events, 2).tolist()}, exposure "
                f"{np.round(spec.hist_exposure, 0).tolist()} days, sd ~ HalfNormal({spec.scale:g}) "
                "(exact by quadrature, or NUTS)"
            )
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
        cols = ["interval"] + [x for x in ("pseudo_events", "pseudo_exposure_days", "source_rate_per_year") if x in e]
        cols += [
            "median_per_year",
            "prior_mean_per_year",
            "ess_events",
            "ess_patients",
            "ess_method",
            "informative_ess_events",
            "informative_ess_patients",
            "prior_weight",
        ] + [
            x
            for x in (
                "posterior_weight",
                "pull_events",
                "pull_patients",
                "map_ks",
                "map_max_q_err",
                "map_grid_edge_mass",
            )
            if x in e
        ]
        out.append(e[cols].to_string(index=False, na_rep="-", float_format=_fmt))
        t = tot.loc[k]
        if "pull_events" in t:
            out.append("   " + weight_sentence(t.rename(None).to_dict() | {"transition": k}))
        else:
            method = "ELIR" if t.ess_method == "elir" else "moment matching, ELIR undefined"
            out.append(
                f"   first-year weight: informative component {t.informative_ess_events:.2f} events, "
                f"{t.informative_ess_patients:.1f} patients with prior weight {t.prior_weight:.2f}; whole prior "
                f"{t.ess_events:.2f} events, {t.ess_patients:.1f} patients ({method}); its pull on a posterior "
                "depends on the data (--outcomes)"
            )
        lab, v = one_year[k]
        lo, med, hi = np.quantile(v, [0.025, 0.5, 0.975])
        out.append(f"   prior 1-year {lab}: median {med:.1%} (95% interval {lo:.1%} to {hi:.1%})")
        out.append("")
    out.append(
        f"Prior-implied 1-year outcomes (median and 95% interval, {draws} prior draws; incidences from transplant):"
    )
    for q in ("relapse_cif", "nrm_cif", "efs", "os", "grfs"):
        r = lm.loc[q]
        out.append(f"   {q:12s} {r['median']:.1%}  ({r['lower']:.1%} to {r['upper']:.1%})")
    if td is not None:
        out += [
            "",
            f"Prior-data conflict over {len(td)} outcome table(s) (Box's prior-predictive p = min(1, 2 min(P(<=obs), "
            "P(>=obs))) of each transition's events in its exposure; medians over tables; flagged below 0.05):",
            conflict_table_draws(prior, td).to_string(index=False, float_format=_fmt),
        ]
    used = sorted({f for pv in prov.values() for f in pv.figures})
    if used:
        out += ["", "Figures used (audit back to ../shared/literature/sources.md):"]
        for key in used:
            f = src.figures[key]
            st = src.studies[f.study]
            lm_txt = "" if f.landmark_months is None else f" at {f.landmark_months:g} months"
            out.append(
                f" - {key}: {f.endpoint_reported or f.endpoint}{lm_txt} = {f.estimate:g}"
                f" (n = {f.n}{'' if f.ci is None else f', CI {f.ci[0]:g}-{f.ci[1]:g}'}); "
                f"verified = {str(f.verified).lower()}"
            )
            out.append(f"     {st.citation}" + (f"; doi:{st.doi}" if st.doi else ""))
            out.append(f'     quote: "{f.quote}"')
            out.append(f"     read at: {f.url}")
            if f.note:
                out.append(f"     note: {f.note}")
    out += ["", f"Citation: {prior.citation}"]
    return "\n".join(out)


# ----------------------------------------------------------------------------- figures


_TITLES = {
    "relapse": "relapse",
    "nrm": "non-relapse mortality",
    "gvhd": "GRFS-qualifying GvHD",
    "death_after_relapse": "death after relapse",
}


def plot_densities(prior, cuts, rd_cuts, *, seed: int, axes=None):
    """Prior density of each interval hazard (events per patient-year, log axis), one panel per transition."""
    import matplotlib.pyplot as plt
    from scipy.stats import gaussian_kde

    if axes is None:
        _, axes = plt.subplots(1, 4, figsize=(12, 3.2), constrained_layout=True)
    nint = {k: len(cuts) for k in TRANSITIONS} | {"death_after_relapse": len(rd_cuts)}
    hz = sample_hazards(prior, nint, 8000, np.random.default_rng(seed))
    grid = np.linspace(-3, 1.5, 400)
    for ax, k in zip(axes, TRANSITIONS, strict=True):
        c = rd_cuts if k == "death_after_relapse" else cuts
        colors = plt.cm.viridis(np.linspace(0, 0.85, len(c)))
        for j, lab in enumerate(interval_labels(c)):
            x = np.log10(hz[k][:, j] * 365.0)
            x = x[np.isfinite(x)]
            ax.plot(10**grid, gaussian_kde(x)(grid), color=colors[j], lw=1.4, label=f"day {lab}")
        ax.set_xscale("log")
        ax.set_title(_TITLES[k], fontsize=10)
        ax.set_xlabel("hazard (events per patient-year)")
        ax.set_xlim(10 ** grid[0], 10 ** grid[-1])
        ax.set_ylim(0, ax.get_ylim()[1] * 1.8)  # headroom for the legend
        ax.legend(
            loc="upper left",
            fontsize=7,
            frameon=False,
            title="since relapse" if k == "death_after_relapse" else "from transplant",
            title_fontsize=7,
        )
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("density of log10 hazard")
    return axes


def plot_incidence(prior, cuts, rd_cuts, *, seed: int, horizon: int = 730, axes=None):
    """Prior-predictive relapse and NRM cumulative incidence (median, 50% and 95% bands) to ``horizon`` days."""
    import matplotlib.pyplot as plt

    from models.derived import curves

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(8, 3.2), constrained_layout=True, sharey=True)
    nint = {k: len(cuts) for k in TRANSITIONS} | {"death_after_relapse": len(rd_cuts)}
    hz = sample_hazards(prior, nint, 10_000, np.random.default_rng(seed))
    cv = curves(hz, cuts, rd_cuts, horizon)
    for ax, q, title in zip(axes, ("relapse_cif", "nrm_cif"), ("relapse", "non-relapse mortality"), strict=True):
        y = cv.get(q)
        lo95, lo50, med, hi50, hi95 = np.quantile(y, [0.025, 0.25, 0.5, 0.75, 0.975], axis=0)
        ax.fill_between(cv.days, lo95, hi95, color="tab:blue", alpha=0.15, lw=0, label="95% prior interval")
        ax.fill_between(cv.days, lo50, hi50, color="tab:blue", alpha=0.3, lw=0, label="50% prior interval")
        ax.plot(cv.days, med, color="tab:blue", lw=1.6, label="prior median")
        ax.axvline(365, color="0.5", lw=0.8, ls=":", label="1 year")
        ax.set_title(f"cumulative incidence of {title}", fontsize=10)
        ax.set_xlabel("days from transplant")
        ax.set_xlim(0, horizon)
        ax.set_ylim(0, 1)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("probability")
    axes[0].legend(fontsize=7, frameon=False, loc="upper left")
    return axes


def write_plots(prior, cuts, rd_cuts, fig_dir: Path, res_dir: Path, *, seed: int, draws: int, argv) -> list[Path]:
    """Write figures and tables; each folder is replaced atomically only once complete."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from models.io import atomic_write_json, manifest, staged_directory
    from models.plotting import save_figure

    written = []
    with staged_directory(fig_dir) as stage:
        for stem, fn, size in (
            ("prior_densities", plot_densities, (12, 3.3)),
            ("prior_predictive_incidence", plot_incidence, (8, 3.3)),
        ):
            n = 4 if fn is plot_densities else 2
            fig, axes = plt.subplots(1, n, figsize=size, constrained_layout=True, sharey=fn is plot_incidence)
            fn(prior, cuts, rd_cuts, seed=seed, axes=axes)
            fig.suptitle(f"prior set '{prior.name}'", fontsize=11)
            for ext in ("png", "svg"):
                save_figure(fig, stage / f"{stem}.{ext}", dpi=200)
                written.append(fig_dir / f"{stem}.{ext}")
            plt.close(fig)
    with staged_directory(res_dir) as stage:
        ess_table(prior, cuts, rd_cuts).to_csv(stage / "ess.csv", index=False)
        landmark_summary(prior, cuts, rd_cuts, n=draws, seed=seed).to_csv(stage / "landmarks_1y.csv", index=False)
        atomic_write_json(stage / "prior.json", prior.params())
        outs = ["ess.csv", "landmarks_1y.csv", "prior.json"]
        atomic_write_json(
            stage / "manifest.json",
            manifest(
                command=command_line(argv, "scripts/priors.py"),
                seed=seed,
                inputs=[p for p in (Path("data/priors/sources.toml"), Path("data/priors/sets.toml")) if p.exists()],
                outputs=outs + [str(p) for p in written],
            ),
        )
        written += [res_dir / o for o in [*outs, "manifest.json"]]
    return written


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if args.command == "list":
            print(list_text(args.sources))
            return 0
        cuts, rd = _cuts(args)
        sources = load_sources(args.sources)
        prior = load_prior_set(args.prior, cuts, rd, seed=args.seed, sources=sources)
        if args.command == "show":
            td = None
            if args.outcomes is not None and str(args.outcomes) != "none":
                from models.data import load_outcome_draws
                from models.intervals import transition_data

                td = [transition_data(t, cuts, rd) for t in load_outcome_draws(args.outcomes)]
            print(show_text(prior, cuts, rd, draws=args.draws, seed=args.seed, td=td, sources=sources))
            return 0
        name = Path(args.prior).stem if Path(args.prior).suffix == ".toml" else args.prior
        from models.io import check_output_folder

        fig_dir = check_output_folder(args.out or FIGURES_DIR / "priors" / name, "--out")
        res_dir = check_output_folder(args.results or RESULTS_DIR / "priors" / name, "--results")
        for p in write_plots(prior, cuts, rd, fig_dir, res_dir, seed=args.seed, draws=args.draws, argv=argv):
            print(p)
        return 0

    try:
        return run_guarded("priors.py", body)
    except BrokenPipeError:  # output piped into `head`: not an error
        sys.stdout = open(os.devnull, "w")  # silence the flush at exit
        return 0


if __name__ == "__main__":
    raise SystemExit(finish(main()))
