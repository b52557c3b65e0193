"""Reconstruct per-patient outcome tables consistent with every published figure.

The command lives in :mod:`models.cli.reconstruct`; ``python scripts/reconstruct.py --help`` lists its options.
"""

import sys

try:
    from models.cli import launch
except ModuleNotFoundError as exc:  # not installed: say how, in one line (scripts do not edit sys.path)
    sys.stderr.write(f"reconstruct.py: {exc}; install the toolkit first: pip install -e . (see README)\n")
    raise SystemExit(2) from None

if __name__ == "__main__":
    raise SystemExit(launch("reconstruct"))
