"""Declarative input schemas: pydantic models whose failures read as the toolkit's one-line errors.

A schema is a :class:`pydantic.BaseModel` subclass of :class:`Schema` (unknown keys refused,
values not coerced across types); its cross-field checks call :func:`fail_at`. The first
validation failure becomes one typed :class:`models.errors.ToolkitError` naming the file, where in
it, what was found and what was expected, in one of two forms:

- :func:`validate` names the dotted key: ``data/x/study.toml, key 'populations.adults.at_most':
  found 'eighteen'; expected a number`` (``study.toml``, claims, designs, sensitivity plans);
- :func:`validate_fields` names the table or row first, then the field, as the data and prior files
  always have (schemas are :class:`FieldSchema`, whose ``hints`` word what a failure expects)::

    published.toml, figure.os_1y, field 'ci': found [90.0, 100.0]; expected an interval containing ...
    constraints.toml, km[0], field 'x': found 'an unknown key'; expected keys among ['figure']
    draw_001.csv, row 5 (patient P4), field 'entry_day': found -1.0; expected days >= 0 (...)
    sources.toml, study.gaballa2022.entry, field 'range': found -44; expected a day >= 0 ...

  The prior files (the last line) report a failure of an item of a key's own list at the key
  (``items_at_key=True``).
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal, NoReturn, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, WrapValidator
from pydantic_core import ErrorDetails, InitErrorDetails

from models.errors import ConfigError, ToolkitError

S = TypeVar("S", bound=BaseModel)


class Schema(BaseModel):
    """Base of every input schema: unknown keys are errors, values are not silently converted."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class FieldSchema(Schema):
    """A schema whose failures read ``<where>, field '<key>'`` (see :func:`validate_fields`).

    ``hints`` maps a field name to what that field expects (used for its type and bound failures,
    and when it is missing), or ``"(<pydantic error type>)"`` to what any field of this table
    expects on that failure, e.g. ``"(missing)"`` for every required key or ``"(extra_forbidden)"``
    for an unknown key. A hint by error type wins over a hint by field. A subclass's ``hints`` add
    to (and override) those of its bases.
    """

    hints: ClassVar[Mapping[str, str]] = {}


# ------------------------------------------------------------------------------- declaring
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


