"""Study packs at the library level: study.toml schema, Table 1 columns, population rules, outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from models.constants import REPO_ROOT
from models.errors import DataError, StudyError
from models.study import default_study, load_study, output_key

HUANG = REPO_ROOT / "data" / "huang2024"


def test_default_pack_populations_match_the_letter():
    pack = default_study()
    assert pack.id == "huang2024" and pack.label == "Huang et al. 2024"
    b = pack.baseline()
    counts = {p: int(pack.population_mask(b, p).sum()) for p in pack.population_names}
    assert counts == {
        "cohort": 21,
        "cr1_undetectable_mrd": 15,
        "refractory_relapsed": 9,
        "non_refractory_relapsed": 12,
        "ph_positive": 1,
        "haploidentical": 17,
        "aged_18_or_under": 3,
    }
    pub = pack.published()
    assert pub is not None and len(pub.figures) == 53
    assert pack.owns_outcomes(None) and pack.owns_outcomes(HUANG / "reconstructed")
    assert not pack.owns_outcomes(HUANG / "reconstructed" / "draw_001.csv")


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """A copy of the default pack with two outcome tables (edited by each test)."""
    dst = tmp_path / "pack"
    shutil.copytree(HUANG, dst, ignore=shutil.ignore_patterns("draw_00[3-9].csv", "draw_01*", "draw_02*"))
    return dst


def _edit(pack: Path, old: str, new: str) -> None:
    toml = pack / "study.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text, old
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ('id = "huang2024"', 'id = "huang2024"\nsponsor = "x"', "key 'study.sponsor': found 'an unknown key'"),
        ('id = "huang2024"\n', "", "key 'study.id': found 'missing'"),
        ('id = "huang2024"', 'id = "Huang 2024"', "key 'study.id': found 'Huang 2024'"),
        ('baseline = "baseline.csv"', 'baseline = "absent.csv"', "files.baseline': found 'absent.csv (no such file)'"),
        ('text = "letter.txt"', 'text = "nope.txt"', "study.text': found 'nope.txt (no such file)'"),
        ('column = "donor_type"', 'column = "donor"', "populations.haploidentical, field 'column': found 'donor'"),
        (
            'equals = "HID"',
            'equals = "Haplo"',
            "field 'donor_type': found 'Haplo'; expected one of ['MUD', 'HID', 'MSD']",
        ),
        ("at_most = 18", "at_most = 5", "population 'aged_18_or_under'"),
        ('starts_with = "Ph-positive"', 'starts_with = "Ph-positive"\nequals = "x"', "populations.ph_positive"),
        ('column = "age"\nat_most = 18', 'all_of = ["elderly"]', "found 'elderly'; expected a population among"),
        ('sex = { type = "category", values = ["Male", "Female"]', 'sex = { type = "category"', "values = [...]"),
    ],
)
def test_bad_study_toml_is_one_line(pack, old, new, fragment):
    _edit(pack, old, new)
    with pytest.raises(StudyError) as err:
        load_study(pack)
    msg = str(err.value)
    assert fragment in msg and "\n" not in msg and "study.toml" in msg


def test_a_loaded_pack_is_reread_when_any_of_its_files_changes(pack):
    # the pack is cached; an edit to Table 1 (not study.toml) after a first load must be seen
    assert load_study(pack).baseline().shape[0] == 21
    csv = pack / "baseline.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("P7,27,Female", "P7,27,F"), encoding="utf-8")
    with pytest.raises(DataError, match=r"field 'sex': found 'F'"):
        load_study(pack).baseline()


def test_a_rule_matching_nobody_is_named(pack):
    _edit(pack, "at_most = 18", "at_most = 5")
    with pytest.raises(StudyError, match=r"population 'aged_18_or_under'.*found 'no patient'"):
        load_study(pack)


def test_a_cycle_of_population_rules_is_refused(pack):
    text = (pack / "study.toml").read_text(encoding="utf-8")
    text += '\n[populations.a]\nall_of = ["b"]\n\n[populations.b]\nany_of = ["a"]\n'
    (pack / "study.toml").write_text(text, encoding="utf-8")
    with pytest.raises(StudyError, match="no cycles"):
        load_study(pack)


def test_table1_cells_are_checked_against_the_declared_columns(pack):
    csv = pack / "baseline.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("P7,27,Female", "P7,27,F"), encoding="utf-8")
    with pytest.raises(DataError, match=r"row 8 \(patient P7\), field 'sex': found 'F'"):
        load_study(pack)


def test_a_different_table1_and_combined_populations(tmp_path):
    d = tmp_path / "aml"
    d.mkdir()
    (d / "baseline.csv").write_text(
        "id,age,diagnosis,conditioning\nA1,45,AML,MAC\nA2,67,MDS,RIC\nA3,71,AML,RIC\nA4,30,AML,\n", encoding="utf-8"
    )
    shutil.copy(HUANG / "reconstructed" / "draw_001.csv", d / "outcomes.csv")
    (d / "study.toml").write_text(
        """[study]
id = "aml-test"
title = "An AML cohort"
short_name = "AML test"
citation = "A. Author. A journal 2025;1:1."

[files]
baseline = "baseline.csv"
outcomes = "outcomes.csv"

[columns]
id = { type = "id" }
age = { type = "integer", min = 18 }
diagnosis = { type = "category", values = ["AML", "MDS"] }
conditioning = { type = "category", values = ["MAC", "RIC"], required = false }

[populations.aml]
column = "diagnosis"
equals = "AML"

[populations.older]
label = "aged 65 or over"
column = "age"
at_least = 65

