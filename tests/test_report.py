"""The reviewer's report: valid self-contained HTML, every section filled, numbers from the run.

The report is built once per session (``built_report`` in conftest: every pipeline step runs
into a temporary folder). Sentences are checked against the CSVs they were generated from, so
a hand-typed or stale number fails.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys

import pandas as pd
import pytest

from models.constants import REPO_ROOT
from models.errors import ConfigError
from models.html_check import check_html, images, sections
from models.report import load_barg
from models.report_html import pct, prob
from models.report_text import claim, estimate

SECTION_ORDER = [
    "question",
    "reconstruction",
    "model",
    "priors",
    "posterior",
    "diagnostics",
    "sensitivity",
    "planning",
    "limitations",
    "reproducibility",
    "barg",
]


@pytest.fixture(scope="module")
def report(built_report):
    path, results, _ = built_report
    return path.read_text(encoding="utf-8"), results


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_valid_and_self_contained(report):
    page, _ = report
    assert check_html(page, source="report.html") == []
    assert "http://" not in re.sub(r'<a href="[^"]*"', "", page)  # links only as navigations
    assert "<script" not in page


def test_sections_in_reviewer_order_and_none_empty(report):
    page, _ = report
    secs = sections(page)
    assert list(secs) == SECTION_ORDER
    for sid, text in secs.items():
        assert len(text) > 400, f"section {sid} has only {len(text)} characters"


def test_every_figure_embedded(report):
    page, _ = report
    imgs = images(page)
    # reconstruction KM, 2 prior, 4 posterior, 3 sensitivity, 2 planning figures
    assert len(imgs) == 12
    for im in imgs:
        assert im["mime"] == "image/png" and im["bytes"] > 5_000 and im["alt"], im


def test_every_barg_item_answered(report):
    page, _ = report
    items = load_barg()
    assert len(items) >= 25
    barg = page[page.index('<section id="barg">') :]
    assert "NOT ANSWERED" not in barg
    for it in items:
        assert f"<td>{it.id}</td>" in barg
    assert f"{len(items)} of {len(items)} items answered" in barg


def test_sentences_match_the_tables(report):
    page, results = report
    text = _text(page)
    man = json.loads((results / "fit" / "manifest.json").read_text())
    lmk = man["landmark_day"]
    claims = pd.read_csv(results / "fit" / "claims.csv")
    for _, r in claims.iterrows():
        s = claim(
            "literature", r["quantity"], r["scale"], r["day"], r["operator"], r["threshold"], r["probability"], lmk
        )
        assert s in text
    summ = pd.read_csv(results / "fit" / "summary.csv")
    r = summ[(summ["quantity"] == "relapse_cif") & (summ["scale"] == "from_transplant") & (summ["day"] == 365)].iloc[0]
    assert estimate("relapse_cif", "from_transplant", 365, r["median"], r["lower"], r["upper"], lmk) in text
    # the example sentence of the issue, with this run's number
    p10 = claims[(claims["claim"] == "relapse_1y_below_10pct") & (claims["scale"] == "from_transplant")]
    expected = (
        "Given the literature prior, the probability that the 1-year relapse incidence (counted from "
        f"transplant) is below 10.0% is {prob(p10['probability'].iloc[0])}."
    )
    assert expected in text
    conf = pd.read_csv(results / "fit" / "prior_conflict.csv").set_index("transition")
    assert f"{conf.loc['relapse', 'prior_predictive_mean']:.1f} relapse events" in text


def test_reconstruction_audit_covers_every_draw(report):
    page, _ = report
    text = _text(page)
    man = json.loads((REPO_ROOT / "data/huang2024/reconstructed/manifest.json").read_text())
    m = man["M"]
    n_checks = len(man["draws"][0]["checks"])
    assert f"{man['orderings_consistent']:,} event orderings" in text
    assert f"{n_checks} × {m}" in text
    assert text.count(f"{m}/{m}") == n_checks  # every figure reproduced in every draw
    assert "0 value(s) differ" in text


def test_diagnostics_and_results_are_this_runs(report):
    page, results = report
    text = _text(page)
    diag = pd.read_csv(results / "fit_nuts" / "diagnostics.csv")
    assert f"the largest R-hat is {diag['r_hat'].max():.3f}" in text
    ss = pd.read_csv(results / "plan" / "sample_size.csv")
    n = ss[(ss["design"] == "randomised") & (ss["metric"] == "power")]["n_point"].iloc[0]
    assert f"at N = {int(n)} patients" in text
    verdict = (results / "sensitivity" / "verdict.txt").read_text().splitlines()
    assert html.unescape(verdict[1]) in text
    tornado = (results / "sensitivity" / "tornado_relapse_1y.png").read_bytes()
    import base64

    assert base64.b64encode(tornado).decode()[:200] in page
    assert pct(pd.read_csv(results / "fit" / "summary.csv")["median"].iloc[0]) in text


def test_second_run_reuses_every_step(built_report):
    path, results, figures = built_report
    proc = subprocess.run(
        [sys.executable, "scripts/report.py", "--results", str(results), "--figures", str(figures), "--no-run"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("up to date") == 6 and "running" not in proc.stderr
    assert check_html(path.read_text(), source="report.html") == []


def test_no_run_with_missing_outputs_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "r.html"
    proc = subprocess.run(
        [
            sys.executable,
            "scripts/report.py",
            "--results",
            str(tmp_path),
            "--figures",
            str(tmp_path / "f"),
            "--no-run",
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("report.py: ") and "priors" in lines[-1] and "missing" in lines[-1]
    assert "Traceback" not in proc.stderr and not out.exists()


@pytest.mark.parametrize("argv", [["--force", "fitt"], ["--results"]])
def test_bad_cli_values_exit_2(argv, tmp_path):
    proc = subprocess.run(
        [sys.executable, "scripts/report.py", *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_barg_file_errors_are_one_line(tmp_path):
    bad = tmp_path / "barg.toml"
    bad.write_text('[[item]]\nid = "1.A"\nstep = "1"\ntitle = "t"\nasks = "a"\n' * 2)
    with pytest.raises(ConfigError, match="unique id"):
        load_barg(bad)
    bad.write_text('[[item]]\nid = "1.A"\nstep = "1"\ntitle = ""\nasks = "a"\n')
    with pytest.raises(ConfigError, match="title"):
        load_barg(bad)
    bad.write_text("item = 3\n")
    with pytest.raises(ConfigError, match="array"):
        load_barg(bad)
