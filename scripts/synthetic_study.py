"""Simulate a synthetic study and publish it as a study pack, the way a letter would print it.

The command lives in :mod:`models.cli.synthetic_study`; ``python scripts/synthetic_study.py --help`` lists its options.
"""

import sys

try:
    from models.cli import launch
except ModuleNotFoundError as exc:  # not installed: say how, in one line (scripts do not edit sys.path)
    sys.stderr.write(f"synthetic_study.py: {exc}; install the toolkit first: pip install -e . (see README)\n")
    raise SystemExit(2) from None

if __name__ == "__main__":
    raise SystemExit(launch("synthetic_study"))
