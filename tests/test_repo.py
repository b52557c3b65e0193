"""The README's commands stay true: CI runs the README's test command verbatim."""

from __future__ import annotations

import re

from models.constants import REPO_ROOT


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme[readme.index("## Quick start") : readme.index("## Scripts")]
    blocks = _bash_blocks(quick)
    assert len(blocks) == 2
    main_cmd, test_cmd = blocks
    assert "scripts/fit.py" in main_cmd and "pip install" in main_cmd
    assert "pytest" in test_cmd and "pip install" in test_cmd
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_cmd in ci.splitlines()


def test_pyproject_declares_the_required_dependencies_and_extras():
    import tomllib

    with open(REPO_ROOT / "pyproject.toml", "rb") as fh:
        pp = tomllib.load(fh)
    deps = " ".join(pp["project"]["dependencies"])
    # nutpie is a core dependency: the README's main command is the fast install users get
    for name in ("pymc", "arviz", "numpy", "pandas", "matplotlib", "scipy", "lifelines", "nutpie"):
        assert name in deps
    extras = pp["project"]["optional-dependencies"]
    assert any("hypothesis" in d for d in extras["test"]) and any("pytest" in d for d in extras["test"])
    assert any("scikit-survival" in d for d in extras["test"])  # real transplant cohorts for checks
    assert pp["project"]["requires-python"] == ">=3.11"
