"""The README's headline numbers are the default run's: re-run fit.py and compare every one.

The README quotes the default ``scripts/fit.py`` (literature prior, delayed entry, exact engine,
seed 20240708) and ``--prior weak``. Both are re-run here (about 20 s each) and every quoted median,
interval, claim probability, prior weight and prediction is compared at the printed precision.
"""

from __future__ import annotations

import pandas as pd
import pytest

from models.constants import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## What the study shows") : README.index("## Scripts")]


def _fit_main():
    from models.cli import fit

    return fit.main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    main = _fit_main()
    out = {}
    for name, extra in (("literature", []), ("weak", ["--prior", "weak"])):
        d = tmp_path_factory.mktemp(name)
        assert main(["--out", str(d), "--no-figures", "--quiet", *extra]) == 0
        out[name] = {k: pd.read_csv(d / f"{k}.csv") for k in ("summary", "claims", "prior_ess", "prior_conflict")}
    return out


def _cell(r) -> str:
    return f"{100 * r['median']:.1f}% ({100 * r['lower']:.1f}–{100 * r['upper']:.1f})"


def test_headline_table_is_the_default_run(runs):
    s = runs["literature"]["summary"]
    s = s[s["day"] == 365].set_index(["quantity", "scale"])
    rows = {"relapse incidence": "relapse_cif", "non-relapse mortality": "nrm_cif", "EFS": "efs", "OS": "os"}
    for label, q in rows.items():
        line = next(x for x in SECTION.splitlines() if x.startswith(f"| {label} |"))
        cells = [c.strip() for c in line.strip("|").split("|")][1:]
        for cell, scale in zip(cells, ("from_transplant", "conditional"), strict=True):
            assert cell.startswith(_cell(s.loc[(q, scale)])), (label, scale, cell)


def test_claims_weight_and_prediction_are_the_default_run(runs):
    c = runs["literature"]["claims"]
    c = c[c["scale"] == "from_transplant"].set_index("claim")["probability"]
    text = " ".join(SECTION.split())
    assert f"P(1-year relapse < 10%) = {c['relapse_1y_below_10pct']:.2f}" in text
    assert f"benchmark 18.7%) = {c['relapse_1y_below_benchmark_lenient']:.2f}" in text
    assert f"strict benchmark 8.7%) = {c['relapse_1y_below_benchmark_strict']:.2f}" in text
    assert f"P(1-year NRM < 10%) = {c['nrm_1y_below_10pct']:.2f}" in text
    assert f"P(1-year OS > 80%) = {c['os_1y_above_80pct']:.2f}" in text
    e = runs["literature"]["prior_ess"].set_index("transition")
    r = e.loc["relapse"]
    assert f"worth {r['pull_events']:.1f} events ({r['pull_patients']:.1f} patients)" in text
    assert f"({r['informative_ess_events']:.1f} events in {r['informative_ess_patients']:.1f} patients)" in text
    assert f"keeps {r['posterior_weight_min']:.2f}–{r['posterior_weight_max']:.2f}" in text
    assert f"adds {e.loc['nrm', 'pull_patients']:.1f} patients' exposure" in text
    k = runs["literature"]["prior_conflict"].set_index("transition")
    rel, nrm = k.loc["relapse"], k.loc["nrm"]
    assert f"{rel['prior_predictive_mean']:.1f} relapses in this cohort's exposure" in text
    assert f"{rel['predicted_informative']:.1f} from the MD Anderson" in text
    assert f"{rel['predicted_robust']:.1f} from the robust component" in text
    assert f"{rel['predicted_baseline']:.1f} from the baseline after day 365" in text
    src = rel["sources_predicted_mean"], rel["sources_p_value"]
    assert f"alone predicted {src[0]:.1f} against 1 observed (p = {src[1]:.2f})" in text
    assert f"predicted {nrm['sources_predicted_mean']:.1f} against 2 (p = {nrm['sources_p_value']:.2f})" in text


def test_weak_prior_numbers_are_its_run(runs):
    s = runs["weak"]["summary"]
    s = s[(s["day"] == 365) & (s["quantity"] == "relapse_cif")].set_index("scale")
    text = " ".join(SECTION.split())
    ft, cond = s.loc["from_transplant"], s.loc["conditional"]
    assert f"1-year relapse {_cell(ft)} from transplant, {_cell(cond)} at day 102" in text
