"""The report in reader order, with plain labels.

A one-page summary comes first (after the title, before the contents), then results, then methods,
then the appendices (provenance and hashes, reconstruction audit, versions, the label table, BARG).
No identifier of the output files (snake_case names of quantities, claims, designs, scenarios,
prior sets) reaches the visible text, headings, figure captions or alt texts except in the
appendix's label table, and thresholds print as percentages. The summary's numbers are the ones
the results tables show (read from the same CSVs, never recomputed).

The fast tests check the label table and the page assembly on their own; the others read the
report built once per session (``built_report`` in conftest).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from models.claims import CLAIMS_TOML
from models.constants import QUANTITIES
from models.labels import IDENTIFIER, Labels, claim_entries, claim_label, percent
from models.report import _lead
from models.report_html import Section, page, pct_ci, prob

STUDY = "huang2024"
#: Main sections in reader order (results, then methods), before the appendices
RESULTS = ["posterior", "comparative", "sensitivity", "planning"]
METHODS = ["study", "model", "priors", "diagnostics", "limitations"]
APPENDICES = ["provenance", "reconstruction", "versions", "labels", "barg"]
ORDER = ["summary", *RESULTS, *METHODS, *APPENDICES]
#: Elements whose text is prose (as opposed to table cells)
PROSE = {"p", "li", "h1", "h2", "h3", "h4", "caption", "figcaption", "summary", "title"}


class _Texts(HTMLParser):
    """Visible text pieces with the section they are in and whether they are prose; alt texts too."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.pieces: list[tuple[str | None, bool, str]] = []

    def _section(self) -> str | None:
        ids = [i for t, i in self.stack if t == "section" and i]
        return ids[0] if ids else None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.pieces.append((self._section(), True, a.get("alt") or ""))
            return
        if tag in ("meta", "br", "link", "hr", "input"):
            return
        self.stack.append((tag, a.get("id")))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        tags = [t for t, _ in self.stack]
        if any(t in ("style", "script", "head") for t in tags) and "title" not in tags:
            return
        if data.strip():
            self.pieces.append((self._section(), any(t in PROSE for t in tags), data))


def _pieces(page_html: str) -> list[tuple[str | None, bool, str]]:
    parser = _Texts()
    parser.feed(page_html)
    parser.close()
    return parser.pieces


def _token(name: str) -> re.Pattern[str]:
    """``name`` as a word of its own, not inside a path or file name (``data/designs/single_arm.toml``)."""
    return re.compile(rf"(?<![\w/.\-]){re.escape(name)}(?![\w/\-]|\.\w)")


# ----------------------------------------------------------------------------- fast: labels and assembly


def test_thresholds_print_as_percentages():
    assert percent(0.0874397) == "8.7%"
    assert claim_label("relapse_cif", 365, "<", 0.0874397, benchmark=True) == (
        "1-year relapse incidence below 8.7% (cited benchmark)"
    )
    assert claim_label("os", 365, ">", 0.8) == "1-year overall survival above 80.0%"
    assert claim_label("os", 365, ">", 0.8, description="OS above 80% at one year") == "OS above 80% at one year"


def test_claim_labels_come_from_the_claims_file():
    cols = ["claim", "quantity", "day", "operator", "threshold"]
    claims = pd.DataFrame(
        [
            ("relapse_1y_below_10pct", "relapse_cif", 365, "<", 0.1),
            ("relapse_1y_below_x", "relapse_cif", 365, "<", 0.187),
            ("os_2y_above_x", "os", 730, ">", 0.5),
        ],
        columns=cols,
    )
    toml = {"relapse_1y_below_x": {"benchmark": {"relapse": "x"}}, "os_2y_above_x": {"description": "OS holds up"}}
    lab = Labels.for_run(claims=claims, claim_toml=toml)
    assert lab.claim("relapse_1y_below_10pct") == "1-year relapse incidence below 10.0%"
    assert lab.claim("relapse_1y_below_x") == "1-year relapse incidence below 18.7% (cited benchmark)"
    assert lab.claim("os_2y_above_x") == "OS holds up"


