"""When no table is consistent, the error names a minimal set of figures that conflict (issue 17, item 5).

A synthetic study (n = 24) is published, then its figures are edited to conflict:

* one figure impossible by itself: OS 80.0 (75.0-85.0) is no KM estimate of 24 patients;
* two figures: EFS at one year edited to 100% while OS at one year (94.4%) counts a death before
  the landmark — a death without relapse is an EFS event too, and a death after relapse follows one;
* three constraints: EFS 100% (OS left out of the constraints), the follow-up range starting at day
  100 and administrative censoring (alive patients last seen from day 131): the first exit, at day
  100, cannot be a last contact, so it is a death before the landmark, which EFS 100% excludes.
  Any two of the three can hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models.data import load_published
from models.errors import ReconstructionError
from models.reconstruct import load_constraints, reconstruct
from models.reconstruct.conflicts import feasible, minimal_conflict
from models.study import load_study
from models.synthetic_study import publish, simulate_outcomes

N, SEED = 24, 3
OS = ("published.toml", "value = 94.4\nci = [84.4, 100.0]")
EFS = ("published.toml", "value = 82.3\nci = [65.8, 100.0]")
FOLLOWUP = ("published.toml", "range = [154, 781]")


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("conflicts")
    publish(simulate_outcomes(N, SEED), folder, seed=SEED)
    return folder


def _edited(pack: Path, tmp_path: Path, edits: list[tuple[str, str, str]]):
    """The pack's constraints with ``(file, old, new)`` text edits (each ``old`` must be present)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name in ("study.toml", "published.toml", "baseline.csv", "constraints.toml"):
        (tmp_path / name).write_text((pack / name).read_text())
    for name, old, new in edits:
        text = (tmp_path / name).read_text()
        assert old in text, f"{name} no longer prints {old!r}"
        (tmp_path / name).write_text(text.replace(old, new, 1))
    study = load_study(tmp_path)
    pub = load_published(tmp_path / "published.toml", study=study)
    return load_constraints(
        tmp_path / "constraints.toml", pub, study.load_baseline(tmp_path / "baseline.csv"), study=study
    )


def _message(cons, **kw) -> str:
    with pytest.raises(ReconstructionError) as exc:
        reconstruct(cons, draws=1, seed=1, **kw)
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_the_published_pack_is_consistent(pack, tmp_path):
    cons = _edited(pack, tmp_path, [])
    assert feasible(cons, qualifying=None, checked={f.name for f in (*cons.km, *cons.cif)}, max_states=10**6)


def test_a_figure_impossible_by_itself_is_the_whole_set(pack, tmp_path):
    cons = _edited(pack, tmp_path, [(*OS, "value = 80.0\nci = [75.0, 85.0]")])
    conflict = minimal_conflict(cons, qualifying=None, max_states=10**6)
    assert conflict.members == ("figure.os_1y",) and conflict.minimal
    text = _message(cons)
    # The earlier information stays: the figure and the closest value reachable with the others.
    assert "figure os_1y" in text and "closest reachable 94.1 (83.6-100.0)" in text
    assert text.endswith("these cannot all hold: figure.os_1y'; expected mutually consistent published figures")


def test_two_figure_conflict(pack, tmp_path):
    cons = _edited(pack, tmp_path, [(*EFS, "value = 100.0\nci = [100.0, 100.0]")])
    conflict = minimal_conflict(cons, qualifying=None, max_states=3_000_000)
    assert conflict.members == ("figure.os_1y", "figure.efs_1y")
    assert conflict.minimal and conflict.text() == "figure.os_1y, figure.efs_1y"


def test_three_figure_conflict_in_the_one_line_message(pack, tmp_path):
    cons = _edited(
        pack,
        tmp_path,
        [
            (*EFS, "value = 100.0\nci = [100.0, 100.0]"),
            (*FOLLOWUP, "range = [100, 781]"),
            ("constraints.toml", '[[km]]\nfigure = "os_1y"\n', ""),
        ],
    )
    conflict = minimal_conflict(cons, qualifying=None, max_states=10**6)
    assert conflict.members == ("figure.efs_1y", "figure.followup", "admin_censoring") and conflict.minimal
    # Irreducible: leaving out any one member admits an ordering.
    figures = {f.name for f in (*cons.km, *cons.cif)}
    assert feasible(cons, qualifying=None, checked=figures - {"efs_1y"}, max_states=10**6)
    assert feasible(
        cons.__class__(**{**cons.__dict__, "followup": None}), qualifying=None, checked=figures, max_states=10**6
    )
    assert feasible(
        cons.__class__(**{**cons.__dict__, "admin": None}), qualifying=None, checked=figures, max_states=10**6
    )
    # A small search bound: the closest values are not searched, the set is still named.
    text = _message(cons, max_states=200_000)
    assert "these cannot all hold: figure.efs_1y, figure.followup, admin_censoring'" in text


