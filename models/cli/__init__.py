"""The command line: one module per command (``models.cli.fit``, ...) and the helpers they share.

Each command module defines ``main(argv: list[str] | None = None) -> int``: parse the options into a
workflow's settings, call the workflow, write its result. ``scripts/<command>.py`` and the installed
``txbayes-<command>`` programs both start a command through :func:`launch`. Library code never sees
argparse objects.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from models.errors import ConfigError, ToolkitError

if TYPE_CHECKING:
    from models.study import StudyPack

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error message and exit status 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


def interrupt_quietly() -> None:
    """Until :func:`run_guarded` takes over, Ctrl-C ends the process at once (status 130), no traceback.

    Scripts call it first when run as programs, so that an interrupt during their imports (NumPy,
    PyMC, matplotlib: about a second) does not print a traceback.
    """
    import signal

    def leave(signum, frame):
        sys.stderr.write("interrupted during start-up\n")
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)

    signal.signal(signal.SIGINT, leave)


#: Library settings as the scripts' options spell them: library errors name the setting
#: (``ConfigError("draws", ...)``); a script shows the option a user types.
SETTING_OPTIONS: dict[str, str] = {
    "cuts": "--cuts",
    "relapse_death_cuts": "--relapse-death-cuts",
    "draws": "--draws",
    "tune": "--tune",
    "chains": "--chains",
    "engine": "--engine",
    "sampler": "--sampler",
    "landmark_day": "--landmark-day",
    "data": "--data",
    "prior": "--prior",
    "study": "--study",
    "posterior": "--posterior",
    "dask": "--dask",
    "workers": "--workers",
    "seed": "--seed",
    "gvhd_definitions": "--gvhd-definition",
    "max_states": "--max-states",
    "max_tries": "--max-tries",
    "designs": "--design",
    "n_grid": "--n-grid",
    "n_sims": "--n-sims",
    "ss_tolerance": "--ss-tolerance",
    "ss_max_trials": "--ss-max-trials",
    "force": "--force",
}


def as_option(exc: ToolkitError) -> ToolkitError:
    """The same error with a setting's name replaced by its command-line option."""
    if exc.source in SETTING_OPTIONS:
        return type(exc)(
            SETTING_OPTIONS[exc.source], where=exc.where, field=exc.field, found=exc.found, expected=exc.expected
        )
    return exc


def option_text(text: str) -> str:
    """Advice written with settings (``draws = 4000``, ``engine = exact``) as options (``--draws 4000``)."""
    import re

    pattern = r"\b(" + "|".join(sorted(SETTING_OPTIONS, key=len, reverse=True)) + r") = "
    return re.sub(pattern, lambda m: SETTING_OPTIONS[m.group(1)] + " ", text)


