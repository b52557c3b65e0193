"""The compiled replay (:mod:`models.reconstruct.chain_kernel`) against the Python one (issue 17).

The chain's compiled replay keeps running sums where the Python replay keeps tuples of risk sets.
Here a chain on the Python replay runs, and every one of its proposals is also made (from a copy of
the same random state) by a chain on the compiled replay that has followed the same path: both
must accept or reject it alike, reach the same ordering, the same log target (to 1e-9: the
Python replay shifts a reused suffix's log W by a constant, the compiled one re-adds it) and the
same traced summaries and terminal risk-set tuples. Studies: the 8-patient study of
``tests/test_reconstruct_spread.py`` (incidence figure), Huang 2024 (GvHD moves, anonymous and
named patients) and ``letter_n38`` (five KM figures with intervals, an incidence figure with a
landmark, a follow-up median and range), each also with a companion's relaxed tolerances.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from test_reconstruct_chain import huang  # noqa: F401
from test_reconstruct_spread import tiny  # noqa: F401

from models.reconstruct import load_constraints
from models.reconstruct.chain import ChainStats, OrderingChain
from models.reconstruct.chain_kernel import TABLES, log_table
from models.study import load_study
from models.synthetic_study import generate

REPO = Path(__file__).resolve().parents[1]


def _agree(cons, qual, steps: int, seed: int, slack: float | None = None) -> tuple[int, int]:
    """Run both replays along the Python chain's path; the numbers of proposals and acceptances."""
    py = OrderingChain(cons, qualifying=qual, reading=cons.followup_reading, compiled=False)
    cc = OrderingChain(cons, qualifying=qual, reading=cons.followup_reading)
    if slack is not None:
        py, cc = py.relaxed(slack), cc.relaxed(slack)
    rng = random.Random(seed)
    x = py.start(rng)
    xc = cc._make(list(x.seq), dict(x.paths), 0, None)
    assert xc is not None and xc.rows is not None  # the compiled replay applies to these layouts
    sp, sc = ChainStats(), ChainStats()
    for _ in range(steps):
        state = rng.getstate()
        y = py.step(x, rng, sp)
        twin = random.Random()
        twin.setstate(state)
        yc = cc.step(xc, twin, sc)
        assert yc.seq == y.seq and yc.paths == y.paths
        assert sc.accepted == sp.accepted
        assert abs(cc.log_pi(yc) - py.log_pi(y)) <= 1e-9
        if yc is not xc:
            assert cc.summary(yc) == py.summary(y)
            assert cc.final_figs(yc) == py.final_figs(y)
        x, xc = y, yc
    return sp.proposals, sp.accepted


@pytest.fixture(scope="module")
def letter38(tmp_path_factory):
    pack = tmp_path_factory.mktemp("letter_n38")
    generate(REPO / "data" / "benchmarks" / "letter_n38" / "generator.toml", pack)
    study = load_study(pack)
    return load_constraints(pack / "constraints.toml", study.published(), study.baseline(), study=study)


@pytest.mark.parametrize("slack", [None, 2.5])
def test_compiled_and_python_replays_agree_on_the_tiny_study(tiny, slack):  # noqa: F811
    proposals, accepted = _agree(tiny, None, 3000, 5, slack)
    assert 0 < accepted < proposals


@pytest.mark.parametrize("slack", [None, 1.6])
def test_compiled_and_python_replays_agree_on_huang_with_gvhd_moves(huang, slack):  # noqa: F811
    cons, qual, _sol = huang
    proposals, accepted = _agree(cons, qual, 3000, 7, slack)
    assert 0 < accepted < proposals


@pytest.mark.parametrize("slack", [None, 1.6])
def test_compiled_and_python_replays_agree_on_a_38_patient_letter(letter38, slack):
    qual = letter38.gvhd_definitions[0][1] if letter38.gvhd_definitions else None
    proposals, accepted = _agree(letter38, qual, 1500, 3, slack)
    assert 0 < accepted < proposals


def test_a_wrong_tolerance_in_the_compiled_tables_is_caught(tiny):  # noqa: F811
    """The comparison can fail: compiled tables whose incidence tolerance is halved reject
    proposals the Python replay accepts."""
    py = OrderingChain(tiny, qualifying=None, reading=tiny.followup_reading, compiled=False)
    cc = OrderingChain(tiny, qualifying=None, reading=tiny.followup_reading)
    rng = random.Random(5)
    x = py.start(rng)
    differ = 0
    for _ in range(600):
        y = py.step(x, rng, ChainStats())
        yc = cc._make(list(y.seq), dict(y.paths), 0, None)
        assert yc is not None
        lay = yc.layout
        assert lay.packed is not None
        tables = list(lay.packed.tables)
        tol, is_km = tables[TABLES.index("tol")], tables[TABLES.index("is_km")]
        tables[TABLES.index("tol")] = np.where(is_km, tol, tol / 2)
        from models.reconstruct.chain_kernel import initial_row, replay

        codes = cc._codes(lay, y.paths, None)
        labels = np.array([codes[it] for it in y.seq], np.int64)
        differ += replay(initial_row(lay.search, lay.packed), 0, labels, tuple(tables)).shape[0] == 0
        x = y
    assert differ > 0


def test_the_log_table_is_pythons_log():
    t = log_table(80)
    import math

    assert t[0] == 0.0 and all(t[k] == math.log(k) for k in range(1, 81))
