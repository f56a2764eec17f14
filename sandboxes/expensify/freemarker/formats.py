"""How values become text: numbers (`?c`, DecimalFormat patterns), dates (SimpleDateFormat
patterns), booleans, and the escapes (`?json_string`, `?js_string`, `?html`, `?xml`, `?url`).

FreeMarker runs on Java, so its patterns are Java's: `0.00`, `#,##0.###` for numbers
(half-even rounding), `yyyy-MM-dd HH:mm:ss` for dates. Only the pattern letters export
templates use are known here; any other is a `WrongValueError` that names it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from urllib.parse import quote

from sandboxes.expensify.freemarker.values import (
    EMPTY,
    Formats,
    Number,
    WrongValueError,
    as_number,
    is_number,
    type_name,
)

__all__ = [
    "c_format",
    "format_boolean",
    "format_date",
    "format_number",
    "html_escape",
    "js_string",
    "json_string",
    "parse_date",
    "to_text",
    "url_escape",
    "xml_escape",
]

NAMED_NUMBER_FORMATS = {"number": "#,##0.###", "": "#,##0.###", "percent": "#,##0%"}
_NUMBER_PATTERN = re.compile(r"([^#0,.]*)([#0,]+)(?:\.([#0]*))?([^#0,.]*)")
_DATE_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|[^A-Za-z']+")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# --- numbers ---------------------------------------------------------------------------------


def c_format(value: Number) -> str:
    """`?c`: the computer form, no grouping, no exponent, no trailing zeros."""
    if isinstance(value, int):
        return str(value)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _decimal_format(value: Number, pattern: str) -> str:
    match = _NUMBER_PATTERN.fullmatch(pattern.split(";", maxsplit=1)[0])
    if match is None:
        raise WrongValueError(f"Unsupported number format pattern '{pattern}'")
    prefix, integer, fraction, suffix = match[1], match[2], match[3] or "", match[4]
    number = Decimal(value)
    if "%" in suffix:
        number *= 100
    min_int = integer.count("0")
    grouping = len(integer) - integer.rfind(",") - 1 if "," in integer else 0
    min_frac, max_frac = fraction.count("0"), len(fraction)
    with localcontext() as context:
        context.prec = 60
        rounded = number.quantize(Decimal(1).scaleb(-max_frac), rounding=ROUND_HALF_EVEN)
    whole, _, frac = format(abs(rounded), "f").partition(".")
    frac = frac.ljust(max_frac, "0")[:max_frac]
    while len(frac) > min_frac and frac.endswith("0"):
        frac = frac[:-1]
    whole = whole.lstrip("0").rjust(min_int, "0")
    if not whole and not frac:
        whole = "0"
    if grouping:
        head = len(whole) % grouping
        groups = [whole[:head]] if head else []
        groups += [whole[i : i + grouping] for i in range(head, len(whole), grouping)]
        whole = ",".join(groups)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{prefix}{whole}{'.' + frac if frac else ''}{suffix}"


def format_number(value: Number, pattern: str) -> str:
    """A number through a `number_format` value: `computer`, `number`, or a pattern."""
    if pattern in ("computer", "c"):
        return c_format(value)
    return _decimal_format(value, NAMED_NUMBER_FORMATS.get(pattern, pattern))


def format_boolean(value: bool, boolean_format: str) -> str:
    if boolean_format in ("c", "true,false"):
        return "true" if value else "false"
    yes, comma, no = boolean_format.partition(",")
    if not comma:
        raise WrongValueError(f"Malformed boolean_format '{boolean_format}'")
    return yes if value else no


# --- dates -----------------------------------------------------------------------------------


def _date_field(moment: date, letter: str, count: int) -> str:  # noqa: PLR0911 - one per letter
    hour = moment.hour if isinstance(moment, datetime) else 0
    if letter == "y":
        return f"{moment.year % 100:02d}" if count == 2 else str(moment.year).rjust(count, "0")
    if letter == "M":
        if count >= 3:
            name = _MONTHS[moment.month - 1]
            return name if count >= 4 else name[:3]
        return str(moment.month).rjust(count, "0")
    if letter == "E":
        name = _DAYS[moment.weekday()]
        return name if count >= 4 else name[:3]
    if letter == "a":
        return "AM" if hour < 12 else "PM"
    numbers = {
        "d": moment.day,
        "H": hour,
        "k": hour or 24,
        "h": hour % 12 or 12,
        "K": hour % 12,
        "m": moment.minute if isinstance(moment, datetime) else 0,
        "s": moment.second if isinstance(moment, datetime) else 0,
        "S": (moment.microsecond // 1000) if isinstance(moment, datetime) else 0,
    }
    if letter in numbers:
        return str(numbers[letter]).rjust(count, "0")
    zones = {"Z": "+0000", "X": "Z", "z": "UTC"}  # [I] the data model's dates carry no zone
    if letter in zones:
        return zones[letter]
    raise WrongValueError(f"Unsupported date pattern letter '{letter}'")


def format_date(moment: date, pattern: str) -> str:
    """A date or date-time through a SimpleDateFormat pattern (or `iso`)."""
    if pattern in ("iso", "xs"):
        return moment.isoformat() if not isinstance(moment, datetime) else moment.isoformat("T")
    parts: list[str] = []
    for token in _DATE_TOKEN.finditer(pattern):
        text = token[0]
        if text.startswith("'"):
            parts.append(text[1:-1].replace("''", "'") if text != "''" else "'")
        elif token[1]:
            parts.append(_date_field(moment, token[1], len(text)))
        else:
            parts.append(text)
    return "".join(parts)


_PARSE_FIELDS = {
    "y": r"(?P<y>\d{1,4})",
    "M": r"(?P<M>\d{1,2})",
    "d": r"(?P<d>\d{1,2})",
    "H": r"(?P<H>\d{1,2})",
    "h": r"(?P<h>\d{1,2})",
    "m": r"(?P<m>\d{1,2})",
    "s": r"(?P<s>\d{1,2})",
    "S": r"(?P<S>\d{1,3})",
    "a": r"(?P<a>AM|PM|am|pm)",
}


def _parse_regex(pattern: str) -> str:
    regex: list[str] = []
    for token in _DATE_TOKEN.finditer(pattern):
        text, letter = token[0], token[1]
        if text.startswith("'"):
            regex.append(re.escape(text[1:-1].replace("''", "'") if text != "''" else "'"))
        elif letter == "M" and len(text) >= 3:
            regex.append(r"(?P<Mname>[A-Za-z]+)")
        elif letter == "E":
            regex.append(r"[A-Za-z]+")
        elif letter == "y" and len(text) == 2:
            regex.append(r"(?P<yy>\d{2})")
        elif letter and letter in _PARSE_FIELDS:
            if f"(?P<{letter}>" in "".join(regex):
                raise WrongValueError(f"Date pattern '{pattern}' repeats '{letter}'")
            regex.append(_PARSE_FIELDS[letter])
        elif letter:
            raise WrongValueError(f"Unsupported date pattern letter '{letter}'")
        else:
            regex.append(re.escape(text))
    return "".join(regex)


def parse_date(text: str, pattern: str, *, with_time: bool) -> date:
    """`"2026-11-02"?date("yyyy-MM-dd")`. Like Java's DateFormat.parse, text after the
    pattern's end is ignored; text that does not fit the pattern is an error."""
    if pattern in ("iso", "xs"):
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise WrongValueError(f'Can\'t parse "{text}" as an ISO 8601 date') from None
        return moment if with_time else moment.date()
    match = re.match(_parse_regex(pattern), text.strip())
    if match is None:
        raise WrongValueError(f"Can't convert the string \"{text}\" to a date with pattern "
                           f"\"{pattern}\"")  # fmt: skip
    fields = match.groupdict()
    year = int(fields["y"]) if fields.get("y") else 2000 + int(fields.get("yy") or 70) % 100
    month = int(fields["M"]) if fields.get("M") else 1
    if fields.get("Mname"):
        names = [m[:3].lower() for m in _MONTHS]
        if fields["Mname"][:3].lower() not in names:
            raise WrongValueError(f'Can\'t convert the string "{text}" to a date')
        month = names.index(fields["Mname"][:3].lower()) + 1
    hour = int(fields.get("H") or 0)
    if fields.get("h"):
        hour = int(fields["h"]) % 12 + (12 if (fields.get("a") or "").upper() == "PM" else 0)
    try:
        moment = datetime(
            year, month, int(fields.get("d") or 1), hour, int(fields.get("m") or 0),
            int(fields.get("s") or 0), int(fields.get("S") or 0) * 1000,
        )  # fmt: skip
    except ValueError:
        raise WrongValueError(f'Can\'t convert the string "{text}" to a date') from None
    return moment if with_time else moment.date()


