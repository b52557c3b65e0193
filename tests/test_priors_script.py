"""The priors command (``models.cli.priors``, ``scripts/priors.py``) and its workflows (``models.workflows.priors``).

list, show (audit table with every citation), plot, one-line errors; the workflow API gives the
same text and files as the command.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from models.constants import REPO_ROOT
from models.errors import ConfigError
from models.prior_library import load_prior_set
from models.prior_sources import load_sources
from models.workflows.priors import PriorSettings, audit_prior, plot_prior, prior_catalog

OUTCOMES = (
    "patient,entry_day,relapse_day,gvhd_day,death_day,death_cause,last_followup_day\n"
    "P1,80,200,,,,400\nP2,80,,,300,nrm,300\nP3,80,,,,,500\n"
)


@pytest.fixture(scope="module")
def script():
    return importlib.import_module("models.cli.priors")


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
    csv = write("outcomes.csv", OUTCOMES)
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


def test_script_is_a_shim_of_the_command():
    text = (REPO_ROOT / "scripts" / "priors.py").read_text(encoding="utf-8")
    assert 'launch("priors")' in text and "sys.path.insert" not in text


# ----------------------------------------------------------------------------- workflow API


def test_catalog_tables_and_effect_prior_known_answer():
    # TOWER (Kantarjian 2017): HR for death 0.71 (95% CI 0.55-0.93); log HR ~ N(log 0.71, sd^2),
    # sd = (log 0.93 - log 0.55) / (2 z), z = 1.959964 the normal 97.5% quantile
    cat = prior_catalog()
    assert {"literature", "md_anderson", "weak"} <= set(cat.tables["sets"]["name"])
    assert set(cat.tables["figures"]["figure"]) == set(load_sources().figures)
    tower = cat.tables["effect_priors"].set_index("figure").loc["tower2017_hr_death"]
    assert tower.log_hr_mean == pytest.approx(np.log(0.71), abs=1e-12)
    assert tower.log_hr_sd == pytest.approx((np.log(0.93) - np.log(0.55)) / (2 * norm.ppf(0.975)), abs=1e-12)
    assert "tower2017_hr_death" in cat.report() and "N(-0.342, 0.134^2)" in cat.report()


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    csv = tmp_path_factory.mktemp("outcomes") / "outcomes.csv"
    csv.write_text(OUTCOMES, encoding="utf-8")
    return audit_prior(PriorSettings(prior="md_anderson", draws=1000, outcomes=csv)), csv


def test_audit_tables(audit):
    result, _ = audit
    t = result.tables
    for k in ("relapse", "nrm", "gvhd", "death_after_relapse"):
        assert len(t[f"intervals_{k}"]) == (3 if k == "death_after_relapse" else 5)
        assert "ess_events" in t[f"intervals_{k}"] and "pull_events" in t[f"intervals_{k}"]  # with outcome tables
    assert "pseudo_events" in t["intervals_relapse"]  # the MD Anderson sources inform relapse
    assert list(t["one_year"]["transition"]) == ["relapse", "nrm", "gvhd", "death_after_relapse"]
    one = t["one_year"]
    assert ((one["lower"] <= one["median"]) & (one["median"] <= one["upper"])).all()
    assert ((one["lower"] >= 0) & (one["upper"] <= 1)).all()
    assert result.n_tables == 1 and "p_value" in t["prior_data_conflict"]
    used = {f for pv in result.prior.provenance.values() for f in pv.figures}
    assert set(t["figures_used"]["figure"]) == used and t["figures_used"]["quote"].str.len().min() > 0


def test_audit_report_is_what_show_prints(audit, script, capsys):
    result, csv = audit
    assert script.main(["show", "md_anderson", "--draws", "1000", "--outcomes", str(csv)]) == 0
    assert capsys.readouterr().out == result.report() + "\n"


def test_audit_without_outcomes_has_no_conflict_check():
    result = audit_prior(PriorSettings(prior="weak", draws=200))
    assert "prior_data_conflict" not in result.tables and result.n_tables is None
    assert "pull_events" not in result.tables["intervals_relapse"]
    assert "Prior-data conflict" not in result.report() and "depends on the data (--outcomes)" in result.report()


@pytest.mark.parametrize(
    "settings, name",
    [
        (PriorSettings(prior="weak", draws=5), "draws"),
        (PriorSettings(prior="weak", draws=2_000_000), "draws"),
        (PriorSettings(prior="weak", seed=-1), "seed"),
        (PriorSettings(prior="weak", cuts=(100.0, 0.0)), "cuts"),
        (PriorSettings(prior="weak", relapse_death_cuts=(0.0, 0.0)), "relapse_death_cuts"),
    ],
)
def test_settings_errors_name_the_setting(settings, name):
    with pytest.raises(ConfigError) as err:
        audit_prior(settings)
    assert err.value.source == name and "\n" not in str(err.value)


def test_plot_prior_writes_the_same_files_as_the_command(script, tmp_path, capsys):
    settings = PriorSettings(prior="weak", draws=200, cuts=(0.0, 100.0, 365.0), seed=5)
    result = plot_prior(settings)
    assert set(result.tables) == {"ess.csv", "landmarks_1y.csv"} and result.params == result.prior.params()
    figs = result.figures()
    assert set(figs) == {"prior_densities", "prior_predictive_incidence"}
    assert len(figs["prior_densities"].axes) == 4 and len(figs["prior_predictive_incidence"].axes) == 2
    import matplotlib.pyplot as plt

    for fig in figs.values():
        plt.close(fig)
    api = result.write(tmp_path / "api_fig", tmp_path / "api_res")
    assert [p.name for p in api] == [
        "prior_densities.png",
        "prior_densities.svg",
        "prior_predictive_incidence.png",
        "prior_predictive_incidence.svg",
        "ess.csv",
        "landmarks_1y.csv",
        "prior.json",
        "manifest.json",
    ]
    assert all(p.is_file() for p in api)
    doc = json.loads((tmp_path / "api_res" / "manifest.json").read_text())
    assert doc["command"].startswith("models.workflows.priors.plot_prior(") and doc["seed"] == 5
    assert set(doc["inputs_sha256"]) == {"data/priors/sources.toml", "data/priors/sets.toml"}
    argv = ["plot", "weak", "--draws", "200", "--cuts", "0,100,365", "--seed", "5"]
    argv += ["--out", str(tmp_path / "cli_fig"), "--results", str(tmp_path / "cli_res")]
    assert script.main(argv) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == [p.name for p in api]
    for a in api:  # byte for byte, but for the manifest's time stamp and command
        c = Path(str(a).replace("api_", "cli_"))
        if a.name != "manifest.json":
            assert a.read_bytes() == c.read_bytes(), a.name
    cli = json.loads((tmp_path / "cli_res" / "manifest.json").read_text())
    assert cli["command"] == "python scripts/priors.py " + " ".join(argv)


def test_default_folder_name(script):
    assert script.default_folder_name("literature") == "literature"
    assert script.default_folder_name("my/own_set.toml") == "own_set"