def run_guarded(prog: str, body: Callable[[], int]) -> int:
    """Run a script body, turning toolkit errors into one line on stderr and exit code 2.

    An error that names a library setting (``draws``) is shown with the script's option (``--draws``).

    The toolkit's own warnings (e.g. ignored input columns) are shown as one line, ``prog: warning:
    message``, instead of Python's two-line form with a source path.
    """
    import warnings

    def one_line(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(f"{prog}: warning: {' '.join(str(message).split())}\n")

    warnings.showwarning = one_line
    try:
        import signal

        signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on: KeyboardInterrupt, handled below
    except ValueError:  # not the main thread: the signal is not ours to set
        pass
    try:
        return body()
    except ToolkitError as exc:
        sys.stderr.write(f"{prog}: {exc.kind}: {as_option(exc)}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted; previous outputs left intact\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `validate_data.py | head`: the reader left; nothing to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


EXIT_INTERRUPTED = 130

#: The commands: module of :mod:`models.cli`, script in ``scripts/`` and installed program.
COMMANDS = ("fit", "sensitivity", "plan_trial", "reconstruct", "report", "priors", "validate_data")


def launch(command: str, argv: list[str] | None = None) -> int:
    """Run a command as a program: Ctrl-C during its imports exits quietly, then ``main(argv)``."""
    import importlib

    interrupt_quietly()
    module = importlib.import_module(f"models.cli.{command}")
    return finish(module.main(argv))


def fit_command() -> int:
    """``txbayes-fit``."""
    return launch("fit")


def sensitivity_command() -> int:
    """``txbayes-sensitivity``."""
    return launch("sensitivity")


def plan_command() -> int:
    """``txbayes-plan``."""
    return launch("plan_trial")


def reconstruct_command() -> int:
    """``txbayes-reconstruct``."""
    return launch("reconstruct")


def report_command() -> int:
    """``txbayes-report``."""
    return launch("report")


def priors_command() -> int:
    """``txbayes-priors``."""
    return launch("priors")


def validate_command() -> int:
    """``txbayes-validate``."""
    return launch("validate_data")


def finish(code: int) -> int:
    """End a script run from ``if __name__ == "__main__"``: after Ctrl-C, exit at once.

    An interrupted run has already cleaned up (staged outputs removed, previous outputs intact);
    tearing down the interpreter with PyMC, PyTensor and matplotlib loaded would take about a second
    more, so the process leaves with ``os._exit`` after flushing its streams. Other codes return
    normally (``raise SystemExit(finish(main()))``).
    """
    if code == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    return code


def parse_float_list(text: str, *, option: str) -> list[float]:
    """Parse ``"0,100,180"`` into floats, with a one-line error naming the option."""
    try:
        values = [float(v) for v in text.split(",") if v.strip() != ""]
    except ValueError:
        raise ConfigError(option, found=text, expected="comma-separated numbers, e.g. 0,100,180,365") from None
    if not values:
        raise ConfigError(option, found=text, expected="at least one number")
    return values


def int_at_least(minimum: int, maximum: int | None = None):
    """An argparse type: a whole number >= ``minimum`` (and <= ``maximum``); one-line error otherwise."""
    bound = f">= {minimum}" + ("" if maximum is None else f" and <= {maximum:,}")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number {bound}, found {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected a whole number {bound}, found {value}")
        return value

    parse.__name__ = f"whole number {bound}"
    return parse


#: argparse types: draws, chains, counts (>= 1) and seeds (>= 0)
positive_int = int_at_least(1)
nonneg_int = int_at_least(0)


def command_line(argv: Sequence[str] | None, script: str) -> str:
    """The command line as a user would type it, for manifests."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python", script, *args])


def add_executor_options(parser: argparse.ArgumentParser, what: str, *, workers: int = 1) -> None:
    """``--workers N`` and ``--dask ADDRESS``: where the independent tasks of a grid run (:mod:`models.executor`)."""
    from models.executor import MAX_WORKERS

    parser.add_argument(
        "--workers",
        type=int_at_least(1, MAX_WORKERS),
        default=workers,
        help=f"local worker processes for {what} (default {workers}; the results are the same with any number)",
    )
    parser.add_argument("--dask", metavar="ADDRESS", help=f"run {what} on a Dask scheduler, e.g. tcp://10.0.0.5:8786")


def add_study_option(parser: argparse.ArgumentParser) -> None:
    """``--study PATH``: the study pack a command works on (default: the shipped Huang et al. 2024)."""
    parser.add_argument(
        "--study",
        default=None,
        help="a study pack folder holding study.toml (default: data/huang2024; see docs/study_packs.md)",
    )


def default_output(study: StudyPack, data: str | os.PathLike[str] | None, kind: str, step: str) -> Path:
    """Default per-study output folder: ``results/<key>/<step>`` or ``figures/<key>/<step>``.

    ``key`` is the pack's id for its own outcome tables, ``data-<name>`` for tables given with --data
    (:func:`models.study.output_key`).
    """
    from models.constants import FIGURES_DIR, RESULTS_DIR
    from models.study import output_key

    root = RESULTS_DIR if kind == "results" else FIGURES_DIR
    return root / output_key(study, data) / step
