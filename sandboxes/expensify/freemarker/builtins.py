"""The `?name` built-ins on strings, numbers, booleans, sequences, hashes and dates.

Each takes the (present) target value, the evaluated arguments and the output settings.
The evaluator itself handles the built-ins that need more than a value: those that accept a
missing target (`?has_content`, `?exists`, `?if_exists`, `?default`), the lazy `?then`, and
the loop-variable ones (`?index`, `?counter`, `?has_next`, `?is_first`, `?is_last`, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sandboxes.expensify.freemarker.formats as fmt
from sandboxes.expensify.freemarker.values import (
    Formats,
    Number,
    WrongValueError,
    as_hash,
    as_number,
    as_sequence,
    as_string,
    is_number,
    type_name,
)

__all__ = ["BUILTINS", "EVALUATOR_BUILTINS", "KNOWN_BUILTINS", "LOOP_BUILTINS"]

BuiltIn = Callable[[object, Sequence[object], Formats], object]

LOOP_BUILTINS = frozenset({"index", "counter", "has_next", "is_first", "is_last",
                           "item_parity", "item_parity_cap", "is_even_item", "is_odd_item",
                           "item_cycle"})  # fmt: skip
EVALUATOR_BUILTINS = frozenset({"has_content", "exists", "if_exists", "default", "then"})


def _arity(name: str, args: Sequence[object], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise WrongValueError(f"?{name} expects {wanted} argument(s), but has received "
                              f"{len(args)}")  # fmt: skip


def _int(value: object) -> int:
    number = as_number(value)
    return int(number)


def _text_fn(name: str, fn: Callable[[str], object]) -> BuiltIn:
    def builtin(value: object, args: Sequence[object], _: Formats) -> object:
        _arity(name, args, 0, 0)
        return fn(as_string(value))

    return builtin


def _text_arg_fn(name: str, fn: Callable[[str, str], object]) -> BuiltIn:
    def builtin(value: object, args: Sequence[object], _: Formats) -> object:
        _arity(name, args, 1, 1)
        return fn(as_string(value), as_string(args[0]))

    return builtin


# --- strings ---------------------------------------------------------------------------------


def _java_replacement(replacement: str) -> str:
    return re.sub(r"\$(\d)", r"\\g<\1>", replacement.replace("\\", "\\\\"))


def _pattern(name: str, target: str, flags: str) -> re.Pattern[str]:
    unknown = set(flags) - set("rifc")
    if unknown:
        raise WrongValueError(f"?{name}: unsupported flag(s) '{''.join(sorted(unknown))}'")
    try:
        return re.compile(target if "r" in flags else re.escape(target),
                          re.IGNORECASE if "i" in flags else 0)  # fmt: skip
    except re.error as problem:
        raise WrongValueError(f"?{name}: malformed regular expression: {problem}") from None


def _replace(value: object, args: Sequence[object], _: Formats) -> object:
    _arity("replace", args, 2, 3)
    text, target, replacement = as_string(value), as_string(args[0]), as_string(args[1])
    flags = as_string(args[2]) if len(args) == 3 else ""
    if not flags:
        return text.replace(target, replacement)
    pattern = _pattern("replace", target, flags)
    new = _java_replacement(replacement) if "r" in flags else replacement.replace("\\", "\\\\")
    try:
        return pattern.sub(new, text, count=1 if "f" in flags else 0)
    except re.error as problem:
        raise WrongValueError(f"?replace: malformed replacement: {problem}") from None


def _split(value: object, args: Sequence[object], _: Formats) -> object:
    _arity("split", args, 1, 2)
    text, separator = as_string(value), as_string(args[0])
    flags = as_string(args[1]) if len(args) == 2 else ""
    if not flags:
        return text.split(separator) if separator else list(text)
    return _pattern("split", separator, flags).split(text)


def _pad(name: str, *, left: bool) -> BuiltIn:
    def builtin(value: object, args: Sequence[object], formats: Formats) -> object:
        _arity(name, args, 1, 2)
        text = fmt.to_text(value, formats)
        width, filler = _int(args[0]), as_string(args[1]) if len(args) == 2 else " "
        if not filler:
            raise WrongValueError(f"?{name}: the padding string must not be empty")
        missing = max(width - len(text), 0)
        pad = (filler * (missing // len(filler) + 1))[:missing]
        return pad + text if left else text + pad

    return builtin


def _substring(value: object, args: Sequence[object], _: Formats) -> object:
    _arity("substring", args, 1, 2)
    text = as_string(value)
    low = _int(args[0])
    high = _int(args[1]) if len(args) == 2 else len(text)
    if not 0 <= low <= high <= len(text):
        raise WrongValueError(f"?substring({low}, {high}) is out of bounds for a string of "
                              f"length {len(text)}")  # fmt: skip
    return text[low:high]


def _to_number(value: object, args: Sequence[object], _: Formats) -> object:
    _arity("number", args, 0, 0)
    if is_number(value):
        return value
    text = as_string(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise WrongValueError(f'Can\'t convert this string to number: "{text}"') from None
    if not number.is_finite():
        raise WrongValueError(f'Can\'t convert this string to number: "{text}"')
    return int(number) if re.fullmatch(r"[-+]?\d+", text) else number


def _to_boolean(value: object, args: Sequence[object], _: Formats) -> object:
    _arity("boolean", args, 0, 0)
    text = as_string(value)
    if text not in ("true", "false"):
        raise WrongValueError(f'Can\'t convert this string to boolean: "{text}"')
    return text == "true"


def _keep(name: str, *, before: bool, last: bool) -> BuiltIn:
    def keep(text: str, mark: str) -> str:
        at = text.rfind(mark) if last else text.find(mark)
        if at < 0:
            return text if before else ""
        return text[:at] if before else text[at + len(mark) :]

    return _text_arg_fn(name, keep)


# --- numbers, booleans, dates: ?c and ?string ----------------------------------------------


def _c(value: object, args: Sequence[object], _: Formats) -> object:
    _arity("c", args, 0, 0)
    if isinstance(value, bool):
        return "true" if value else "false"
    return fmt.c_format(as_number(value))


def _string(value: object, args: Sequence[object], formats: Formats) -> object:
    if isinstance(value, bool):
        if len(args) == 2:
            return as_string(args[0]) if value else as_string(args[1])
        _arity("string", args, 0, 0)
        return fmt.format_boolean(value, formats.boolean_format or "true,false")
    _arity("string", args, 0, 1)
    pattern = as_string(args[0]) if args else None
    if is_number(value):
        return fmt.format_number(as_number(value), pattern or formats.number_format)
    if isinstance(value, datetime):
        return fmt.format_date(value, pattern or formats.datetime_format)
    if isinstance(value, date):
        return fmt.format_date(value, pattern or formats.date_format)
    if isinstance(value, str) and not args:
        return value
    raise WrongValueError(f"?string is not defined for a {type_name(value)} with these arguments")


def _round(how: Callable[[Decimal], int], name: str) -> BuiltIn:
    def builtin(value: object, args: Sequence[object], _: Formats) -> object:
        _arity(name, args, 0, 0)
        number = as_number(value)
        return number if isinstance(number, int) else how(number)

    return builtin


def _abs(value: object, args: Sequence[object], _: Formats) -> object:
    _arity("abs", args, 0, 0)
    return abs(as_number(value))


def _as_date(name: str, *, with_time: bool) -> BuiltIn:
    def builtin(value: object, args: Sequence[object], formats: Formats) -> object:
        _arity(name, args, 0, 1)
        if isinstance(value, date) and not args:
            if with_time:
                return value if isinstance(value, datetime) else datetime(*value.timetuple()[:3])
            return value.date() if isinstance(value, datetime) else value
        default = formats.datetime_format if with_time else formats.date_format
        pattern = as_string(args[0]) if args else default
        return fmt.parse_date(as_string(value), pattern, with_time=with_time)

    return builtin


# --- sequences and hashes --------------------------------------------------------------------


def _size(value: object, args: Sequence[object], _: Formats) -> object:
    _arity("size", args, 0, 0)
    if isinstance(value, Mapping):
        return len(value)
    return len(as_sequence(value))


def _join(value: object, args: Sequence[object], formats: Formats) -> object:
    _arity("join", args, 1, 3)
    items = [fmt.to_text(item, formats) for item in as_sequence(value) if item is not None]
    if not items and len(args) >= 2:
        return as_string(args[1])
    suffix = as_string(args[2]) if len(args) == 3 and items else ""
    return as_string(args[0]).join(items) + suffix


def _end(name: str, index: int) -> BuiltIn:
    def builtin(value: object, args: Sequence[object], _: Formats) -> object:
        _arity(name, args, 0, 0)
        items = as_sequence(value)
        return items[index] if items else None

    return builtin


def _seq_contains(value: object, args: Sequence[object], _: Formats) -> object:
    _arity("seq_contains", args, 1, 1)
    return any(type_name(item) == type_name(args[0]) and item == args[0]
               for item in as_sequence(value))  # fmt: skip


def _sort_key(item: object) -> tuple[int, object]:
    if isinstance(item, str):
        return (0, item.lower())
    if is_number(item) or isinstance(item, date):
        return (1, item)
    raise WrongValueError(f"?sort can only sort strings, numbers or dates, not a "
                          f"{type_name(item)}")  # fmt: skip


def _sort(value: object, args: Sequence[object], _: Formats) -> object:
    _arity("sort", args, 0, 0)
    return sorted(as_sequence(value), key=_sort_key)


def _sort_by(value: object, args: Sequence[object], _: Formats) -> object:
    _arity("sort_by", args, 1, 1)
    path = [args[0]] if isinstance(args[0], str) else list(as_sequence(args[0]))

    def key(item: object) -> tuple[int, object]:
        current = item
        for part in path:
            current = as_hash(current).get(as_string(part))
            if current is None:
                raise WrongValueError(f"?sort_by: a sequence item has no '{part}'")
        return _sort_key(current)

    return sorted(as_sequence(value), key=key)


def _hash_part(name: str, *, keys: bool) -> BuiltIn:
    def builtin(value: object, args: Sequence[object], _: Formats) -> object:
        _arity(name, args, 0, 0)
        mapping = as_hash(value)
        return list(mapping.keys()) if keys else list(mapping.values())

    return builtin


def _is(name: str, kinds: tuple[str, ...]) -> BuiltIn:
    def builtin(value: object, args: Sequence[object], _: Formats) -> object:
        _arity(name, args, 0, 0)
        return type_name(value) in kinds

    return builtin


def _length(text: str) -> Number:
    return len(text)


BUILTINS: dict[str, BuiltIn] = {
    "upper_case": _text_fn("upper_case", str.upper),
    "lower_case": _text_fn("lower_case", str.lower),
    "cap_first": _text_fn(
        "cap_first", lambda s: re.sub(r"^(\s*)(\S)", lambda m: m[1] + m[2].upper(), s)
    ),
    "uncap_first": _text_fn(
        "uncap_first", lambda s: re.sub(r"^(\s*)(\S)", lambda m: m[1] + m[2].lower(), s)
    ),
    "capitalize": _text_fn("capitalize", lambda s: re.sub(r"\S+", lambda m: m[0].capitalize(), s)),
    "trim": _text_fn("trim", str.strip),
    "length": _text_fn("length", _length),
    "json_string": _text_fn("json_string", fmt.json_string),
    "js_string": _text_fn("js_string", fmt.js_string),
    "html": _text_fn("html", fmt.html_escape),
    "xml": _text_fn("xml", fmt.xml_escape),
    "url": _text_fn("url", fmt.url_escape),
    "contains": _text_arg_fn("contains", lambda s, t: t in s),
    "starts_with": _text_arg_fn("starts_with", str.startswith),
    "ends_with": _text_arg_fn("ends_with", str.endswith),
    "index_of": _text_arg_fn("index_of", str.find),
    "last_index_of": _text_arg_fn("last_index_of", str.rfind),
    "remove_beginning": _text_arg_fn("remove_beginning", str.removeprefix),
    "remove_ending": _text_arg_fn("remove_ending", str.removesuffix),
    "keep_before": _keep("keep_before", before=True, last=False),
    "keep_after": _keep("keep_after", before=False, last=False),
    "keep_before_last": _keep("keep_before_last", before=True, last=True),
    "keep_after_last": _keep("keep_after_last", before=False, last=True),
    "replace": _replace,
    "split": _split,
    "left_pad": _pad("left_pad", left=True),
    "right_pad": _pad("right_pad", left=False),
    "substring": _substring,
    "number": _to_number,
    "boolean": _to_boolean,
    "c": _c,
    "string": _string,
    "round": _round(lambda d: math.floor(d + Decimal("0.5")), "round"),
    "floor": _round(math.floor, "floor"),
    "ceiling": _round(math.ceil, "ceiling"),
    "int": _round(int, "int"),
    "abs": _abs,
    "date": _as_date("date", with_time=False),
    "datetime": _as_date("datetime", with_time=True),
    "size": _size,
    "join": _join,
    "first": _end("first", 0),
    "last": _end("last", -1),
    "reverse": lambda value, args, _: list(reversed(as_sequence(value))),
    "seq_contains": _seq_contains,
    "sort": _sort,
    "sort_by": _sort_by,
    "keys": _hash_part("keys", keys=True),
    "values": _hash_part("values", keys=False),
    "is_string": _is("is_string", ("string",)),
    "is_number": _is("is_number", ("number",)),
    "is_boolean": _is("is_boolean", ("boolean",)),
    "is_sequence": _is("is_sequence", ("sequence",)),
    "is_hash": _is("is_hash", ("hash",)),
    "is_date": _is("is_date", ("date", "date-time")),
}
KNOWN_BUILTINS = frozenset(BUILTINS) | LOOP_BUILTINS | EVALUATOR_BUILTINS
