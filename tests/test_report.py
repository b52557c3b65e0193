"""The reviewer's report: valid self-contained HTML, every section filled, numbers from the run.

Reader order and plain labels (summary first, no identifier outside the label table) are checked
in ``tests/test_report_order.py``.

The report is built once per session (``built_report`` in conftest: every pipeline step runs
into a temporary folder, ``<results>/huang2024/<step>``). Sentences are checked against the CSVs
they were generated from, so a hand-typed or stale number fails. The pipeline of another study
pack (an outcomes-only pack made from one reconstructed table) is checked without running it.
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
from models.io import manifest
from models.pipeline import default_steps, ensure, status
from models.report import load_barg
from models.report_html import pct, prob
from models.report_text import OPERATOR, QUANTITY, claim, estimate

SECTION_ORDER = [
    "summary",
    "posterior",
    "comparative",
    "sensitivity",
    "planning",
    "study",
    "model",
    "priors",
    "diagnostics",
    "limitations",
    "provenance",
    "reconstruction",
    "versions",
    "labels",
    "barg",
]


#: The default pack's id: its steps write ``<results>/huang2024/<step>`` and the report beside them
STUDY = "huang2024"


@pytest.fixture(scope="module")
def report(built_report):
    _, root, _ = built_report
    return (root / STUDY / "report.html").read_text(encoding="utf-8"), root / STUDY


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
    # reconstruction KM, 2 prior, 4 posterior, 3 comparison (the study's controls), 3 sensitivity, 2 planning
    assert len(imgs) == 15
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
    man = json.loads((REPO_ROOT / "data" / STUDY / "reconstructed" / "manifest.json").read_text())
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
    assert verdict[1].split(": ")[0] in text  # "NOT SUPPORTED at 0.9", the rest in plain words
    m = re.search(r"P\((\w+) at day 365 ([<>]) ([\d.]+%)\)", verdict[1])
    assert m is not None, verdict[1]
    assert f"the probability that the 1-year {QUANTITY[m[1]]} is {OPERATOR[m[2]]} {m[3]}" in text
    tornado = (results / "sensitivity" / "tornado_relapse_1y.png").read_bytes()
    import base64

    assert base64.b64encode(tornado).decode()[:200] in page
    assert pct(pd.read_csv(results / "fit" / "summary.csv")["median"].iloc[0]) in text


def test_second_run_reuses_every_step(built_report):
    _, results, figures = built_report
    path = results / STUDY / "report.html"
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
    # the first step that cannot be used: the prior set, missing (or the committed reconstruction, if stale)
    first = next(st for st in map(status, default_steps(tmp_path, tmp_path / "f")) if not st.fresh)
    assert first.step.name in ("reconstruction", "priors")
    assert lines[-1].startswith("report.py: ") and first.step.name in lines[-1] and first.state in lines[-1]
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


# ----------------------------------------------------------------------------- another study pack

TOY_ID = "toycohort"
TOY_TOML = """[study]
id = "toycohort"
title = "Toy single-centre cohort of maintenance after transplant"
short_name = "Toy cohort 2025"
citation = "Doe A, Roe B. A toy cohort of per-patient outcomes. Journal of Tests 2025;1:1."

[files]
outcomes = "outcomes.csv"
"""


@pytest.fixture
def toy_pack(tmp_path):
    """An outcomes-only study pack: one per-patient table (a copy of a reconstructed one), no letter."""
    pack = tmp_path / "toy_pack"
    pack.mkdir()
    (pack / "outcomes.csv").write_bytes((REPO_ROOT / "data" / STUDY / "reconstructed" / "draw_001.csv").read_bytes())
    (pack / "study.toml").write_text(TOY_TOML)
    return pack


def _fake_manifest(step, *, study: str, own: bool = True) -> None:
    """A manifest as the step's script would write it, with every input the step reads today."""
    step.out_dir.mkdir(parents=True, exist_ok=True)
    doc = manifest(
        command=step.display_command(),
        seed=1,
        inputs=step.inputs(),
        outputs=["manifest.json"],
        extra={**step.settings, "study": study, "data_is_study_outcomes": own},
    )
    step.manifest_path.write_text(json.dumps(doc))


