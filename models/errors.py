"""Typed, one-line errors for bad input.

Every error names *where* (file, row or key, field), *what was found* and *what was expected*,
so that a script can print it on one line and exit with status 2. Scripts never show a traceback
for a :class:`ToolkitError`.
"""

from __future__ import annotations

from os import PathLike


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


class ToolkitError(Exception):
    """Base class of all input errors the toolkit reports to users.

    Parameters
    ----------
    source
        The file (or other input, such as ``"--cuts"``) the problem is in.
    where
        Row, patient or key locating the problem inside ``source``.
    field
        The column or key at fault.
    found
        What was found.
    expected
        What was expected instead (phrased so it reads as the fix).
    """

    kind = "input error"

    def __init__(
        self,
        source: str | PathLike[str] | None,
        *,
        where: str | None = None,
        field: str | None = None,
        found: object = None,
        expected: str | None = None,
    ) -> None:
        self.source = None if source is None else str(source)
        self.where = where
        self.field = field
        self.found = found
        self.expected = expected
        super().__init__(self._format())

    def _format(self) -> str:
        parts: list[str] = []
        loc = self.source or "input"
        if self.where:
            loc += f", {self.where}"
        if self.field:
            loc += f", field '{self.field}'"
        parts.append(loc)
        detail = []
        if self.found is not None:
            detail.append(f"found {_one_line(repr(self.found) if isinstance(self.found, str) else self.found)}")
        if self.expected:
            detail.append(f"expected {_one_line(self.expected)}")
        msg = ": ".join([parts[0], "; ".join(detail)]) if detail else parts[0]
        return _one_line(msg)


class DataError(ToolkitError):
    """A data file (baseline, outcome, published figures) is malformed or illogical."""

    kind = "data error"


class ConfigError(ToolkitError):
    """A configuration value (cut points, CLI option, scenario or design file) is invalid."""

    kind = "configuration error"


class PriorError(ToolkitError):
    """A prior source or prior-set entry is invalid or lacks provenance."""

    kind = "prior error"


class ReconstructionError(ToolkitError):
    """The published constraints are contradictory or cannot be met jointly."""

    kind = "reconstruction error"


class StudyError(ToolkitError):
    """A study pack (``study.toml`` and the files it names) is incomplete or inconsistent."""

    kind = "study pack error"