def test_step_lines_are_rewritten_in_plain_words_with_their_numbers():
    claims = pd.DataFrame(
        [
            {
                "claim": "relapse_1y_below_benchmark_lenient",
                "quantity": "relapse_cif",
                "day": 365,
                "operator": "<",
                "threshold": 0.187,
            }
        ]
    )
    lab = Labels.for_run(claims=claims, prior_sets=["skeptical", "md_anderson_commensurate"])
    line = (
        "DEPENDS at 0.9: P(relapse_cif at day 365 < 18.7%) is 0.43 in the base scenario and ranges 0.32-0.93; "
        "it reaches 0.9 only under prior set: skeptical."
    )
    assert lab.text(line) == (
        "DEPENDS at 0.9: the probability that the 1-year relapse incidence is below 18.7% is 0.43 in the base "
        "scenario and ranges 0.32-0.93; it reaches 0.9 only under prior set: sceptical."
    )
    assert lab.text("NOT SUPPORTED at 0.9: P(os at day 365 > 80.0%) < 0.9 in every scenario (range 0.18-0.84).") == (
        "NOT SUPPORTED at 0.9: the probability that the 1-year overall survival is above 80.0% stays below 0.9 in "
        "every scenario (range 0.18-0.84)."
    )
    assert lab.text("Prior-data agreement under 'md_anderson_commensurate' (exact): nrm_cif@365|102: x") == (
        "Prior-data agreement under 'MD Anderson phase 2, commensurate' (exact): 1-year non-relapse mortality "
        "(from study entry): x"
    )
    assert lab.text("Tipping point (relapse_1y_below_benchmark_lenient, threshold 0.9)") == (
        "Tipping point (1-year relapse incidence below 18.7%, threshold 0.9)"
    )
    # file names and paths keep their names
    assert lab.text("see data/designs/single_arm.toml and tornado_claim.svg") == (
        "see data/designs/single_arm.toml and tornado_claim.svg"
    )


def test_designs_and_their_scenarios_get_labels_and_the_table_lists_them():
    designs = {
        "single_arm": {"scenarios": {"relapse_halved": {}}, "design_priors": {"my_own_prior": {}}},
    }
    lab = Labels.for_run(designs=designs, scenarios=["relapse_halved"])
    assert lab.of("design", "single_arm") == "single-arm"
    assert lab.of("scenario", "relapse_halved") == "relapse hazard halved"
    assert lab.of("scenario", "my_own_prior") == "my own prior"  # a name of one's own: its words
    tab = lab.table()
    assert {"single_arm", "relapse_halved", "my_own_prior", "relapse_cif"} <= set(tab["name in the output files"])
    for _, r in tab.iterrows():
        assert not IDENTIFIER.search(r["label in this report"]), r.to_dict()


def test_the_summary_is_placed_before_the_contents():
    rest = [Section("posterior", "1. Posterior results", "<p>x</p>")]
    lead = '<section id="summary"><h2 style="break-before: auto">Summary</h2><p>y</p></section>'
    out = _lead(page("T", "S", rest, generated="g"), lead)
    assert out.index('<section id="summary">') < out.index("<nav") < out.index('<section id="posterior">')
    assert out.index("</header>") < out.index('<section id="summary">')


# ----------------------------------------------------------------------------- the built report


@pytest.fixture(scope="module")
def report(built_report):
    _, root, _ = built_report
    return (root / STUDY / "report.html").read_text(encoding="utf-8"), root / STUDY


def _identifiers(results) -> set[str]:
    """Every name of the run's output files that the report must show as a label."""
    names = set(QUANTITIES) | {"from_transplant", "death_after_relapse"}
    names |= set(pd.read_csv(results / "fit" / "claims.csv")["claim"])
    ss = pd.read_csv(results / "plan" / "sample_size.csv")
    names |= set(ss["design"]) | set(ss["scenario"]) | set(pd.read_csv(results / "plan" / "oc.csv")["scenario"])
    sc = pd.read_csv(results / "sensitivity" / "scenarios.csv")
    names |= set(sc["prior"].dropna()) | {f"P[{c}]" for c in names}
    names |= {f"{q}@365" for q in QUANTITIES}
    return {n for n in names if "_" in n or n in ("efs", "os", "grfs", "nrm")}


