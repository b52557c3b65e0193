"""The reviewer's report: gather a run's outputs and assemble one self-contained HTML document.

:func:`collect` reads what the pipeline steps wrote (:mod:`models.pipeline`), :func:`build` turns it
into sections (:mod:`models.report_sections`) in the order a reviewer reads them, ending with the
checklist of the Bayesian Analysis Reporting Guidelines (BARG; Kruschke 2021) that says where each
item is answered. Every number and every sentence with a number comes from the run's tables.

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

from models.constants import DATA_DIR, RECONSTRUCTED_DIR, REPO_ROOT, STUDY_DIR
from models.errors import ConfigError, DataError
from models.io import read_toml
from models.pipeline import StepRun, read_manifest

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
    """Everything the report reads, loaded once."""

    results: Path
    figures: Path
    runs: list[StepRun]
    manifests: dict[str, dict[str, Any]]
    published: Any
    baseline: pd.DataFrame
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
    revision: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def step_dir(self, name: str) -> Path:
        return next(r.status.step.out_dir for r in self.runs if r.status.step.name == name)


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


def collect(runs: Sequence[StepRun], results: Path, figures: Path) -> RunOutputs:
    """Load every output the report needs (one-line :class:`DataError` naming a missing file)."""
    from models.data import load_baseline, load_outcome_draws, load_published, outcome_files
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
    return RunOutputs(
        results=Path(results),
        figures=Path(figures),
        runs=list(runs),
        manifests=manifests,
        published=load_published(STUDY_DIR / "published.toml"),
        baseline=load_baseline(STUDY_DIR / "baseline.csv"),
        draws=load_outcome_draws(RECONSTRUCTED_DIR),
        draw_files=outcome_files(RECONSTRUCTED_DIR),
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
        revision=git_revision(),
    )


def build(out: RunOutputs, *, generated: str) -> tuple[str, list]:
    """The report's HTML and its sections (for checks)."""
    from models import report_sections as rs
    from models.report_html import page

    sections = [
        rs.question(out),
        rs.reconstruction(out),
        rs.model(out),
        rs.priors(out),
        rs.posterior(out),
        rs.diagnostics(out),
        rs.sensitivity(out),
        rs.planning(out),
        rs.limitations(out),
        rs.reproducibility(out),
    ]
    sections.append(rs.barg_checklist(out, sections))
    study = out.published.study
    title = "Bayesian reanalysis of blinatumomab maintenance after allogeneic transplant"
    subtitle = f"{study['citation']} (n = {study['n_patients']}): a reviewer's report generated from one run."
    return page(title, subtitle, sections, generated=generated), sections
