"""Helpers shared by the thin scripts: one-line errors and exit codes.

Scripts define ``main(argv: list[str] | None = None) -> int`` and end with
``raise SystemExit(main())``. Library code never sees argparse objects.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from models.errors import ConfigError, ToolkitError

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


def run_guarded(prog: str, body: Callable[[], int]) -> int:
    """Run a script body, turning toolkit errors into one line on stderr and exit code 2.

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
        sys.stderr.write(f"{prog}: {exc.kind}: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted; previous outputs left intact\n")
        return EXIT_INTERRUPTED


EXIT_INTERRUPTED = 130


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
