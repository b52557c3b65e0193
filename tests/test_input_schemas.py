"""Every failure class of the declarative TOML schemas is one line naming the file and the key.

One parametrised test per input kind (claims, sensitivity grid, design). Each case edits a valid
file into one failure class (unknown key, missing key, wrong type, out-of-bounds number, empty file,
malformed TOML, bytes that are not UTF-8) and expects a :class:`~models.errors.ToolkitError` (what
the scripts print on one line before exiting with status 2), never a traceback or a pydantic
``ValidationError``, naming the file, the dotted key (where there is one) and what was found.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from models.claims import load_claims
from models.design import load_design
from models.errors import ToolkitError
from models.sensitivity import load_config

Edit = Callable[[str], str | bytes]


def _sub(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def _whole(content: str | bytes) -> Edit:
    return lambda _text: content


NOT_UTF8 = b'[[claim]]\nname = "caf\xe9"\n'
#: (case id, edit of the valid file, key named (None: a failure of the whole file), what was found)
Case = tuple[str, Edit, str | None, str]
FILE_LEVEL: list[Case] = [
    ("malformed TOML", _whole("[table\nkey = "), None, "malformed TOML (Expected"),
    ("not UTF-8", _whole(NOT_UTF8), None, "bytes that are not UTF-8 (at byte 21)"),
]


def _check(load: Callable[[Path], Any], tmp_path: Path, valid: str, edit: Edit, key: str | None, found: str) -> None:
    path = tmp_path / "input.toml"
    load(_write(path, valid))  # the unedited file is valid
    content = edit(valid)
    with pytest.raises(ToolkitError) as info:
        load(_write(path, content))
    assert not isinstance(info.value, ValidationError) and info.value.__cause__ is None
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{path}") and "expected" in msg, msg
    if key is not None:
        assert f"key '{key}'" in msg, msg
    assert (f"found {found}" if key else found) in msg, msg


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ claims
CLAIMS = """
[[claim]]
name = "c"
quantity = "relapse_cif"
day = 365
op = "<"
threshold = 0.1
reason = "a round clinical value"
"""
CLAIM_CASES: list[Case] = [
    ("unknown key", _sub("day = 365", "day = 365\ncolour = 1"), "claim.0.colour", "'an unknown key'"),
    ("unknown table", _sub("[[claim]]", "[extra]\nx = 1\n[[claim]]"), "extra", "'an unknown key'"),
    ("missing key", _sub('op = "<"\n', ""), "claim.0.op", "'missing'"),
    ("empty file", _whole(""), "claim", "'missing'"),
    ("string for number", _sub("day = 365", 'day = "365"'), "claim.0.day", "'365'"),
    ("bool for number", _sub("day = 365", "day = true"), "claim.0.day", "True"),
    ("scalar for list", _whole("claim = 5\n"), "claim", "5"),
    ("list for table", _sub("threshold = 0.1", "benchmark = [1]"), "claim.0.benchmark", "'a list of 1'"),
    ("negative", _sub("day = 365", "day = -1"), "claim.0.day", "-1"),
    ("too large", _sub("day = 365", "day = 100000"), "claim.0.day", "100000"),
    ("not finite", _sub("threshold = 0.1", "threshold = nan"), "claim.0.threshold", "nan"),
    ("out of (0, 1)", _sub("threshold = 0.1", "threshold = 1.0"), "claim.0.threshold", "1.0"),
    ("unknown choice", _sub('op = "<"', 'op = "<="'), "claim.0.op", "'<='"),
    (
        "both threshold and benchmark",
        _sub("day = 365", 'day = 365\nbenchmark = {relapse = "x", conversion = "as_reported"}'),
        "claim.0.threshold",
        "'both or neither",
    ),
    (
        "benchmark without nrm",
        _sub("threshold = 0.1", 'benchmark = {relapse = "x", conversion = "constant_hazard"}'),
        "claim.0.benchmark.nrm",
        "'missing'",
    ),
    (
        "unknown figure",
        _sub("threshold = 0.1", 'benchmark = {relapse = "no_such_figure", conversion = "as_reported"}'),
        "claim.0.benchmark.relapse",
        "'no_such_figure'",
    ),
    ("duplicate name", lambda t: t + t, "claim.1.name", "'c'"),
    *FILE_LEVEL,
]


@pytest.mark.parametrize(("case", "edit", "key", "found"), CLAIM_CASES, ids=[c[0] for c in CLAIM_CASES])
def test_claims_file_failures(tmp_path, case, edit, key, found):
    _check(load_claims, tmp_path, CLAIMS, edit, key, found)


# ------------------------------------------------------------------------------- sensitivity grid
GRID = """
[base]
prior = "weak"
cuts = [0, 365]
draws_per_table = 100
seed = 1
decision_thresholds = [0.9]

