"""Outputs of the prior-set workflows: the listing and audit texts, the figures and the output folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.intervals import TRANSITIONS, interval_labels

if TYPE_CHECKING:
    from models.workflows.priors import PriorAudit, PriorCatalog, PriorPlots

#: How wide printed tables may be (pandas display options while a text is rendered)
_DISPLAY = ("display.width", 200, "display.max_columns", 30, "display.max_colwidth", 80)

_TITLES = {
    "relapse": "relapse",
    "nrm": "non-relapse mortality",
    "gvhd": "GRFS-qualifying GvHD",
    "death_after_relapse": "death after relapse",
}


def _fmt(v: float) -> str:
    """Four significant digits, without scientific notation for exposures in days."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def catalog_text(catalog: PriorCatalog) -> str:
    """The named sets, figures and hazard-ratio effect priors, as ``priors.py list`` prints them."""
    t = catalog.tables
    lines = ["Named prior sets (data/priors/sets.toml):"]
    lines += [f"  {name:26s} {desc}" for name, desc in zip(t["sets"]["name"], t["sets"]["description"], strict=True)]
    with pd.option_context(*_DISPLAY):
        lines += ["", "Figures (data/priors/sources.toml):", t["figures"].to_string(index=False)]
    lines += ["", "Effect priors from hazard ratios (log HR ~ Normal(mean, sd), sd = (log U - log L) / (2 x 1.96)):"]
    for r in t["effect_priors"].itertuples(index=False):
        lines.append(
            f"  {r.figure:24s} HR {r.hr:g} ({r.lower:g}-{r.upper:g}): log HR ~ N({r.log_hr_mean:.3f}, "
            f"{r.log_hr_sd:.3f}^2)  [{r.citation}]"
        )
    return "\n".join(lines)


_INTRO = (
    "Per interval: pseudo-events and exposure implied by the sources (after a0; summed over sources for "
    "MAP), the source hazard d/E, the prior median and mean hazard (events per patient-year); the ESS of the "
    "whole prior (ELIR where defined, else moment matching), of its informative component and that component's "
    "prior weight; with outcome tables, its posterior weight and the prior's pull given these data "
    "(posterior-weighted ESS over the weak baseline; medians over tables). Patients = ESS exposure / at-risk "
    "days of one source patient."
)


def _transition_lines(audit: PriorAudit, k: str) -> list[str]:
    """One transition's block: method and sources, its interval table, first-year weight, 1-year reading."""
    from models.prior_library import CommensuratePrior
    from models.prior_weight_tables import weight_sentence

    pv = getattr(audit.prior, "provenance", {}).get(k)
    spec = audit.specs[k]
    out = [
        f"== {k} ==  method: {pv.method if pv else '?'}"
        + (f"; robust weight w = {pv.w:g}" if pv and pv.w is not None else "")
        + (f"; a0 = {', '.join(f'{a:g}' for a in pv.a0)}" if pv and pv.method == "power" else "")
    ]
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
    out.append(audit.tables[f"intervals_{k}"].to_string(index=False, na_rep="-", float_format=_fmt))
    t = audit.tables["ess_summary"].set_index("transition").loc[k]
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
    r = audit.tables["one_year"].set_index("transition").loc[k]
    out.append(
        f"   prior 1-year {r['reading']}: median {r['median']:.1%} (95% interval {r['lower']:.1%} to {r['upper']:.1%})"
    )
    return out


def _figure_lines(audit: PriorAudit) -> list[str]:
    """Every figure used, with its citation, quote and address (audit back to the literature notes)."""
    src = audit.sources
    used = list(audit.tables["figures_used"]["figure"])
    if not used:
        return []
    out = ["", "Figures used (audit back to ../shared/literature/sources.md):"]
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
    return out


def audit_text(audit: PriorAudit) -> str:
    """The audit of one prior set, as ``priors.py show`` prints it."""
    prior = audit.prior
    out = [f"Prior set '{prior.name}': {prior.description}", "", _INTRO, ""]
    with pd.option_context(*_DISPLAY):
        for k in TRANSITIONS:
            out += [*_transition_lines(audit, k), ""]
        out.append(
            f"Prior-implied 1-year outcomes (median and 95% interval, {audit.settings.draws} prior draws; "
            "incidences from transplant):"
        )
        lm = audit.tables["landmarks_1y"].set_index("quantity")
        for q in ("relapse_cif", "nrm_cif", "efs", "os", "grfs"):
            r = lm.loc[q]
            out.append(f"   {q:12s} {r['median']:.1%}  ({r['lower']:.1%} to {r['upper']:.1%})")
        if "prior_data_conflict" in audit.tables:
            out += [
                "",
                f"Prior-data conflict over {audit.n_tables} outcome table(s) (Box's prior-predictive p = min(1, 2 "
                "min(P(<=obs), P(>=obs))) of each transition's events in its exposure; medians over tables; flagged "
                "below 0.05):",
                audit.tables["prior_data_conflict"].to_string(index=False, float_format=_fmt),
            ]
    out += _figure_lines(audit)
    out += ["", f"Citation: {prior.citation}"]
    return "\n".join(out)


