"""The sensitivity workflow (``models.workflows.sensitivity``) and its thin command give the same outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from models.errors import ConfigError
from models.sensitivity import build_scenarios


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """The command (``models.cli.sensitivity``) and the workflow on the same tiny grid and two tables."""
    import shutil

    from test_scripts_smoke import TINY

    from models.cli import sensitivity as command
    from models.constants import RECONSTRUCTED_DIR
    from models.workflows.sensitivity import SensitivitySettings, run_sensitivity

    root = tmp_path_factory.mktemp("sens_workflow")
    data = root / "draws"
    data.mkdir()
    for f in sorted(RECONSTRUCTED_DIR.glob("draw_*.csv"))[:2]:
        shutil.copy(f, data / f.name)
    cfg = root / "grid.toml"
    cfg.write_text(TINY)
    out, figs = root / "out", root / "figs"
    argv = ["--config", str(cfg), "--data", str(data), "--out", str(out), "--figures", str(figs), "--quiet"]
    assert command.main(argv) == 0
    result = run_sensitivity(SensitivitySettings(config=cfg, data=data))
    return {"data": data, "config": cfg, "out": out, "figs": figs, "argv": argv, "result": result}


#: What the command writes with a heat-map grid and figures
COMMAND_FILES = {
    "scenarios.csv",
    "tipping_points.csv",
    "power_scaling.csv",
    "verdict.txt",
    "manifest.json",
    *(f"{stem}.{ext}" for stem in ("tornado_relapse_1y", "tornado_claim", "tipping_heatmap") for ext in ("png", "svg")),
}


def test_workflow_tables_and_verdict_are_what_the_command_writes(tiny_runs):
    res, out = tiny_runs["result"], tiny_runs["out"]
    assert list(res.tables) == ["scenarios.csv", "tipping_points.csv", "power_scaling.csv"]
    for name, table in res.tables.items():
        assert table.to_csv(index=False, lineterminator="\n") == (out / name).read_text(), name
    assert res.verdict == (out / "verdict.txt").read_text().splitlines()
    assert res.report() == "\n".join(res.verdict)
    assert len(res.tables["scenarios.csv"]) == 1 + 2 + 2 + 6 and res.n_tables == 2


def test_workflow_write_gives_the_command_files(tiny_runs, tmp_path):
    """``result.write(folder)`` writes the command's files, byte for byte; the manifests differ only in
    the time of the run and the command recorded."""
    import json

    res, out = tiny_runs["result"], tiny_runs["out"]
    written = res.write(tmp_path / "w")
    assert {p.name for p in written} == COMMAND_FILES == {p.name for p in (tmp_path / "w").iterdir()}
    for name in COMMAND_FILES - {"manifest.json"}:
        assert (tmp_path / "w" / name).read_bytes() == (out / name).read_bytes(), name
    mine, theirs = (json.loads((d / "manifest.json").read_text()) for d in (tmp_path / "w", out))
    assert list(mine) == list(theirs)
    for key in set(mine) - {"created_utc", "seconds", "command"}:
        assert mine[key] == theirs[key], key
    assert mine["command"].startswith("models.workflows.sensitivity.run_sensitivity(SensitivitySettings(")
    assert res.write(tmp_path / "c", figures=False, command="my notebook")[-1].name == "manifest.json"
    doc = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert doc["command"] == "my notebook" and not list((tmp_path / "c").glob("*.png"))
    assert sorted(doc["outputs"]) == sorted(COMMAND_FILES - {n for n in COMMAND_FILES if n.endswith(("png", "svg"))})


def test_command_outputs_figure_copies_manifest_and_no_cache_left(tiny_runs):
    """The command's folder holds exactly its files, the figures folder byte-equal copies of the figures,
    the manifest the command line and every input; the per-scenario cache is gone after success."""
    import json

    out, figs = tiny_runs["out"], tiny_runs["figs"]
    assert {p.name for p in out.iterdir()} == COMMAND_FILES
    assert {p.name for p in figs.iterdir()} == {n for n in COMMAND_FILES if n.endswith((".png", ".svg"))}
    for f in figs.iterdir():
        assert f.read_bytes() == (out / f.name).read_bytes()
    doc = json.loads((out / "manifest.json").read_text())
    assert doc["command"] == " ".join(["python", "scripts/sensitivity.py", *tiny_runs["argv"]])
    assert doc["seed"] == 3 and doc["n_scenarios"] == 11 and doc["n_tables"] == 2 and doc["study"] == "huang2024"
    assert doc["data_is_study_outcomes"] is False and sorted(doc["outputs"]) == sorted(COMMAND_FILES)
    assert {Path(k).name for k in doc["inputs_sha256"]} >= {
        "grid.toml", "draw_001.csv", "draw_002.csv", "sources.toml", "sets.toml", "claims.toml"
    }  # fmt: skip
    assert not any(p.name.endswith("-cache") for p in out.parent.iterdir())


def test_figures_are_those_that_apply(tiny_runs):
    """With a heat-map grid: both tornados and the heat map; without one, the relapse tornado only."""
    from dataclasses import replace

    import matplotlib.pyplot as plt

    res = tiny_runs["result"]
    figs = res.figures()
    assert list(figs) == ["tornado_relapse_1y", "tornado_claim", "tipping_heatmap"]
    for fig in figs.values():
        plt.close(fig)
    plain = replace(res, config=replace(res.config, grid=None))
    (only,) = plain.figures().items()
    assert only[0] == "tornado_relapse_1y"
    plt.close(only[1])


def test_workflow_resumes_from_its_cache_and_resume_false_empties_it(tiny_runs, tmp_path, monkeypatch):
    from dataclasses import replace

    import models.sensitivity.grid as grid
    from models.workflows.sensitivity import SensitivitySettings, default_cache_dir, run_sensitivity

    assert default_cache_dir(tmp_path / "out") == tmp_path / ".out-cache"  # where the command keeps it
    settings = SensitivitySettings(config=tiny_runs["config"], data=tiny_runs["data"])
    cache = tmp_path / "cache"
    first = run_sensitivity(settings, cache_dir=cache)
    distinct = {sc.key() for sc in build_scenarios(first.config, 2)}  # a level equal to the base is the base
    assert len(list(cache.glob("*.json"))) == len(distinct) == 10
    pd.testing.assert_frame_equal(first.tables["scenarios.csv"], tiny_runs["result"].tables["scenarios.csv"])
    with monkeypatch.context() as m:  # resume: every scenario from the cache, none computed
        m.setattr(grid, "_run_scenario", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
        again = run_sensitivity(settings, cache_dir=cache)
    pd.testing.assert_frame_equal(first.tables["scenarios.csv"], again.tables["scenarios.csv"])
    (cache / "stale.json").write_text("{}")
    fresh = run_sensitivity(replace(settings, resume=False), cache_dir=cache)
    assert not (cache / "stale.json").exists()
    pd.testing.assert_frame_equal(first.tables["scenarios.csv"], fresh.tables["scenarios.csv"])


def _pack_without_outcomes(tmp_path: Path) -> Path:
    """A copy of the letter pack whose study.toml names no outcome tables."""
    import shutil

    from models.constants import DATA_DIR

    pack = tmp_path / "pack"
    pack.mkdir()
    src = DATA_DIR / "synthetic_aml_letter"
    for name in ("baseline.csv", "published.toml", "constraints.toml", "letter.txt"):
        shutil.copy(src / name, pack / name)
    text = (src / "study.toml").read_text(encoding="utf-8")
    (pack / "study.toml").write_text(text.replace('outcomes = "reconstructed"\n', ""), encoding="utf-8")
    return pack


def test_settings_errors_name_the_setting_and_the_command_its_option(tmp_path, capsys):
    from models.cli import sensitivity as command
    from models.workflows.sensitivity import SensitivitySettings, run_sensitivity

    with pytest.raises(ConfigError, match=r"^workers: found 0"):
        run_sensitivity(SensitivitySettings(workers=0))
    pack = _pack_without_outcomes(tmp_path)
    with pytest.raises(ConfigError) as exc:
        run_sensitivity(SensitivitySettings(study=pack))
    assert str(exc.value).startswith("data: found 'none (") and "\n" not in str(exc.value)
    assert command.main(["--study", str(pack), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"sensitivity.py: study pack error: {pack / 'study.toml'}, files, field 'outcomes': found 'missing'; "
        "expected outcome tables in the pack (reconstruct.py writes them), or --data"
    ]
    assert not (tmp_path / "out").exists()
