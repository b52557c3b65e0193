"""Inspect, audit and plot the literature prior sets.

The command lives in :mod:`models.cli.priors`; ``python scripts/priors.py --help`` lists its options.
Scripts do not edit ``sys.path``: the toolkit must be installed (``pip install -e .``, see README).
"""

import os
import signal
import sys


def _leave(signum: int, frame: object) -> None:
    """Ctrl-C before the command has started: leave at once, without a traceback (status 130)."""
    sys.stderr.write("interrupted during start-up\n")
    os._exit(130)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _leave)
    try:
        from models.cli import launch
    except ModuleNotFoundError as exc:  # not installed: say how, in one line
        sys.stderr.write(f"priors.py: {exc}; install the toolkit first: pip install -e . (see README)\n")
        raise SystemExit(2) from None
    raise SystemExit(launch("priors"))
