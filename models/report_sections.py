"""The sections of the reviewer's report, in reading order, each built from a run's outputs.

Each function takes :class:`models.report.RunOutputs` and returns a
:class:`models.report_html.Section` whose ``barg`` dict says which BARG items it answers and how
(one generated line each). Text with numbers is generated in the section modules or in
:mod:`models.report_text`; the fixed prose explains methods and never states a result. Nothing
names a study: its title, citation and files come from the run's study pack.

The sections live in one module per concern, re-exported here:

``report_sections_study``
    1. question and data provenance; 2. reconstruction audit (only for reconstructed tables).
``report_sections_model``
    3. the model; 4. priors and prior–data conflict.
``report_sections_results``
    5. posterior results; 6. computation and MCMC diagnostics.
``report_sections_decisions``
    7. sensitivity; 8. trial planning.
``report_sections_run``
    9. limitations; 10. software, seeds and input hashes; 11. the BARG checklist.
``report_sections_common``
    Number formats, figure fallbacks and the study-pack phrases they share.
"""

from __future__ import annotations

from typing import Any

from models.report_html import Section
from models.report_sections_common import COUNT_FORMATS, DIAG_FORMATS, QUANTITY_ORDER
from models.report_sections_decisions import planning, sensitivity
from models.report_sections_model import model, priors
from models.report_sections_results import diagnostics, posterior
from models.report_sections_run import barg_checklist, limitations, reproducibility
from models.report_sections_study import question, reconstruction


def all_sections(out: Any) -> list[Section]:
    """Every section in reading order, numbered, ending with the BARG checklist.

    The reconstruction audit appears only when the outcome tables were reconstructed from
    published figures (a pack with constraints); the numbering follows the sections present.
    """
    sections = [question(out)]
    if out.reconstructed:
        sections.append(reconstruction(out))
    sections += [
        model(out),
        priors(out),
        posterior(out),
        diagnostics(out),
        sensitivity(out),
        planning(out),
        limitations(out),
        reproducibility(out),
    ]
    for i, s in enumerate(sections, start=1):
        s.title = f"{i}. {s.title}"
    barg = barg_checklist(out, sections)
    barg.title = f"{len(sections) + 1}. {barg.title}"
    return [*sections, barg]


__all__ = [
    "COUNT_FORMATS",
    "DIAG_FORMATS",
    "QUANTITY_ORDER",
    "all_sections",
    "barg_checklist",
    "diagnostics",
    "limitations",
    "model",
    "planning",
    "posterior",
    "priors",
    "question",
    "reconstruction",
    "reproducibility",
    "sensitivity",
]
