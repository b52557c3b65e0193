"""The row schema of a per-patient outcome table (``docs/study_packs.md`` section 5).

One :class:`OutcomeRow` per patient, days from transplant: cells arrive as the CSV's text (an
empty cell is an event that did not happen) or as numbers. The table-level rules (the header,
unique patient IDs, at least one row) stay with :func:`models.data.validate_outcomes`, which
applies this schema to every row and names the file, the row (the file's line) and the column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from models.constants import DEATH_CAUSES, MAX_DAY
from models.schema import FieldSchema, fail_at, shaped


def _day_text(value: Any) -> Any:
    """A cell's text as days: empty is ``None``; other text must read as a finite number."""
    if not isinstance(value, str):
        return value
    if value.strip() == "":
        return None
    try:
        t = float(value)
    except ValueError:
        raise ValueError("a number of days from transplant, or empty") from None
    if not math.isfinite(t):
        raise ValueError("a finite number of days")
    return t


def _required_day_text(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        raise ValueError("a number of days from transplant (required)")
    return _day_text(value)


_NO_CAUSE = "empty when death_day is empty"
#: Days from transplant (day 0), at most 100 years
DayNumber = Annotated[float, Field(ge=0, le=MAX_DAY, allow_inf_nan=False)]
#: A day that may be empty (the event did not happen)
Day = Annotated[DayNumber | None, BeforeValidator(_day_text)]
#: A day every patient has
RequiredDay = Annotated[DayNumber, BeforeValidator(_required_day_text)]


class OutcomeRow(FieldSchema):
    """One patient: entry, events and last follow-up in days, and the cause of a death.

    ``entry_day <= relapse_day, gvhd_day, death_day <= last_followup_day``; a death is on the last
    follow-up day and has a cause in :data:`~models.constants.DEATH_CAUSES` (``relapse`` needs a
    relapse day; ``nrm`` none); no cause without a death. Fields are in the order they are checked.
    """

    hints: ClassVar[Mapping[str, str]] = {
        "(greater_than_equal)": "days >= 0 (day 0 = transplant)",
        "(less_than_equal)": f"days <= {MAX_DAY:,.0f} (100 years after transplant)",
    }

    patient: Annotated[str, shaped(lambda v: isinstance(v, str) and v.strip() != "", "a patient ID such as P1")]
    entry_day: RequiredDay
    relapse_day: Day = None
    gvhd_day: Day = None
    death_day: Day = None
    last_followup_day: RequiredDay
    death_cause: str = ""

    @field_validator("death_cause", mode="before")
    @classmethod
    def _known_cause(cls, value: Any, info: ValidationInfo) -> Any:
        cause = "" if value is None else value.strip() if isinstance(value, str) else value
        if cause not in ("", *DEATH_CAUSES):
            died = info.data.get("death_day") is not None
            fail_at((), cause, f"one of {list(DEATH_CAUSES)} for a patient who died" if died else _NO_CAUSE)
        return cause

    @model_validator(mode="after")
    def _consistent(self) -> OutcomeRow:
        entry, last = self.entry_day, self.last_followup_day
        if entry > last:
            fail_at(("entry_day",), entry, f"<= last_followup_day ({last:g})")
        for c in ("relapse_day", "gvhd_day", "death_day"):
            v = getattr(self, c)
            if v is None:
                continue
            if v < entry:
                fail_at((c,), v, f">= entry_day ({entry:g}): no event before entering follow-up")
            if v > last:
                fail_at((c,), v, f"<= last_followup_day ({last:g})")
        cause = self.death_cause
        if self.death_day is not None:
            if self.death_day != last:
                fail_at(("death_day",), self.death_day, f"equal to last_followup_day ({last:g}) for a patient who died")
            if cause not in DEATH_CAUSES:
                fail_at(("death_cause",), cause or "empty", f"one of {list(DEATH_CAUSES)} for a patient who died")
        elif cause:
            fail_at(("death_cause",), cause, _NO_CAUSE)
        if cause == "relapse" and self.relapse_day is None:
            fail_at(("relapse_day",), "empty", "a relapse day for a death caused by relapse")
        if cause == "nrm" and self.relapse_day is not None:
            fail_at(("death_cause",), "nrm", "'relapse' (a death after relapse is not non-relapse mortality)")
        return self
