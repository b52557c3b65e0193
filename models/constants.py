"""Project-wide constants: the one place for conventions shared by every module.

Time unit
    Days from allogeneic transplant (day 0 = transplant), unless a name says otherwise
    (``days since relapse`` for the clock of death after relapse).
Event codes (lifelines vocabulary)
    0 = censored, 1..K = causes. For competing risks of the remission state:
    1 = relapse, 2 = non-relapse death (NRM).
Intervals
    Piecewise-constant hazards live on half-open intervals ``[c_j, c_{j+1})`` of cut points
    ``c_0 = 0 < c_1 < ... < c_J``; the last interval is open ``[c_J, inf)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: Probability content of every interval the toolkit reports (equal-tailed).
CI_LEVEL: Final[float] = 0.95
#: Normal quantile for ``CI_LEVEL`` two-sided intervals, 1.959963984540054.
Z_CI: Final[float] = 1.959963984540054

#: Default cut points in days from transplant for the piecewise-exponential hazards.
DEFAULT_CUTS: Final[tuple[float, ...]] = (0.0, 100.0, 180.0, 365.0, 730.0)
#: Landmarks (days) at which posterior summaries are reported.
LANDMARK_DAYS: Final[tuple[int, ...]] = (180, 365, 730)
#: One year, in days, for "1-year" estimates (the study reports from day of transplant).
ONE_YEAR_DAYS: Final[int] = 365
#: Calendar conversions of published figures given in years or months (Julian year)
DAYS_PER_YEAR: Final[float] = 365.25
DAYS_PER_MONTH: Final[float] = DAYS_PER_YEAR / 12.0
#: The clinical quantities derived from the hazards (curves, summaries, claims)
QUANTITIES: Final[tuple[str, ...]] = ("relapse_cif", "nrm_cif", "efs", "os", "grfs")
#: Default random seed (the study's online publication date, 2024-07-08).
DEFAULT_SEED: Final[int] = 20240708

#: Event codes for the competing risks out of remission.
EVENT_CENSORED: Final[int] = 0
EVENT_RELAPSE: Final[int] = 1
EVENT_NRM: Final[int] = 2

#: Allowed causes of death in an outcome table.
DEATH_CAUSES: Final[tuple[str, ...]] = ("relapse", "nrm")

#: Repository root and shipped data (the package is installed editable from the checkout).
#: Latest day any time may take (100 years after transplant): beyond it a value is a typo or a
#: unit error, and daily curves up to it would exhaust memory
MAX_DAY: Final[float] = 36_525.0
REPO_ROOT: Final[Path] = Path(__file__).resolve().parents[1]
DATA_DIR: Final[Path] = REPO_ROOT / "data"
STUDY_DIR: Final[Path] = DATA_DIR / "huang2024"
BASELINE_CSV: Final[Path] = STUDY_DIR / "baseline.csv"
PUBLISHED_TOML: Final[Path] = STUDY_DIR / "published.toml"
RECONSTRUCTED_DIR: Final[Path] = STUDY_DIR / "reconstructed"
RESULTS_DIR: Final[Path] = REPO_ROOT / "results"
FIGURES_DIR: Final[Path] = REPO_ROOT / "figures"