# --- text ------------------------------------------------------------------------------------


def to_text(value: object, formats: Formats) -> str:
    """What `${value}` prints."""
    if isinstance(value, str) or value is EMPTY:
        return "" if value is EMPTY else str(value)
    if isinstance(value, bool):
        # Sheet 5 [HELP]: a boolean printed without ?string("true","false") prints nothing.
        if formats.boolean_format is None:
            return ""
        return format_boolean(value, formats.boolean_format)
    if is_number(value):
        return format_number(as_number(value), formats.number_format)
    if isinstance(value, datetime):
        return format_date(value, formats.datetime_format)
    if isinstance(value, date):
        return format_date(value, formats.date_format)
    raise WrongValueError(
        "Expected a string or something automatically convertible to string (number, date "
        f"or boolean), but this has evaluated to a {type_name(value)}"
    )


def _escape_controls(text: str, *, hex_escape: str) -> str:
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
    out: list[str] = []
    for char in text:
        if char in named:
            out.append(named[char])
        elif ord(char) < 0x20 or char in "\u2028\u2029":
            out.append(hex_escape.format(ord(char)) if ord(char) < 0x20 else f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def json_string(text: str) -> str:
    """`?json_string`: safe inside a JSON string literal (quotes, backslashes, controls)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("</", "<\\/").replace("<!", "\\u003C!").replace("]]>", "]]\\u003E")
    return _escape_controls(escaped, hex_escape="\\u{:04X}")


def js_string(text: str) -> str:
    """`?js_string`: safe inside a JavaScript string literal of either quote."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'")
    escaped = escaped.replace("</", "<\\/").replace("<!", "\\x3C!")
    escaped = escaped.replace("]]>", "]]\\>").replace("-->", "--\\>")
    return _escape_controls(escaped, hex_escape="\\x{:02X}")


def html_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))  # fmt: skip


def xml_escape(text: str) -> str:
    return html_escape(text).replace("&#39;", "&apos;")


def url_escape(text: str) -> str:
    """`?url`: everything but unreserved characters percent-encoded as UTF-8."""
    return quote(text, safe="-_.!~*'()")
