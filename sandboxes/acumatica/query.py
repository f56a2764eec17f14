"""`$filter`: the OData v3 subset the contract-based API understands, as a predicate on records.

Sheet section 5: `eq ne gt ge lt le`, `and`/`or` (and `not`, parentheses), the functions
`substringof('x', Field)`, `startswith(Field, 'x')`, `endswith(Field, 'x')`; literals
`'text'` (`''` escapes a quote), numbers, `true`/`false`/`null`, `datetimeoffset'...'`,
`datetime'...'` (read as UTC [I]), `date'...'`, `guid'...'`; linked fields by path
(`ContactInfo/Email`). Filters on detail entities are refused (the vendor calls their
results unpredictable). An unencoded `+` in a date-time literal arrives as a space and
does not parse, as on the real service.
"""

from __future__ import annotations

import operator as op
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sandboxes.acumatica.entities import EntityDef

__all__ = ["FilterError", "Predicate", "parse_filter"]

Predicate = Callable[[Mapping[str, Any]], bool]

TOKEN = re.compile(
    r"""\s*(?:
        (?P<typed>(?:datetimeoffset|datetime|date|guid)'[^']*')
      | (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
FUNCTIONS = frozenset({"substringof", "startswith", "endswith"})
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": op.eq, "ne": op.ne, "gt": op.gt, "ge": op.ge, "lt": op.lt, "le": op.le,
}  # fmt: skip


class FilterError(ValueError):
    """A `$filter` the service cannot evaluate; the message says where."""


class _Literal:
    def __init__(self, value: object) -> None:
        self.value = value


class _Field:
    def __init__(self, path: str) -> None:
        self.path = path


Operand = _Literal | _Field


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"Invalid $filter near '{text[position : position + 20]}'")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def _typed_literal(token: str) -> object:
    prefix, _, rest = token.partition("'")
    raw = rest[:-1]
    try:
        if prefix == "datetimeoffset":
            moment = datetime.fromisoformat(raw)
            if moment.tzinfo is None:
                raise FilterError(f"datetimeoffset literal without an offset: '{raw}'")
            return moment
        if prefix == "datetime":
            moment = datetime.fromisoformat(raw)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if prefix == "date":
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
    except ValueError as error:
        raise FilterError(f"Invalid {prefix} literal '{raw}'") from error
    return raw.lower()


class _Parser:
    def __init__(self, text: str, definition: EntityDef) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.definition = definition

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterError("Unexpected end of $filter")
        self.position += 1
        return token

    def expect(self, value: str) -> None:
        _, text = self.take()
        if text != value:
            raise FilterError(f"Expected '{value}' in $filter, found '{text}'")

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek() is not None:
            raise FilterError(f"Unexpected '{self.peek()[1]}' in $filter")  # type: ignore[index]
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek() == ("word", "or"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda r: any(p(r) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while self.peek() == ("word", "and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else lambda r: all(p(r) for p in parts)

    def unary(self) -> Predicate:
        if self.peek() == ("word", "not"):
            self.take()
            inner = self.unary()
            return lambda r: not inner(r)
        if self.peek() == ("punct", "("):
            self.take()
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        kind, text = self.peek() or ("", "")
        if kind == "word" and text in FUNCTIONS:
            call = self.function()
            if self.peek() is not None and self.peek()[1] in ("eq", "ne"):  # type: ignore[index]
                operator = self.take()[1]
                wanted = self.operand()
                if not isinstance(wanted, _Literal) or not isinstance(wanted.value, bool):
                    raise FilterError("A function result compares only with true or false")
                expected = wanted.value if operator == "eq" else not wanted.value
                return lambda r: call(r) == expected
            return call
        left = self.operand()
        operator = self.take()[1]
        if operator not in COMPARISONS:
            raise FilterError(f"Unknown operator '{operator}' in $filter")
        right = self.operand()
        return _compare(left, operator, right, self.resolve)

    def function(self) -> Predicate:
        name = self.take()[1]
        self.expect("(")
        first = self.operand()
        self.expect(",")
        second = self.operand()
        self.expect(")")
        if name == "substringof":
            needle, haystack = first, second
        else:
            haystack, needle = first, second
        resolve = self.resolve

        def test(record: Mapping[str, Any]) -> bool:
            text = _value(haystack, record, resolve)
            part = _value(needle, record, resolve)
            if not isinstance(text, str) or not isinstance(part, str):
                return False
            if name == "substringof":
                return part.lower() in text.lower()
            if name == "startswith":
                return text.lower().startswith(part.lower())
            return text.lower().endswith(part.lower())

        return test

    def operand(self) -> Operand:
        kind, text = self.take()
        if kind == "typed":
            return _Literal(_typed_literal(text))
        if kind == "string":
            return _Literal(text[1:-1].replace("''", "'"))
        if kind == "number":
            return _Literal(float(text) if "." in text else int(text))
        if kind == "word":
            if text in ("true", "false"):
                return _Literal(text == "true")
            if text == "null":
                return _Literal(None)
            self.check_path(text)
            return _Field(text)
        raise FilterError(f"Unexpected '{text}' in $filter")

    def check_path(self, path: str) -> None:
        definition = self.definition
        *parts, name = path.split("/")
        for part in parts:
            if part in definition.details:
                raise FilterError(f"Filtering by the detail entity '{part}' is not supported")
            linked = definition.linked.get(part)
            if linked is None:
                raise FilterError(f"Unknown entity '{part}' in $filter")
            definition = linked
        if name not in definition.fields:
            raise FilterError(f"Unknown field '{path}' in $filter")

    def resolve(self, record: Mapping[str, Any], path: str) -> object:
        definition = self.definition
        current: Any = record
        *parts, name = path.split("/")
        for part in parts:
            definition = definition.linked[part]
            current = (current or {}).get(part) or {}
        value = (current or {}).get(name)
        if definition.fields[name] == "datetime" and isinstance(value, str):
            return datetime.fromisoformat(value)
        return value


Resolver = Callable[[Mapping[str, Any], str], object]


def _value(operand: Operand, record: Mapping[str, Any], resolve: Resolver) -> object:
    return resolve(record, operand.path) if isinstance(operand, _Field) else operand.value


def _compare(left: Operand, operator: str, right: Operand, resolve: Resolver) -> Predicate:
    def test(record: Mapping[str, Any]) -> bool:
        a, b = _coerce(_value(left, record, resolve), _value(right, record, resolve))
        if operator in ("eq", "ne"):
            return bool(OPERATORS[operator](a, b))
        if a is None or b is None:
            return False
        try:
            return bool(OPERATORS[operator](a, b))
        except TypeError:
            return False

    return test


def _coerce(a: object, b: object) -> tuple[object, object]:
    """A bare ISO string compared with a date-time field is read as a date-time."""
    if isinstance(a, datetime) and isinstance(b, str):
        try:
            parsed = datetime.fromisoformat(b)
        except ValueError:
            return a, b
        return a, parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(b, datetime) and isinstance(a, str):
        swapped = _coerce(b, a)
        return swapped[1], swapped[0]
    if isinstance(a, str) and isinstance(b, str):
        return a.lower(), b.lower()  # [I] SQL Server's default collation is case-insensitive
    return a, b


def parse_filter(text: str, definition: EntityDef) -> Predicate:
    """`$filter` text (already URL-decoded) -> a predicate over stored records."""
    return _Parser(text, definition).parse()
