"""Long work reports through a Progress object the caller chooses; the library prints nothing itself."""

from __future__ import annotations

from models.constants import RECONSTRUCTED_DIR
from models.data import load_outcome_draws
from models.progress import SILENT, Bar, Lines, Silent, as_progress, reporter


class Recorder:
    def __init__(self) -> None:
        self.steps: list[tuple[str, int, int]] = []
        self.notes: list[str] = []

    def advance(self, task: str, done: int, total: int) -> None:
        self.steps.append((task, done, total))

    def note(self, text: str) -> None:
        self.notes.append(text)


def test_lines_report_every_twentieth_and_the_last(capsys):
    rep = Lines("x")
    for i in range(1, 101):
        rep.advance("work", i, 100)
    rep.note("done")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 21 and err[0].startswith("x: work 5/100") and err[-2].startswith("x: work 100/100")
    assert err[-1] == "x: done"


def test_silent_and_conversions(capsys):
    SILENT.advance("a", 1, 1)
    SILENT.note("b")
    assert capsys.readouterr().err == ""
    assert isinstance(as_progress(False), Silent) and isinstance(as_progress(None), Silent)
    assert isinstance(as_progress(True), Lines)
    rec = Recorder()
    assert as_progress(rec) is rec
    assert isinstance(reporter("p", quiet=True), Silent)
    assert isinstance(reporter("p"), Lines)  # stderr is not a terminal under pytest


def test_bar_runs_through_tasks_and_notes():
    bar = Bar("p")
    for i in range(1, 4):
        bar.advance("one", i, 3)
    bar.note("between")
    for i in range(1, 3):
        bar.advance("two", i, 2)
    assert not bar._ids  # every task finished: the display is closed


def test_sensitivity_grid_reports_through_the_reporter_only(capsys, tmp_path):
    from test_scripts_smoke import TINY

    from models.sensitivity import load_config, run_grid

    cfg_path = tmp_path / "tiny.toml"
    cfg_path.write_text(TINY)
    cfg = load_config(cfg_path)
    rec = Recorder()
    run_grid(cfg, load_outcome_draws(RECONSTRUCTED_DIR)[:2], progress=rec)
    assert rec.steps and rec.steps[-1][1] == rec.steps[-1][2] and rec.steps[-1][0] == "scenarios"
    assert any("scenarios over 2 table(s)" in n for n in rec.notes)
    assert capsys.readouterr().err == ""
