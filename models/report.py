"""The reviewer's report: gather a run's outputs and assemble one self-contained HTML document.

:func:`collect` reads what the pipeline steps of one study pack wrote (:mod:`models.pipeline`),
:func:`build` turns it into sections (:mod:`models.report_sections`) in the order a clinical reader
reads them: a one-page summary right after the title (before the contents, so a printed copy opens
on it), then results, then methods, then the audit material in appendices, ending with the checklist
of the Bayesian Analysis Reporting Guidelines (BARG; Kruschke 2021) that says where each item is
answered. Every number and every sentence with a number comes from the run's tables; names from the
output files reach the page as plain labels (:mod:`models.labels`); the study's title, citation and
files come from its pack (:class:`models.study.StudyPack`).

References
----------
Kruschke JK. Bayesian Analysis Reporting Guidelines. Nat Hum Behav 2021;5:1282-1291.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from models.constants import DATA_DIR, REPO_ROOT
from models.errors import ConfigError, DataError
from models.io import read_toml
from models.labels import Labels, claim_entries
from models.pipeline import StepRun, pack_outcomes, read_manifest
from models.study import DEFAULT_STUDY_DIR, StudyPack, default_study

BARG_TOML = DATA_DIR / "report" / "barg.toml"


@dataclass(frozen=True)
class BargItem:
    """One BARG item (paraphrased; see ``data/report/barg.toml``)."""

    id: str
    step: str
    title: str
    asks: str


def load_barg(path: str | Path = BARG_TOML) -> list[BargItem]:
    """The BARG checklist items, validated (one-line :class:`ConfigError` on a bad file)."""
    path = Path(path)
    doc = read_toml(path, ConfigError, "BARG checklist TOML file")
    items = doc.get("item")
    if not isinstance(items, list) or not items:
        raise ConfigError(path, field="item", found=type(items).__name__, expected="an array of [[item]] tables")
    out, seen = [], set()
    for i, it in enumerate(items):
        for key in ("id", "step", "title", "asks"):
            if not isinstance(it.get(key), str) or not it[key].strip():
                raise ConfigError(
                    path, where=f"item {i + 1}", field=key, found=it.get(key), expected="a non-empty string"
                )
        if it["id"] in seen:
            raise ConfigError(path, where=f"item {i + 1}", field="id", found=it["id"], expected="a unique id")
        seen.add(it["id"])
        out.append(BargItem(it["id"], it["step"], it["title"], it["asks"]))
    return out


def _csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(path, found="no such file", expected="an output of the pipeline step that writes it")
    return pd.read_csv(path)


def _json(path: Path) -> dict[str, Any]:
    doc = read_manifest(path)
    if doc is None:
        raise DataError(path, found="missing or unreadable JSON", expected="an output of the pipeline")
    return doc


def git_revision() -> str | None:
    """The repository's commit (with ``-dirty`` when the work tree differs), or None outside git."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("-dirty" if dirty else "")


@dataclass
class RunOutputs:
    """Everything the report reads, loaded once.

    ``published`` and ``baseline`` are None when the study pack has no published figures or no Table 1.
    """

    study: StudyPack
    results: Path
    figures: Path
    runs: list[StepRun]
    manifests: dict[str, dict[str, Any]]
    published: Any
    baseline: pd.DataFrame | None
    draws: list[pd.DataFrame]
    draw_files: list[Path]
    fit: dict[str, pd.DataFrame]
    fit_nuts: dict[str, pd.DataFrame]
    idata: Any
    idata_nuts: Any
    prior: dict[str, Any]
    prior_landmarks: pd.DataFrame
    prior_ess_intervals: pd.DataFrame
    sources: Any
    sensitivity: dict[str, pd.DataFrame]
    verdict: list[str]
    plan: dict[str, pd.DataFrame]
    designs: dict[str, dict[str, Any]]
    barg: list[BargItem]
    labels: Labels = field(default_factory=Labels)
    revision: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def step_dir(self, name: str) -> Path:
        return next(r.status.step.out_dir for r in self.runs if r.status.step.name == name)

    @property
    def reconstructed(self) -> bool:
        """Whether the outcome tables were reconstructed from published figures (a pipeline step)."""
        return "reconstruction" in self.manifests

    @property
    def outcomes(self) -> Path:
        """The outcome tables analysed: the pack's file or folder."""
        return pack_outcomes(self.study)

    @property
    def n_patients(self) -> int:
        return len(self.draws[0])

    @property
    def command(self) -> str:
        """The command that regenerates this report."""
        from models.io import input_key

        default = self.study.root.resolve() == DEFAULT_STUDY_DIR.resolve()
        return "python scripts/report.py" + ("" if default else f" --study {input_key(self.study.root)}")


FIT_TABLES = (
    "summary",
    "claims",
    "diagnostics",
    "prior_ess",
    "prior_conflict",
    "prior_agreement",
    "reconstruction_variance",
    "exposure",
    "curves",
)


