"""Declarative input schemas: pydantic models whose failures read as the toolkit's one-line errors.

A schema is a :class:`pydantic.BaseModel` subclass of :class:`Schema` (unknown keys refused,
values not coerced across types). :func:`validate` turns the *first* validation failure into a
:class:`models.errors.ToolkitError` naming the file, the dotted key, what was found and what was
expected, e.g. ``data/x/study.toml, key 'populations.adults.at_most': found 'eighteen'; expected a
number``.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from models.errors import ConfigError, ToolkitError

S = TypeVar("S", bound=BaseModel)


class Schema(BaseModel):
    """Base of every input schema: unknown keys are errors, values are not silently converted."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


def _found(value: Any) -> object:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, str):
        return value if len(value) <= 80 else value[:77] + "..."
    return value


def _expected(err: Any, model: type[BaseModel]) -> str:
    kind, msg = err["type"], str(err["msg"])
    if kind == "extra_forbidden":
        return "no such key (see the schema of this file)"
    if kind == "missing":
        return "a value (this key is required)"
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    if msg.startswith("Input should be "):
        msg = msg[len("Input should be ") :]
    if msg.startswith("String should match pattern "):
        return "a name of lower-case letters, digits, '_' or '-'"
    return msg[0].lower() + msg[1:] if msg else "a valid value"


def validate(model: type[S], doc: Any, source: str | os.PathLike[str], kind: type[ToolkitError] = ConfigError) -> S:
    """Validate ``doc`` (parsed TOML) against ``model``; the first failure is a one-line ``kind`` error."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"])
        found: object
        if err["type"] == "extra_forbidden":
            found = "an unknown key"
        elif err["type"] == "missing":
            found = "missing"
        else:
            found = _found(err.get("input"))
        raise kind(source, where=f"key '{loc}'" if loc else None, found=found, expected=_expected(err, model)) from None
