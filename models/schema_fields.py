"""Schema failures located as ``<file>, <where>, field '<key>': found ...; expected ...``.

:func:`models.schema.validate` names a failure by its dotted key (``key 'study.title'``). The data
files of a study pack (``published.toml``, the reconstruction's ``constraints.toml``, the outcome
CSVs) name the table or row first and then the field, as their messages always have::

    published.toml, figure.os_1y, field 'ci': found [90.0, 100.0]; expected an interval containing ...
    constraints.toml, km[0], field 'x': found 'an unknown key'; expected keys among ['figure']
    draw_001.csv, row 5 (patient P4), field 'entry_day': found -1.0; expected days >= 0 (...)

:func:`validate_fields` is that form of the same mechanism: a :class:`FieldSchema` (a
:class:`models.schema.Schema`: unknown keys refused, no conversion between types) declares keys,
types and bounds; its cross-field checks call :func:`models.schema.fail_at`; the first failure
becomes one typed :class:`models.errors.ToolkitError`. A schema says what each failure expects in
its class variable ``hints`` (see :class:`FieldSchema`); without a hint the message is derived from
the schema (``keys among [...]`` for an unknown key, ``one of [...]`` for a ``Literal``).
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError, WrapValidator
from pydantic_core import ErrorDetails

from models.errors import ToolkitError
from models.schema import Schema

S = TypeVar("S", bound=BaseModel)


class FieldSchema(Schema):
    """A schema whose failures read ``<where>, field '<key>'`` (see :func:`validate_fields`).

    ``hints`` maps a field name to what that field expects (used for its type and bound failures,
    and when it is missing), or ``"(<pydantic error type>)"`` to what any field of this table
    expects on that failure, e.g. ``"(missing)"`` for every required key or ``"(extra_forbidden)"``
    for an unknown key. A hint by error type wins over a hint by field.
    """

    hints: ClassVar[Mapping[str, str]] = {}


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


def _found(err: ErrorDetails) -> object:
    if err["type"] == "extra_forbidden":
        return "an unknown table" if isinstance(err.get("input"), dict) else "an unknown key"
    if err["type"] == "missing":
        return "missing"
    value = err.get("input")
    if isinstance(value, dict):
        return "a table"
    return "empty" if value == "" else value


def _expected(err: ErrorDetails, owner: type[BaseModel], key: str | int | None, value_type: Any) -> str:
    kind, msg = err["type"], str(err["msg"])
    hints: Mapping[str, str] = getattr(owner, "hints", {})
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


def validate_fields(
    model: type[S],
    doc: Any,
    source: str | os.PathLike[str],
    kind: type[ToolkitError],
    *,
    where: str | None = None,
    top: str | None = None,
    context: Mapping[str, Any] | None = None,
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

    Notes
    -----
    A failure at a key of a table is ``<table path>, field '<key>'``; a failure of a whole entry
    of a collection (``[figure.<key>]`` that is not a table) is ``<entry path>`` alone. Paths join
    keys with ``.`` and list positions as ``[i]``.
    """
    try:
        return model.model_validate(doc, context=dict(context) if context is not None else None)
    except ValidationError as exc:
        err = _first(exc.errors(include_url=False))
        loc = tuple(err["loc"])
        holder, value_type, owner, owner_key = _walk(model, loc)
        field: str | None = None
        rest = loc
        if loc and _is_model(holder):
            field, rest = str(loc[-1]), loc[:-1]
        located = _path(rest)
        if not rest and field is not None and where is None:
            if err["type"] in ("extra_forbidden", "missing") and top is not None:
                located = top
            else:
                located, field = field, None
        place = ", ".join(p for p in (where, located) if p) or None
        raise kind(
            source, where=place, field=field, found=_found(err), expected=_expected(err, owner, owner_key, value_type)
        ) from None
