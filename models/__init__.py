"""txbayes: Bayesian reanalysis of small transplant cohorts (the importable package ``models``)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("txbayes")
except PackageNotFoundError:  # running from a checkout that was not installed
    __version__ = "0.2.0"
