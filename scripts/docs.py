"""Check (default) or rewrite the numbers the docs quote from the toolkit's commands.

The command lives in :mod:`models.cli.docs`; ``python scripts/docs.py --help`` lists its options.
"""

import sys

try:
    from models.cli import launch
except ModuleNotFoundError as exc:  # not installed: say how, in one line (scripts do not edit sys.path)
    sys.stderr.write(f"docs.py: {exc}; install the toolkit first: pip install -e . (see README)\n")
    raise SystemExit(2) from None

if __name__ == "__main__":
    raise SystemExit(launch("docs"))
