"""The prior TOML reader, the field types of the prior schemas and their one-line errors.

The two prior file kinds (``sources.toml``, :mod:`models.prior_sources.sources_toml`; prior-set
files, :mod:`models.prior_sources.sets_toml`) are declared as :class:`PriorSchema` models built
from the annotated field types below, whose bounds are part of the declaration (they show in
``Model.model_json_schema()``). :func:`check` validates a parsed document with
:func:`models.schema.validate_fields` and turns the first failure into a one-line
:class:`~models.errors.PriorError` naming the file, the table (dotted, list items as ``[i]``), the
key (an item of the key's own list, like ``range = [a, b]``, is reported at the key), what was
found and what was expected, e.g. ``data/priors/sources.toml, study.gaballa2022.entry, field
'median_day': found -78; expected a day >= 0 and <= 36525 (100 years) on the clock of the figures``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, WrapValidator, model_validator

from models.errors import PriorError
from models.schema import FieldSchema, fail_at, validate_fields

M = TypeVar("M", bound=FieldSchema)

#: Largest day on any clock of the prior files: 100 years (36525 days = 1200 months)
MAX_DAY = 36525
#: The same bound in months (landmarks, medians and follow-up are given in months)
MAX_MONTHS = 1200
_BOUNDS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short", "too_long"})


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a prior TOML file (:func:`models.io.read_toml`); errors are one-line :class:`PriorError`."""
    from models.io import read_toml as read

    return read(path, PriorError, "prior TOML file (or a prior-set name)")


# ------------------------------------------------------------------------------- field types
def expect(expected: str, *, bounds_only: bool = True) -> WrapValidator:
    """Say ``expected`` when the value breaks its declared bounds (or, ``bounds_only=False``, on any failure).

    The bounds stay declared with :func:`pydantic.Field` (``ge``, ``le``, ...); this only words the error
    in the file's vocabulary ("a day >= 0 ...") instead of pydantic's ("greater than or equal to 0").
    """

    def _wrap(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if bounds_only and exc.errors()[0]["type"] not in _BOUNDS:
                raise
            raise ValueError(expected) from None

    return WrapValidator(_wrap)


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("blank")
    return value


_NONBLANK = AfterValidator(_nonblank)
_PROVENANCE = "a non-empty text (provenance is required)"


def _as_list(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


def pair(shape: str) -> BeforeValidator:
    """The value must be a two-item list ``[low, high]`` (``shape`` is the expected text)."""

    def _check(value: Any) -> Any:
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(shape)
        return value

    return BeforeValidator(_check)


def ordered(expected: str) -> AfterValidator:
    """A ``[low, high]`` pair must have ``low <= high`` (``expected`` words the failure)."""

    def _check(value: list[float]) -> list[float]:
        if value[0] > value[1]:
            raise ValueError(expected)
        return value

    return AfterValidator(_check)


#: A finite number (type errors read "a finite number")
Number = Annotated[float, Field(allow_inf_nan=False)]
#: A finite number > 0 (a scale)
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False), expect("a number > 0")]
#: A day on the clock of the figures: 0 to :data:`MAX_DAY`
Day = Annotated[
    float,
    Field(ge=0, le=MAX_DAY, allow_inf_nan=False),
    expect(f"a day >= 0 and <= {MAX_DAY} (100 years) on the clock of the figures"),
]
#: A duration in months: > 0 and at most :data:`MAX_MONTHS`
Months = Annotated[
    float,
    Field(gt=0, le=MAX_MONTHS, allow_inf_nan=False),
    expect(f"a number of months > 0 and <= {MAX_MONTHS} (100 years)"),
]
#: A cohort size: a whole number of patients >= 1
Count = Annotated[int, Field(ge=1), expect("a whole number of patients >= 1", bounds_only=False)]
#: A power-prior discount: 0 (the source lends nothing) to 1 (full weight)
Discount = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), expect("a weight in [0, 1]")]
#: The informative weight of a robust mixture: > 0 and <= 1
Weight = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False), expect("a weight in (0, 1]")]
#: Pseudo-events or pseudo-exposure days of an explicit gamma prior: > 0
PseudoCount = Annotated[float, Field(gt=0, allow_inf_nan=False), expect("counts and exposures > 0")]
#: One number or a list of them (a number stands for a list of one)
NumberList = Annotated[list[PseudoCount], BeforeValidator(_as_list)]
#: A provenance text (citation, quote, address, description): required and not blank
Provenance = Annotated[str, _NONBLANK, expect(_PROVENANCE, bounds_only=False)]


def one_of(values: tuple[str, ...]) -> str:
    """What a choice among ``values`` expects: ``one of 'a', 'b' or 'c'``."""
    quoted = [repr(v) for v in values]
    return "one of " + (f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else quoted[0])


# ------------------------------------------------------------------------------- base schema
class PriorSchema(FieldSchema):
    """A table of a prior file: unknown and missing keys are refused first, one key at a time.

    ``unknown_key`` is what an unknown key is called in the message, ``known_keys`` the expected text
    (default: ``only [<the table's keys>]``); ``missing`` words a missing required key (default: a
    provenance text is required, or any value is). ``hints`` word a value of the wrong type in the
    files' vocabulary (a subclass adds the choices of its ``Literal`` keys with :func:`one_of`).
    """

    hints: ClassVar[Mapping[str, str]] = {
        "(float_type)": "a finite number",
        "(finite_number)": "a finite number",
        "(int_type)": "a whole number",
        "(bool_type)": "true or false",
        "(string_type)": "a text",
        "(list_type)": "a list",
        "(dict_type)": "a table",
        "(model_type)": "a table",
        "(model_attributes_type)": "a table",
        "(missing)": "a value (this key is required)",
        "(extra_forbidden)": "no such key",
    }
    unknown_key: ClassVar[str] = "an unknown key"
    known_keys: ClassVar[str | None] = None
    missing: ClassVar[Mapping[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(k for k in data if k not in cls.model_fields)
            if unknown:
                fail_at((unknown[0],), cls.unknown_key, cls.known_keys or f"only {sorted(cls.model_fields)}")
            for name, info in cls.model_fields.items():
                if info.is_required() and name not in data:
                    default = _PROVENANCE if _NONBLANK in info.metadata else "a value (this key is required)"
                    fail_at((name,), "missing", cls.missing.get(name, default))
        return data


# ------------------------------------------------------------------------------- validation
def check(model: type[M], doc: Any, src: str, *, context: Mapping[str, Any] | None = None) -> M:
    """Validate a parsed prior file against ``model``; the first failure is a one-line :class:`PriorError`.

    ``context`` is handed to the model's validators (the loaded :class:`~models.prior_sources.Sources`
    a prior-set file refers to).
    """
    return validate_fields(model, doc, src, PriorError, context=context, items_at_key=True)
