"""The values a template works with, and the conversions every operator and built-in shares.

The data model's Python values map onto FreeMarker's types: `str` is a string, `int` and
`Decimal` are numbers (a `float` from the data is read as the Decimal of its repr, so
arithmetic is exact as FreeMarker's BigDecimal arithmetic is), `bool` a boolean, a mapping a
hash, a list or tuple a sequence, `date`/`datetime` a date. `None` or an absent key is
*missing*, which only `!`, `??`, `?has_content` and friends may touch. `EMPTY` is what `x!`
gives for a missing `x`: an empty string, sequence and hash at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final, TypeAlias

__all__ = [
    "EMPTY",
    "Formats",
    "Number",
    "WrongValueError",
    "as_hash",
    "as_number",
    "as_sequence",
    "as_string",
    "from_data",
    "has_content",
    "is_number",
    "type_name",
]

Number: TypeAlias = int | Decimal


class _Empty:
    def __repr__(self) -> str:
        return "EMPTY"


EMPTY: Final = _Empty()


class WrongValueError(Exception):
    """A value of the wrong type or shape; the evaluator adds where it happened."""


@dataclass
class Formats:
    """FreeMarker's output settings, changed by `<#setting>` while rendering.

    `boolean_format` None is the server's default: `${flag}` prints nothing (sheet 5, HELP),
    and `?string` with no arguments prints `true`/`false`.
    """

    number_format: str = "computer"
    boolean_format: str | None = None
    date_format: str = "yyyy-MM-dd"
    datetime_format: str = "yyyy-MM-dd HH:mm:ss"
    time_format: str = "HH:mm:ss"


def from_data(value: object) -> object:
    """A data-model value as the template sees it (floats become exact Decimals)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def is_number(value: object) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def type_name(value: object) -> str:
    """FreeMarker's name for the value's type, for error messages."""
    if value is None or value is EMPTY:
        return "missing" if value is None else "empty value"
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "boolean"), ((int, Decimal), "number"), (str, "string"),
        (datetime, "date-time"), (date, "date"), (Mapping, "hash"), (Sequence, "sequence"),
    )  # fmt: skip
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def _expected(what: str, value: object) -> WrongValueError:
    return WrongValueError(f"Expected {what}, but this has evaluated to a {type_name(value)}")


def as_number(value: object) -> Number:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return value
    raise _expected("a number", value)


def as_string(value: object) -> str:
    """A string operand (strings only; numbers print through `to_text`)."""
    if isinstance(value, str):
        return value
    if value is EMPTY:
        return ""
    raise _expected("a string", value)


def as_sequence(value: object) -> Sequence[object]:
    if value is EMPTY:
        return ()
    if isinstance(value, Sequence) and not isinstance(value, str):
        return value
    raise _expected("a sequence", value)


def as_hash(value: object) -> Mapping[str, object]:
    if value is EMPTY:
        return {}
    if isinstance(value, Mapping):
        return value
    raise _expected("a hash", value)


def has_content(value: object) -> bool:
    """FreeMarker's `?has_content`: present and not an empty string, sequence or hash."""
    if value is None or value is EMPTY:
        return False
    if isinstance(value, str | Mapping) or (
        isinstance(value, Sequence) and not isinstance(value, str)
    ):
        return len(value) > 0
    return True
