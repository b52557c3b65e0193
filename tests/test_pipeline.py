"""Staleness rules of the report's pipeline, on throw-away steps (no real command is run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from models.constants import REPO_ROOT
from models.errors import ConfigError
from models.io import manifest
from models.pipeline import Step, default_steps, ensure, status


def toy_main(argv: list[str]) -> int:
    """A toy command: writes a table and its manifest, or fails in one line."""
    out, inp, engine = Path(argv[0]), Path(argv[1]), argv[2]
    if engine == "fail":
        print("step.py: configuration error: it broke", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.csv").write_text("a\n1\n")
    doc = manifest(
        command="step", seed=1, inputs=[inp], outputs=["table.csv", "manifest.json"], extra={"engine": engine}
    )
    (out / "manifest.json").write_text(json.dumps(doc))
    return 0


@pytest.fixture
def step(tmp_path: Path):
    inp = tmp_path / "input.toml"
    inp.write_text("x = 1\n")
    out = tmp_path / "out"

    def make(engine: str = "exact", extra_inputs=()) -> Step:
        return Step(
            "toy",
            "a toy step",
            toy_main,
            (str(out), str(inp), engine),
            out,
            lambda: [inp, *extra_inputs],
            {"engine": "exact"},
        )

    return make, inp, out


def test_missing_then_fresh_after_a_run(step):
    make, _, _ = step
    s = make()
    assert status(s).state == "missing"
    runs = ensure([s], quiet=True)
    assert runs[0].action == "ran" and runs[0].status.fresh
    again = ensure([s], quiet=True)
    assert again[0].action == "used"


def test_changed_input_makes_the_step_stale(step):
    make, inp, _ = step
    ensure([make()], quiet=True)
    inp.write_text("x = 2\n")
    st = status(make())
    assert st.state == "stale" and any("changed" in r for r in st.reasons)
    assert ensure([make()], run=False)[0].action == "skipped"
    assert ensure([make()], quiet=True)[0].action == "ran"


def test_missing_output_new_input_and_other_settings_are_stale(step, tmp_path):
    make, _, out = step
    ensure([make()], quiet=True)
    (out / "table.csv").unlink()
    assert any("output table.csv" in r for r in status(make()).reasons)
    ensure([make()], quiet=True)
    new = tmp_path / "new.csv"
    new.write_text("b\n")
    assert any("was not an input" in r for r in status(make(extra_inputs=[new])).reasons)
    doc = json.loads((out / "manifest.json").read_text())
    doc["engine"] = "nuts"
    (out / "manifest.json").write_text(json.dumps(doc))
    assert any("setting engine" in r for r in status(make()).reasons)


def test_force_reruns_a_fresh_step(step):
    make, _, _ = step
    ensure([make()], quiet=True)
    assert ensure([make()], force=["toy"], quiet=True)[0].action == "ran"


def test_a_failing_step_is_one_line(step):
    make, _, _ = step
    with pytest.raises(ConfigError) as exc:
        ensure([make(engine="fail")], quiet=True)
    msg = str(exc.value)
    assert "\n" not in msg and "exit 2" in msg and "it broke" in msg


def test_manifest_keys_are_repository_relative(tmp_path):
    doc = manifest(command="x", seed=0, inputs=[REPO_ROOT / "data" / "claims.toml", tmp_path], outputs=[])
    assert "data/claims.toml" in doc["inputs_sha256"]


def test_default_pipeline_order_and_scripts(tmp_path):
    steps = default_steps(tmp_path / "results", tmp_path / "figures")
    assert [s.name for s in steps] == ["reconstruction", "priors", "fit", "fit_nuts", "sensitivity", "plan"]
    for s in steps:
        assert (REPO_ROOT / s.script).is_file()  # the script that runs the same command
        assert callable(s.main())  # the command, run in-process
    # only the committed reconstruction is written inside the repository; study steps under <root>/huang2024
    assert all(str(s.out_dir).startswith(str(tmp_path)) for s in steps[1:])
    assert steps[0].out_dir == REPO_ROOT / "data" / "huang2024" / "reconstructed"
    for s in steps[2:]:
        assert s.out_dir == tmp_path / "results" / "huang2024" / s.name
        assert s.args[:2] == ("--study", "data/huang2024")
    assert steps[1].out_dir == tmp_path / "results" / "priors" / "literature"  # the prior set is shared by studies
    # the committed reconstruction is up to date with its inputs
    assert status(steps[0]).fresh, status(steps[0]).reasons
