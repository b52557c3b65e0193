"""The reconstruction's text warns when the chains have not shown that they mix (issue 17).

A chain reconstruction records the split R-hat of its summary statistics; above the toolkit's
threshold (:data:`models.pwe.RHAT_MAX`, 1.01) — or when it could not be computed — the text says the
tables are consistent but not shown to be spread as the uniform law. The run here is a real chain
reconstruction of an 8-patient synthetic study; only the recorded R-hat is then set, so each branch
of the check is exercised whatever the short run's own value.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import pytest

from models.pwe import RHAT_MAX
from models.synthetic_study import publish, simulate_outcomes
from models.workflows.reconstruct import ReconstructSettings, reconstruct_study


@pytest.fixture(scope="module")
def chain_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_chain_warning")
    paths = publish(simulate_outcomes(8, 6), folder, seed=6, subgroup=True)
    res = reconstruct_study(ReconstructSettings(study=paths["study"].parent, draws=2, seed=3, method="chain"))
    assert res.method == "chain"
    return res


def _with_rhat(res, values: dict[str, float]):
    rep = copy.deepcopy(res.reconstruction.report)
    rep["chain"]["split_rhat"] = values
    return replace(res, reconstruction=replace(res.reconstruction, report=rep))


@pytest.mark.parametrize(
    ("values", "warns"),
    [
        ({"items_before_first_marker": 1.0, "mean_event_rank": RHAT_MAX}, False),
        ({"items_before_first_marker": 1.0, "mean_event_rank": 1.02}, True),
        ({"items_before_first_marker": 1.4, "mean_event_rank": 1.0}, True),
        ({"items_before_first_marker": math.nan, "mean_event_rank": 1.0}, True),
    ],
)
def test_split_rhat_above_the_threshold_is_a_warning(chain_result, values, warns):
    text = _with_rhat(chain_result, values).report()
    assert "split R-hat" in text  # the method line always shows it
    assert ("warning: split R-hat" in text) is warns
    if warns:
        worst = max(values.values(), key=lambda v: math.inf if math.isnan(v) else v)
        line = next(s for s in text.splitlines() if s.startswith("warning:"))
        assert f"{worst:.2f} > {RHAT_MAX}" in line and "raise --thin" in line


def test_a_chain_process_that_dies_is_a_one_line_error(tmp_path, monkeypatch):
    """A chain process killed mid-run (e.g. for memory) ends the reconstruction with one line, not a hang."""
    import os

    from models.errors import ReconstructionError
    from models.reconstruct import chain_start

    def dies(*_args, **_kw):
        os._exit(3)

    monkeypatch.setattr(chain_start, "_worker", dies)
    paths = publish(simulate_outcomes(8, 6), tmp_path, seed=6, subgroup=True)
    with pytest.raises(ReconstructionError) as exc:
        reconstruct_study(ReconstructSettings(study=paths["study"].parent, draws=2, seed=3, method="chain", chains=2))
    text = str(exc.value)
    assert "\n" not in text and "chain 1" in text and "exit code 3" in text
