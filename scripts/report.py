"""Build the reviewer's report of a study pack: one self-contained HTML file from an up-to-date run.

The command lives in :mod:`models.cli.report`; ``python scripts/report.py --help`` lists its options.
"""

import sys

try:
    from models.cli import launch
except ModuleNotFoundError as exc:  # not installed: say how, in one line (scripts do not edit sys.path)
    sys.stderr.write(f"report.py: {exc}; install the toolkit first: pip install -e . (see README)\n")
    raise SystemExit(2) from None

if __name__ == "__main__":
    raise SystemExit(launch("report"))
