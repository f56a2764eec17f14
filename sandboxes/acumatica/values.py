"""The value-wrapping rule, both ways: every general field is `{"value": ...}` on the wire.

Sheet section 4: general fields are wrapped in requests and responses, `id`/`rowNumber` are
bare, `note` is wrapped, empty fields come back as `{}`, linked entities are nested objects
and detail entities arrays. Records are stored unwrapped (plain values, nested dicts); this
module renders them and parses request bodies back, refusing unwrapped or mistyped values.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandboxes.acumatica.entities import VALUE_SCHEMAS, EntityDef, ValueType

__all__ = [
    "Selection",
    "UnwrappedValueError",
    "format_datetime",
    "parse_body",
    "render",
    "sent_paths",
]

SYSTEM_KEYS = frozenset({"id", "rowNumber", "note", "custom", "_links", "files", "error", "delete"})


class UnwrappedValueError(ValueError):
    """A body value that is not `{"value": <the right type>}`; `path` is the JSON path."""

    def __init__(self, path: str, value: object, expected: str) -> None:
        super().__init__(
            f"Error converting value {json.dumps(value)} to type "
            f"'PX.Api.ContractBased.Models.{expected}'. Path '{path}'."
        )
        self.path = path


@dataclass(frozen=True)
class Selection:
    """`$select` and `$expand` as sets of slash paths (`ContactInfo/Email`)."""

    select: frozenset[str] | None = None
    expand: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, select: str | None, expand: str | None) -> Selection:
        def paths(raw: str | None) -> frozenset[str]:
            return frozenset(p.strip() for p in (raw or "").split(",") if p.strip())

        return cls(select=paths(select) if select else None, expand=paths(expand))

    def below(self, name: str) -> Selection:
        """The selection inside the linked/detail entity `name`."""
        prefix = name + "/"
        expand = frozenset(p[len(prefix) :] for p in self.expand if p.startswith(prefix))
        if self.select is None:
            return Selection(select=None, expand=expand)
        inner = frozenset(p[len(prefix) :] for p in self.select if p.startswith(prefix))
        # `$select=ContactInfo` (the whole part) or nothing named inside it: all its fields.
        return Selection(select=inner or None, expand=expand)

    def wants_field(self, name: str) -> bool:
        return self.select is None or name in self.select

    def wants_part(self, name: str) -> bool:
        expanded = name in self.expand
        if self.select is None:
            return expanded
        named = name in self.select or any(p.startswith(name + "/") for p in self.select)
        return expanded and named


def format_datetime(moment: datetime) -> str:
    """Acumatica's date-time form: milliseconds and a numeric offset (`+00:00`)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _wrap(value: object) -> dict[str, Any]:
    return {} if value is None else {"value": value}


def render(
    definition: EntityDef,
    record: Mapping[str, Any],
    selection: Selection,
    *,
    row_number: int = 1,
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One stored record as the wire JSON of `definition`, limited by `selection`."""
    body: dict[str, Any] = {"id": record.get("id") or str(uuid.uuid4()), "rowNumber": row_number}
    if links is not None:
        body["note"] = _wrap(record.get("note") or "")
    for name in definition.fields:
        if selection.wants_field(name):
            body[name] = _wrap(record.get(name))
    for name, part in definition.linked.items():
        if selection.wants_part(name):
            body[name] = render(part, record.get(name) or {}, selection.below(name))
    for name, part in definition.details.items():
        if selection.wants_part(name):
            rows = record.get(name) or []
            body[name] = [
                render(part, row, selection.below(name), row_number=index)
                for index, row in enumerate(rows, start=1)
            ]
    body["custom"] = {}
    if links is not None:
        body["_links"] = links
    return body


def _check_type(value_type: ValueType, value: object, path: str) -> object:
    expected = VALUE_SCHEMAS[value_type]
    if value is None:
        return None
    ok: bool
    if value_type in ("string", "guid"):
        ok = isinstance(value, str)
    elif value_type == "boolean":
        ok = isinstance(value, bool)
    elif value_type == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif value_type == "decimal":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str) and _parses_as_datetime(value)
    if not ok:
        raise UnwrappedValueError(path, value, expected)
    if value_type == "datetime" and isinstance(value, str):
        return format_datetime(_as_aware(datetime.fromisoformat(value)))
    return value


def _parses_as_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _as_aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_body(definition: EntityDef, body: object, path: str = "") -> dict[str, Any]:
    """A request body as plain values: only contract fields; unwrapped values refused.

    Unknown properties are ignored (the contract decides what is writable, sheet section 10);
    `id`, `note`, `custom` and a detail row's `delete` are kept as they are.
    """
    if not isinstance(body, dict):
        raise UnwrappedValueError(path or "entity", body, definition.schema)
    parsed: dict[str, Any] = {}
    for key, raw in body.items():
        where = f"{path}.{key}" if path else key
        if key in ("id", "delete"):
            parsed[key] = raw
        elif key == "note":
            parsed["note"] = _unwrap("string", raw, where)
        elif key == "custom" and isinstance(raw, dict):
            parsed["custom"] = raw
        elif key in definition.fields:
            if raw == {}:
                continue  # an empty wrapper carries no value: the field is left alone
            parsed[key] = _unwrap(definition.fields[key], raw, where)
        elif key in definition.linked:
            parsed[key] = parse_body(definition.linked[key], raw, where)
        elif key in definition.details:
            if not isinstance(raw, list):
                raise UnwrappedValueError(where, raw, f"{definition.details[key].schema}[]")
            part = definition.details[key]
            parsed[key] = [parse_body(part, row, f"{where}[{i}]") for i, row in enumerate(raw)]
    return parsed


def _unwrap(value_type: ValueType, raw: object, path: str) -> object:
    if not isinstance(raw, dict) or (raw and "value" not in raw):
        raise UnwrappedValueError(path, raw, VALUE_SCHEMAS[value_type])
    return _check_type(value_type, raw.get("value"), path)


def sent_paths(parsed: Mapping[str, Any], prefix: str = "") -> set[str]:
    """The slash paths a parsed body sets (`Status`, `ContactInfo`, `ContactInfo/Email`)."""
    paths: set[str] = set()
    for key, value in parsed.items():
        if key in SYSTEM_KEYS:
            continue
        path = f"{prefix}{key}"
        paths.add(path)
        if isinstance(value, dict):
            paths |= sent_paths(value, path + "/")
        elif isinstance(value, list):
            for row in value:
                if isinstance(row, dict):
                    paths |= sent_paths(row, path + "/")
    return paths
