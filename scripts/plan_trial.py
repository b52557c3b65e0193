"""Plan a prospective trial (sample size, error rates, assurance).

The command lives in :mod:`models.cli.plan_trial`; ``python scripts/plan_trial.py --help`` lists its options.
"""

import sys

try:
    from models.cli import launch
except ModuleNotFoundError as exc:  # not installed: say how, in one line (scripts do not edit sys.path)
    sys.stderr.write(f"plan_trial.py: {exc}; install the toolkit first: pip install -e . (see README)\n")
    raise SystemExit(2) from None

if __name__ == "__main__":
    raise SystemExit(launch("plan_trial"))
