"""`fit.py --control`: the comparison's outputs, its one-computation rule and its option errors."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.data import format_outcomes
from models.simulate import simulate_cohort

fit = importlib.import_module("models.cli.fit")
HAZ = {
    "relapse": [1 / 1500, 1 / 2000, 1 / 3000, 1 / 5000, 1 / 8000],
    "nrm": [1 / 3000, 1 / 4000, 1 / 6000, 1 / 8000, 1 / 9000],
    "gvhd": [1 / 800, 1 / 1000, 1 / 2000, 1 / 3000, 1 / 3000],
    "death_after_relapse": [1 / 150, 1 / 300, 1 / 700],
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "reconstructed"
    d.mkdir()
    for i in (1, 2):
        df = simulate_cohort(
            30, HAZ, (0, 100, 180, 365, 730), (0, 90, 365), entry_range=(42, 227), followup_range=(300, 800), seed=i
        ).round(0)
        format_outcomes(df).to_csv(d / f"draw_{i:03d}.csv", index=False)
    return d


def _run(tmp_path: Path, data: Path, *args: str, name: str = "out") -> tuple[int, Path]:
    out = tmp_path / name
    argv = ["--data", str(data), "--out", str(out), "--figures-dir", str(tmp_path / f"{name}_f"), "--quiet"]
    return fit.main([*argv, "--draws", "250", "--max-summary-draws", "1000", *args]), out


def test_control_outputs_are_written_once_computed(tmp_path, folder):
    code, out = _run(tmp_path, folder, "--prior", "weak", "--control", "chang2020_haplo", "--control", "xu2014_haplo")
    assert code == 0
    head = pd.read_csv(out / "comparative.csv")
    sweep = pd.read_csv(out / "comparative_sweep.csv")
    assert set(head["control"]) == {"chang2020_haplo", "xu2014_haplo"}
    assert sorted(sweep["a0"].unique()) == pytest.approx([0.05 * i for i in range(21)])
    for name, g in head.groupby("control"):
        row = sweep[(sweep["control"] == name) & np.isclose(sweep["a0"], 1.0)].iloc[0]
        hr = g[g["quantity"] == "hr_relapse"].iloc[0]
        assert (hr["median"], hr["p_below_1"]) == (row["hr_relapse_median"], row["hr_relapse_p_below_1"])
        diff = g[g["quantity"] == "relapse_1y_difference"].iloc[0]
        assert diff["median"] == row["relapse_1y_difference_median"]
        # a0 = 0: the control is ignored, the HR is its prior N(0, 2^2)
        zero = sweep[(sweep["control"] == name) & (sweep["a0"] == 0)].iloc[0]
        assert zero["hr_relapse_p_below_1"] == pytest.approx(0.5, abs=1e-9)
        assert zero["hr_relapse_upper"] == pytest.approx(np.exp(1.959964 * 2), rel=1e-3)
        assert g[g["quantity"] == "tipping_a0"]["note"].iloc[0].startswith("smallest a0")
    for stem in ("comparative_hr_forest", "comparative_incidence", "comparative_a0_sweep"):
        assert (out / "figures" / f"{stem}.png").is_file()
    man = json.loads((out / "manifest.json").read_text())
    assert [c["id"] for c in man["controls"]] == ["chang2020_haplo", "xu2014_haplo"]
    assert "comparative.csv" in man["outputs"]
    assert any(k.endswith("chang2020_haplo/control.toml") for k in man["inputs_sha256"])


def test_no_control_no_comparative_outputs(tmp_path, folder):
    code, out = _run(tmp_path, folder, "--prior", "weak", "--no-figures", "--no-control")
    assert code == 0 and not (out / "comparative.csv").exists()
    assert "controls" not in json.loads((out / "manifest.json").read_text())


def test_the_study_names_its_controls(tmp_path, folder):
    """Without --control the study pack's [comparison] controls are compared (the default study names three)."""
    from models.study import load_study

    code, out = _run(tmp_path, folder, "--prior", "weak", "--no-figures")
    assert code == 0
    named = list(load_study().controls)
    assert named == ["chang2020_haplo", "chang2020_msd", "xu2014_haplo"]
    assert list(dict.fromkeys(pd.read_csv(out / "comparative.csv")["control"])) == named
    assert [c["id"] for c in json.loads((out / "manifest.json").read_text())["controls"]] == named


def _copy_of_default_pack(tmp_path: Path) -> Path:
    """The default study's pack files copied to ``tmp_path/pack`` (its tables linked), to edit."""
    from models.study.pack import default_study

    src = default_study().root
    pack = tmp_path / "pack"
    pack.mkdir()
    for f in src.iterdir():
        if f.is_file():
            (pack / f.name).write_bytes(f.read_bytes())
    (pack / "reconstructed").symlink_to(src / "reconstructed")
    return pack


