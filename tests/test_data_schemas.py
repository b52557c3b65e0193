"""The declarative schemas of a study's data files: ``published.toml``, ``constraints.toml``, outcome CSVs.

For each file kind, one parametrised test edits a valid file into one failure class (unknown key
or column, wrong type, out-of-bounds value, missing required key or column, cross-field
inconsistency) and expects the file kind's error class with a one-line message naming the file,
the table or row, the field and what was found, never a traceback or a pydantic
``ValidationError``. The shipped packs' files load through the same schemas.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from models.constants import DATA_DIR, MAX_DAY
from models.data import (
    FIGURE_KEYS,
    OUTCOME_COLUMNS,
    IgnoredColumnsWarning,
    load_baseline,
    load_outcome_draws,
    load_outcomes,
    load_published,
    validate_outcomes,
)
from models.errors import ConfigError, DataError, ReconstructionError, ToolkitError
from models.io import read_toml
from models.reconstruct import load_constraints
from models.reconstruct.constraints_schema import ConstraintsToml
from models.schema import validate_fields
from models.study import load_study
from models.study.outcome_schema import OutcomeRow
from models.study.published_schema import FigureEntry, PublishedToml

PACKS = sorted(p.parent for p in DATA_DIR.glob("*/study.toml"))

#: (case id, old text, new text, error class, location in the message, what was found)
Case = tuple[str, str, str, type[ToolkitError], str, str]


def _check(load: Callable[[Path], Any], path: Path, valid: str, case: Case) -> None:
    _id, old, new, kind, where, found = case
    path.write_text(valid, encoding="utf-8")
    load(path)  # the unedited file is valid
    assert old in valid, old
    path.write_text(valid.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ToolkitError) as info:
        load(path)
    err = info.value
    assert type(err) is kind, repr(err)
    assert not isinstance(err, ValidationError) and err.__cause__ is None
    msg = str(err)
    assert "\n" not in msg and msg.startswith(f"{path}, ") and "expected" in msg, msg
    assert f"{path}, {where}" in msg and f"found {found}" in msg, msg


# ------------------------------------------------------------------------------ published.toml
PUBLISHED = """
[study]
n_patients = 21
transplant_window = ["2022-01", "2023-10"]
last_followup_date = 2024-03-10

[figure.os_1y]
statistic = "km_survival"
value = 81.6
ci = [64.7, 100.0]
unit = "percent"
denominator = 21
population = "cohort"
endpoint = "os"
landmark_days = 365
decimals = 1
quote = "the 1-year OS was 81.6%"

