"""The sections of the reviewer's report, in reader order, each built from a run's outputs.

Each function takes :class:`models.report.RunOutputs` and returns a
:class:`models.report_html.Section` whose ``barg`` dict says which BARG items it answers and how
(one generated line each). Text with numbers is generated in the section modules or in
:mod:`models.report_text`; the fixed prose explains methods and never states a result. Nothing
names a study: its title, citation and files come from the run's study pack. Names from the output
files (quantities, claims, designs, scenarios, prior sets) reach the page only as plain labels
(:mod:`models.labels`, through ``out.labels``); the identifiers themselves appear only in the
appendix that tables them.

The reader's order (:func:`all_sections`): the summary, then results, then methods, then the audit
material in appendices. The sections live in one module per concern, re-exported here:

``report_sections_summary``
    the one-page summary (unnumbered, first).
``report_sections_results``
    1. posterior results; 7. computation and MCMC diagnostics.
``report_sections_comparative``
    the comparison with no-maintenance cohorts, after the posterior results, only when the fit ran
    with ``--control`` (its ``comparative.csv`` exists).
``report_sections_decisions``
    2. sensitivity; 3. trial planning.
``report_sections_study``
    4. the study and its data; appendix: reconstruction audit (reconstructed tables only).
``report_sections_model``
    5. the model; 6. priors and prior–data conflict.
``report_sections_run``
    8. limitations; appendices: provenance and hashes, software versions, names and labels, the BARG
    checklist.
``report_sections_common``
    Number formats, figure fallbacks and the study-pack phrases they share.
"""

from __future__ import annotations

from string import ascii_uppercase
from typing import Any

from models.report_html import Section
from models.report_sections_common import COUNT_FORMATS, DIAG_FORMATS, QUANTITY_ORDER
from models.report_sections_comparative import comparative
from models.report_sections_decisions import planning, sensitivity
from models.report_sections_model import model, priors
from models.report_sections_results import diagnostics, posterior
from models.report_sections_run import barg_checklist, label_table, limitations, provenance, versions
from models.report_sections_study import reconstruction, study
from models.report_sections_summary import summary


def all_sections(out: Any) -> list[Section]:
    """Every section in reader order: summary, results, methods, then lettered appendices.

    The summary comes first and is not numbered; results and methods are numbered 1, 2, ...;
    the appendices (provenance and hashes, the reconstruction audit when the outcome tables were
    reconstructed from published figures, software versions, names and labels, and the BARG
    checklist, which says where each item is answered) are lettered A, B, ...
    """
    first = summary(out)
    versus = comparative(out)  # only when the fit compared with no-maintenance controls
    main = [
        posterior(out),
        *([versus] if versus is not None else []),
        sensitivity(out),
        planning(out),
        study(out),
        model(out),
        priors(out),
        diagnostics(out),
        limitations(out),
    ]
    for i, s in enumerate(main, start=1):
        s.title = f"{i}. {s.title}"
    appendices = [provenance(out)]
    if out.reconstructed:
        appendices.append(reconstruction(out))
    appendices += [versions(out), label_table(out)]
    for letter, s in zip(ascii_uppercase, appendices, strict=False):
        s.title = f"Appendix {letter}. {s.title}"
    barg = barg_checklist(out, [first, *main, *appendices])
    barg.title = f"Appendix {ascii_uppercase[len(appendices)]}. {barg.title}"
    return [first, *main, *appendices, barg]


__all__ = [
    "COUNT_FORMATS",
    "DIAG_FORMATS",
    "QUANTITY_ORDER",
    "all_sections",
    "barg_checklist",
    "diagnostics",
    "label_table",
    "limitations",
    "model",
    "planning",
    "posterior",
    "priors",
    "provenance",
    "reconstruction",
    "sensitivity",
    "study",
    "summary",
    "versions",
]
