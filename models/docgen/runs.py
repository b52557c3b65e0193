"""The commands the docs quote, run once each as a reader would type them."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import ClassVar

import pandas as pd

from models.constants import REPO_ROOT
from models.errors import ConfigError


class Runs:
    """Runs ``scripts/<name>.py`` with given options into a private temporary folder, once per options.

    ``runs.csv("fit.py", "--prior", "weak", name="summary")`` runs ``python scripts/fit.py --prior
    weak --out <tmp> --no-figures --quiet`` (the output options of :attr:`OUTPUT_OPTIONS` are added
    here) and reads ``<tmp>/summary.csv``. Later calls with the same options reuse the folder.
    """

    #: options that send a command's outputs to the private folder ``{out}``, per script
    OUTPUT_OPTIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        "fit.py": ("--out", "{out}", "--no-figures", "--quiet"),
        "sensitivity.py": ("--out", "{out}", "--no-figures"),
        "plan_trial.py": ("--out", "{out}", "--figures", "{out}/figures"),
        "priors.py": ("--results", "{out}", "--out", "{out}/figures"),
    }

    def __init__(self, root: Path | None = None) -> None:
        self._tmp = None if root is not None else tempfile.TemporaryDirectory(prefix="txbayes-docs-")
        self.root = Path(root) if root is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self._done: dict[tuple[str, ...], Path] = {}

    def out(self, script: str, *options: str) -> Path:
        """The output folder of ``scripts/<script> <options>`` (run on first use)."""
        key = (script, *options)
        if key not in self._done:
            out = self.root / f"run{len(self._done)}"
            cmd = [sys.executable, str(REPO_ROOT / "scripts" / script), *options]
            cmd += [o.format(out=out) for o in self.OUTPUT_OPTIONS.get(script, ("--out", "{out}"))]
            done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise ConfigError(
                    " ".join(["scripts/" + script, *options]),
                    found=f"exit status {done.returncode}: {done.stderr.strip()[-300:]}",
                    expected="a command that runs (the docs quote its outputs)",
                )
            self._done[key] = out
        return self._done[key]

    def csv(self, script: str, *options: str, name: str) -> pd.DataFrame:
        """``<name>.csv`` of ``scripts/<script> <options>``."""
        return pd.read_csv(self.out(script, *options) / f"{name}.csv")

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