def test_a_bounded_search_says_the_set_is_not_shown_minimal(pack, tmp_path):
    cons = _edited(pack, tmp_path, [(*EFS, "value = 100.0\nci = [100.0, 100.0]")])
    conflict = minimal_conflict(cons, qualifying=None, max_states=1000)
    assert not conflict.minimal and "search bound 1000 states" in conflict.note
    assert {"figure.os_1y", "figure.efs_1y"} <= set(conflict.members)  # still a conflict, maybe larger
    stopped = minimal_conflict(cons, qualifying=None, max_states=10**6, time_limit=0.0)
    assert not stopped.minimal and "stopped after 0 s" in stopped.text()


# ----------------------------------------------------------------------------- chain mode


@pytest.fixture
def quick_start(monkeypatch):
    """The chain's real start search, limited to ``seconds`` (a failing search otherwise runs 60 s)."""
    from models.reconstruct import chain_start
    from models.reconstruct.chain import OrderingChain

    def limit(seconds: float) -> None:
        def start(self, rng, *, seconds_=seconds, restarts=None, **_kw):
            return chain_start.find_start(self, rng, seconds=seconds_, restarts=restarts)

        monkeypatch.setattr(OrderingChain, "start", start)

    return limit


def test_chain_mode_names_the_conflicting_figures(pack, tmp_path, quick_start):
    quick_start(1.0)
    cons = _edited(pack, tmp_path, [(*EFS, "value = 100.0\nci = [100.0, 100.0]")])
    text = _message(cons, method="chain")
    assert "(shown by depth-first search); these cannot all hold: figure.os_1y, figure.efs_1y'" in text


def test_chain_mode_says_when_its_start_search_missed_an_ordering(pack, tmp_path, quick_start):
    quick_start(0.0)
    text = _message(_edited(pack, tmp_path, []), method="chain")
    assert "although a depth-first search finds a consistent ordering" in text and "--method exact" in text


def test_chain_mode_says_when_neither_is_shown(pack, tmp_path, quick_start):
    quick_start(1.0)
    cons = _edited(pack, tmp_path, [(*EFS, "value = 100.0\nci = [100.0, 100.0]")])
    text = _message(cons, method="chain", max_states=50)
    assert "neither found a consistent ordering nor ruled one out within 50 states" in text


def test_the_chains_depth_first_search_agrees_with_the_exact_one(pack, tmp_path):
    """:func:`chain_feasible` (used where KM tuples are too many to list) decides as the exact search."""
    from models.reconstruct.solve import chain_feasible

    ok = _edited(pack, tmp_path / "ok", [])
    bad = _edited(pack, tmp_path / "bad", [(*EFS, "value = 100.0\nci = [100.0, 100.0]")])
    for cons, want in ((ok, True), (bad, False)):
        checked = {f.name for f in (*cons.km, *cons.cif)}
        assert feasible(cons, qualifying=None, checked=checked, max_states=10**6) is want
        assert chain_feasible(cons, qualifying=None, checked=checked, max_states=20_000) is want
    conflict = minimal_conflict(bad, qualifying=None, max_states=20_000, oracle=chain_feasible)
    assert {"figure.os_1y", "figure.efs_1y"} <= set(conflict.members)


def test_chain_mode_falls_back_to_the_chains_search_when_tuples_cannot_be_listed(
    pack, tmp_path, quick_start, monkeypatch
):
    """At scale the exact search cannot list a KM figure's risk-set tuples; the chain's search decides."""
    import importlib

    solve_module = importlib.import_module("models.reconstruct.solve")

    exact = solve_module.feasible

    def too_many(cons, *, checked, **kw):
        if "os_1y" in checked:  # the exact search lists the tuples of the figures it checks
            raise ReconstructionError("input", where="figure os_1y", found="more than 2000000 risk-set prefixes")
        return exact(cons, checked=checked, **kw)

    monkeypatch.setattr(solve_module, "feasible", too_many)
    quick_start(1.0)
    cons = _edited(pack, tmp_path, [(*EFS, "value = 100.0\nci = [100.0, 100.0]")])
    text = _message(cons, method="chain", max_states=20_000)
    assert "(shown by depth-first search); these cannot all hold: " in text
    named = text.split("these cannot all hold: ")[1]
    assert "figure.os_1y" in named and "figure.efs_1y" in named