def test_summary_first_then_results_methods_appendices(report):
    from models.html_check import sections

    page_html, _ = report
    ids = list(sections(page_html))
    assert ids[0] == "summary"
    assert ids == [s for s in ORDER if s in ids] and set(ORDER) - set(ids) <= {"reconstruction"}
    # on the first printed page: after the title block, before the contents, no page break before it
    assert page_html.index("</header>") < page_html.index('<section id="summary">') < page_html.index("<nav")
    head = page_html[page_html.index('<section id="summary">') :][:200]
    assert "break-before: auto" in head
    titles = re.findall(r"<h2[^>]*>([^<]+)</h2>", page_html)
    assert titles[0] == "Summary" and titles[1] == "Contents"
    assert titles[2].startswith("1. ") and titles[-1].startswith("Appendix ")


def test_no_identifier_outside_the_label_table(report):
    page_html, results = report
    names = _identifiers(results)
    pats = {n: _token(n) for n in names}
    seen = []
    for sid, _, text in _pieces(page_html):
        if sid == "labels":
            continue
        seen += [(sid, n, text.strip()[:120]) for n, pat in pats.items() if pat.search(html.unescape(text))]
    assert not seen, seen[:10]
    # ... and the label table lists them, each with a plain label
    table = page_html[page_html.index('<section id="labels">') :]
    table = table[: table.index("</section>")]
    for n in names - {f"P[{c}]" for c in names} - {f"{q}@365" for q in QUANTITIES} - {"efs", "os", "grfs", "nrm"}:
        assert f"<td>{html.escape(n)}</td>" in table, n


def test_no_snake_case_in_the_prose_of_summary_results_and_methods(report):
    page_html, _ = report
    found = [
        (sid, m[0], text.strip()[:120])
        for sid, prose, text in _pieces(page_html)
        if prose and sid in ("summary", *RESULTS, *METHODS)
        for m in IDENTIFIER.finditer(html.unescape(text))
    ]
    assert not found, found[:10]
    assert "0.0874397" not in page_html


def test_summary_numbers_are_the_results_numbers(report):
    from models.html_check import sections

    page_html, results = report
    secs = sections(page_html)
    summary, posterior = secs["summary"], secs["posterior"]
    s = pd.read_csv(results / "fit" / "summary.csv")
    one = s[s["day"] == 365]
    for q in ("relapse_cif", "nrm_cif", "efs", "os"):
        for scale in ("from_transplant", "conditional"):
            r = one[(one["quantity"] == q) & (one["scale"] == scale)].iloc[0]
            if scale == "conditional" and "from study entry" not in summary:
                continue  # a landmark at day 0: the two scales are one
            cell = pct_ci(r["median"], r["lower"], r["upper"])
            assert cell in summary and cell in posterior, (q, scale, cell)
    claims = pd.read_csv(results / "fit" / "claims.csv")
    labels = Labels.for_run(claims=claims, claim_toml=claim_entries(CLAIMS_TOML))
    for _, r in claims[claims["scale"] == "from_transplant"].iterrows():
        row = f"{labels.claim(r['claim'])} {prob(r['probability'])} "
        assert row in summary and f"P({labels.claim(r['claim'])})" in secs["sensitivity"], row
    ss = pd.read_csv(results / "plan" / "sample_size.csv")
    n = ss[(ss["design"] == ss["design"].iloc[0]) & (ss["metric"] == "power")]["n_point"].iloc[0]
    assert f"N = {int(n)} for" in summary and f"at N = {int(n)} patients" in secs["planning"]
    for caveat in ("reconstruct", "prior-driven", "patients,", "no concurrent control"):
        assert caveat in summary.lower(), caveat
