"""Generated passages of ``docs/trial_planning.md``."""

from __future__ import annotations

from models.docgen.core import Block

DOC = "docs/trial_planning.md"

BLOCKS: list[Block] = []