[[claims]]
name = "c"
quantity = "relapse_cif"
op = "<"
threshold = 0.1
reason = "a round clinical value"

[[factors]]
name = "a0"
kind = "a0"
levels = [0.5, 1.0]

[grid]
claim = "c"
centres = [0.1, 0.2]
weights = [1, 10]
"""
GRID_CASES: list[Case] = [
    ("unknown key", _sub("seed = 1", "seed = 1\ncolour = 1"), "base.colour", "'an unknown key'"),
    ("unknown table", _sub("[base]", "[colours]\n[base]"), "colours", "'an unknown key'"),
    ("missing key", _sub('claim = "c"\n', ""), "grid.claim", "'missing'"),
    ("missing factor kind", _sub('kind = "a0"\n', ""), "factors.0.kind", "'missing'"),
    ("string for number", _sub("seed = 1", 'seed = "1"'), "base.seed", "'1'"),
    (
        "float for whole number",
        _sub("draws_per_table = 100", "draws_per_table = 100.5"),
        "base.draws_per_table",
        "100.5",
    ),
    ("scalar for list", _sub("cuts = [0, 365]", "cuts = 365"), "base.cuts", "365"),
    ("scalar for levels", _sub("levels = [0.5, 1.0]", "levels = 0.5"), "factors.0.levels", "0.5"),
    ("list for table", lambda t: "base = [1]\n" + t[t.index("[[claims]]") :], "base", "'a list of 1'"),
    ("table for tables", _sub("[[factors]]", "[factors]"), "factors", "'a table'"),
    ("negative", _sub("seed = 1", "seed = -1"), "base.seed", "-1"),
    ("seed too large", _sub("seed = 1", "seed = 4294967296"), "base.seed", "4294967296"),
    ("draws over the cap", _sub("draws_per_table = 100", "draws_per_table = 100001"), "base.draws_per_table", "100001"),
    ("too few draws", _sub("draws_per_table = 100", "draws_per_table = 5"), "base.draws_per_table", "5"),
    (
        "grid too large",
        _sub("centres = [0.1, 0.2]", f"centres = {[0.01 * (i + 1) for i in range(60)]}"),
        "grid.centres",
        "'a list of 60'",
    ),
    ("grid too small", _sub("weights = [1, 10]", "weights = [1]"), "grid.weights", "'a list of 1'"),
    ("weight out of range", _sub("weights = [1, 10]", "weights = [1, 1e6]"), "grid.weights.1", "1000000.0"),
    ("not finite", _sub("weights = [1, 10]", "weights = [1, nan]"), "grid.weights.1", "nan"),
    ("level out of [0, 1]", _sub("levels = [0.5, 1.0]", "levels = [0.5, 1.5]"), "factors.0.levels.1", "1.5"),
    ("level of the wrong type", _sub('kind = "a0"', 'kind = "prior"'), "factors.0.levels.0", "0.5"),
    ("unknown factor kind", _sub('kind = "a0"', 'kind = "colour"'), "factors.0.kind", "'colour'"),
    ("cut points not from 0", _sub("cuts = [0, 365]", "cuts = [5, 365]"), "base.cuts.0", "5.0"),
    ("cut points not increasing", _sub("cuts = [0, 365]", "cuts = [0, 365, 100]"), "base.cuts.2", "100.0"),
    ("unknown grid claim", _sub('claim = "c"', 'claim = "nope"'), "grid.claim", "'nope'"),
    ("bad embedded claim", _sub('op = "<"', 'op = "<="'), "claims.0.op", "'<='"),
    ("empty file", _whole("\n# only a comment\n"), None, "'an empty file'"),
    *FILE_LEVEL,
]


@pytest.mark.parametrize(("case", "edit", "key", "found"), GRID_CASES, ids=[c[0] for c in GRID_CASES])
def test_sensitivity_config_failures(tmp_path, case, edit, key, found):
    _check(load_config, tmp_path, GRID, edit, key, found)


# ------------------------------------------------------------------------------------ designs
DESIGN = """
[design]
name = "test"
type = "randomised"
entry_day = 90

