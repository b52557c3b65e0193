"""The HTML check (html5lib strict parsing plus self-containment): a valid page passes, and each kind of
problem is caught on its own, with its line."""

from __future__ import annotations

import base64

import pytest

from models.html_check import check_html, images, sections

#: a red 1x1 RGB PNG, 69 bytes
PNG_1x1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC"

HEAD = '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Report</title>\n'


def page(body: str, *, head: str = HEAD, extra_head: str = "") -> str:
    """A complete document; ``body`` starts on line 8, plus one line per line of ``extra_head``."""
    return f"{head}{extra_head}</head>\n<body>\n{body}\n</body>\n</html>\n"


VALID = page(
    '<nav><a href="#fit">Fit</a> <a href="https://doi.org/10.1056/NEJMoa1215134">trial</a></nav>\n'
    '<section id="fit">\n<h2>Fit</h2>\n<p>Relapse &amp; death</p>\n'
    f'<figure><img src="data:image/png;base64,{PNG_1x1}" alt="cumulative incidence"><br>'
    "<figcaption>Figure 1</figcaption></figure>\n"
    "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>\n"
    '<svg width="10" height="10"><defs><path id="m1" d="M0 0L1 1"/></defs><use xlink:href="#m1"/></svg>\n'
    "</section>",
    extra_head="<style>body { background: url(data:image/png;base64,AAAA); }</style>\n",
)


def test_valid_page_passes():
    assert check_html(VALID) == []


def test_uppercase_doctype_and_leading_whitespace_are_fine():
    assert check_html("\n" + VALID.replace("<!DOCTYPE html>", "<!doctype HTML>")) == []


def test_hyperlinks_to_other_sites_are_allowed():
    text = page('<p><a href="https://doi.org/10.1016/j.bbmt.2019.01.001">doi</a></p>')
    assert check_html(text) == []


@pytest.mark.parametrize(
    ("body", "line", "expected"),
    [
        ("<div>\n<p>x</p>", 10, "Missing end tag (div) (inside <div> from line 8)"),
        ("<div><table>\n</div></table>", 9, "[end-tag-too-early]: End tag (div) seen too early"),
        ("<p>x</p>\n</span>", 9, "[unexpected-end-tag]: Unexpected end tag (span)"),
        ("<p>x<br></br></p>", 8, "Unexpected end tag (br)"),
        ("<p>text\n<div>block</div></p>", 9, "Unexpected end tag (p)"),  # the <div> ended the <p>
        ("<div/>", 8, "Trailing solidus not allowed on element div"),
        ("<p>x\n<b><i>y</b></i></p>", 9, "[adoption-agency-1.3]"),
        ('<p id="a">x</p>\n<p id="a">y</p>', 9, 'duplicate id="a" (first at line 8)'),
        ('<a href="#missing">x</a>', 8, 'href="#missing" points to no element'),
        (f'<img src="data:image/png;base64,{PNG_1x1}">', 8, "<img> without alt text"),
        (f'<img src="data:image/png;base64,{PNG_1x1}" alt="">', 8, "<img> without alt text"),
        ('<img alt="figure">', 8, "<img> without src"),
        ('<img src="https://example.org/f.png" alt="f">', 8, 'src="https://example.org/f.png"> loads an external'),
        ('<img src="figures/fit.png" alt="f">', 8, 'src="figures/fit.png"> loads an external'),
        ('<img srcset="data:image/png;base64,AA 1x, big.png 2x" src="data:," alt="f">', 8, 'srcset="big.png">'),
        ('<script src="plotly.min.js"></script>', 8, '<script src="plotly.min.js"> loads a script'),
        ('<link rel="stylesheet" href="style.css">', 8, '<link href="style.css"> loads an external'),
        (
            "<div style=\"background: url('http://x.org/a.png')\">x</div>",
            8,
            "url(http://x.org/a.png) loads an external",
        ),
        ('<iframe src="other.html"></iframe>', 8, '<iframe src="other.html">'),
    ],
)
def test_each_problem_is_reported_with_line(body: str, line: int, expected: str):
    problems = check_html(page(body), source="report.html")
    hits = [p for p in problems if expected in p]
    assert len(hits) == 1, problems
    assert hits[0].startswith(f"report.html line {line}: "), hits[0]
    assert "expected" in hits[0]


