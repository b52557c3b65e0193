"""The analysis pipeline behind the report: which step made which outputs, and whether they are stale.

Every command writes a ``manifest.json`` beside its outputs with the SHA-256 of each input file
(keyed by :func:`models.io.input_key`) and the settings that decide the result. A step is *fresh*
when its manifest exists, every output it lists exists, every input it recorded still hashes the
same, every input the step would read today was recorded, and the recorded settings are the ones
asked for. Otherwise it is *stale* (or *missing*) and :func:`ensure` re-runs its command (in this
process, :mod:`models.cli`), in pipeline order, so that a step downstream of a re-run step (the
trial plan reads the fit's posterior) is judged against the new outputs.

The steps are those of one study pack (:func:`default_steps`): the reconstruction only for a pack
with constraints, then the prior set, the fits, the sensitivity grid and the trial plan, each run
with ``--study PACK`` into ``results/<id>/<step>``. A study step's settings name the pack's id and
require the pack's own outcome tables, and its inputs include the pack's files, so outputs made for
another pack (or from other tables given with ``--data``) are never fresh for this one.

Staleness is judged from inputs and settings, not from the code: after changing the toolkit itself,
run ``scripts/report.py --force``.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from models.cli import EXIT_INTERRUPTED
from models.constants import DATA_DIR, FIGURES_DIR, REPO_ROOT, RESULTS_DIR
from models.errors import ConfigError, StudyError
from models.io import input_key, resolve_input_key, sha256_file
from models.study import StudyPack, load_study

DEFAULT_PRIOR = "literature"


@dataclass(frozen=True)
class Step:
    """One command run whose outputs the report reads.

    Parameters
    ----------
    name : str
        Short identifier (``fit``, ``sensitivity``, ...).
    title : str
        What the step computes, for progress lines and the report's provenance table.
    command : str or callable
        A command of :mod:`models.cli` (``"fit"``: ``models.cli.fit.main``, the same command as
        ``scripts/fit.py``), or any ``main(argv) -> int``.
    args : tuple of str
        Command-line arguments.
    out_dir : Path
        The folder holding the step's ``manifest.json``.
    inputs : callable
        Returns the files the step would read if run now (folders are not allowed: list files).
    settings : dict
        Manifest fields that must hold these values for the outputs to be usable.
    """

    name: str
    title: str
    command: str | Callable[[list[str]], int]
    args: tuple[str, ...]
    out_dir: Path
    inputs: Callable[[], list[Path]]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / "manifest.json"

    @property
    def script(self) -> str:
        """The script that runs the same command (``scripts/fit.py``), or the function's name."""
        return f"scripts/{self.command}.py" if isinstance(self.command, str) else self.command.__name__

    def main(self) -> Callable[[list[str]], int]:
        """The command's ``main(argv) -> int`` (imported on first use: the commands import PyMC)."""
        if not isinstance(self.command, str):
            return self.command
        import importlib

        return importlib.import_module(f"models.cli.{self.command}").main

    def display_command(self) -> str:
        return " ".join(["python", self.script, *self.args])


@dataclass(frozen=True)
class StepStatus:
    """Whether a step's outputs can be used, and why not."""

    step: Step
    state: str  # "fresh", "stale" or "missing"
    reasons: tuple[str, ...] = ()
    manifest: dict[str, Any] | None = None

    @property
    def fresh(self) -> bool:
        return self.state == "fresh"


def _prior_inputs() -> list[Path]:
    return [DATA_DIR / "priors" / "sources.toml", DATA_DIR / "priors" / "sets.toml"]


def _outcome_files(outcomes: Path) -> list[Path]:
    """The outcome tables a file or folder holds now (a folder's ``draw_*.csv``; none if absent)."""
    if outcomes.is_dir():
        return sorted(outcomes.glob("draw_*.csv"))
    return [outcomes] if outcomes.is_file() else []


def pack_outcomes(study: StudyPack) -> Path:
    """Where the pack's outcome tables are: its ``[files] outcomes``, else the folder the reconstruction writes.

    Raises
    ------
    StudyError
        The pack has neither outcome tables nor a reconstruction's constraints: nothing to analyse.
    """
    if study.outcomes_path is not None:
        return study.outcomes_path
    if study.constraints_path is None:
        raise StudyError(
            study.source,
            where="files",
            field="outcomes",
            found="missing (and no constraints to reconstruct them from)",
            expected="per-patient outcome tables, or published figures with constraints",
        )
    return study.root / "reconstructed"