[figure.followup]
statistic = "median"
value = 325
range = [156, 775]
unit = "days"
patients = ["P3"]
quote = "a median follow-up of 325 days"
"""
PUBLISHED_CASES: list[Case] = [
    # unknown key
    (
        "unknown figure key",
        "decimals = 1",
        "decimals = 1\ndigits = 1",
        DataError,
        "figure.os_1y, field 'digits'",
        "'an unknown key'",
    ),
    ("unknown table", "[study]", "[studies]", DataError, "studies", "'an unknown table'"),
    # wrong type
    ("quoted number", "value = 81.6", 'value = "81.6"', DataError, "figure.os_1y, field 'value'", "'81.6'"),
    ("boolean number", "value = 81.6", "value = true", DataError, "figure.os_1y, field 'value'", "True"),
    ("decimal count", "denominator = 21", "denominator = 21.0", DataError, "figure.os_1y, field 'denominator'", "21.0"),
    (
        "quoted date",
        "last_followup_date = 2024-03-10",
        'last_followup_date = "2024-03-10"',
        DataError,
        "study, field 'last_followup_date'",
        "'2024-03-10'",
    ),
    (
        "patients not a list",
        'patients = ["P3"]',
        'patients = "P3"',
        DataError,
        "figure.followup, field 'patients'",
        "'P3'",
    ),
    (
        "figure not a table",
        "[figure.followup]\n",
        "[figure]\nfollowup = 325\n[figure.followup_x]\n",
        DataError,
        "figure.followup",
        "325",
    ),
    # out of bounds, or outside the vocabulary
    ("negative value", "value = 325", "value = -325", DataError, "figure.followup, field 'value'", "-325"),
    ("infinite value", "value = 325", "value = inf", DataError, "figure.followup, field 'value'", "inf"),
    (
        "percentage over 100",
        "value = 81.6\nci = [64.7, 100.0]",
        "value = 181.6",
        DataError,
        "figure.os_1y, field 'value'",
        "181.6",
    ),
    (
        "zero landmark",
        "landmark_days = 365",
        "landmark_days = 0",
        DataError,
        "figure.os_1y, field 'landmark_days'",
        "0",
    ),
    ("negative decimals", "decimals = 1", "decimals = -1", DataError, "figure.os_1y, field 'decimals'", "-1"),
    ("no patients", "n_patients = 21", "n_patients = 0", DataError, "study, field 'n_patients'", "0"),
    (
        "unknown statistic",
        'statistic = "median"',
        'statistic = "mean"',
        DataError,
        "figure.followup, field 'statistic'",
        "'mean'",
    ),
    ("unknown unit", 'unit = "days"', 'unit = "weeks"', DataError, "figure.followup, field 'unit'", "'weeks'"),
    ("unknown endpoint", 'endpoint = "os"', 'endpoint = "pfs"', DataError, "figure.os_1y, field 'endpoint'", "'pfs'"),
    (
        "unknown population",
        'population = "cohort"',
        'population = "adults"',
        DataError,
        "figure.os_1y, field 'population'",
        "'adults'",
    ),
    ("month 13", '"2023-10"]', '"2023-13"]', DataError, "study.transplant_window[1]", "'2023-13'"),
    # missing required key
    (
        "missing quote",
        'quote = "a median follow-up of 325 days"\n',
        "",
        DataError,
        "figure.followup, field 'quote'",
        "'missing'",
    ),
    ("missing study", PUBLISHED.split("[figure.os_1y]")[0], "", DataError, "study", "'missing'"),
    ("km without landmark", "landmark_days = 365\n", "", DataError, "figure.os_1y, field 'landmark_days'", "'missing'"),
    # cross-field inconsistency
    (
        "ci excluding the estimate",
        "ci = [64.7, 100.0]",
        "ci = [85.0, 100.0]",
        DataError,
        "figure.os_1y, field 'ci'",
        "[85.0, 100.0]",
    ),
    (
        "reversed range",
        "range = [156, 775]",
        "range = [775, 156]",
        DataError,
        "figure.followup, field 'range'",
        "[775, 156]",
    ),
    (
        "range excluding the median",
        "range = [156, 775]",
        "range = [400, 775]",
        DataError,
        "figure.followup, field 'range'",
        "[400.0, 775.0]",
    ),
    (
        "reversed transplant window",
        '["2022-01", "2023-10"]',
        '["2023-10", "2022-01"]',
        DataError,
        "study, field 'transplant_window'",
        "['2023-10', '2022-01']",
    ),
]


@pytest.mark.parametrize("case", PUBLISHED_CASES, ids=[c[0] for c in PUBLISHED_CASES])
def test_published_failures_are_one_line(case, tmp_path):
    _check(load_published, tmp_path / "published.toml", PUBLISHED, case)


def test_published_loads_to_the_values_in_the_file(tmp_path):
    path = tmp_path / "published.toml"
    path.write_text(PUBLISHED, encoding="utf-8")
    pub = load_published(path)
    os_, fu = pub["os_1y"], pub["followup"]
    assert (os_.value, os_.ci, os_.landmark_days, os_.decimals, os_.denominator) == (81.6, (64.7, 100.0), 365.0, 1, 21)
    assert type(fu.value) is float and fu.range == (156.0, 775.0) and fu.patients == ("P3",)
    assert (fu.population, fu.endpoint, fu.ci, fu.count) == ("cohort", None, None, None)
    assert pub.study == read_toml(path)["study"]  # the [study] table as read, free keys included


# ------------------------------------------------------------------------------ constraints.toml
CONSTRAINTS = (DATA_DIR / "huang2024" / "constraints.toml").read_text(encoding="utf-8")
CONSTRAINT_CASES: list[Case] = [
    # unknown key
    (
        "unknown top-level key",
        "[study]",
        "colour = 1\n[study]",
        ConfigError,
        "top level, field 'colour'",
        "'an unknown key'",
    ),
    (
        "unknown km key",
        '[[km]]\nfigure = "os_1y"\n',
        '[[km]]\nfigure = "os_1y"\nday = 1\n',
        ConfigError,
        "km[0], field 'day'",
        "'an unknown key'",
    ),
    (
        "unknown category key",
        'family = "acute"',
        'family = "acute"\ngrade = 2',
        ConfigError,
        "gvhd.categories.agvhd_1_2, field 'grade'",
        "'an unknown key'",
    ),
    # wrong type
    (
        "figure key not a string",
        '[[km]]\nfigure = "os_1y"',
        "[[km]]\nfigure = 1",
        ConfigError,
        "km[0], field 'figure'",
        "1",
    ),
    ("quoted boolean", "enabled = true", 'enabled = "yes"', ConfigError, "admin_censoring, field 'enabled'", "'yes'"),
    (
        "named not a list",
        'named = ["death_nrm_infection", "death_nrm_tma"]',
        'named = "death_nrm_tma"',
        ConfigError,
        "events, field 'named'",
        "'death_nrm_tma'",
    ),
    # out of bounds, or outside the vocabulary
    ("negative landmark", 'landmark = "plateau"', "landmark = -3", ConfigError, "cif[0], field 'landmark'", "-3"),
    (
        "unknown landmark word",
        'landmark = "plateau"',
        'landmark = "end"',
        ConfigError,
        "cif[0], field 'landmark'",
        "'end'",
    ),
    ("unknown reading", 'reading = "all"', 'reading = "some"', ConfigError, "followup, field 'reading'", "'some'"),
    (
        "unknown event",
        'event = "relapse"',
        'event = "relapsed"',
        ConfigError,
        "population_count[0], field 'event'",
        "'relapsed'",
    ),
    (
        "unknown family",
        'family = "acute"',
        'family = "late"',
        ConfigError,
        "gvhd.categories.agvhd_1_2, field 'family'",
        "'late'",
    ),
    (
        "unknown candidates word",
        'candidates = "named"',
        'candidates = "all"',
        ConfigError,
        "gvhd, field 'candidates'",
        "'all'",
    ),
    # missing required key
    ("missing event count", 'alive = "alive"', "", ConfigError, "events, field 'alive'", "'missing'"),
    ("missing family", 'family = "acute"', "", ConfigError, "gvhd.categories.agvhd_1_2, field 'family'", "'missing'"),
    (
        "missing km figure",
        '[[km]]\nfigure = "os_1y"',
        '[[km]]\nfigur = "os_1y"',
        ConfigError,
        "km[0], field 'figur'",
        "'an unknown key'",
    ),
    # cross-field inconsistency (in the file, then against published.toml and Table 1)
    (
        "unknown qualifying category",
        '"cgvhd_severe"]\n\n[[gvhd.definitions]]\nname = "standard"',
        '"cgvhd_sev"]\n\n[[gvhd.definitions]]\nname = "standard"',
        ConfigError,
        "gvhd.definitions[0], field 'qualifying'",
        "['agvhd_3_4', 'cgvhd_sev']",
    ),
    (
        "unknown figure",
        '[[km]]\nfigure = "os_1y"',
        '[[km]]\nfigure = "os_2y"',
        ReconstructionError,
        "km[0], field 'figure'",
        "'os_2y'",
    ),
    (
        "figure of the wrong statistic",
        '[[km]]\nfigure = "os_1y"',
        '[[km]]\nfigure = "relapse_rate"',
        ReconstructionError,
        "km[0], field 'figure'",
        "'relapse_rate (statistic cumulative_incidence)'",
    ),
    (
        "counts that do not add up",
        'alive = "alive"',
        'alive = "deaths_nrm"',
        ReconstructionError,
        "events.alive, field 'figure'",
        "'deaths_nrm = 2'",
    ),
    (
        "candidate not named",
        'candidates = "named"',
        'candidates = ["P3", "P9"]',
        ConfigError,
        "gvhd, field 'candidates'",
        "'P9'",
    ),
]


@pytest.fixture(scope="module")
def huang_inputs():
    return load_published(), load_baseline()


@pytest.mark.parametrize("case", CONSTRAINT_CASES, ids=[c[0] for c in CONSTRAINT_CASES])
def test_constraints_failures_are_one_line(case, tmp_path, huang_inputs):
    pub, base = huang_inputs
    _check(lambda p: load_constraints(p, pub, base), tmp_path / "constraints.toml", CONSTRAINTS, case)


def test_absent_events_table_names_its_first_key(tmp_path, huang_inputs):
    path = tmp_path / "constraints.toml"
    path.write_text('[[km]]\nfigure = "os_1y"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"constraints\.toml, events, field 'relapse': found 'missing'"):
        load_constraints(path, *huang_inputs)


# ------------------------------------------------------------------------------ outcome CSVs
HEADER = ",".join(OUTCOME_COLUMNS)
OUTCOMES = f"{HEADER}\nP1,100,,150,,,400\nP2,60,200,,300,relapse,300\nP3,90,,120,250,nrm,250\n"
ROW = "row 3 (patient P2)"
OUTCOME_CASES: list[Case] = [
    # wrong type
    ("text day", "P2,60,200,", "P2,60,soon,", DataError, f"{ROW}, field 'relapse_day'", "'soon'"),
    ("infinite day", "P2,60,200,", "P2,60,inf,", DataError, f"{ROW}, field 'relapse_day'", "'inf'"),
    ("unknown cause", "300,relapse,300", "300,accident,300", DataError, f"{ROW}, field 'death_cause'", "'accident'"),
    # out of bounds
    ("negative day", "P2,60,", "P2,-1,", DataError, f"{ROW}, field 'entry_day'", "-1.0"),
    (
        "beyond 100 years",
        "P1,100,,150,,,400",
        "P1,100,,150,,,40000",
        DataError,
        "row 2 (patient P1), field 'last_followup_day'",
        "40000.0",
    ),
    # missing required column or cell
    ("missing column", "gvhd_day", "gvhd", DataError, "header, field 'gvhd_day'", '"columns ['),
    ("empty required cell", "P1,100,", "P1,,", DataError, "row 2 (patient P1), field 'entry_day'", "'empty'"),
    ("empty patient", "P2,60,", ",60,", DataError, "row 3, field 'patient'", "'an empty ID'"),
    # cross-field inconsistency (within a row, and between rows)
    (
        "entry after last",
        "P1,100,,150,,,400",
        "P1,500,,150,,,400",
        DataError,
        "row 2 (patient P1), field 'entry_day'",
        "500.0",
    ),
    ("event before entry", "P1,100,,150,", "P1,100,,50,", DataError, "row 2 (patient P1), field 'gvhd_day'", "50.0"),
    (
        "death before last follow-up",
        "250,nrm,250",
        "200,nrm,250",
        DataError,
        "row 4 (patient P3), field 'death_day'",
        "200.0",
    ),
    (
        "cause without a death",
        "P1,100,,150,,,400",
        "P1,100,,150,,nrm,400",
        DataError,
        "row 2 (patient P1), field 'death_cause'",
        "'nrm'",
    ),
    ("relapse death without relapse", "P2,60,200,", "P2,60,,", DataError, f"{ROW}, field 'relapse_day'", "'empty'"),
    ("nrm death after relapse", "300,relapse,300", "300,nrm,300", DataError, f"{ROW}, field 'death_cause'", "'nrm'"),
    (
        "duplicated patient",
        "P3,90,",
        "P1,90,",
        DataError,
        "row 4 (patient P1), field 'patient'",
        "'a duplicated patient ID'",
    ),
]


@pytest.mark.parametrize("case", OUTCOME_CASES, ids=[c[0] for c in OUTCOME_CASES])
def test_outcome_failures_are_one_line(case, tmp_path):
    _check(load_outcomes, tmp_path / "outcomes.csv", OUTCOMES, case)


def test_unknown_outcome_column_is_ignored_with_a_warning_naming_the_file(tmp_path):
    path = tmp_path / "outcomes.csv"
    path.write_text(HEADER + ",site\n" + "".join(f"{line},A\n" for line in OUTCOMES.splitlines()[1:]))
    with pytest.warns(IgnoredColumnsWarning, match=rf"{path.name}: column\(s\) \['site'\] ignored"):
        got = load_outcomes(path)
    plain = tmp_path / "plain.csv"
    plain.write_text(OUTCOMES)
    pd.testing.assert_frame_equal(got, load_outcomes(plain))


def test_outcome_row_schema_declares_the_bounds():
    props = OutcomeRow.model_json_schema()["properties"]
    for col in ("entry_day", "last_followup_day"):
        assert (props[col]["minimum"], props[col]["maximum"]) == (0, MAX_DAY)
    assert set(OutcomeRow.model_fields) == set(OUTCOME_COLUMNS)
    row = OutcomeRow.model_validate({"patient": "P1", "entry_day": 0, "last_followup_day": 10.5})
    assert (row.relapse_day, row.death_cause, row.last_followup_day) == (None, "", 10.5)
    fig = FigureEntry.model_json_schema()["properties"]
    assert fig["value"]["minimum"] == 0 and fig["denominator"]["anyOf"][0]["minimum"] == 0
    assert set(FigureEntry.model_fields) == FIGURE_KEYS


def test_numbers_validate_as_their_text():
    """A table of numbers (a simulation) validates as the CSV text of the same numbers."""
    df = pd.DataFrame(
        {
            "patient": ["A", "B"],
            "entry_day": [0, 1.5],
            "relapse_day": [None, 3.0],
            "gvhd_day": [float("nan"), None],
            "death_day": [None, 4],
            "death_cause": [None, "relapse"],
            "last_followup_day": [10, 4.0],
        }
    )
    out = validate_outcomes(df, "sim")
    assert out["relapse_day"].isna().tolist() == [True, False] and out["death_cause"].tolist() == ["", "relapse"]
    assert out[["entry_day", "last_followup_day"]].dtypes.tolist() == [float, float]


# ------------------------------------------------------------------------------ the location form
def test_location_names_the_row_or_the_top_level(tmp_path):
    with pytest.raises(DataError, match=r"^f\.csv, row 7 \(patient X\), field 'entry_day': found 'empty'"):
        validate_fields(
            OutcomeRow,
            {"patient": "X", "entry_day": "", "last_followup_day": "1"},
            "f.csv",
            DataError,
            where="row 7 (patient X)",
        )
    with pytest.raises(ConfigError, match=r"^c\.toml, top level, field 'extra': found 'an unknown key'"):
        validate_fields(ConstraintsToml, {"extra": 1}, "c.toml", ConfigError, top="top level")
    with pytest.raises(DataError, match=r"^p\.toml, figure: found 'missing'; expected \[figure\.<key>\] entries"):
        validate_fields(PublishedToml, {"study": {}}, "p.toml", DataError)


# ------------------------------------------------------------------------------ shipped files
@pytest.mark.parametrize("pack", PACKS, ids=[p.name for p in PACKS])
def test_shipped_files_load_through_the_schemas(pack):
    study = load_study(pack)
    if study.published_path is not None:
        doc = read_toml(study.published_path)
        m = validate_fields(PublishedToml, doc, study.published_path, DataError)
        pub = study.published()
        assert list(pub.figures) == list(m.figure) == list(doc["figure"])
        for key, raw in doc["figure"].items():
            assert pub[key].value == raw["value"] and pub[key].quote == raw["quote"]
    if study.constraints_path is not None:
        doc = read_toml(study.constraints_path)
        validate_fields(ConstraintsToml, doc, study.constraints_path, ConfigError)
        cons = load_constraints(study.constraints_path, study.published(), study.baseline(), study=study)
        assert len(cons.km) == len(doc.get("km", [])) and cons.n == len(study.baseline())
    if study.outcomes_path is not None and study.outcomes_path.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # shipped tables have only the outcome columns
            tables = load_outcome_draws(study.outcomes_path)
        assert tables and all(list(t.columns) == list(OUTCOME_COLUMNS) for t in tables)