[populations.older_aml]
all_of = ["aml", "older"]

[populations.not_older]
none_of = ["older"]

[populations.ric]
column = "conditioning"
one_of = ["RIC"]
""",
        encoding="utf-8",
    )
    pack = load_study(d)
    b = pack.baseline()
    assert list(b["patient"]) == ["A1", "A2", "A3", "A4"]  # the id column is the toolkit's 'patient'
    sets = {p: list(b.loc[pack.population_mask(b, p), "patient"]) for p in pack.population_names}
    assert sets == {
        "cohort": ["A1", "A2", "A3", "A4"],
        "aml": ["A1", "A3", "A4"],
        "older": ["A2", "A3"],
        "older_aml": ["A3"],
        "not_older": ["A1", "A4"],
        "ric": ["A2", "A3"],
    }
    assert pack.population_label("older") == "aged 65 or over" and pack.population_label("ric") == "ric"
    assert bool(b["is_older_aml"].sum() == 1)
    assert pack.published() is None and pack.constraints_path is None


def test_output_folders_are_per_study():
    pack = default_study()
    assert output_key(pack, None) == "huang2024"
    assert output_key(pack, HUANG / "reconstructed") == "huang2024"
    assert output_key(pack, "elsewhere/my cohort.csv") == "data-my-cohort"


def test_a_pack_needs_outcomes_or_published_figures(tmp_path):
    (tmp_path / "study.toml").write_text(
        '[study]\nid = "x"\ntitle = "xyz"\nshort_name = "xy"\ncitation = "0123456789"\n[files]\n', encoding="utf-8"
    )
    with pytest.raises(StudyError, match="key 'files': found 'a table'; expected outcomes"):
        load_study(tmp_path)
    with pytest.raises(StudyError, match=r"a folder without study\.toml"):
        load_study(tmp_path / "..")


def test_fit_takes_the_study_and_its_own_landmark(tmp_path):
    """An outcomes-only pack: entry at day 0 gives landmark 0; no published figure is drawn."""
    import pandas as pd

    from models.workflows import FitSettings, fit_study
    from models.workflows.fit import default_landmark

    d = tmp_path / "own"
    d.mkdir()
    t = pd.read_csv(HUANG / "reconstructed" / "draw_001.csv", dtype=str, keep_default_na=False)
    t["entry_day"] = "0"
    t.to_csv(d / "outcomes.csv", index=False)
    (d / "study.toml").write_text(
        '[study]\nid = "own"\ntitle = "Own cohort"\nshort_name = "Own cohort"\ncitation = "Unpublished cohort."\n'
        '[files]\noutcomes = "outcomes.csv"\n',
        encoding="utf-8",
    )
    res = fit_study(FitSettings(study=d, draws=500, chains=2, max_summary_draws=1000))
    assert res.study.id == "own" and res.own_data and res.landmark == 0
    assert res.study.published() is None
    assert (d / "study.toml") in res.inputs
    figs = res.figures()
    assert figs["survival_efs_os"]._suptitle.get_text().startswith("Own cohort")
    import matplotlib.pyplot as plt

    for f in figs.values():
        plt.close(f)
    # the default study's landmark is its published median start of maintenance, from its tables
    assert default_landmark(default_study().outcome_tables()) == 102


def test_rules_on_the_id_column_and_numbers(tmp_path):
    """A rule may name the declared id column; equals on a number column compares numbers."""
    d = tmp_path / "num"
    d.mkdir()
    (d / "baseline.csv").write_text("pid,weight\nA1,60.0\nA2,72.5\nA3,60\n", encoding="utf-8")
    shutil.copy(HUANG / "reconstructed" / "draw_001.csv", d / "outcomes.csv")
    (d / "study.toml").write_text(
        '[study]\nid = "num"\ntitle = "Numbers"\nshort_name = "Numbers"\ncitation = "A. Author. J 2025;1:1."\n'
        '[files]\nbaseline = "baseline.csv"\noutcomes = "outcomes.csv"\n'
        '[columns]\npid = { type = "id" }\nweight = { type = "number" }\n'
        '[populations.sixty]\ncolumn = "weight"\nequals = 60\n'
        '[populations.first]\ncolumn = "pid"\none_of = ["A1"]\n',
        encoding="utf-8",
    )
    pack = load_study(d)
    b = pack.baseline()
    assert list(b.loc[pack.population_mask(b, "sixty"), "patient"]) == ["A1", "A3"]
    assert list(b.loc[pack.population_mask(b, "first"), "patient"]) == ["A1"]


def test_one_follow_up_date_per_study(pack):
    _edit(pack, 'short_name = "Huang et al. 2024"', 'short_name = "Huang et al. 2024"\nlast_followup_date = 2024-03-11')
    with pytest.raises(StudyError, match=r"study\.last_followup_date'.*2024-03-11.*2024-03-10"):
        load_study(pack).published()


def test_constraints_refuse_unknown_keys_in_every_table(pack):
    from models.errors import ConfigError
    from models.reconstruct import load_constraints

    study = load_study(pack)
    text = (pack / "constraints.toml").read_text(encoding="utf-8")
    for old, new, where in [
        ('population_size = "n_included"', 'population_size = "n_included"\nsize = 3', "study"),
        ("enabled = true", "enabled = true\nuntil = 5", "admin_censoring"),
    ]:
        (pack / "constraints.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
        with pytest.raises(ConfigError, match=f"{where}, field '(size|until)': found 'an unknown key'"):
            load_constraints(pack / "constraints.toml", study.published(), study.baseline(), study=study)