def default_steps(
    results: Path = RESULTS_DIR, figures: Path = FIGURES_DIR, *, study: StudyPack | str | Path | None = None
) -> list[Step]:
    """The pipeline of one study pack in run order, writing under ``results/<id>/`` and ``figures/<id>/``.

    Parameters
    ----------
    results, figures : Path
        Roots of the step outputs: each study step writes ``<root>/<id>/<step>`` (``<id>`` is the pack's
        id); the prior set, which does not depend on the study, writes ``<root>/priors/<set>``.
    study : StudyPack or path, optional
        The study pack (default: the shipped Huang et al. 2024 pack).

    Notes
    -----
    The reconstruction step exists only for a pack with constraints (a published letter); it writes
    the pack's own outcome folder (committed with the pack) and is never redirected. A pack of one's
    own per-patient tables has no reconstruction. Every study step runs its script with
    ``--study PACK`` and its settings include the pack's id and that the data are the pack's own
    tables, so outputs made for another pack, or for other tables given with ``--data``, are stale.
    """
    pack = study if isinstance(study, StudyPack) else load_study(study)
    results, figures = Path(results), Path(figures)
    res, fig = results / pack.id, figures / pack.id
    outcomes = pack_outcomes(pack)
    claims = DATA_DIR / "claims.toml"
    on = ("--study", input_key(pack.root))
    own = {"study": pack.id, "data_is_study_outcomes": True}
    tables = lambda: _outcome_files(outcomes)  # noqa: E731
    fit_inputs = lambda: [*tables(), *_prior_inputs(), claims, *pack.input_files()]  # noqa: E731
    steps: list[Step] = []
    reconstructed = pack.constraints_path is not None
    if reconstructed:
        rec_dir = outcomes if outcomes.is_dir() or not outcomes.exists() else pack.root / "reconstructed"
        rec_inputs = [pack.published_path, pack.baseline_path, pack.constraints_path, pack.toml]
        steps.append(
            Step(
                "reconstruction",
                "per-patient event times consistent with every published figure",
                "reconstruct",
                (*on, "--draws", "20", "--seed", "1", "--quiet"),
                rec_dir,
                lambda: [f for f in rec_inputs if f is not None],
                {"M": 20, "seed": 1},
            )
        )
    steps += [
        Step(
            "priors",
            f"the {DEFAULT_PRIOR} prior set: implied 1-year incidences and figures",
            "priors",
            (
                "plot",
                DEFAULT_PRIOR,
                "--out",
                input_key(figures / "priors" / DEFAULT_PRIOR),
                "--results",
                input_key(results / "priors" / DEFAULT_PRIOR),
            ),
            results / "priors" / DEFAULT_PRIOR,
            _prior_inputs,
        ),
        Step(
            "fit",
            "posterior by the exact (conjugate) engine, default prior",
            "fit",
            (*on, "--out", input_key(res / "fit"), "--figures-dir", input_key(fig / "fit"), "--quiet"),
            res / "fit",
            fit_inputs,
            {"engine": "exact", "prior_set": DEFAULT_PRIOR, "from_transplant": False, **own},
        ),
        Step(
            "fit_nuts",
            "the same model sampled by NUTS (MCMC cross-check and diagnostics)",
            "fit",
            (*on, "--engine", "nuts", "--out", input_key(res / "fit_nuts"), "--no-figures", "--quiet"),
            res / "fit_nuts",
            fit_inputs,
            {"engine": "nuts", "prior_set": DEFAULT_PRIOR, "from_transplant": False, **own},
        ),
        Step(
            "sensitivity",
            "prior, model and reconstruction sensitivity grid" if reconstructed else "prior and model sensitivity grid",
            "sensitivity",
            (*on, "--out", input_key(res / "sensitivity"), "--figures", input_key(fig / "sensitivity"), "--quiet"),
            res / "sensitivity",
            lambda: [DATA_DIR / "sensitivity" / "default.toml", *tables(), *_prior_inputs(), claims],
            own,
        ),
        Step(
            "plan",
            "trial planning: operating characteristics, sample sizes for power and assurance",
            "plan_trial",
            (
                *on,
                "--out",
                input_key(res / "plan"),
                "--figures",
                input_key(fig / "plan"),
                "--posterior",
                input_key(res / "fit" / "posterior.nc"),
                "--quiet",
            ),
            res / "plan",
            lambda: [*sorted((DATA_DIR / "designs").glob("*.toml")), res / "fit" / "posterior.nc"],
        ),
    ]
    return steps