# ----------------------------------------------------------------------------- figures


def _n_intervals(cuts: np.ndarray, rd_cuts: np.ndarray) -> dict[str, int]:
    return {k: len(cuts) for k in TRANSITIONS} | {"death_after_relapse": len(rd_cuts)}


def plot_densities(prior: Any, cuts: np.ndarray, rd_cuts: np.ndarray, *, seed: int, axes: Any = None) -> Any:
    """Prior density of each interval hazard (events per patient-year, log axis), one panel per transition.

    A kernel density of :math:`\\log_{10}` of 8,000 prior draws per interval; returns the four Axes.
    """
    import matplotlib.pyplot as plt
    from scipy.stats import gaussian_kde

    from models.priors import sample_prior_hazards

    if axes is None:
        _, axes = plt.subplots(1, 4, figsize=(12, 3.2), constrained_layout=True)
    hz = sample_prior_hazards(prior, _n_intervals(cuts, rd_cuts), 8000, np.random.default_rng(seed))
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


def plot_incidence(
    prior: Any, cuts: np.ndarray, rd_cuts: np.ndarray, *, seed: int, horizon: int = 730, axes: Any = None
) -> Any:
    """Prior-predictive relapse and NRM cumulative incidence (median, 50% and 95% bands) to ``horizon`` days.

    From 10,000 prior draws of every hazard (competing risks, from transplant); returns the two Axes.
    """
    import matplotlib.pyplot as plt

    from models.derived import curves
    from models.priors import sample_prior_hazards

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(8, 3.2), constrained_layout=True, sharey=True)
    hz = sample_prior_hazards(prior, _n_intervals(cuts, rd_cuts), 10_000, np.random.default_rng(seed))
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


#: The figures of a prior set: file stem, drawing function, panels, size (inches)
_FIGURES: tuple[tuple[str, Callable[..., Any], int, tuple[float, float]], ...] = (
    ("prior_densities", plot_densities, 4, (12, 3.3)),
    ("prior_predictive_incidence", plot_incidence, 2, (8, 3.3)),
)


def _figure(stem: str, prior: Any, cuts: np.ndarray, rd_cuts: np.ndarray, *, seed: int) -> Any:
    import matplotlib.pyplot as plt

    _, fn, n, size = next(f for f in _FIGURES if f[0] == stem)
    fig, axes = plt.subplots(1, n, figsize=size, constrained_layout=True, sharey=fn is plot_incidence)
    fn(prior, cuts, rd_cuts, seed=seed, axes=axes)
    fig.suptitle(f"prior set '{prior.name}'", fontsize=11)
    return fig


def prior_figures(prior: Any, cuts: np.ndarray, rd_cuts: np.ndarray, *, seed: int) -> dict[str, Any]:
    """Prior densities and prior-predictive incidence, titled with the set's name, by file stem."""
    return {stem: _figure(stem, prior, cuts, rd_cuts, seed=seed) for stem, *_ in _FIGURES}


def write_plots(result: PriorPlots, fig_dir: Path, res_dir: Path, *, command: str = "") -> list[Path]:
    """Figures into ``fig_dir``, then tables and ``manifest.json`` into ``res_dir``, each folder all or nothing."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from models.io import atomic_write_json, input_key, manifest, staged_directory
    from models.plotting import save_figure
    from models.workflows.priors import prior_inputs

    s = result.settings
    written = []
    with staged_directory(fig_dir) as stage:
        for stem, *_ in _FIGURES:  # one figure open at a time
            fig = _figure(stem, result.prior, result.cuts, result.relapse_death_cuts, seed=s.seed)
            for ext in ("png", "svg"):
                save_figure(fig, stage / f"{stem}.{ext}", dpi=200)
                written.append(fig_dir / f"{stem}.{ext}")
            plt.close(fig)
    with staged_directory(res_dir) as stage:
        for name, table in result.tables.items():
            table.to_csv(stage / name, index=False)
        atomic_write_json(stage / "prior.json", result.params)
        outs = [*result.tables, "prior.json"]
        atomic_write_json(
            stage / "manifest.json",
            manifest(
                command=command or f"models.workflows.priors.plot_prior({s!r})",
                seed=s.seed,
                inputs=prior_inputs(),
                outputs=outs + [input_key(p) for p in written],
            ),
        )
        written += [res_dir / o for o in [*outs, "manifest.json"]]
    return written
