"""Outputs of a fit: the figures, the text summary and the all-or-nothing output folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.workflows.fit import FitResult


def _legend(fig: Any, ax: Any) -> None:
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


def fit_figures(result: FitResult) -> dict[str, Any]:
    """Incidence (relapse, NRM), survival (EFS, OS) and the prior/posterior of 1-year relapse.

    Posterior median and 95% band against Aalen–Johansen / Kaplan–Meier steps of every table, the
    number at risk (range over tables), the days where the curve is mostly the prior shaded (before
    the median entry; where fewer than 5 remain at risk), the cut points dotted, and — only when
    the outcome tables are the study pack's own — the pack's published whole-cohort EFS and OS
    estimates with their CIs. Titles name the study (from the pack) and the prior.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from models.endpoints import derive
    from models.nonparametric import aalen_johansen, km_curve
    from models.plotting import add_at_risk, plot_posterior_curve, plot_prior_posterior, sparse_from
    from models.priors import prior_landmarks

    model, curve_df = result.model, result.tables["curves.csv"]
    study = result.study
    pub = study.published() if result.own_data else None
    data_name = study.label if result.own_data else Path(str(result.settings.data)).name
    title = f"{data_name} — prior: {result.settings.prior}"
    ft = model.from_transplant
    xmax = float(curve_df["day"].max())
    ticks = [t for t in (0, 180, 365, 545, 730) if t <= xmax]
    entry_note = "at risk from transplant" if ft else "at risk from start of maintenance"
    rel = [derive(t, "relapse", from_transplant=ft) for t in model.tables]
    figs: dict[str, Any] = {}
    first_entry = min(float(t["entry_day"].min()) for t in model.tables)

    def shade(ax: Any, letter: str, entry: list[Any], exit_: list[Any]) -> None:
        """Panel letter; the days where the curve is mostly the prior (before the median entry under
        delayed entry, and where fewer than 5 patients remain at risk); the cut points, where the
        piecewise-constant hazards change and the curve may bend."""
        ax.text(-0.1, 1.03, letter, transform=ax.transAxes, fontsize=11, fontweight="bold", va="bottom")
        if not ft and result.landmark > 0:
            ax.axvspan(
                0,
                result.landmark,
                color="0.88",
                zorder=0,
                lw=0,
                label=f"Days 0–{result.landmark}: before the median entry (first entry day {first_entry:g}); "
                "few patients at risk, so the curve here is mostly the prior",
            )
        tail = sparse_from(entry, exit_, start=max(result.landmark if not ft else 0, 1), end=xmax)
        if tail is not None and tail < xmax:
            ax.axvspan(
                tail,
                xmax,
                facecolor="none",
                edgecolor="0.8",
                hatch="//",
                zorder=0,
                lw=0,
                label=f"From day {tail:g}: fewer than 5 at risk (median over tables), so mostly the prior",
            )
        for i, cut in enumerate(c for c in model.cuts[1:] if c < xmax):
            ax.axvline(
                cut,
                color="0.55",
                ls=":",
                lw=0.8,
                zorder=1,
                label=None if i else "Cut points: the hazard is constant between them, so the curve may bend there",
            )

    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.0), layout="constrained")
    for ax, q, cause, letter in ((axes[0], "relapse_cif", 1, "A"), (axes[1], "nrm_cif", 2, "B")):
        shade(ax, letter, [r["entry"].to_numpy() for r in rel], [r["duration"].to_numpy() for r in rel])
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
        add_at_risk(ax, [r["entry"].to_numpy() for r in rel], [r["duration"].to_numpy() for r in rel], ticks)
    _legend(fig, axes[0])
    fig.suptitle(title, fontsize=10)
    figs["incidence_relapse_nrm"] = fig

    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.0), layout="constrained")
    for ax, q, letter in ((axes[0], "efs", "A"), (axes[1], "os", "B")):
        ends = [derive(t, q, from_transplant=ft) for t in model.tables]
        shade(ax, letter, [e["entry"].to_numpy() for e in ends], [e["duration"].to_numpy() for e in ends])
        steps = [km_curve(e["duration"], e["event"], e["entry"]) for e in ends]
        published = [] if pub is None else _published_points(pub, q)
        plot_posterior_curve(
            curve_df,
            q,
            steps=steps,
            published=published,
            ylim=(0, 1.02),
            ax=ax,
            legend=False,
            step_label=f"Kaplan–Meier, {len(steps)} table(s), {entry_note}",
            published_label="Published estimate (95% CI; at risk from transplant)",
        )
        ax.set_xticks(ticks)
        add_at_risk(ax, [e["entry"].to_numpy() for e in ends], [e["duration"].to_numpy() for e in ends], ticks)
    _legend(fig, axes[0])
    fig.suptitle(title, fontsize=10)
    figs["survival_efs_os"] = fig

    pri = prior_landmarks(
        result.prior,
        model.cuts,
        model.relapse_death_cuts,
        day=365,
        n=10_000,
        seed=result.settings.seed,
        quantities=("relapse_cif",),
    )
    fig, ax = plt.subplots(figsize=(5.2, 3.8), layout="constrained")
    plot_prior_posterior(
        pri["relapse_cif"],
        result.curves.relapse_cif[:, 365],
        benchmarks=result.benchmarks,
        ax=ax,
        xlabel="1-year cumulative incidence of relapse (from transplant)",
    )
    figs["prior_posterior_relapse_1y"] = fig
    if result.comparative is not None:
        from models.comparative.plots import comparative_figures

        figs.update(comparative_figures(result.comparative, title))
    return figs