def collect(runs: Sequence[StepRun], results: Path, figures: Path, *, study: StudyPack | None = None) -> RunOutputs:
    """Load every output the report needs (one-line :class:`DataError` naming a missing file).

    ``study`` is the pack the steps ran for (default: the shipped Huang et al. 2024 pack).
    """
    from models.data import load_outcome_draws, outcome_files
    from models.posterior_io import load_posterior
    from models.prior_sources import load_sources

    by = {r.status.step.name: r.status.step.out_dir for r in runs}
    manifests = {name: _json(d / "manifest.json") for name, d in by.items()}
    fit = {k: _csv(by["fit"] / f"{k}.csv") for k in FIT_TABLES}
    fit_nuts = {k: _csv(by["fit_nuts"] / f"{k}.csv") for k in ("summary", "diagnostics")}
    idata = load_posterior(by["fit"] / "posterior.nc", data_sha256=manifests["fit"].get("data_sha256"))
    idata_nuts = load_posterior(by["fit_nuts"] / "posterior.nc", data_sha256=manifests["fit_nuts"].get("data_sha256"))
    prior_dir = by["priors"]
    sens = {k: _csv(by["sensitivity"] / f"{k}.csv") for k in ("scenarios", "tipping_points", "power_scaling")}
    verdict_path = by["sensitivity"] / "verdict.txt"
    if not verdict_path.is_file():
        raise DataError(verdict_path, found="no such file", expected="the sensitivity verdict")
    plan = {k: _csv(by["plan"] / f"{k}.csv") for k in ("sample_size", "oc", "calibration")}
    designs = {}
    for entry in manifests["plan"].get("designs", {}).values():
        src = Path(entry["source"]) if Path(entry["source"]).is_absolute() else REPO_ROOT / entry["source"]
        if src.is_file():
            designs[src.stem] = read_toml(src, ConfigError, "design TOML file")
    pack = study or default_study()
    outcomes = pack_outcomes(pack)
    labels = run_labels(manifests, fit["claims"], designs, sens, plan)
    return RunOutputs(
        study=pack,
        results=Path(results),
        figures=Path(figures),
        runs=list(runs),
        manifests=manifests,
        published=pack.published(),
        baseline=pack.baseline(),
        draws=load_outcome_draws(outcomes),
        draw_files=outcome_files(outcomes),
        fit=fit,
        fit_nuts=fit_nuts,
        idata=idata,
        idata_nuts=idata_nuts,
        prior=json.loads((prior_dir / "prior.json").read_text()),
        prior_landmarks=_csv(prior_dir / "landmarks_1y.csv"),
        prior_ess_intervals=_csv(prior_dir / "ess.csv"),
        sources=load_sources(),
        sensitivity=sens,
        verdict=[ln for ln in verdict_path.read_text().splitlines() if ln.strip()],
        plan=plan,
        designs=designs,
        barg=load_barg(),
        labels=labels,
        revision=git_revision(),
    )


def run_labels(
    manifests: dict[str, dict[str, Any]],
    claims: pd.DataFrame,
    designs: dict[str, dict[str, Any]],
    sensitivity: dict[str, pd.DataFrame],
    plan: dict[str, pd.DataFrame],
) -> Labels:
    """The plain labels of every name a run's outputs use (:class:`models.labels.Labels`).

    Claims are labelled from the claims file the fit read (a ``description`` there wins), designs by
    their ``[design] name`` with their scenarios and design priors, and prior sets from the fit, the
    sensitivity scenarios and the power-scaling table.
    """
    claims_toml = next(
        (REPO_ROOT / k for k in manifests.get("fit", {}).get("inputs_sha256", {}) if k.endswith("claims.toml")),
        DATA_DIR / "claims.toml",
    )
    by_name = {str(doc.get("design", {}).get("name", stem)): doc for stem, doc in designs.items()}
    sc = sensitivity.get("scenarios", pd.DataFrame())
    priors = [manifests.get("fit", {}).get("prior_set", "")]
    if "prior" in sc.columns:
        priors += [str(v) for v in sc["prior"].dropna().unique()]
    ps = sensitivity.get("power_scaling", pd.DataFrame())
    if "prior" in ps.columns:
        priors += [str(v) for v in ps["prior"].dropna().unique()]
    scenarios = [str(v) for k in ("sample_size", "oc") if "scenario" in plan.get(k, {}) for v in plan[k]["scenario"]]
    return Labels.for_run(
        claims=claims,
        claim_toml=claim_entries(claims_toml),
        designs=by_name,
        scenarios=dict.fromkeys(scenarios),
        prior_sets=dict.fromkeys(p for p in priors if p),
        steps=list(manifests),
    )


def _lead(page_html: str, lead: str) -> str:
    """The page with ``lead`` (the summary's HTML) right after its title block, before the contents.

    For a :func:`models.report_html.page` without a ``lead`` argument: a printed copy then opens on
    the summary (its heading does not start a new page; the contents' heading does).
    """
    for marker in ("</header>", "<main>"):
        at = page_html.find(marker)
        if at >= 0:
            at += len(marker) if marker == "</header>" else 0
            return page_html[:at] + lead + page_html[at:]
    raise ValueError("report page without </header> or <main>: cannot place the summary first")


def build(out: RunOutputs, *, generated: str) -> tuple[str, list]:
    """The report's HTML and its sections (for checks), the summary first, before the contents."""
    import inspect

    from models.report_html import esc, page
    from models.report_sections import all_sections

    sections = all_sections(out)
    first, rest = sections[0], sections[1:]
    title = f"Bayesian reanalysis: {out.study.info.title}"
    subtitle = f"{out.study.citation_line()} (n = {out.n_patients}): a reviewer's report generated from one run."
    if "lead" in inspect.signature(page).parameters:
        return page(title, subtitle, rest, generated=generated, lead=first), sections
    lead = (
        f'<section id="{esc(first.id)}"><h2 style="break-before: auto; page-break-before: auto">'
        f"{esc(first.title)}</h2>{first.body}</section>"
    )
    return _lead(page(title, subtitle, rest, generated=generated), lead), sections
