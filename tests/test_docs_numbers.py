"""The numbers the docs quote are what their commands print today (``scripts/docs.py``).

Every ``<!-- generated: NAME -->`` passage is re-rendered from fresh runs of its commands and
compared character for character with the committed text (slow: the commands run the fit for
every shipped prior set, the sensitivity grid and the trial planning). The fast tests check the
markers: every passage in the docs has a renderer and every renderer a passage.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from models.constants import REPO_ROOT
from models.docgen import blocks, spans
from models.errors import ConfigError


def test_every_marker_has_a_renderer_and_every_renderer_a_marker():
    registered = {(b.doc, b.name) for b in blocks()}
    assert len(registered) == len(blocks()), "a passage name is registered twice"
    found = set()
    for path in [*sorted((REPO_ROOT / "docs").glob("*.md")), REPO_ROOT / "README.md"]:
        text = path.read_text(encoding="utf-8")
        for name in spans(text):
            found.add((str(path.relative_to(REPO_ROOT)), name))
        assert len(re.findall(r"<!-- generated: ", text)) == len(spans(text))
    assert found == registered


def test_an_unclosed_marker_is_a_one_line_error():
    with pytest.raises(ConfigError, match="unmatched or repeated marker"):
        spans("a\n<!-- generated: x -->\nbody\n")
    with pytest.raises(ConfigError):
        one = "<!-- generated: x -->\n1\n<!-- end generated: x -->\n"
        spans(one + one)


def test_unknown_passage_name_exits_2():
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "docs.py"), "--only", "no-such-passage"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "no-such-passage" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_every_generated_passage_is_current():
    """One run of every command the docs quote (shared between passages, about 6 minutes)."""
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "docs.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(blocks())} of {len(blocks())} generated passages current" in done.stdout
