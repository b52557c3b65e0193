"""Every failure class of the prior schemas is one line naming the file, the table and the key.

The two prior file kinds are declared as schemas (:mod:`models.prior_sources.sources_toml` for
``data/priors/sources.toml``, :mod:`models.prior_sources.sets_toml` for prior-set files). One
parametrised test per kind edits a valid file into one failure (unknown key, missing key, wrong type,
out-of-bounds number, cross-field inconsistency such as an unordered bracket or a set citing an
unknown figure) and expects a :class:`~models.errors.PriorError` whose message is one line naming the
file, the dotted table, the key, what was found and what was expected; run the way the commands run
their bodies (:func:`models.cli.run_guarded`) it exits with status 2. The shipped files load, and the
schemas publish their bounds.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from models.cli import run_guarded
from models.errors import PriorError
from models.prior_library import read_sets
from models.prior_sources import SETS_TOML, SOURCES_TOML, load_sources, read_toml
from models.prior_sources.fields import MAX_DAY
from models.prior_sources.sets_toml import SetsToml, TransitionTable
from models.prior_sources.sources_toml import EntryTable, FigureTable, StudyTable

Edit = Callable[[str], str]
#: (case id, edit of the valid file, table (None: top level), key, fragment of what was found)
Case = tuple[str, Edit, str | None, str, str]


def _sub(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def _line(start: str, new: str) -> Edit:
    """Replace the first line that starts with ``start``."""

    def edit(text: str) -> str:
        i = text.index(start)
        return text[:i] + new + text[text.index("\n", i) :]

    return edit


def _check(load: Callable[[Path], Any], path: Path, text: str, where: str | None, key: str, found: str, capsys) -> None:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PriorError) as info:
        load(path)
    assert not isinstance(info.value, ValidationError) and info.value.__cause__ is None
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{path}, "), msg
    assert f"{path}, {where}, field '{key}'" in msg if where else f"{path}, field '{key}'" in msg, msg
    assert f"found {found}" in msg and "; expected " in msg, msg
    with pytest.MonkeyPatch.context() as mp:  # run_guarded replaces the warning printer: restore it
        mp.setattr(warnings, "showwarning", warnings.showwarning)
        assert run_guarded("priors", lambda: (load(path), 0)[1]) == 2
    err = capsys.readouterr().err
    assert err == f"priors: prior error: {msg}\n", err


# ------------------------------------------------------------------------------------ sources.toml
SOURCES = Path(SOURCES_TOML).read_text(encoding="utf-8")
GAB = "study.gaballa2022"
ENTRY = f"{GAB}.entry"
OS1Y = "figure.gaballa2022_os_1y"
CHANG = "figure.chang2020_cir_3y_haplo"
N21 = "n = 21\nfollowup_months = 14.3"
SOURCE_CASES: list[Case] = [
    # unknown keys
    ("unknown top-level table", _sub("[study.gaballa2022]\n", "[colour]\nx = 1\n[study.gaballa2022]\n"), None, "colour",
     "'an unknown top-level table'"),
    ("unknown study key", _sub(N21, N21 + "\ncolour = 1"), GAB, "colour", "'an unknown key'"),
    ("unknown population key", _sub('population = { disease = ', 'population = { colour = "x", disease = '),
     f"{GAB}.population", "colour", "'an unknown key'"),
    ("unknown entry key", _sub("median_day = 78", "median_day = 78\nmedian = 78"), ENTRY, "median", "'an unknown key'"),
    ("unknown figure key", _sub('landmark_months = 12\nestimate = 0.85', 'landmark_months = 12\nestimat = 0.85'),
     OS1Y, "estimat", "'an unknown key'"),
    # missing keys
    ("missing cohort size", _sub(N21, "followup_months = 14.3"), GAB, "n", "'missing'"),
    ("missing population key", _sub('population = { disease = "high-risk B-lineage ALL", ', "population = { "),
     f"{GAB}.population", "disease", "'missing'"),
    ("missing entry quote", _sub('quote = "The median time from HCT to the first cycle of blinatumomab was 78 days '
                                 '(range, 44 to 105)."\n', ""), ENTRY, "quote", "'missing'"),
    ("missing figure quote", _sub('quote = "One-year nonrelapse mortality was 5.6%."\n', ""),
     "figure.metheny2024_nrm_1y", "quote", "'missing'"),
    ("missing verified", _sub("verified = true\n\n[figure.gaballa2022_pfs_1y]", "\n[figure.gaballa2022_pfs_1y]"),
     OS1Y, "verified", "'missing'"),
    # wrong types
    ("float cohort size", _sub(N21, "n = 21.5\nfollowup_months = 14.3"), GAB, "n", "21.5"),
    ("bool cohort size", _sub(N21, "n = true\nfollowup_months = 14.3"), GAB, "n", "True"),
    ("text for a number", _sub("estimate = 0.85", 'estimate = "0.85"'), OS1Y, "estimate", "'0.85'"),
    ("text for a day", _sub("median_day = 78", 'median_day = "78"'), ENTRY, "median_day", "'78'"),
    ("text for a flag", _sub("\nverified = true\n", '\nverified = "yes"\n'), OS1Y, "verified", "'yes'"),
    ("number for a text", _sub('doi = ""', "doi = 5"), GAB, "doi", "5"),
    ("text for a table", _line("population = { disease = \"high-risk B-lineage ALL\"", 'population = "ALL"'), GAB,
     "population", "'ALL'"),
    ("text for a bracket", _sub("range = [44, 105]", 'range = "44-105"'), ENTRY, "range", "'44-105'"),
    ("short bracket", _sub("range = [44, 105]", "range = [44]"), ENTRY, "range", "[44]"),
    ("text in a bracket", _sub("ci = [0.17, 0.29]", 'ci = ["a", 0.29]'), CHANG, "ci", "'a'"),
    ("unknown endpoint", _sub('endpoint = "os"', 'endpoint = "pfs"'), OS1Y, "endpoint", "'pfs'"),
    # out of bounds
    ("no patients", _sub(N21, "n = 0\nfollowup_months = 14.3"), GAB, "n", "0"),
    ("negative cohort", _sub("estimate = 0.71\nn = 21", "estimate = 0.71\nn = -21"), "figure.gaballa2022_pfs_1y",
     "n", "-21"),
    ("negative day", _sub("median_day = 78", "median_day = -78"), ENTRY, "median_day", "-78"),
    ("day past 100 years", _sub("median_day = 78", f"median_day = {MAX_DAY + 1}"), ENTRY, "median_day",
     str(MAX_DAY + 1)),
    ("negative day in a bracket", _sub("range = [44, 105]", "range = [-44, 105]"), ENTRY, "range", "-44"),
    ("proportion above 1", _sub("estimate = 0.85", "estimate = 1.85"), OS1Y, "estimate", "1.85"),
    ("not finite", _sub("estimate = 0.85", "estimate = nan"), OS1Y, "estimate", "nan"),
    ("negative landmark", _sub("landmark_months = 12\nestimate = 0.85", "landmark_months = -12\nestimate = 0.85"),
     OS1Y, "landmark_months", "-12"),
    ("landmark past 100 years", _sub("landmark_months = 12\nestimate = 0.85",
                                     "landmark_months = 1201\nestimate = 0.85"), OS1Y, "landmark_months", "1201"),
    ("zero follow-up", _sub("followup_months = 14.3", "followup_months = 0"), GAB, "followup_months", "0"),
    ("median past 100 years", _sub("estimate = 8.5", "estimate = 8500"), "figure.stein2019_median_os", "estimate",
     "8500"),
    ("negative hazard ratio", _sub("estimate = 0.71\nci = [0.55, 0.93]", "estimate = -0.71\nci = [0.55, 0.93]"),
     "figure.tower2017_hr_death", "estimate", "-0.71"),
    # cross-field inconsistencies
    ("unordered entry range", _sub("range = [44, 105]", "range = [105, 44]"), ENTRY, "range", "[105, 44]"),
    ("range without the median", _sub("range = [44, 105]", "range = [80, 105]"), ENTRY, "range", "[80.0, 105.0]"),
    ("unordered interval", _sub("ci = [0.17, 0.29]", "ci = [0.29, 0.17]"), CHANG, "ci", "[0.29, 0.17]"),
    ("interval without the estimate", _sub("ci = [0.17, 0.29]", "ci = [0.25, 0.29]"), CHANG, "ci", "[0.25, 0.29]"),
    ("proportion without landmark", _sub("landmark_months = 12\nestimate = 0.85", "estimate = 0.85"), OS1Y,
     "landmark_months", "'missing'"),
    ("hazard ratio with landmark", _sub("estimate = 0.71\nci = [0.55, 0.93]",
                                        "landmark_months = 12\nestimate = 0.71\nci = [0.55, 0.93]"),
     "figure.tower2017_hr_death", "landmark_months", "12.0"),
    ("unknown study", _sub('study = "stein2019"', 'study = "stein2091"'), "figure.stein2019_median_os", "study",
     "'stein2091'"),
    ("entry on the landmark", _sub("median_day = 78\nrange = [44, 105]", "median_day = 365\nrange = [44, 500]"),
     OS1Y, "entry", "'entry day 365 (study.gaballa2022) on or after the landmark day 365'"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "where", "key", "found"), SOURCE_CASES, ids=[c[0] for c in SOURCE_CASES])
def test_sources_file_failures(tmp_path, capsys, case, edit, where, key, found):
    _check(load_sources, tmp_path / "sources.toml", edit(SOURCES), where, key, found, capsys)


def test_entry_that_is_not_a_table_names_the_expected_table(tmp_path, capsys):
    text = _sub("[study.gaballa2022.entry]\nmedian_day = 78", "[study.gaballa2022_x]\nmedian_day = 78")(SOURCES)
    text = _sub(N21, N21 + "\nentry = 78")(text)
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PriorError, match=r"study\.gaballa2022, field 'entry': found 78; expected a table \{median_day"):
        load_sources(path)


# ------------------------------------------------------------------------------------ prior sets
GOOD_SET = """
[set.mine]
description = "test"
[set.mine.relapse]
method = "power"
sources = [{ figures = ["gaballa2022_pfs_1y", "gaballa2022_nrm_1y"], a0 = 0.5 }]
"""
GAMMA = '[set.g]\ndescription = "x"\n[set.g.nrm]\nmethod = "gamma"\nshape = 1\nrate = 100\nprovenance = "hand"\n'
REL = "set.mine.relapse"
SRC0 = f"{REL}.sources[0]"
GNRM = "set.g.nrm"
A0 = "a0 = 0.5"
POWER = 'method = "power"'
FIGS = '["gaballa2022_pfs_1y", "gaballa2022_nrm_1y"]'
#: (case id, the valid file, edit, table, key, fragment of what was found)
SetCase = tuple[str, str, Edit, str | None, str, str]
SET_CASES: list[SetCase] = [
    # unknown keys
    ("unknown top-level table", GOOD_SET, _sub("[set.mine]", "x = 1\n[set.mine]"), None, "x",
     "'an unknown top-level table'"),
    ("unknown set key", GOOD_SET, _sub("description", "descr = 1\ndescription"), "set.mine", "descr",
     "'an unknown transition or key'"),
    ("unknown transition", GOOD_SET, _sub("[set.mine.relapse]", "[set.mine.relapsee]"), "set.mine", "relapsee",
     "'an unknown transition or key'"),
    ("unknown transition key", GOOD_SET, _sub(POWER, POWER + "\ncolour = 1"), REL, "colour", "'an unknown key'"),
    ("unknown source key", GOOD_SET, _sub(A0, A0 + ", b = 1"), SRC0, "b", "'an unknown key'"),
    # missing keys
    ("empty file", GOOD_SET, lambda _t: "", None, "set", "'missing'"),
    ("missing description", GOOD_SET, _sub('description = "test"\n', ""), "set.mine", "description", "'missing'"),
    ("missing method", GOOD_SET, _sub(POWER + "\n", ""), REL, "method", "'missing'"),
    ("missing figures", GOOD_SET, _sub(f"figures = {FIGS}, ", ""), SRC0, "figures", "'missing'"),
    ("missing provenance", GAMMA, _sub('provenance = "hand"\n', ""), GNRM, "provenance", "'missing'"),
    # wrong types
    ("text for a weight", GOOD_SET, _sub(A0, 'a0 = "x"'), SRC0, "a0", "'x'"),
    ("text for a flag", GOOD_SET, _sub(A0, A0 + ', all_events_relapse = "yes"'), SRC0, "all_events_relapse", "'yes'"),
    ("text for a set flag", GOOD_SET, _sub('description = "test"', 'description = "test"\nallow_unverified = "yes"'),
     "set.mine", "allow_unverified", "'yes'"),
    ("float for a whole number", GOOD_SET, _sub(POWER, POWER + "\nmax_components = 2.0"),
     REL, "max_components", "2.0"),
    ("text for a scale", GOOD_SET, _sub(POWER, POWER + '\ntau_scale = "a"'), REL, "tau_scale", "'a'"),
    ("text for figure keys", GOOD_SET, _sub(FIGS, '"gaballa2022_pfs_1y"'), SRC0, "figures", "'gaballa2022_pfs_1y'"),
    ("number for a description", GOOD_SET, _sub('description = "test"', "description = 5"), "set.mine",
     "description", "5"),
    ("blank description", GOOD_SET, _sub('description = "test"', 'description = "  "'), "set.mine", "description",
     "' '"),
    ("number for a transition", GOOD_SET, lambda t: t[: t.index("[set.mine.relapse]")] + "nrm = 5\n", "set.mine",
     "nrm", "5"),
    ("text for a rate", GAMMA, _sub("rate = 100", 'rate = "a"'), GNRM, "rate", "'a'"),
    ("unknown method", GOOD_SET, _sub(POWER, 'method = "magic"'), REL, "method", "'magic'"),
    ("unknown builtin", GOOD_SET, _sub('description = "test"', 'description = "test"\nbuiltin = "vague"'),
     "set.mine", "builtin", "'vague'"),
    # out of bounds
    ("weight above 1", GOOD_SET, _sub(A0, "a0 = 1.5"), SRC0, "a0", "1.5"),
    ("negative weight", GOOD_SET, _sub(A0, "a0 = -0.1"), SRC0, "a0", "-0.1"),
    ("weight not finite", GOOD_SET, _sub(A0, "a0 = nan"), SRC0, "a0", "nan"),
    ("zero robust weight", GOOD_SET, _sub(POWER, POWER + "\nrobust_weight = 0"), REL, "robust_weight", "0"),
    ("robust weight above 1", GOOD_SET, _sub(POWER, POWER + "\nrobust_weight = 2"), REL, "robust_weight", "2"),
    ("negative scale", GOOD_SET, _sub(POWER, POWER + "\ntau_scale = -1"), REL, "tau_scale", "-1"),
    ("zero scale", GOOD_SET, _sub(POWER, POWER + "\ncommensurability_scale = 0"), REL, "commensurability_scale",
     "0"),
    ("too many components", GOOD_SET, _sub(POWER, POWER + "\nmax_components = 10"), REL, "max_components", "10"),
    ("negative pseudo-events", GAMMA, _sub("shape = 1", "shape = -1"), GNRM, "shape", "-1"),
    ("zero exposure", GAMMA, _sub("rate = 100", "rate = [0]"), GNRM, "rate", "0"),
    ("empty set table", GOOD_SET, lambda _t: "[set]\n", None, "set", "'an empty [set] table'"),
    # cross-field inconsistencies, against the sources too
    ("unknown figure", GOOD_SET, _sub('"gaballa2022_pfs_1y", ', '"gaballa2099_pfs_1y", '), SRC0, "figures",
     "\"unknown source 'gaballa2099_pfs_1y'\""),
    ("unverified figure", GOOD_SET, _sub(FIGS, '["lu2024_cir_2y_cart"]'), SRC0, "figures",
     "\"unverified figure 'lu2024_cir_2y_cart'\""),
    ("endpoint of another transition", GOOD_SET, _sub(FIGS, '["stein2019_os_1y"]'), SRC0, "figures",
     "'stein2019_os_1y (os)'"),
    ("all events relapse out of relapse", GOOD_SET,
     lambda t: t.replace("relapse]", "nrm]").replace(A0, A0 + ", all_events_relapse = true"), "set.mine.nrm.sources[0]",
     "all_events_relapse", "True"),
    ("a0 without power", GOOD_SET, _sub(POWER, 'method = "map"'), SRC0, "a0", "0.5"),
    ("robust weight with commensurate", GOOD_SET,
     lambda t: t.replace(POWER, 'method = "commensurate"\nrobust_weight = 0.5').replace(", a0 = 0.5", ""), REL,
     "robust_weight", "0.5"),
    ("sources for weak", GOOD_SET, _sub(POWER, 'method = "weak"'), REL, "sources", "'1 source(s) citing"),
    ("power without sources", GOOD_SET, _sub(f"sources = [{{ figures = {FIGS}, {A0} }}]", "sources = []"), REL,
     "sources", "[]"),
    ("gamma lists of unequal length", GAMMA, _sub("shape = 1\nrate = 100", "shape = [1, 2]\nrate = [100]"), GNRM,
     "shape", "'shape = [1.0, 2.0], rate = [100.0]'"),
    ("shape without gamma", GOOD_SET, _sub(POWER, POWER + "\nshape = 1"), REL, "shape", "[1.0]"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "valid", "edit", "where", "key", "found"), SET_CASES, ids=[c[0] for c in SET_CASES])
def test_prior_set_file_failures(tmp_path, capsys, case, valid, edit, where, key, found):
    sources = load_sources()
    path = tmp_path / "mine.toml"
    path.write_text(valid, encoding="utf-8")
    assert read_sets(path, sources)  # the unedited file is valid
    _check(lambda p: read_sets(p, sources), path, edit(valid), where, key, found, capsys)


# ------------------------------------------------------------------------------------ shipped files
def test_shipped_files_load():
    sources = load_sources()
    doc = read_toml(SOURCES_TOML)
    assert list(sources.studies) == list(doc["study"]) and list(sources.figures) == list(doc["figure"])
    assert sources.studies["gaballa2022"].entry.range == (44.0, 105.0)
    sets = read_sets(SETS_TOML, sources)
    assert list(sets) == list(read_toml(SETS_TOML)["set"]) and all(s.path == str(SETS_TOML) for s in sets.values())
    lit = sets["literature"].transitions
    assert list(lit) == ["relapse", "nrm", "gvhd", "death_after_relapse"]
    assert lit["relapse"].robust_weight == 0.8 and lit["relapse"].sources[0].a0 == 1.0
    assert isinstance(lit["death_after_relapse"].tau_scale, float) and lit["death_after_relapse"].max_components == 4


def test_schemas_publish_their_bounds():
    """The bounds are declared, not buried in code: they show in the JSON schema of each table."""
    entry = EntryTable.model_json_schema()["properties"]["median_day"]
    assert (entry["minimum"], entry["maximum"]) == (0, MAX_DAY)
    assert StudyTable.model_json_schema()["properties"]["n"]["minimum"] == 1
    ci = FigureTable.model_json_schema()["properties"]["ci"]["anyOf"][0]
    assert ci["type"] == "array"
    t = TransitionTable.model_json_schema()["properties"]
    assert (t["max_components"]["minimum"], t["max_components"]["maximum"]) == (1, 4)
    assert t["tau_scale"]["exclusiveMinimum"] == 0
    assert "set" in SetsToml.model_json_schema()["required"]