[conduct]
accrual_per_month = 10.0
min_followup_days = 365
dropout_per_year = 0.05

[analysis]
cuts_days = [0.0]
threshold = 0.975

[benchmark]
relapse_cif = 0.23
nrm_cif = 0.11
years = 3
citation = "Chang YJ et al., J Hematol Oncol 2020;13"
quote = "23%, 95% CI, 17-29%"

[scenarios.null]
hr_relapse = 1.0

[scenarios.alternative]
hr_relapse = 0.5

[design_priors.analogue]
kind = "hr_lognormal"
median = 0.491
lower = 0.257
upper = 0.936

[grid]
n = [60, 120]
n_sims = 200
"""
SCENARIOS = "[scenarios.null]\nhr_relapse = 1.0\n\n[scenarios.alternative]\nhr_relapse = 0.5\n"
DESIGN_CASES: list[Case] = [
    (
        "unknown key",
        _sub("min_followup_days = 365", "min_followup_days = 365\nfollowup = 3"),
        "conduct.followup",
        "'an unknown key'",
    ),
    ("unknown table", _sub("[grid]", "[colours]\n[grid]"), "colours", "'an unknown key'"),
    ("missing key", _sub("threshold = 0.975\n", ""), "analysis.threshold", "'missing'"),
    ("missing table", lambda t: t.split("[grid]")[0], "grid", "'missing'"),
    ("missing lognormal bound", _sub("lower = 0.257\n", ""), "design_priors.analogue.lower", "'missing'"),
    ("empty file", _whole(""), "design", "'missing'"),
    ("string for number", _sub("entry_day = 90", 'entry_day = "90"'), "design.entry_day", "'90'"),
    ("float for whole number", _sub("n_sims = 200", "n_sims = 200.0"), "grid.n_sims", "200.0"),
    ("scalar for list", _sub("n = [60, 120]", "n = 60"), "grid.n", "60"),
    ("list for table", _sub("[conduct]", "[conduct]\ninterim = [1]"), "conduct.interim", "'a list of 1'"),
    ("scalar for tables", lambda t: "scenarios = 1\n" + t.replace(SCENARIOS, ""), "scenarios", "1"),
    ("negative", _sub("dropout_per_year = 0.05", "dropout_per_year = -0.1"), "conduct.dropout_per_year", "-0.1"),
    ("too many trials", _sub("n_sims = 200", "n_sims = 1000001"), "grid.n_sims", "1000001"),
    ("trial too large", _sub("n = [60, 120]", "n = [60, 100001]"), "grid.n.1", "100001"),
    ("not finite", _sub("threshold = 0.975", "threshold = inf"), "analysis.threshold", "inf"),
    ("unknown choice", _sub('type = "randomised"', 'type = "crossover"'), "design.type", "'crossover'"),
    (
        "both accruals",
        _sub("accrual_per_month = 10.0", "accrual_per_month = 10.0\naccrual_months = 12"),
        "conduct.accrual_per_month",
        "'both or neither",
    ),
    ("cut points not from 0", _sub("cuts_days = [0.0]", "cuts_days = [30.0]"), "analysis.cuts_days.0", "30.0"),
    ("incidences over 1", _sub("relapse_cif = 0.23", "relapse_cif = 0.93"), "benchmark.nrm_cif", "0.11"),
    (
        "no null scenario",
        _sub("[scenarios.null]\nhr_relapse = 1.0\n", ""),
        "scenarios",
        "'alternative (role alternative)'",
    ),
    *FILE_LEVEL,
]


@pytest.mark.parametrize(("case", "edit", "key", "found"), DESIGN_CASES, ids=[c[0] for c in DESIGN_CASES])
def test_design_file_failures(tmp_path, case, edit, key, found):
    _check(load_design, tmp_path, DESIGN, edit, key, found)