def test_pipeline_of_an_outcomes_only_pack(toy_pack, tmp_path):
    results, figures = tmp_path / "results", tmp_path / "figures"
    steps = default_steps(results, figures, study=toy_pack)
    by = {s.name: s for s in steps}
    # no reconstruction: the tables are the study's own
    assert list(by) == ["priors", "fit", "fit_nuts", "sensitivity", "plan"]
    for name in ("fit", "fit_nuts", "sensitivity", "plan"):
        s = by[name]
        assert s.out_dir == results / TOY_ID / name
        assert s.args[:2] == ("--study", str(toy_pack.resolve()))
        assert all(not a.startswith(str(results)) or a.startswith(str(results / TOY_ID)) for a in s.args)
        assert all(not a.startswith(str(figures)) or a.startswith(str(figures / TOY_ID)) for a in s.args)
        assert s.settings.get("study") == TOY_ID or name == "plan"
    plan = by["plan"].args
    assert plan[plan.index("--posterior") + 1] == str(results / TOY_ID / "fit" / "posterior.nc")
    assert toy_pack / "outcomes.csv" in by["fit"].inputs() and toy_pack / "study.toml" in by["fit"].inputs()
    # nothing has run: every step is missing and, without running, skipped
    runs = ensure(steps, run=False)
    assert [r.action for r in runs] == ["skipped"] * 5
    assert all(r.status.state == "missing" for r in runs)


def test_a_fit_of_one_pack_is_never_fresh_for_another(toy_pack, tmp_path):
    results, figures = tmp_path / "results", tmp_path / "figures"
    toy_fit = default_steps(results, figures, study=toy_pack)[1]
    huang_fit = default_steps(results, figures)[2]
    assert toy_fit.name == huang_fit.name == "fit" and toy_fit.out_dir != huang_fit.out_dir
    # a fit made for the default pack, put where this pack's fit goes: stale (study, inputs)
    _fake_manifest(huang_fit, study=STUDY)
    (toy_fit.out_dir).mkdir(parents=True)
    (toy_fit.manifest_path).write_bytes(huang_fit.manifest_path.read_bytes())
    st = status(toy_fit)
    assert st.state == "stale"
    assert any(f"setting study = '{STUDY}', expected '{TOY_ID}'" in r for r in st.reasons), st.reasons
    assert any("outcomes.csv was not an input" in r for r in st.reasons), st.reasons
    # the default pack's own fit is fresh for the default pack (the manifest itself is well-formed)
    assert status(huang_fit).fresh, status(huang_fit).reasons
    # this pack's fit is fresh for it, and not for the default pack
    _fake_manifest(toy_fit, study=TOY_ID)
    assert status(toy_fit).fresh, status(toy_fit).reasons
    huang_fit.manifest_path.write_bytes(toy_fit.manifest_path.read_bytes())
    assert not status(huang_fit).fresh
    # a fit of other tables (--data) into this pack's folder: stale
    _fake_manifest(toy_fit, study=TOY_ID, own=False)
    assert any("data_is_study_outcomes" in r for r in status(toy_fit).reasons)


def test_a_pack_without_outcomes_or_constraints_has_no_pipeline(tmp_path):
    from models.errors import StudyError
    from models.pipeline import pack_outcomes
    from models.study import default_study

    assert pack_outcomes(default_study()) == REPO_ROOT / "data" / STUDY / "reconstructed"
    with pytest.raises(StudyError):
        pack_outcomes(type("Pack", (), {"outcomes_path": None, "constraints_path": None, "source": "x"})())


@pytest.mark.slow
def test_report_of_an_outcomes_only_pack(toy_pack, tmp_path):
    """The whole report for another pack: title, citation and files are the pack's; no reconstruction."""
    results, figures = tmp_path / "results", tmp_path / "figures"
    proc = subprocess.run(
        [
            sys.executable,
            "scripts/report.py",
            "--study",
            str(toy_pack),
            "--results",
            str(results),
            "--figures",
            str(figures),
            "--quiet",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr
    path = results / TOY_ID / "report.html"
    assert proc.stdout.strip() == str(path)
    page = path.read_text(encoding="utf-8")
    assert check_html(page, source="report.html") == []
    secs = sections(page)
    # no reconstruction and no comparison: the toy pack names no control cohorts
    assert list(secs) == [s for s in SECTION_ORDER if s not in ("reconstruction", "comparative")]
    assert "<title>Bayesian reanalysis: Toy single-centre cohort of maintenance after transplant</title>" in page
    head = _text(page[: page.index("<nav")])  # the title block and the summary
    assert "Doe A, Roe B. A toy cohort of per-patient outcomes. Journal of Tests 2025;1:1." in head
    assert "Toy cohort 2025" in secs["summary"] and "nothing is reconstructed" in secs["summary"]
    study = secs["study"]
    assert "the study's own per-patient data: nothing is reconstructed" in study
    for huang in ("Huang", "huang2024", "Blood Cancer Journal", "B-ALL/LBL", "blinatumomab"):
        assert huang not in head and huang not in study, huang
    assert "data/huang2024" not in page and "reconstructed/draw_" not in page
    assert (results / TOY_ID / "fit" / "manifest.json").is_file() and not (results / STUDY).exists()
