r"""Numbers in the docs, generated from the commands that produce them.

A document marks each generated passage with a pair of HTML comments, which Markdown renders as
nothing::

    <!-- generated: model-weak-results -->
    ... text written by the block's renderer ...
    <!-- end generated: model-weak-results -->

Each :class:`Block` names the document, the commands whose outputs it quotes (shown to the reader
in the opening marker's line above the passage) and a renderer that turns those outputs into the
passage. ``scripts/docs.py --write`` rewrites every passage; ``scripts/docs.py`` (check mode) runs
the commands and exits 1 when a passage differs from what they print now, which
``tests/test_docs_numbers.py`` runs. The commands run once per check, as subprocesses in a
temporary folder (:class:`Runs`), exactly as a reader would type them.
"""

from __future__ import annotations

from models.docgen.core import Block, check, render, spans, write
from models.docgen.runs import Runs

__all__ = ["Block", "Runs", "blocks", "check", "render", "spans", "write"]


def blocks() -> list[Block]:
    """Every registered block, in document order."""
    from models.docgen import model_md, priors_md, readme_md, sensitivity_md, trial_planning_md

    return [*readme_md.BLOCKS, *model_md.BLOCKS, *priors_md.BLOCKS, *sensitivity_md.BLOCKS, *trial_planning_md.BLOCKS]
