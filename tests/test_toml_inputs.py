"""Every TOML input kind is read through one function (``models.io.read_toml``) with one behaviour.

For each loader and its shipped file: a copy with a UTF-8 byte-order mark (as some Windows
editors write it) loads to the same result; random bytes, a folder, a missing file and an empty
name each give a one-line toolkit error naming the file (never a traceback); an oversized file
is refused before it is read.
"""

from __future__ import annotations

import os

import pytest

from models.claims import load_claims
from models.constants import DATA_DIR
from models.data import load_baseline, load_published
from models.design import load_design
from models.errors import ToolkitError
from models.io import TOML_MAX_BYTES, read_toml
from models.prior_library import read_sets
from models.prior_sources import load_sources
from models.reconstruct import load_constraints
from models.report import load_barg

LOADERS = {
    "claims": (load_claims, DATA_DIR / "claims.toml"),
    "published": (load_published, DATA_DIR / "huang2024" / "published.toml"),
    "constraints": (
        lambda p: load_constraints(p, load_published(), load_baseline()),
        DATA_DIR / "huang2024" / "constraints.toml",
    ),
    "sources": (load_sources, DATA_DIR / "priors" / "sources.toml"),
    "sets": (read_sets, DATA_DIR / "priors" / "sets.toml"),
    "design": (lambda p: load_design(p, design_priors=False), DATA_DIR / "designs" / "single_arm.toml"),
    "barg": (load_barg, DATA_DIR / "report" / "barg.toml"),
}


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_byte_order_mark_is_accepted(kind, tmp_path):
    load, shipped = LOADERS[kind]
    copy = tmp_path / shipped.name
    copy.write_bytes(b"\xef\xbb\xbf" + shipped.read_bytes())
    assert read_toml(copy) == read_toml(shipped)
    load(copy)  # the loader itself accepts it


@pytest.mark.parametrize("kind", sorted(LOADERS))
@pytest.mark.parametrize("case", ["random bytes", "folder", "missing", "malformed"])
def test_bad_file_is_one_line_naming_it(kind, case, tmp_path):
    load, shipped = LOADERS[kind]
    bad = tmp_path / shipped.name
    if case == "random bytes":
        bad.write_bytes(os.urandom(64) + b"\xff\xfe")
    elif case == "folder":
        bad.mkdir()
    elif case == "malformed":
        bad.write_text("[table\nkey = ", encoding="utf-8")
    with pytest.raises(ToolkitError) as info:
        load(bad)
    msg = str(info.value)
    assert "\n" not in msg and str(bad) in msg and "expected" in msg


def test_empty_name_and_oversized_file(tmp_path):
    with pytest.raises(ToolkitError, match="empty file name"):
        read_toml("")
    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.truncate(TOML_MAX_BYTES + 1)  # sparse: nothing is written or read
    with pytest.raises(ToolkitError, match="bytes"):
        read_toml(big)