def one_message(expected: str) -> WrapValidator:
    """Report any failure of the wrapped type (e.g. a union) as one failure expecting ``expected``.

    A union such as ``Literal["plateau"] | PositiveFloat`` otherwise fails once per member, each at
    a location naming the member; wrapped, it fails once, at the field.
    """

    def _wrap(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(expected) from None

    return WrapValidator(_wrap)


# ------------------------------------------------------------------------------- key 'a.b.c'
def _shown(value: Any) -> object:
    """A value as a message shows it: tables and lists by kind, long texts cut."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, str):
        return _cut(value)
    return value


def _cut(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


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
            found = _shown(err.get("input"))
        raise kind(source, where=f"key '{loc}'" if loc else None, found=found, expected=_expected(err, model)) from None


# ------------------------------------------------------------------------------- <table>, field 'key'
def _unwrap(tp: Any) -> Any:
    """``tp`` without ``Annotated`` metadata and ``None`` alternatives (first container of a union)."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin is Union or origin is types.UnionType:
            args = [a for a in get_args(tp) if a is not type(None)]
            nested = [a for a in args if _is_model(_unwrap(a)) or get_origin(_unwrap(a)) in (dict, list, tuple)]
            if len(args) == 1:
                tp = args[0]
            elif nested:
                tp = nested[0]
            else:
                return tp
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _walk(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[Any, Any, type[BaseModel], str | int | None]:
    """Along ``loc``: the type holding its last key, the failing value's type, and the nearest table.

    The nearest table is the schema class closest to the failure on the path and the key looked up
    in it (where its hints apply).
    """
    holder: Any = None
    tp: Any = model
    owner: type[BaseModel] = model
    owner_key: str | int | None = None
    for part in loc:
        holder = _unwrap(tp)
        if _is_model(holder):
            owner, owner_key = holder, part
            field = holder.model_fields.get(str(part))
            if field is None:
                field = next((f for f in holder.model_fields.values() if f.alias == part), None)
            tp = field.annotation if field is not None else Any
        elif get_origin(holder) is dict:
            tp = get_args(holder)[1]
        elif get_origin(holder) in (list, tuple):
            tp = get_args(holder)[0]
        else:
            tp = Any
    return holder, _unwrap(tp), owner, owner_key


def _path(parts: tuple[str | int, ...]) -> str:
    """``('gvhd', 'definitions', 0)`` as ``gvhd.definitions[0]``."""
    text = ""
    for p in parts:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text


def _found(err: ErrorDetails, *, items_at_key: bool) -> object:
    if err["type"] == "extra_forbidden":
        return "an unknown table" if isinstance(err.get("input"), dict) else "an unknown key"
    if err["type"] == "missing":
        return "missing"
    value = err.get("input")
    if isinstance(value, dict):
        return "a table"
    if not items_at_key:
        return "empty" if value == "" else value
    if isinstance(value, list):
        flat = not any(isinstance(v, dict | list) for v in value)
        return value if flat and len(repr(value)) <= 80 else f"a list of {len(value)}"
    return _cut(value) if isinstance(value, str) else value


def _hints(owner: type[BaseModel]) -> dict[str, str]:
    """The ``hints`` of ``owner`` and of its bases (the class's own win)."""
    merged: dict[str, str] = {}
    for cls in reversed(owner.__mro__):
        merged.update(vars(cls).get("hints", {}))
    return merged


def _expected_of_field(err: ErrorDetails, owner: type[BaseModel], key: str | int | None, value_type: Any) -> str:
    kind, msg = err["type"], str(err["msg"])
    hints = _hints(owner)
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    by_kind = hints.get(f"({kind})")
    if by_kind is not None:
        return by_kind
    if kind == "extra_forbidden":
        return f"keys among {sorted(f.alias or name for name, f in owner.model_fields.items())}"
    by_key = hints.get(str(key)) if key is not None else None
    if by_key is not None:
        return by_key
    if kind == "missing":
        return "a value (this key is required)"
    if get_origin(value_type) is Literal:
        return f"one of {list(get_args(value_type))}"
    msg = msg.removeprefix("Input should be ")
    return msg[0].lower() + msg[1:] if msg else "a valid value"


def _first(errors: list[ErrorDetails]) -> ErrorDetails:
    """The failure to report: the first, unless a table on its path has an unknown key.

    An unknown key is reported before the other failures of its table and of the tables inside
    it (it is often a misspelt key whose absence is the other failure), the outermost first.
    """
    first = errors[0]
    unknown = [
        e
        for e in errors
        if e["type"] == "extra_forbidden" and tuple(first["loc"][: len(e["loc"]) - 1]) == tuple(e["loc"][:-1])
    ]
    return min(unknown, key=lambda e: len(e["loc"])) if unknown else first


def _place(
    loc: tuple[str | int, ...],
    kind: str,
    *,
    in_table: bool,
    where: str | None,
    top: str | None,
    items_at_key: bool,
) -> tuple[str | None, str | None]:
    """Where a failure at ``loc`` is (``where`` first, then the table or entry path) and its field.

    ``in_table``: the last key of ``loc`` is a key of a table (not an entry of a collection).
    """
    field: str | None = None
    if items_at_key:
        while loc and isinstance(loc[-1], int):
            loc = loc[:-1]
        if loc:
            field, loc = str(loc[-1]), loc[:-1]
    elif loc and in_table:
        field, loc = str(loc[-1]), loc[:-1]
    located = _path(loc)
    if not items_at_key and not loc and field is not None and where is None:
        if kind in ("extra_forbidden", "missing") and top is not None:
            located = top
        else:
            located, field = field, None
    return ", ".join(p for p in (where, located) if p) or None, field


def validate_fields(
    model: type[S],
    doc: Any,
    source: str | os.PathLike[str],
    kind: type[ToolkitError],
    *,
    where: str | None = None,
    top: str | None = None,
    context: Mapping[str, Any] | None = None,
    items_at_key: bool = False,
) -> S:
    """Validate ``doc`` against ``model``; the first failure is a one-line ``kind`` error.

    Parameters
    ----------
    model
        The schema (:class:`FieldSchema` subclasses give their own ``hints``).
    doc
        Parsed TOML, or one row of a table as a mapping of column to cell.
    source
        The file, named first in the message.
    kind
        The error class (e.g. :class:`~models.errors.DataError`).
    where
        What locates ``doc`` inside the file (e.g. ``"row 5 (patient P4)"``); its keys are then the
        fields of the message.
    top
        How an unknown or missing *top-level* key is located (e.g. ``"top level"``); without it, a
        top-level key is itself the location.
    context
        Passed to the schema's validators (``info.context``), e.g. the study's population names.
    items_at_key
        Report every failure at the last key of its path, as ``field '<key>'`` of what holds it: a
        failure of an item of the key's own list (``range = [a, b]``, ``ci``) at the key, and
        top-level keys and entries of a collection as fields too (the prior files). The value found
        is then shown shortened (a text over 80 characters cut; a list whose text is over 80
        characters, or that holds tables or lists, by its length) and an empty text as ``''``.

    Notes
    -----
    By default a failure at a key of a table is ``<table path>, field '<key>'``; a failure of a
    whole entry of a collection (``[figure.<key>]`` that is not a table) or of an item of a list
    is ``<entry path>`` alone. Paths join keys with ``.`` and list positions as ``[i]``.
    """
    try:
        return model.model_validate(doc, context=dict(context) if context is not None else None)
    except ValidationError as exc:
        err = _first(exc.errors(include_url=False))
        loc = tuple(err["loc"])
        holder, value_type, owner, owner_key = _walk(model, loc)
        place, field = _place(
            loc, err["type"], in_table=_is_model(holder), where=where, top=top, items_at_key=items_at_key
        )
        raise kind(
            source,
            where=place,
            field=field,
            found=_found(err, items_at_key=items_at_key),
            expected=_expected_of_field(err, owner, owner_key, value_type),
        ) from None
