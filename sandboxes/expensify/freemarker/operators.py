"""The binary operators on template values: comparison, arithmetic, and `+` (which also
joins strings, sequences and hashes), with FreeMarker's type rules.

Numbers are exact: `/` keeps twelve decimal places, rounded half-up, as FreeMarker's
BigDecimal arithmetic does (`52340 / 100` is `523.4`), and `%` keeps the dividend's sign,
as Java's remainder does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, DivisionByZero, InvalidOperation, localcontext
from typing import Any

from sandboxes.expensify.freemarker.formats import to_text
from sandboxes.expensify.freemarker.values import (
    EMPTY,
    Formats,
    Number,
    WrongValueError,
    as_number,
    as_sequence,
    is_number,
    type_name,
)

__all__ = ["arithmetic", "compare", "plus"]

_DIVISION_SCALE = Decimal(1).scaleb(-12)


def compare(op: str, left: object, right: object) -> bool:
    left = "" if left is EMPTY else left
    right = "" if right is EMPTY else right
    kinds = {type_name(left), type_name(right)}
    comparable = len(kinds) == 1 and kinds <= {"string", "number", "boolean", "date", "date-time"}
    if not comparable:
        raise WrongValueError(
            "Can't compare values of these types. Allowed comparisons are between two numbers, "
            f"two strings, two dates, or two booleans. Left hand operand is a {type_name(left)}; "
            f"right hand operand is a {type_name(right)}"
        )
    if op in ("==", "!="):
        return (left == right) == (op == "==")
    if not kinds <= {"number", "date", "date-time"}:
        raise WrongValueError(f'Can\'t use operator "{op}" on {type_name(left)} values')
    ordered: Any = (left, right)
    checks: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b, ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
    }  # fmt: skip
    return checks[op](*ordered)


def arithmetic(op: str, left: Number, right: Number) -> Number:
    try:
        if op == "/":
            with localcontext() as context:
                context.prec = 60
                quotient = Decimal(left) / Decimal(right)
                return quotient.quantize(_DIVISION_SCALE, rounding=ROUND_HALF_UP).normalize()
        if op == "%":
            remainder = Decimal(left) % Decimal(right)  # the dividend's sign, as Java's
            return int(remainder) if isinstance(left, int) and isinstance(right, int) else remainder
    except (DivisionByZero, InvalidOperation):
        raise WrongValueError("Division by zero") from None
    results: dict[str, Callable[[Number, Number], Number]] = {
        "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    }  # fmt: skip
    return results[op](left, right)


def plus(left: object, right: object, formats: Formats) -> object:
    """`+`: numbers add; a string (or date) on either side joins text; sequences and
    hashes concatenate."""
    if is_number(left) and is_number(right):
        return arithmetic("+", as_number(left), as_number(right))
    if isinstance(left, str | date) or isinstance(right, str | date) or EMPTY in (left, right):
        if isinstance(left, bool) or isinstance(right, bool):
            raise WrongValueError(
                'Can\'t convert a boolean to string automatically; use ?c or ?string("yes", "no")'
            )
        return to_text(left, formats) + to_text(right, formats)
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return {**left, **right}
    return [*as_sequence(left), *as_sequence(right)]
