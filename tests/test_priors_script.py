"""scripts/priors.py: list, show (audit table with every citation), plot, and one-line errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from models.constants import REPO_ROOT
from models.prior_library import load_prior_set
from models.prior_sources import load_sources


def _script():
    spec = importlib.util.spec_from_file_location("priors_script", REPO_ROOT / "scripts" / "priors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def script():
    return _script()


def test_list_names_every_set_and_figure(script, capsys):
    assert script.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("literature", "md_anderson", "skeptical", "enthusiastic", "weak", "half_event_per_interval"):
        assert name in out
    assert "tower2017_hr_death" in out and "N(-0.342, 0.134^2)" in out


def test_show_literature_cites_every_source_used(script, capsys):
    assert script.main(["show", "literature", "--draws", "2000"]) == 0
    out = capsys.readouterr().out
    src = load_sources()
    ps = load_prior_set("literature", sources=src)
    used = {f for pv in ps.provenance.values() for f in pv.figures}
    assert used
    for key in used:
        f = src.figures[key]
        assert key in out
        assert src.studies[f.study].citation in out
        assert f.quote in out and f.url in out
    for k in ("relapse", "nrm", "gvhd", "death_after_relapse"):
        assert f"== {k} ==" in out
    assert "relapse_cif" in out and "prior weight, relapse (first year)" in out and "informative component" in out


def test_show_with_outcomes_adds_the_conflict_check(script, capsys, write):
    csv = write(
        "outcomes.csv",
        "patient,entry_day,relapse_day,gvhd_day,death_day,death_cause,last_followup_day\n"
        "P1,80,200,,,,400\nP2,80,,,300,nrm,300\nP3,80,,,,,500\n",
    )
    assert script.main(["show", "md_anderson", "--draws", "1000", "--outcomes", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "Prior-data conflict" in out and "p_value" in out


@pytest.mark.parametrize(
    "text",
    [
        '[set.x]\ndescription = "x"\n[set.x.relapse]\nmethod = "power"\nsources = [{ figures = ["nope"] }]\n',
        '[set.x]\ndescription = "x"\n[set.x.relapse]\nmethod = "power"\n'
        'sources = [{ figures = ["gaballa2022_pfs_1y", "gaballa2022_nrm_1y"], a0 = 2 }]\n',
        "[set.x\n",
    ],
)
def test_bad_prior_file_exits_2_with_one_line_and_writes_nothing(script, capsys, write, tmp_path, text):
    path = write("bad.toml", text)
    out_dir, res_dir = tmp_path / "fig", tmp_path / "res"
    code = script.main(["plot", str(path), "--out", str(out_dir), "--results", str(res_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err and str(path) in err
    assert not out_dir.exists() and not res_dir.exists()


def test_unknown_name_exits_2(script, capsys):
    assert script.main(["show", "no_such_set"]) == 2
    assert "one of" in capsys.readouterr().err


def test_plot_writes_png_svg_and_tables(script, tmp_path, capsys):
    out_dir, res_dir = tmp_path / "fig", tmp_path / "res"
    assert (
        script.main(["plot", "md_anderson", "--out", str(out_dir), "--results", str(res_dir), "--draws", "1000"]) == 0
    )
    for stem in ("prior_densities", "prior_predictive_incidence"):
        assert (out_dir / f"{stem}.png").stat().st_size > 10_000
        assert (out_dir / f"{stem}.svg").exists()
    for name in ("ess.csv", "landmarks_1y.csv", "prior.json", "manifest.json"):
        assert (res_dir / name).exists()
    assert Path(capsys.readouterr().out.split()[0]).name == "prior_densities.png"


def test_bad_sources_file_exits_2(script, capsys, write):
    text = (
        Path(load_sources().path)
        .read_text(encoding="utf-8")
        .replace("estimate = 0.71\nn = 21", "estimate = 0.71\nn = -21")
    )
    bad = write("sources.toml", text)
    assert script.main(["show", "md_anderson", "--sources", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "gaballa2022_pfs_1y, field 'n'" in err and err.count("\n") == 1