def read_manifest(path: Path) -> dict[str, Any] | None:
    """A manifest as a dict, or None when absent or unreadable."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def status(step: Step) -> StepStatus:
    """Judge one step's outputs (see the module docstring for the rules)."""
    man = read_manifest(step.manifest_path)
    if man is None:
        return StepStatus(step, "missing", (f"no readable manifest at {input_key(step.manifest_path)}",))
    reasons: list[str] = []
    for out in man.get("outputs", []):  # a name in the step's folder, or a repository key (figure copies)
        if not (step.out_dir / out).exists() and not resolve_input_key(out).exists():
            reasons.append(f"output {out} is missing")
    recorded = man.get("inputs_sha256", {})
    if not isinstance(recorded, dict):
        recorded = {}
    for key, digest in recorded.items():
        f = resolve_input_key(key)
        if not f.is_file():
            reasons.append(f"input {key} no longer exists")
        elif sha256_file(f) != digest:
            reasons.append(f"input {key} changed since the run")
    for f in step.inputs():
        if input_key(f) not in recorded:
            reasons.append(f"input {input_key(f)} was not an input of the run")
    for k, want in step.settings.items():
        if man.get(k) != want:
            reasons.append(f"setting {k} = {man.get(k)!r}, expected {want!r}")
    return StepStatus(step, "stale" if reasons else "fresh", tuple(reasons), man)


class _Tee(io.StringIO):
    """Keeps what a command writes to stderr (for the one-line failure) and passes it on unless quiet."""

    def __init__(self, passthrough: TextIO | None) -> None:
        super().__init__()
        self.passthrough = passthrough

    def write(self, text: str) -> int:
        if self.passthrough is not None:
            self.passthrough.write(text)
        return super().write(text)


def run_step(step: Step, *, quiet: bool = False) -> float:
    """Run a step's command in this process; its progress goes to stderr unless ``quiet``.

    The command runs from the repository folder, as ``python scripts/<command>.py`` would be typed
    there, so the command line its manifest records is the same; its printed summary is discarded.
    Returns the seconds taken.

    Raises
    ------
    ConfigError
        One line naming the step, its exit status and the last line the command wrote on stderr.
    KeyboardInterrupt
        When the command was interrupted (its previous outputs are intact).
    """
    import contextlib
    import warnings

    t0 = time.perf_counter()
    main = step.main()
    err = _Tee(None if quiet else sys.stderr)
    shown = warnings.showwarning  # the command sets its own one-line form; the caller's comes back
    try:
        with contextlib.chdir(REPO_ROOT), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                code = main(list(step.args))
            except SystemExit as exc:  # argparse refusing an option
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        warnings.showwarning = shown
    if code == EXIT_INTERRUPTED:
        raise KeyboardInterrupt
    if code != 0:
        lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
        raise ConfigError(
            step.script,
            where=step.name,
            found=f"exit {code}: {lines[-1] if lines else 'no message'}",
            expected="a successful run (see the command's own message)",
        )
    return time.perf_counter() - t0


@dataclass(frozen=True)
class StepRun:
    """What :func:`ensure` did with one step."""

    status: StepStatus  # the status after the run (or as found)
    action: str  # "used" (fresh), "ran" or "skipped" (stale but running was not allowed)
    because: tuple[str, ...] = ()
    seconds: float = 0.0


def ensure(
    steps: Sequence[Step],
    *,
    run: bool = True,
    force: Sequence[str] = (),
    quiet: bool = False,
    say: Callable[[str], None] | None = None,
) -> list[StepRun]:
    """Bring every step up to date, in order; re-run stale or missing ones when ``run``.

    Parameters
    ----------
    steps : sequence of Step
        Pipeline order (a step may read an earlier step's outputs).
    run : bool
        False: only report; stale steps are returned as ``skipped``.
    force : sequence of str
        Step names to re-run even when fresh.
    quiet : bool
        Silence the scripts' own progress.
    say : callable, optional
        Receives one progress line per step.
    """
    out: list[StepRun] = []
    for i, step in enumerate(steps, start=1):
        st = status(step)
        if st.fresh and step.name not in force:
            out.append(StepRun(st, "used"))
            if say:
                say(f"[{i}/{len(steps)}] {step.name}: up to date")
            continue
        because = st.reasons if not st.fresh else ("re-run requested (--force)",)
        if not run:
            out.append(StepRun(st, "skipped", because))
            if say:
                say(f"[{i}/{len(steps)}] {step.name}: {st.state} ({because[0]}), not re-run")
            continue
        if say:
            say(f"[{i}/{len(steps)}] {step.name}: {because[0]}; running {step.display_command()}")
        secs = run_step(step, quiet=quiet)
        after = status(step)
        if not after.fresh:
            raise ConfigError(
                step.script,
                where=step.name,
                found=f"outputs still stale after a run: {after.reasons[0]}",
                expected="a manifest matching the inputs and settings",
            )
        out.append(StepRun(after, "ran", because, secs))
        if say:
            say(f"[{i}/{len(steps)}] {step.name}: done in {secs:.1f} s")
    return out