def _published_points(pub: Any, endpoint: str) -> list[tuple[float, float, float, float]]:
    """The pack's whole-cohort Kaplan–Meier estimates of ``endpoint`` with a CI: (day, value, lower, upper)."""
    return [
        (float(f.landmark_days), f.value / 100, f.ci[0] / 100, f.ci[1] / 100)
        for f in pub.select(statistic="km_survival", endpoint=endpoint, population="cohort")
        if f.ci is not None and f.landmark_days is not None
    ]


def _prior_lines(ess: Any, conflict: Any, agreement: Any) -> list[str]:
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


def _entry_words(result: FitResult) -> str:
    """How patients enter the risk set, in the study's words (its pack's entry definition)."""
    if result.model.from_transplant:
        return "at risk from transplant"
    if all(float(t["entry_day"].max()) == 0.0 for t in result.model.tables):
        return "everyone at risk from day 0"
    return f"delayed entry at {result.study.info.entry}" if result.own_data else "delayed entry at each entry_day"


def text_report(result: FitResult) -> str:
    """Verdict, prior weight and agreement, 1-year values on both scales, claims, reconstruction share."""
    model, t = result.model, result.tables
    diag, summary, claims = t["diagnostics.csv"], t["summary.csv"], t["claims.csv"]
    rv = t["reconstruction_variance.csv"]
    engine = result.settings.engine
    n_div = int(diag.groupby("table")["divergences"].first().sum())
    who = result.study.label if result.own_data else f"{Path(str(result.settings.data)).name} (own data)"
    lines = [
        f"{who} — PWE illness–death fit: {len(model.tables)} table(s) of {len(model.tables[0])} patients; "
        f"engine {engine} ({result.sampler or 'closed form'}); prior '{model.priors.name}'; "
        f"{_entry_words(result)}",
        f"convergence: {'ok' if diag['ok'].all() else 'FAILED'} (max R-hat {diag['r_hat'].max():.3f}, "
        f"min bulk ESS {diag['ess_bulk'].min():.0f}, divergences {n_div})",
        *_prior_lines(t["prior_ess.csv"], t["prior_conflict.csv"], t["prior_agreement.csv"]),
    ]
    scales = (("from_transplant", "from transplant"), ("conditional", f"alive in remission at day {result.landmark}"))
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
    if result.comparative is not None:
        from models.comparative.tables import text_lines

        lines += text_lines(result.comparative)
    lines.append(f"elapsed {result.seconds:.1f} s")
    return "\n".join(lines)


def write_fit(result: FitResult, folder: Path, *, figures: bool = True, command: str = "") -> list[Path]:
    """Tables, ``posterior.nc``, figures (PNG and SVG under ``figures/``) and ``manifest.json``.

    The folder is assembled aside and replaces ``folder`` only when complete; ``command`` is
    recorded in the manifest (the command line, or the call that produced the result).
    """
    import matplotlib.pyplot as plt

    from models.io import atomic_write_csv, atomic_write_json, manifest, staged_directory
    from models.plotting import save_figure
    from models.posterior_io import save_posterior
    from models.workflows.fit import TABLES

    s, model = result.settings, result.model
    with staged_directory(folder) as stage:
        extra = [n for n in result.tables if n not in TABLES]  # the comparison's tables, when asked for
        written = [
            atomic_write_csv(stage / name, result.tables[name], float_format="%.6g") for name in [*TABLES, *extra]
        ]
        written.append(save_posterior(result.idata, stage / "posterior.nc"))
        if figures:
            for name, fig in result.figures().items():
                for ext in ("png", "svg"):
                    path = stage / "figures" / f"{name}.{ext}"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    save_figure(fig, path, dpi=200, bbox_inches="tight")
                    written.append(path)
                plt.close(fig)
        rel = sorted(str(p.relative_to(stage)) for p in written)
        doc = manifest(
            command=command or f"models.workflows.fit_study({s!r})",
            seed=s.seed,
            inputs=result.inputs,
            outputs=[*rel, "manifest.json"],
            extra={
                "study": result.study.id,
                "data_is_study_outcomes": bool(result.own_data),
                "engine": s.engine,
                "sampler": result.sampler or "closed-form",
                "prior_set": result.prior.name,
                "cuts": [float(c) for c in model.cuts],
                "relapse_death_cuts": [float(c) for c in model.relapse_death_cuts],
                "from_transplant": model.from_transplant,
                "landmark_day": int(result.landmark),
                "data_sha256": model.data_hashes,
                "convergence_ok": result.ok,
                **({"controls": result.comparative.manifest()} if result.comparative is not None else {}),
            },
        )
        atomic_write_json(stage / "manifest.json", doc)
    return [folder / r for r in rel] + [folder / "manifest.json"]
