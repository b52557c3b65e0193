"""Shared fixtures: paths to the shipped data and a writer for throw-away CSV/TOML files."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.constants import BASELINE_CSV, PUBLISHED_TOML, REPO_ROOT


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def baseline_path() -> Path:
    return BASELINE_CSV


@pytest.fixture
def published_path() -> Path:
    return PUBLISHED_TOML


@pytest.fixture
def write(tmp_path: Path):
    """Write ``text`` to ``tmp_path/name`` and return the path."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return _write
