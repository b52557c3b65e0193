"""The shipped study packs end to end, through the scripts, with no code specific to any of them.

* ``data/bmt_scrucca2007``: a real per-patient cohort (outcomes only; scikit-survival's ``bmt``);
* ``data/synthetic_aml_letter``: a synthetic letter-only pack with its own Table 1, reconstructed;
* ``data/huang2024`` (the default pack): validated only.

Broken copies of the letter pack must stop every script with exit status 2, one stderr line naming
the file and the key or row, and nothing written.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from models.constants import DATA_DIR
from models.data import load_outcome_draws
from models.endpoints import derive
from models.nonparametric import km_at
from models.study import load_study
from models.synthetic_study import generate

BMT = DATA_DIR / "bmt_scrucca2007"
LETTER = DATA_DIR / "synthetic_aml_letter"
HUANG = DATA_DIR / "huang2024"

#: A small scenario grid: the base scenario, the weak prior and the from-transplant time origin
GRID = """\
[base]
prior = "literature"
draws_per_table = 20
seed = 1
day = 365

[[factors]]
name = "prior set"
kind = "prior"
levels = ["weak"]

[[factors]]
name = "time origin"
kind = "from_transplant"
levels = [true]
"""


@functools.cache
def _script(name: str) -> ModuleType:
    return importlib.import_module(f"models.cli.{name}")


def _run(name: str, *argv: str) -> int:
    return _script(name).main([str(a) for a in argv])


# ----------------------------------------------------------------------------- validate


@pytest.mark.parametrize("pack", [BMT, LETTER, HUANG], ids=lambda p: p.name)
def test_validate_prints_citation_and_populations(pack, capsys):
    assert _run("validate_data", "--study", pack) == 0
    out = capsys.readouterr().out
    study = load_study(pack)
    assert study.info.citation in out
    if study.info.doi:
        assert study.info.doi in out
    for name in study.population_names:
        assert f"  {name} " in out
    if study.outcomes_path is not None:
        assert "outcome tables valid" in out


def test_packs_declare_their_own_tables():
    bmt, letter = load_study(BMT), load_study(LETTER)
    assert (bmt.id, letter.id) == ("bmt_scrucca2007", "synthetic_aml_letter")
    assert bmt.published_path is None and bmt.constraints_path is None and bmt.text_path is None
    assert set(bmt.populations) == {"aml", "all_leukaemia"}
    base = bmt.baseline()
    assert base is not None and (int(base["is_aml"].sum()), int(base["is_all_leukaemia"].sum())) == (18, 17)
    assert list(letter.columns) == ["patient", "age", "sex", "diagnosis", "donor", "conditioning", "status"]
    assert letter.text_path is not None and letter.text_path.name == "letter.txt"
    pub = letter.published()
    assert pub is not None
    assert {f.population for f in pub.figures.values()} == {"cohort", "cr1"}


# ----------------------------------------------------------------------------- provenance


def test_bmt_outcomes_regenerate_identically_from_sksurv():
    pytest.importorskip("sksurv")
    from real_cohorts import bmt_outcomes
    from sksurv.datasets import load_bmt

    from models.data import format_outcomes

    text = format_outcomes(bmt_outcomes()).to_csv(index=False, lineterminator="\n")
    assert (BMT / "outcomes.csv").read_text(encoding="utf-8") == text
    x, _y = load_bmt()
    disease = ["AML" if str(v) == "1" else "ALL" for v in x["dis"]]
    base = load_study(BMT).baseline()
    assert base is not None and base["disease"].tolist() == disease


def test_letter_pack_regenerates_byte_identical(tmp_path):
    paths = generate(LETTER / "generator.toml", tmp_path)
    for name in ("published.toml", "baseline.csv", "constraints.toml", "letter.txt", "study.toml"):
        assert (tmp_path / name).read_bytes() == (LETTER / name).read_bytes(), name
    assert set(paths) == {"published", "baseline", "constraints", "study", "text"}
    # study.toml names the reconstruction's folder before it exists; the pack loads and says what to run
    assert 'outcomes = "reconstructed"' in (tmp_path / "study.toml").read_text(encoding="utf-8")
    assert not (tmp_path / "reconstructed").exists()
    load_study(tmp_path)


def test_letter_quotes_are_sentences_of_the_letter():
    pub = load_study(LETTER).published()
    assert pub is not None
    text = (LETTER / "letter.txt").read_text(encoding="utf-8")
    for fig in pub.figures.values():
        assert fig.quote in text, fig.key
        assert not fig.quote.startswith("synthetic"), fig.key


# ----------------------------------------------------------------------------- reconstruct


def _all_checks_ok(manifest: dict) -> None:
    assert manifest["draws"]
    for draw in manifest["draws"]:
        assert draw["checks"] and all(c["ok"] for c in draw["checks"]), draw["file"]


def test_letter_reconstructs_every_figure(tmp_path):
    out = tmp_path / "rec"
    assert _run("reconstruct", "--study", LETTER, "--out", out, "--draws", 3, "--quiet") == 0
    assert sorted(p.name for p in out.iterdir()) == ["draw_001.csv", "draw_002.csv", "draw_003.csv", "manifest.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    _all_checks_ok(manifest)
    pub = load_study(LETTER).published()
    assert pub is not None
    checked = {c["name"] for c in manifest["draws"][0]["checks"]}
    assert set(pub.figures) - {"n_included"} <= checked  # n_included is the table's size
    study = load_study(LETTER)
    for table in load_outcome_draws(out):  # and independently of the script, with lifelines
        base = study.baseline()
        assert base is not None and table["patient"].tolist() == base["patient"].tolist()
        for fig in pub.select(statistic="km_survival"):
            mask = study.population_mask(base, fig.population).to_numpy()
            d = derive(table[mask], fig.endpoint, from_transplant=True)
            est = km_at(d["duration"], d["event"], fig.landmark_days)
            assert fig.ci is not None
            for got, want in zip((est.estimate, est.lower, est.upper), (fig.value, *fig.ci), strict=True):
                assert abs(100 * got - want) <= fig.tolerance, fig.key


def test_shipped_letter_reconstruction_is_complete():
    manifest = json.loads((LETTER / "reconstructed" / "manifest.json").read_text())
    assert manifest["M"] == 20 and len(list((LETTER / "reconstructed").glob("draw_*.csv"))) == 20
    _all_checks_ok(manifest)
    assert "data/synthetic_aml_letter/study.toml" in manifest["inputs_sha256"]


# ----------------------------------------------------------------------------- bad packs


def _copy(tmp_path: Path) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(LETTER, pack, ignore=shutil.ignore_patterns("reconstructed", "README.md", "generator.toml"))
    study = pack / "study.toml"
    study.write_text(study.read_text().replace('outcomes = "reconstructed"\n', ""))
    return pack


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _delete(pack: Path) -> None:
    (pack / "constraints.toml").unlink()


BAD_PACKS = {
    "missing_file": (_delete, ("study.toml", "files.constraints")),
    "unknown_column": (
        lambda p: _edit(p / "study.toml", 'column = "status"', 'column = "stage"'),
        ("study.toml", "populations.cr1", "stage"),
    ),
    "population_matching_nobody": (
        lambda p: _edit(p / "study.toml", "at_least = 60", "at_least = 100"),
        ("baseline.csv", "aged_60_or_over", "no patient"),
    ),
    "unknown_population": (
        lambda p: _edit(p / "published.toml", 'population = "cr1"', 'population = "cr2"'),
        ("published.toml", "figure.os_1y_cr1", "cr2"),
    ),
    "unknown_endpoint": (
        lambda p: _edit(p / "published.toml", 'endpoint = "efs"', 'endpoint = "pfs"'),
        ("published.toml", "figure.efs_1y", "pfs"),
    ),
    "quote_not_in_letter": (
        lambda p: _edit(p / "letter.txt", "The cumulative incidence of relapse was", "Relapse occurred in"),
        ("published.toml", "figure.relapse_rate", "quote", "letter.txt"),
    ),
    "unknown_study_key": (
        lambda p: _edit(p / "study.toml", "[study]\n", '[study]\ncolour = "blue"\n'),
        ("study.toml", "study.colour", "unknown key"),
    ),
    "missing_study_id": (
        lambda p: _edit(p / "study.toml", 'id = "synthetic_aml_letter"\n', ""),
        ("study.toml", "study.id", "missing"),
    ),
}


def test_unedited_copy_is_a_valid_pack(tmp_path, capsys):
    pack = _copy(tmp_path)
    assert _run("validate_data", "--study", pack) == 0
    capsys.readouterr()


@pytest.mark.parametrize("case", sorted(BAD_PACKS))
def test_bad_pack_exit_2_one_line_nothing_written(case, tmp_path, capsys):
    pack = _copy(tmp_path)
    edit, fragments = BAD_PACKS[case]
    edit(pack)
    out = tmp_path / "out"
    assert _run("reconstruct", "--study", pack, "--out", out, "--draws", 1, "--quiet") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("reconstruct.py: "), err[0]
    for fragment in fragments:
        assert fragment in err[0], (fragment, err[0])
    assert not out.exists()
    assert _run("validate_data", "--study", pack) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- fit and sensitivity


@pytest.mark.slow
def test_fit_bmt_entry_at_day_zero_with_figures(tmp_path):
    out, figs = tmp_path / "fit", tmp_path / "figs"
    assert _run("fit", "--study", BMT, "--quiet", "--out", out, "--figures-dir", figs) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["study"] == "bmt_scrucca2007"
    assert manifest["data_is_study_outcomes"] is True  # its own outcome tables, though no published figures
    assert manifest["landmark_day"] == 0  # everyone enters at transplant
    assert (out / "summary.csv").is_file()
    assert {p.stem for p in figs.glob("*.png")} >= {"survival_efs_os", "incidence_relapse_nrm"}


@pytest.mark.slow
def test_fit_letter_pack(tmp_path):
    out = tmp_path / "fit"
    assert _run("fit", "--study", LETTER, "--quiet", "--out", out, "--no-figures") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["study"] == "synthetic_aml_letter" and manifest["data_is_study_outcomes"] is True
    assert (out / "summary.csv").is_file()
    assert not (out / "figures").exists()


def _sensitivity(pack: Path, tmp_path: Path) -> dict:
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID, encoding="utf-8")
    out = tmp_path / "sens"
    assert _run("sensitivity", "--study", pack, "--config", grid, "--out", out, "--no-figures", "--quiet") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / "scenarios.csv").is_file()
    return manifest


def test_sensitivity_bmt_small_grid(tmp_path):
    manifest = _sensitivity(BMT, tmp_path)
    assert manifest["study"] == "bmt_scrucca2007" and 2 <= manifest["n_scenarios"] <= 4


@pytest.mark.slow
def test_sensitivity_letter_small_grid(tmp_path):
    manifest = _sensitivity(LETTER, tmp_path)
    assert manifest["study"] == "synthetic_aml_letter" and manifest["n_tables"] == 20
