"""Shipped study data: Table 1 cells, published figures, and every validation rule."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from models.constants import REPO_ROOT
from models.data import (
    OUTCOME_COLUMNS,
    IgnoredColumnsWarning,
    check_outcomes_match_baseline,
    load_baseline,
    load_outcomes,
    load_published,
    population_mask,
)
from models.errors import DataError

#: The letter's full text shipped in the pack (CC BY 4.0, reproduced unchanged)
SEED_TEXT = REPO_ROOT / "data" / "huang2024" / "letter.txt"
#: The same text as distributed beside the checkout, when present
SHARED_TEXT = REPO_ROOT.parent / "shared" / "seed" / "000_cade4cfc9954c631.txt"


# ----------------------------------------------------------------------------- Table 1


def test_baseline_loads_all_21_patients():
    b = load_baseline()
    assert list(b["patient"]) == [f"P{i}" for i in range(1, 22)]
    assert b["age"].dtype.kind == "i"


@pytest.mark.parametrize(
    ("patient", "column", "printed"),
    [
        ("P1", "molecular_alterations", "PAX5::ESRRA, FLT3-TKD, NRAS, PAX5, KRAS, KDM6A"),
        ("P1", "donor_type", "MUD"),
        ("P3", "diagnosis", "Ph-negative B-ALL (secondary to AA)"),
        ("P5", "molecular_alterations_pre_hsct", "NA"),
        ("P12", "days_diagnosis_to_hsct", 4768),
        ("P13", "disease_status_pre_hsct", "CR2 with detectable MRD"),
        ("P14", "cytogenetic_molecular_risk", "Standard risk"),
        ("P15", "diagnosis", "B-LBL"),
        ("P16", "molecular_alterations", "BCR::ABL1/IKZF1"),
        ("P17", "molecular_alterations", "NA"),
        ("P17", "age", 15),
        ("P19", "molecular_alterations", "Negative"),
        ("P21", "molecular_alterations_pre_hsct", "Positive"),
        ("P21", "donor_type", "MSD"),
    ],
)
def test_table1_spot_checks(patient, column, printed):
    b = load_baseline().set_index("patient")
    assert b.loc[patient, column] == printed


def test_continued_table_prints_no_days_for_p18_to_p21():
    b = load_baseline().set_index("patient")
    assert b.loc[["P18", "P19", "P20", "P21"], "days_diagnosis_to_hsct"].isna().all()
    assert b.loc[[f"P{i}" for i in range(1, 18)], "days_diagnosis_to_hsct"].notna().all()


@pytest.mark.skipif(not SHARED_TEXT.exists(), reason="the distributed seed text is not beside the checkout")
def test_shipped_letter_is_the_distributed_text_unchanged():
    assert SEED_TEXT.read_bytes() == SHARED_TEXT.read_bytes()


def test_baseline_equals_printed_table_cell_for_cell():
    """Every row of baseline.csv equals the tab-separated printed row (italics markup removed)."""
    lines = SEED_TEXT.read_text(encoding="utf-8").splitlines()
    with open(REPO_ROOT / "data/huang2024/baseline.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 21
    for row in rows:
        printed = next(line for line in lines if line.startswith(row["patient"] + "\t"))
        cells = [re.sub(r"</?i>", "", c) for c in printed.split("\t")]
        assert [v for v in row.values() if v != ""] == cells


def test_derived_flags_match_published_counts():
    b, pub = load_baseline(), load_published()
    assert b["is_cr1_undetectable_mrd"].sum() == pub["cr1_undetectable_mrd"].value == 15
    assert b["is_refractory_relapsed"].sum() == pub["refractory_relapsed"].count == 9
    assert b["is_ph_positive"].sum() == pub["ph_positive"].value == 1
    assert b.loc[b["is_ph_positive"], "patient"].tolist() == list(pub["ph_positive"].patients)
    assert b["is_haploidentical"].sum() == pub["haploidentical_donor"].count == 17
    assert b["is_aged_18_or_under"].sum() == pub["aged_18_or_under"].value == 3
    assert round(100 * 9 / 21, 1) == pub["refractory_relapsed"].value


def test_populations_match_published_denominators():
    b, pub = load_baseline(), load_published()
    for fig in pub.figures.values():
        if fig.statistic == "km_survival":
            assert population_mask(b, fig.population).sum() == fig.denominator, fig.key


def test_named_patients_have_the_published_characteristics():
    b, pub = load_baseline().set_index("patient"), load_published()
    (p13,) = pub["relapse_rate"].patients
    assert b.loc[p13, "disease_status_pre_hsct"] == "CR2 with detectable MRD"
    assert b.loc[p13, "refractory_relapsed"] == "Y"
    (p3,) = pub["death_nrm_infection"].patients
    assert b.loc[p3, "is_cr1_undetectable_mrd"]
    assert set(pub["deaths_nrm"].patients) == {"P3", "P15"}
    assert all(
        b.loc[p, "refractory_relapsed"] == "Y" for p in pub["refractory_relapsed_sustained_mrd_remission"].patients
    )


# ----------------------------------------------------------------------------- published.toml


def test_published_holds_the_results_paragraphs():
    pub = load_published()
    must = {
        "followup": (325, (156, 775)),
        "transplant_to_blinatumomab": (102, (42, 227)),
        "agvhd_onset": (31, (13, 52)),
        "cgvhd_onset": (78, (35, 143)),
        "interval_between_cycles": (82, (31, 202)),
        "courses_per_patient": (2, (1, 6)),
    }
    for key, (value, rng) in must.items():
        assert pub[key].value == value and pub[key].range == rng
    assert (pub["os_1y"].value, pub["os_1y"].ci) == (81.6, (64.7, 100.0))
    assert (pub["efs_1y"].value, pub["efs_1y"].ci) == (82.1, (65.6, 100.0))
    assert (pub["grfs_1y"].value, pub["grfs_1y"].ci) == (82.5, (66.2, 100.0))
    assert (pub["os_1y_cr1"].value, pub["efs_1y_cr1"].value, pub["grfs_1y_cr1"].value) == (92.9, 92.9, 93.3)
    assert (pub["os_1y_non_rr"].value, pub["efs_1y_non_rr"].value) == (100, 100)
    assert pub["relapse_rate"].value == 6.3 and pub["relapse_rate"].patients == ("P13",)
    assert pub["alive"].count == 18 and pub["deaths_nrm"].value == 2
    assert pub["total_courses"].value == 42
    counts = [
        pub[k].value
        for k in ("patients_1_cycle", "patients_2_cycles", "patients_3_cycles", "patients_4_or_more_cycles")
    ]
    assert sum(counts) == 21
    assert pub["agvhd_1_2"].count + pub["agvhd_3_4"].count == pub["agvhd_onset"].denominator
    assert pub["cgvhd_mild_moderate"].value + pub["cgvhd_severe"].value == pub["cgvhd"].value


def test_published_percentages_agree_with_their_counts():
    pub = load_published()
    for fig in pub.figures.values():
        if fig.count is not None and fig.unit == "percent" and fig.key != "relapse_rate":
            assert abs(100 * fig.count / fig.denominator - fig.value) <= fig.tolerance + 1e-9, fig.key


def test_every_quote_is_in_the_letter():
    norm = lambda s: re.sub(r"\s+", " ", s.replace("$", "").replace("\\", ""))  # noqa: E731
    text = norm(SEED_TEXT.read_text(encoding="utf-8"))
    for fig in load_published().figures.values():
        assert norm(fig.quote) in text, fig.key


def _published_variant(published_path: Path, write, old: str, new: str) -> Path:
    text = published_path.read_text(encoding="utf-8")
    assert old in text
    return write("published.toml", text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("value = 81.6", "value = 61.6", "field 'ci'"),  # CI excludes its estimate
        ('statistic = "km_survival"', 'statistic = "kaplan"', "field 'statistic'"),
        ('population = "cr1_undetectable_mrd"', 'population = "cr1"', "field 'population'"),
        ("range = [156, 775]", "range = [775, 156]", "field 'range'"),
        ('unit = "days"', 'unit = "weeks"', "field 'unit'"),
        ("landmark_days = 365", "landmark_days = -365", "field 'landmark_days'"),
        ("decimals = 1", "decimals = 1.5", "field 'decimals'"),
        ("[figure.n_included]", "[figure.n_included]\nsource = 'x'", "field 'source'"),
        ("value = 21\n", "value = -21\n", "field 'value'"),
        ("[study]", "[studies]", "studies"),
        ("value = 81.6", "value = 81.6 81.6", "malformed TOML"),
    ],
)
def test_malformed_published_files_are_rejected_in_one_line(published_path, write, old, new, fragment):
    bad = _published_variant(published_path, write, old, new)
    with pytest.raises(DataError) as err:
        load_published(bad)
    msg = str(err.value)
    assert "\n" not in msg and str(bad) in msg and fragment in msg


def test_published_quote_is_required(published_path, write):
    text = published_path.read_text(encoding="utf-8")
    start = text.index("[figure.alive]")
    block_end = text.index("[figure.deaths_relapse]")
    block = text[start:block_end]
    stripped = "\n".join(line for line in block.splitlines() if not line.startswith("quote"))
    bad = write("p.toml", text[:start] + stripped + "\n" + text[block_end:])
    with pytest.raises(DataError, match=r"figure\.alive, field 'quote': found 'missing'"):
        load_published(bad)


# ----------------------------------------------------------------------------- baseline validation


def _baseline_variant(baseline_path: Path, write, row: int, column: str, value: str) -> Path:
    df = pd.read_csv(baseline_path, dtype=str, keep_default_na=False)
    df.loc[row, column] = value
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return write("baseline.csv", buf.getvalue())


@pytest.mark.parametrize(
    ("row", "column", "value", "fragment"),
    [
        (0, "sex", "M", "row 2 (patient P1), field 'sex': found 'M'"),
        (4, "age", "forty", "row 6 (patient P5), field 'age'"),
        (4, "age", "-3", "field 'age': found -3"),
        (2, "donor_type", "Haplo", "field 'donor_type'"),
        (2, "refractory_relapsed", "yes", "field 'refractory_relapsed'"),
        (7, "disease_status_pre_hsct", "CR1", "field 'disease_status_pre_hsct'"),
        (10, "days_diagnosis_to_hsct", "12.5", "field 'days_diagnosis_to_hsct'"),
        (1, "patient", "P1", "duplicated patient ID"),
        (1, "patient", "", "empty ID"),
        (3, "molecular_alterations", "", "field 'molecular_alterations'"),
    ],
)
def test_malformed_baseline_is_rejected_in_one_line(baseline_path, write, row, column, value, fragment):
    bad = _baseline_variant(baseline_path, write, row, column, value)
    with pytest.raises(DataError) as err:
        load_baseline(bad)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_baseline_missing_column_and_missing_file(baseline_path, write, tmp_path):
    df = pd.read_csv(baseline_path, dtype=str, keep_default_na=False).drop(columns="r_dri")
    bad = write("b.csv", df.to_csv(index=False))
    with pytest.raises(DataError, match="field 'r_dri'"):
        load_baseline(bad)
    with pytest.raises(DataError, match="no such file"):
        load_baseline(tmp_path / "absent.csv")
    with pytest.raises(DataError, match=r"unreadable CSV|field 'patient'"):
        load_baseline(write("e.csv", ""))


# ----------------------------------------------------------------------------- outcome validation

HEADER = ",".join(OUTCOME_COLUMNS)
GOOD = "\n".join(
    [
        HEADER,
        "P1,100,,150,,,400",
        "P2,60,200,,300,relapse,300",
        "P3,90,,120,250,nrm,250",
    ]
)


def test_valid_outcome_table_loads(write):
    df = load_outcomes(write("o.csv", GOOD))
    assert list(df.columns) == list(OUTCOME_COLUMNS)
    assert df.loc[1, "relapse_day"] == 200 and pd.isna(df.loc[0, "death_day"])


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("P4,-1,,,,,300", "field 'entry_day': found -1"),
        ("P4,,,,,,300", "field 'entry_day': found 'empty'"),
        ("P4,10,,,,,", "field 'last_followup_day'"),
        ("P4,10,abc,,,,300", "field 'relapse_day': found 'abc'"),
        ("P4,10,inf,,,,300", "finite"),
        ("P4,10,nan,,,,300", "finite"),
        ("P4,400,,,,,300", "field 'entry_day': found 400"),
        ("P4,100,50,,,,300", "field 'relapse_day': found 50"),
        ("P4,100,,350,,,300", "field 'gvhd_day': found 350"),
        ("P4,100,,,200,nrm,300", "field 'death_day': found 200"),
        ("P4,100,,,300,,300", "field 'death_cause': found 'empty'"),
        ("P4,100,,,300,accident,300", "field 'death_cause': found 'accident'"),
        ("P4,100,,,,nrm,300", "field 'death_cause': found 'nrm'"),
        ("P4,100,,,300,relapse,300", "field 'relapse_day': found 'empty'"),
        ("P4,100,200,,300,nrm,300", "a death after relapse is not non-relapse mortality"),
        ("P4,100,310,,300,relapse,300", "field 'relapse_day': found 310"),
        ("P1,100,,,,,300", "duplicated patient ID"),
    ],
)
def test_every_outcome_rule_has_a_malformed_file(write, line, fragment):
    bad = write("bad.csv", GOOD + "\n" + line)
    with pytest.raises(DataError) as err:
        load_outcomes(bad)
    msg = str(err.value)
    assert fragment in msg and "\n" not in msg and "bad.csv" in msg
    if not fragment.startswith("duplicated"):
        assert "row 5 (patient P4)" in msg


def test_outcome_header_problems(write):
    with pytest.raises(DataError, match="field 'gvhd_day'"):
        load_outcomes(write("o.csv", GOOD.replace("gvhd_day", "gvhd")))
    # an extra column (a site, an arm kept by the study team) is ignored with a warning, not refused
    with pytest.warns(IgnoredColumnsWarning, match=r"\['x'\] ignored"):
        got = load_outcomes(
            write(
                "o.csv",
                GOOD.replace("last_followup_day", "last_followup_day,x")
                .replace("\nP1,100,,150,,,400", "\nP1,100,,150,,,400,1")
                .replace("300,relapse,300", "300,relapse,300,1")
                .replace("250,nrm,250", "250,nrm,250,1"),
            )
        )
    pd.testing.assert_frame_equal(got, load_outcomes(write("plain.csv", GOOD)))


def test_row_numbers_count_blank_lines(write):
    """``row N`` is the file's line (what a spreadsheet shows), also after a blank line."""
    with pytest.raises(DataError, match=r"row 6 \(patient P9\)"):
        load_outcomes(write("o.csv", GOOD.rstrip("\n") + "\n\nP9,10,,,,,-5\n"))
    with pytest.raises(DataError, match="no patient rows"):
        load_outcomes(write("o.csv", HEADER + "\n"))


def test_outcomes_must_match_baseline_patients(write):
    df = load_outcomes(write("o.csv", GOOD))
    with pytest.raises(DataError, match=r"missing \['P4', 'P5'"):
        check_outcomes_match_baseline(df, load_baseline(), "o.csv")
