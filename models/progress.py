"""Progress of long work, reported through one small interface the caller chooses.

Library code never writes to the terminal itself: long loops call ``progress.advance(task, done,
total)`` and ``progress.note(text)`` on a :class:`Progress`. Scripts pass :func:`reporter`, which
draws a progress bar (rich) when stderr is a terminal and writes a line every ~5% otherwise (logs,
CI); notebooks may pass their own object or nothing (:data:`SILENT`).
"""

from __future__ import annotations

import sys
import time
from typing import Protocol


class Progress(Protocol):
    """What long work reports: steps done out of a total, and one-line notes."""

    def advance(self, task: str, done: int, total: int) -> None: ...

    def note(self, text: str) -> None: ...


class Silent:
    """Reports nothing."""

    def advance(self, task: str, done: int, total: int) -> None:
        return None

    def note(self, text: str) -> None:
        return None


#: The reporter of library calls that ask for none.
SILENT: Progress = Silent()


class Lines:
    """One line per note, and per ~5% of each task (with seconds since the reporter began), on stderr."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = f"{prefix}: " if prefix else ""
        self.t0 = time.perf_counter()

    def advance(self, task: str, done: int, total: int) -> None:
        step = max(1, total // 20)
        if done == total or done % step == 0:
            sys.stderr.write(f"{self.prefix}{task} {done}/{total} ({time.perf_counter() - self.t0:.1f} s)\n")
            sys.stderr.flush()

    def note(self, text: str) -> None:
        sys.stderr.write(f"{self.prefix}{text}\n")
        sys.stderr.flush()


class Bar(Lines):
    """A rich progress bar per task on a terminal; notes printed above the bars."""

    def __init__(self, prefix: str = "") -> None:
        super().__init__(prefix)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self._bars = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._ids: dict[str, int] = {}

    def advance(self, task: str, done: int, total: int) -> None:
        if task not in self._ids:
            if not self._ids:
                self._bars.start()
            self._ids[task] = self._bars.add_task(f"{self.prefix}{task}", total=total)
        self._bars.update(self._ids[task], completed=done, total=total)  # type: ignore[arg-type]
        if all(t.finished for t in self._bars.tasks):
            self._bars.stop()
            self._ids.clear()
            self._bars = type(self._bars)(*self._bars.columns, console=self._bars.console)

    def note(self, text: str) -> None:
        if self._ids:
            self._bars.console.print(f"{self.prefix}{text}", highlight=False, markup=False)
        else:
            super().note(text)


def reporter(prefix: str, *, quiet: bool = False) -> Progress:
    """The reporter a script uses: nothing when ``quiet``, a bar on a terminal, else lines."""
    if quiet:
        return SILENT
    return Bar(prefix) if sys.stderr.isatty() else Lines(prefix)


def as_progress(progress: bool | Progress | None, prefix: str = "") -> Progress:
    """``True`` → :class:`Lines`, ``False``/``None`` → :data:`SILENT`, a reporter → itself."""
    if progress is True:
        return Lines(prefix)
    if progress is False or progress is None:
        return SILENT
    return progress
