"""List endpoints: `max`, `page` tokens, `filters`, `sort` (sheet section 6).

`filters=field:op:value[,field:op:value...]` (comma = AND) with the ops eq, ne, gt, gte, lt,
lte, in, nin, sw; date-times and list/sw values may be double-quoted. `sort=field:asc|desc`.
`max` defaults to 20 and must be 1..100. Pages are opaque tokens; `nextPage` is absent on the
last page and `prevPage` on the first.
"""

from __future__ import annotations

import base64
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sandboxes.bill.errors import BillError

__all__ = ["ListSpec", "list_page"]

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "sw")
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
_TIME_FIELDS = {"createdTime", "updatedTime"}
_TIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
)


class ListSpec:
    """Which fields one entity lets callers filter and sort by."""

    def __init__(self, filterable: Sequence[str], sortable: Sequence[str]) -> None:
        self.filterable = frozenset(filterable)
        self.sortable = frozenset(sortable)


def _bad(message: str) -> BillError:
    return BillError(400, "BDC_1001", message)


def _parse_time(text: str) -> datetime:
    cleaned = text.replace("Z", "+00:00")
    for fmt in _TIME_FORMATS:
        try:
            moment = datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise _bad(f"Invalid date-time value: {text}")


def _split_filters(text: str) -> list[tuple[str, str, str]]:
    """Split on commas outside double quotes, then each term on its first two colons."""
    terms = re.findall(r'(?:[^,"]|"[^"]*")+', text)
    parsed: list[tuple[str, str, str]] = []
    for term in terms:
        parts = term.split(":", 2)
        if len(parts) != 3 or parts[1] not in OPS:
            raise _bad(f"Invalid filter: {term}")
        value = parts[2]
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        parsed.append((parts[0], parts[1], value))
    return parsed


def _coerce(field: str, raw: str, sample: object) -> object:
    if field in _TIME_FIELDS:
        return _parse_time(raw)
    if isinstance(sample, bool):
        return raw.lower() == "true"
    if isinstance(sample, int | float):
        try:
            return float(raw)
        except ValueError:
            raise _bad(f"Invalid number for {field}: {raw}") from None
    return raw


def _value(record: Mapping[str, Any], field: str) -> object:
    value = record.get(field)
    if field in _TIME_FIELDS and isinstance(value, str):
        return _parse_time(value)
    return value


def _matches(record: Mapping[str, Any], field: str, op: str, raw: str) -> bool:
    actual = _value(record, field)
    if op in ("in", "nin"):
        options = {item.strip() for item in raw.split(",")}
        inside = str(actual) in options
        return inside if op == "in" else not inside
    if op == "sw":
        return isinstance(actual, str) and actual.lower().startswith(raw.lower())
    wanted = _coerce(field, raw, actual)
    if op == "eq":
        return actual == wanted
    if op == "ne":
        return actual != wanted
    if actual is None:
        return False
    try:
        return bool(_COMPARE[op](actual, wanted))
    except TypeError:
        raise _bad(f"Invalid filter value for {field}: {raw}") from None


def _sort_key(record: Mapping[str, Any], field: str) -> tuple[bool, Any]:
    value = _value(record, field)
    return (value is None, "" if value is None else value)


def _max(raw: str | None) -> int:
    if raw is None:
        return 20
    try:
        size = int(raw)
    except ValueError:
        raise _bad("max: must be a number between 1 and 100") from None
    if not 1 <= size <= 100:
        raise _bad("max: must be a number between 1 and 100")
    return size


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["o"]
    except (ValueError, KeyError, TypeError):
        raise _bad("page: invalid page token") from None
    if not isinstance(offset, int) or offset < 0:
        raise _bad("page: invalid page token")
    return offset


def list_page(
    records: Sequence[Mapping[str, Any]],
    query: Mapping[str, str],
    spec: ListSpec,
    *,
    include_archived: bool,
) -> dict[str, Any]:
    """The `{nextPage?, prevPage?, results}` envelope for one list request."""
    size = _max(query.get("max"))
    offset = _offset(query.get("page"))
    filters = _split_filters(query["filters"]) if query.get("filters") else []
    for field, _, _ in filters:
        if field not in spec.filterable:
            raise _bad(f"filters: {field} is not a filterable field")
    chosen = list(records)
    if not include_archived and not any(field == "archived" for field, _, _ in filters):
        chosen = [r for r in chosen if not r.get("archived", False)]
    for field, op, raw in filters:
        chosen = [r for r in chosen if _matches(r, field, op, raw)]
    if query.get("sort"):
        field, _, direction = query["sort"].partition(":")
        direction = direction or "asc"
        if field not in spec.sortable or direction not in ("asc", "desc"):
            raise _bad(f"sort: invalid sort {query['sort']}")
        chosen.sort(key=lambda r: _sort_key(r, field), reverse=direction == "desc")
    page: dict[str, Any] = {}
    if offset + size < len(chosen):
        page["nextPage"] = _token(offset + size)
    if offset > 0:
        page["prevPage"] = _token(max(0, offset - size))
    page["results"] = chosen[offset : offset + size]
    return page
