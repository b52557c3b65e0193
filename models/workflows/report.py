"""The report workflow: bring a study pack's pipeline up to date, then assemble the reviewer's report.

:func:`build_report` is what ``scripts/report.py`` runs: every step of the pack whose outputs are
missing or stale (:mod:`models.pipeline`; the steps' commands run in this process) is re-run unless
``run=False``, then the outputs are collected and the report is built as one self-contained HTML
file, checked for validity and self-containment before it is returned.

>>> from models.workflows.report import ReportSettings, build_report
>>> report = build_report(ReportSettings(study="data/bmt_scrucca2007"))   # doctest: +SKIP
>>> report.write()                                                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.constants import FIGURES_DIR, RESULTS_DIR
from models.errors import ConfigError


@dataclass(frozen=True)
class ReportSettings:
    """What decides a report.

    Parameters
    ----------
    study
        A study pack folder; ``None``: the shipped default (Huang et al. 2024).
    results, figures
        Roots of the steps' outputs (``<root>/<study id>/<step>``).
    run
        Re-run missing or stale steps; ``False``: refuse (a :class:`ConfigError` names the first).
    force
        Step names to re-run even when up to date, or ``("all",)``.
    """

    study: str | Path | None = None
    results: str | Path = RESULTS_DIR
    figures: str | Path = FIGURES_DIR
    run: bool = True
    force: Sequence[str] = ()


@dataclass
class ReportResult:
    """A built report: the HTML text, the study, what each pipeline step did, and where it goes."""

    settings: ReportSettings
    study: Any
    html: str
    runs: list[Any]

    @property
    def default_path(self) -> Path:
        """``<results>/<study id>/report.html``."""
        return Path(self.settings.results) / self.study.id / "report.html"

    def write(self, path: str | Path | None = None) -> Path:
        """Write the HTML atomically (default :attr:`default_path`); returns the path."""
        from models.io import atomic_write_text

        out = Path(path) if path is not None else self.default_path
        atomic_write_text(out, self.html)
        return out


def _forced(force: Sequence[str], names: list[str]) -> list[str]:
    if list(force) == ["all"]:
        return names
    unknown = sorted(set(force) - set(names))
    if unknown:
        raise ConfigError("force", found=", ".join(unknown), expected=f"'all' or names from {names}")
    return list(force)


def build_report(
    settings: ReportSettings = ReportSettings(),
    *,
    say: Callable[[str], None] | None = None,
    quiet: bool = True,
    generated_by: str = "",
) -> ReportResult:
    """Bring the pipeline up to date and assemble the report.

    Parameters
    ----------
    settings
        :class:`ReportSettings`.
    say
        Receives one progress line per step and stage.
    quiet
        Silence the steps' own progress.
    generated_by
        How the report was produced (the command line), printed in its footer with the time.

    Raises
    ------
    ConfigError
        An unknown step in ``force``; a stale step when ``run`` is false; a report that fails the
        HTML validity or self-containment check.
    """
    from models.html_check import check_html
    from models.io import utc_now
    from models.pipeline import default_steps, ensure
    from models.report import build, collect
    from models.study import load_study

    study = load_study(settings.study)
    results, figures = Path(settings.results), Path(settings.figures)
    steps = default_steps(results, figures, study=study)
    force = _forced(settings.force, [s.name for s in steps])
    runs = ensure(steps, run=settings.run, force=force, quiet=quiet, say=say)
    skipped = [r for r in runs if r.action == "skipped"]
    if skipped:
        r = skipped[0]
        raise ConfigError(
            r.status.step.manifest_path,
            where=r.status.step.name,
            found=f"{r.status.state}: {r.because[0]}",
            expected="up-to-date outputs (run without --no-run)",
        )
    if say:
        say("assembling the report")
    outputs = collect(runs, results, figures, study=study)
    by = generated_by or f"models.workflows.build_report({settings!r})"
    html, _ = build(outputs, generated=f"Generated {utc_now()} by {by}.")
    problems = check_html(html, source="report.html")
    if problems:
        raise ConfigError("report.html", found=problems[0], expected="valid, self-contained HTML")
    return ReportResult(settings, study, html, runs)