def test_css_url_in_style_element():
    text = page("<p>x</p>", extra_head="<style>\n@font-face { src: url(https://fonts.example/f.woff2); }\n</style>\n")
    problems = check_html(text)
    assert len(problems) == 1
    assert problems[0].startswith("report line 7: <style> url(https://fonts.example/f.woff2) loads an external")


def test_unclosed_element_at_the_end():
    problems = check_html(VALID.replace("</body>\n</html>\n", "<div>"))
    assert problems == [
        "report line 17: HTML parse error [expected-closing-tag-but-got-eof]: Expected closing tag, Unexpected end"
        " of file (inside <div> from line 17); expected valid HTML (no parse error)"
    ]


def test_optional_end_tags_are_valid_html():
    assert check_html(page("<ul><li>one<li>two</ul>\n<p>first\n<p>second\n<table><tr><td>a<td>b</table>")) == []


def test_css_import_in_style_element():
    problems = check_html(page("<p>x</p>", extra_head='<style>@import "theme.css";</style>\n'))
    assert problems == ["report line 6: <style> url(theme.css) loads an external resource; expected a data: URI"]


def test_navigational_link_rel_is_allowed():
    assert check_html(page("<p>x</p>", extra_head='<link rel="canonical" href="https://example.org/r">\n')) == []


def test_missing_doctype():
    problems = check_html(VALID.replace("<!DOCTYPE html>\n", ""))
    assert problems == [
        "report line 1: HTML parse error [expected-doctype-but-got-start-tag]: Unexpected start tag (html),"
        " Expected DOCTYPE; expected valid HTML (no parse error)"
    ]


def test_missing_or_empty_title():
    for head in (HEAD.replace("<title>Report</title>", ""), HEAD.replace("Report", "  ")):
        problems = check_html(page("<p>x</p>", head=head))
        assert problems == ["report line 1: no non-empty <title> in <head>; expected <title>…</title>"]


def test_missing_lang_and_charset():
    head = HEAD.replace(' lang="en"', "").replace('<meta charset="utf-8">', '<meta charset="latin-1">')
    problems = check_html(page("<p>x</p>", head=head))
    assert len(problems) == 2
    assert "<html> has no lang" in problems[0]
    assert 'no <meta charset="utf-8">' in problems[1]


def test_every_parse_error_is_listed_in_line_order():
    problems = check_html(page("<p>x</p>\n</span>\n<div/>\n</em>"), source="r.html")
    assert [p.split(":")[0] for p in problems] == [f"r.html line {n}" for n in (9, 10, 11, 12)]
    assert all("HTML parse error" in p for p in problems)


def test_garbage_never_raises():
    for text in ("", "<", "<<<>>></", "<!DOCTYPE html><html><![CDATA[ x", "\x00<a href='#", "<p " * 1000):
        problems = check_html(text)
        assert problems and all(isinstance(p, str) and "\n" not in p for p in problems)
        sections(text)
        images(text)


def test_sections_text_and_nesting():
    text = page(
        '<section id="outer"><h2>Outer</h2>\n<p>one <b>two</b></p>'
        '<section id="inner"><table><tr><td>a</td><td>b</td></tr></table></section></section>\n'
        '<section id="empty">\n  <script>var x = "not visible";</script><img src="data:," alt="alt only"></section>\n'
        "<section>no id</section>"
    )
    assert sections(text) == {"outer": "Outer one two a b", "inner": "a b", "empty": ""}


def test_images_helper():
    garbage = "data:image/png;base64,AAAAgarbage!!"
    text = page(
        f'<img src="data:image/png;base64,{PNG_1x1}" alt="good">\n'
        f'<img src="{garbage}" alt="broken">\n'
        '<img src="data:image/svg+xml,%3Csvg%3E%3C/svg%3E" alt="svg">\n'
        '<img src="figures/x.png">'
    )
    found = images(text)
    assert [i["alt"] for i in found] == ["good", "broken", "svg", ""]
    assert [i["line"] for i in found] == [8, 9, 10, 11]
    assert found[0]["src"] == f"data:image/png;base64,{PNG_1x1}"[:40]
    assert found[0]["mime"] == "image/png"
    assert found[0]["bytes"] == len(base64.b64decode(PNG_1x1)) == 69
    assert (found[1]["mime"], found[1]["bytes"]) == ("image/png", 0)
    assert (found[2]["mime"], found[2]["bytes"]) == ("image/svg+xml", len("<svg></svg>"))
    assert (found[3]["src"], found[3]["mime"], found[3]["bytes"]) == ("figures/x.png", "", 0)
