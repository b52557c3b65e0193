"""Validate a study pack's data files and print a summary.

The command lives in :mod:`models.cli.validate_data`; ``python scripts/validate_data.py --help`` lists its options.
"""

import sys

try:
    from models.cli import launch
except ModuleNotFoundError as exc:  # not installed: say how, in one line (scripts do not edit sys.path)
    sys.stderr.write(f"validate_data.py: {exc}; install the toolkit first: pip install -e . (see README)\n")
    raise SystemExit(2) from None

if __name__ == "__main__":
    raise SystemExit(launch("validate_data"))
