"""Accounting list parameters (sheet 5): `page`/`per_page`, `search[...]`, `include[]`, `sort`.

- `page` is 1-based, `page=0` reads page 1, a non-integer page is errno 1014; `per_page` is
  silently capped at 100 (non-integer: errno 1013); a page past the end is an empty list.
- `search[f]=v` equals, `search[fs][]=a&...` in, `search[f_like]` contains, `search[f_min|max]`
  between (dates compare by day), `search[f_not]` not equal. Unknown fields are ignored, as a
  lenient API does. Brackets may arrive URL-encoded or raw (the Python SDK sends them raw).
- `include[]=x` embeds a related object; `sort=f_asc|f_desc`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import QueryParams

from sandboxes.freshbooks.errors import BAD_PAGE, BAD_PER_PAGE, accounting_error

__all__ = ["Condition", "ListQuery", "Paged", "paginate", "parse_list_query"]

MAX_PER_PAGE = 100
_SEARCH = re.compile(r"^search\[([^\]]+)\](\[\])?$")

Record = dict[str, Any]


@dataclass(frozen=True)
class Condition:
    """One search term: `op` in equals | in | like | min | max | not."""

    field: str
    op: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class ListQuery:
    page: int
    per_page: int
    conditions: tuple[Condition, ...]
    includes: tuple[str, ...]
    sort: tuple[str, bool] | None
    vis_state: int | None = None
    raw: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Paged:
    items: list[Record]
    page: int
    pages: int
    per_page: int
    total: int


def _integer(value: str | None, errno: int, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise accounting_error(400, errno, f"Invalid {name}.", field=name, value=value) from None


def _condition(name: str, values: tuple[str, ...], is_list: bool) -> Condition:
    for suffix, op in (("_like", "like"), ("_min", "min"), ("_max", "max"), ("_not", "not")):
        if name.endswith(suffix):
            return Condition(name[: -len(suffix)], op, values)
    if is_list:
        return Condition(name, "in", values)
    return Condition(name, "equals", values)


def parse_list_query(params: QueryParams, *, default_per_page: int) -> ListQuery:
    page = max(1, _integer(params.get("page"), BAD_PAGE, "page", 1))
    per_page = _integer(params.get("per_page"), BAD_PER_PAGE, "per_page", default_per_page)
    if per_page < 1:
        raise accounting_error(400, BAD_PER_PAGE, "Invalid per_page.", field="per_page")
    grouped: dict[str, list[str]] = {}
    for key, value in params.multi_items():
        grouped.setdefault(key, []).append(value)
    conditions: list[Condition] = []
    vis_state: int | None = None
    for key, values in grouped.items():
        match = _SEARCH.match(key)
        if match is None:
            continue
        name, is_list = match.group(1), match.group(2) is not None
        if name == "vis_state":
            vis_state = _integer(values[-1], 1004, "vis_state", 0)
            continue
        conditions.append(_condition(name, tuple(values), is_list))
    includes = tuple(grouped.get("include[]", []) + grouped.get("include", []))
    sort: tuple[str, bool] | None = None
    raw_sort = params.get("sort")
    if raw_sort:
        raw_sort = raw_sort.replace(":", "_")  # `updated:asc` is seen in recorded calls too
        if raw_sort.endswith("_desc"):
            sort = (raw_sort[: -len("_desc")], False)
        elif raw_sort.endswith("_asc"):
            sort = (raw_sort[: -len("_asc")], True)
        else:
            sort = (raw_sort, True)
    return ListQuery(
        page=page,
        per_page=min(per_page, MAX_PER_PAGE),
        conditions=tuple(conditions),
        includes=includes,
        sort=sort,
        vis_state=vis_state,
        raw=grouped,
    )


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, Mapping):
        value = value.get("amount")
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compare_key(value: object, probe: str) -> tuple[object, object] | None:
    """Comparable (actual, wanted): numbers as Decimals, dates/times by their first 10 chars."""
    actual_number, wanted_number = _decimal(value), _decimal(probe)
    if actual_number is not None and wanted_number is not None:
        return actual_number, wanted_number
    if isinstance(value, str):
        return value[:10], probe[:10]
    return None


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _matches(  # noqa: PLR0911 - one answer per search operator
    record: Record, condition: Condition, aliases: Mapping[str, Sequence[str]]
) -> bool:
    names = aliases.get(condition.field)
    if names is None:
        # `search[expenseids][]` filters `expenseid`, `search[statuses][]` filters `status`.
        candidates = [condition.field, condition.field[:-1], condition.field[:-2]]
        names = [name for name in candidates if name in record][:1]
    if not names:
        return True  # unknown field: ignored
    values = [record.get(name) for name in names]
    wanted = condition.values[-1]
    if condition.op == "like":
        return any(wanted.lower() in _as_text(v).lower() for v in values)
    if condition.op in ("min", "max"):
        for value in values:
            pair = _compare_key(value, wanted)
            if pair is None:
                return False
            actual, probe = pair
            if condition.op == "min" and actual < probe:  # type: ignore[operator]
                return False
            if condition.op == "max" and actual > probe:  # type: ignore[operator]
                return False
        return True
    if condition.op == "in":
        return any(_as_text(v) in condition.values for v in values)
    if condition.op == "not":
        return all(_as_text(v) != wanted for v in values)
    return any(_as_text(v) == wanted for v in values)


def select(
    records: Sequence[Record],
    query: ListQuery,
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
    ignored: Sequence[str] = (),
    like_filters: Sequence[str] = (),
    has_vis_state: bool = True,
) -> list[Record]:
    """Filter and sort: deleted (vis_state 1) only with `search[vis_state]=1`."""
    chosen = []
    for record in records:
        if has_vis_state:
            state = int(record.get("vis_state", 0))
            if query.vis_state is None and state == 1:
                continue
            if query.vis_state is not None and state != query.vis_state:
                continue
        relevant = [
            Condition(c.field, "like", c.values)
            if c.field in like_filters and c.op == "equals"
            else c
            for c in query.conditions
            if c.field not in ignored
        ]
        if all(_matches(record, c, aliases or {}) for c in relevant):
            chosen.append(record)
    if query.sort is not None:
        key, ascending = query.sort
        chosen.sort(key=_sort_key(key), reverse=not ascending)
    return chosen


def _sort_key(name: str) -> Callable[[Record], tuple[int, Any]]:
    def key(record: Record) -> tuple[int, Any]:
        value = record.get(name)
        number = _decimal(value)
        if (number is not None and not isinstance(value, str | bool)) or isinstance(value, Mapping):
            return (0, number)
        return (1, _as_text(value))

    return key


def paginate(records: Sequence[Record], query: ListQuery) -> Paged:
    """The page asked for; past the end is an empty list, not the last page."""
    total = len(records)
    pages = math.ceil(total / query.per_page) if total else 0
    start = (query.page - 1) * query.per_page
    return Paged(
        items=list(records[start : start + query.per_page]),
        page=query.page,
        pages=pages,
        per_page=query.per_page,
        total=total,
    )
