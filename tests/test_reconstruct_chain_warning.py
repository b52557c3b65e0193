"""The reconstruction's text warns when the chains have not shown that they mix (issue 17).

A chain reconstruction runs until the split R-hat and bulk ESS of its summary statistics pass
(:func:`models.reconstruct.chain_run.passes`: R-hat at most :data:`models.pwe.RHAT_MAX`, 1.01, and
enough ESS; NaN fails) or its budget ends; then the text says the tables are consistent but not
shown to be spread as the uniform law. The run here is a real chain reconstruction of an 8-patient
synthetic study; only the recorded verdict is then set, so each branch of the text is exercised.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import pytest

from models.pwe import RHAT_MAX
from models.reconstruct.chain_run import passes
from models.synthetic_study import publish, simulate_outcomes
from models.workflows.reconstruct import ReconstructSettings, reconstruct_study


@pytest.fixture(scope="module")
def chain_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_chain_warning")
    paths = publish(simulate_outcomes(8, 6), folder, seed=6, subgroup=True)
    res = reconstruct_study(ReconstructSettings(study=paths["study"].parent, draws=2, seed=3, method="chain"))
    assert res.method == "chain"
    return res


def _with(res, **changes):
    rep = copy.deepcopy(res.reconstruction.report)
    rep["chain"].update(changes)
    return replace(res, reconstruction=replace(res.reconstruction, report=rep))


@pytest.mark.parametrize("converged", [True, False])
def test_the_text_warns_exactly_when_the_chains_did_not_pass(chain_result, converged):
    text = _with(chain_result, converged=converged).report()
    assert "split R-hat" in text and "bulk ESS" in text  # the method line always shows both
    assert ("warning:" in text) is (not converged)
    if not converged:
        line = next(s for s in text.splitlines() if s.startswith("warning:"))
        assert "raise --chain-budget" in line and "R-hat <= 1.01" in line


def test_the_tiny_study_passes_and_records_its_window(chain_result):
    ch = chain_result.reconstruction.report["chain"]
    assert ch["converged"] is True
    assert ch["window_rounds"] == [ch["rounds"] // 2 + 1, ch["rounds"]]
    assert set(ch["split_rhat"]) == set(ch["ess_bulk"]) and "mean_event_rank" in ch["split_rhat"]


@pytest.mark.parametrize(
    ("rhat", "ess", "ok"),
    [
        (RHAT_MAX, 100.0, True),
        (1.02, 100.0, False),
        (1.0, 99.0, False),
        (math.nan, 100.0, False),
        (math.inf, 100.0, False),
        (1.0, math.nan, False),
    ],
)
def test_the_rule_needs_every_statistic_to_pass(rhat, ess, ok):
    diag = {"rhat": {"a": 1.0, "b": rhat}, "ess_bulk": {"a": 500.0, "b": ess}}
    assert passes(diag, 100) is ok


def test_a_chain_process_that_dies_is_a_one_line_error(tmp_path, monkeypatch):
    """A chain process killed mid-run (e.g. for memory) ends the reconstruction with one line, not a hang."""
    import os

    from models.errors import ReconstructionError
    from models.reconstruct import chain_run

    def dies(*_args, **_kw):
        os._exit(3)

    monkeypatch.setattr(chain_run, "_worker", dies)
    paths = publish(simulate_outcomes(8, 6), tmp_path, seed=6, subgroup=True)
    with pytest.raises(ReconstructionError) as exc:
        reconstruct_study(ReconstructSettings(study=paths["study"].parent, draws=2, seed=3, method="chain", chains=2))
    text = str(exc.value)
    assert "\n" not in text and "chain 1" in text and "exit code 3" in text