def test_a_study_naming_an_unknown_control_is_a_one_line_error(tmp_path):
    from models.errors import StudyError
    from models.study import load_study

    pack = _copy_of_default_pack(tmp_path)
    toml = pack / "study.toml"
    text = toml.read_text().replace('"chang2020_msd"', '"chang2021_msd"')
    toml.write_text(text.replace("\nchang2020_msd = [", "\nchang2021_msd = ["))  # its differences too
    with pytest.raises(StudyError) as exc:
        load_study(pack)
    msg = str(exc.value)
    assert "\n" not in msg and "key 'comparison.controls[1]'" in msg and "chang2021_msd" in msg
    assert "chang2020_haplo" in msg  # the expected names are listed


def test_differences_must_name_a_listed_control(tmp_path):
    from models.errors import StudyError
    from models.study import load_study

    pack = _copy_of_default_pack(tmp_path)
    toml = pack / "study.toml"
    toml.write_text(toml.read_text().replace("\nxu2014_haplo = [", "\nxu2015_haplo = ["))
    with pytest.raises(StudyError) as exc:
        load_study(pack)
    msg = str(exc.value)
    assert "\n" not in msg and "comparison" in msg and "xu2015_haplo" in msg


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--control", "nope2020"], "--control"),
        (["--control", "chang2020_haplo", "--no-control"], "--no-control"),
        (["--control", "chang2020_haplo", "--prior", "md_anderson_commensurate"], "--prior"),
        (["--control", "chang2020_haplo", "--control-a0", "1.5"], "--control-a0"),
        (["--control", "chang2020_haplo", "--hr-prior-sd", "0"], "--hr-prior-sd"),
        (["--control", "chang2020_haplo", "--control", "chang2020_haplo"], "twice"),
    ],
)
def test_bad_control_options_exit_2_with_one_line(tmp_path, folder, capsys, args, fragment):
    code, out = _run(tmp_path, folder, "--no-figures", *args)
    err = capsys.readouterr().err.strip()
    assert code == 2 and fragment in err and len(err.splitlines()) == 1 and not out.exists()


def test_report_section_reads_the_fits_comparison(tmp_path, folder):
    from types import SimpleNamespace

    from models.report_sections_comparative import comparative

    code, out = _run(tmp_path, folder, "--prior", "weak", "--control", "chang2020_msd")
    assert code == 0
    manifests = {"fit": json.loads((out / "manifest.json").read_text())}
    section = comparative(SimpleNamespace(step_dir=lambda name: out, manifests=manifests))
    assert section is not None
    head = pd.read_csv(out / "comparative.csv").set_index("quantity")
    hr = head.loc["hr_relapse"]
    assert f"{hr['median']:.2f} ({hr['lower']:.2f}–{hr['upper']:.2f})" in section.body
    assert section.body.count("<img") == 3  # forest, incidence, a0 sweep
    # Per control: its population and caveats from its pack; the study's differences only with a study.
    from models.comparative.packs import load_control
    from models.report_html import esc
    from models.study.pack import default_study

    pop = load_control("chang2020_msd").spec.population
    assert esc(pop.caveats[0]) in section.body and "Against this study" not in section.body
    study = default_study()
    with_study = comparative(SimpleNamespace(step_dir=lambda name: out, manifests=manifests, study=study))
    assert with_study is not None
    assert esc("Against this study: " + study.control_differences["chang2020_msd"][0]) in with_study.body
    from models.html_check import check_html
    from models.report_html import page

    assert check_html(page("t", "s", [section], generated="now")) == []
    (out / "comparative.csv").unlink()
    assert comparative(SimpleNamespace(step_dir=lambda name: out, manifests=manifests)) is None


def test_comparative_figures_have_no_overlapping_text(folder):
    import matplotlib.pyplot as plt
    from figure_text import overlapping_texts

    from models.workflows import FitSettings, fit_study

    settings = FitSettings(
        data=folder,
        prior="weak",
        draws=250,
        max_summary_draws=1000,
        controls=("chang2020_haplo", "chang2020_msd", "xu2014_haplo"),
    )
    figures = fit_study(settings).figures()
    for name in ("comparative_hr_forest", "comparative_incidence", "comparative_a0_sweep"):
        assert overlapping_texts(figures[name]) == [], name
    for fig in figures.values():
        plt.close(fig)


def test_a0_zero_treated_incidence_is_the_single_arm_fits(tmp_path, folder):
    code, out = _run(tmp_path, folder, "--prior", "weak", "--control", "xu2014_haplo", "--no-figures")
    assert code == 0
    sweep = pd.read_csv(out / "comparative_sweep.csv")
    zero = sweep[sweep["a0"] == 0].iloc[0]
    landmark = int(pd.read_csv(out / "comparative.csv")["landmark_day"].iloc[0])
    curves = pd.read_csv(out / "curves.csv")
    single = curves[(curves["scale"] == "conditional") & (curves["day"] == landmark + 365)].set_index("quantity")
    # the same posterior (exactly, test_comparative.py), drawn twice: medians within Monte Carlo error
    # of 1,000 pooled draws (sd of a median ~ 0.01 here; tolerance 0.03)
    for q, col in (("relapse_cif", "relapse_1y_treated_median"), ("nrm_cif", "nrm_1y_treated_median")):
        assert zero[col] == pytest.approx(single.loc[q, "median"], abs=0.03)
