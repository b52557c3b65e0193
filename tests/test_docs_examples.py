"""The notebook example of docs/architecture.md runs as written (its output folder redirected)."""

from __future__ import annotations

import os
import re

import pytest

from models.constants import REPO_ROOT


@pytest.mark.slow
def test_the_architecture_notebook_example_runs(tmp_path, capsys):
    text = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    code = blocks[0].replace('"results/my_fit"', repr(str(tmp_path / "my_fit")))
    cwd = os.getcwd()
    os.chdir(REPO_ROOT)  # the example names the pack relative to the checkout
    try:
        namespace: dict = {}
        exec(compile(code, "docs/architecture.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    assert (tmp_path / "my_fit" / "manifest.json").is_file()
    assert namespace["fit"].tables["summary.csv"].shape[0] > 0
    assert "relapse" in capsys.readouterr().out.lower()
