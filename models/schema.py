"""Declarative input schemas: pydantic models whose failures read as the toolkit's one-line errors.

A schema is a :class:`pydantic.BaseModel` subclass of :class:`Schema` (unknown keys refused,
values not coerced across types). :func:`validate` turns the *first* validation failure into a
:class:`models.errors.ToolkitError` naming the file, the dotted key, what was found and what was
expected, e.g. ``data/x/study.toml, key 'populations.adults.at_most': found 'eighteen'; expected a
number``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails

from models.errors import ConfigError, ToolkitError

S = TypeVar("S", bound=BaseModel)


class Schema(BaseModel):
    """Base of every input schema: unknown keys are errors, values are not silently converted."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


def fail_at(loc: tuple[str | int, ...], found: Any, expected: str) -> NoReturn:
    """Inside a validator: fail at key ``loc`` (relative to the value being validated).

    Pydantic prefixes ``loc`` with the location of the value, so a cross-field check of a table
    names the key at fault (``claim.2.benchmark.nrm``) rather than the whole table.
    """
    raise ValidationError.from_exception_data(
        "input", [InitErrorDetails(type="value_error", loc=loc, input=found, ctx={"error": expected})]
    )


def shaped(check: Callable[[Any], bool], expected: str) -> BeforeValidator:
    """A before-validator refusing a value of the wrong shape with ``expected`` (e.g. ``"a table [base]"``)."""

    def _check(value: Any) -> Any:
        if not check(value):
            raise ValueError(expected)
        return value

    return BeforeValidator(_check)


def table(expected: str) -> BeforeValidator:
    """The value must be a TOML table."""
    return shaped(lambda v: isinstance(v, dict), expected)


def tables(expected: str) -> BeforeValidator:
    """The value must be an array of TOML tables (``[[name]]``)."""
    return shaped(lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v), expected)


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
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "a table"
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
