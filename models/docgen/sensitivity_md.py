"""Generated passages of ``docs/sensitivity.md``."""

from __future__ import annotations

from models.docgen.core import Block

DOC = "docs/sensitivity.md"

BLOCKS: list[Block] = []
