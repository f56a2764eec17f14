"""Export templates: recognise ml-connector's template by its marker and render its fields.

The real server runs the `template` form field as Freemarker. The sandbox does not: it reads
the marker comment our client puts first in its template and renders exactly what that
Freemarker prints (the convention is in `docs/vendors/expensify-sandbox.md`):

    <#-- mlc-template:v1
    format: json
    report: reportID, employeeEmail=accountEmail, total
    expense: transactionID, merchant=modifiedMerchant|merchant, amount
    -->

Indented lines continue the line above. `name=a|b` prints the first of `a`, `b` that has
content (Freemarker `?has_content`); dotted paths reach into objects (`receiptObject.url`,
`customField.Cost_Center`). The output
is a JSON array of report objects, keys in marker order, each with `"expenses"` when the
marker has an `expense:` line; a value without content is `null`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandboxes.expensify.errors import ExpensifyError

__all__ = [
    "MARKER",
    "FieldSpec",
    "TemplateSpec",
    "UnknownTemplateError",
    "parse_template",
    "render",
    "render_all_fields",
]

MARKER = "mlc-template:v1"
_COMMENT = re.compile(r"<#--(.*?)-->", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
FORMATS = ("json",)


class UnknownTemplateError(Exception):
    """The template carries no `mlc-template:v1` marker."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class TemplateSpec:
    format: str
    report: tuple[FieldSpec, ...]
    expense: tuple[FieldSpec, ...] | None


def _fields(text: str) -> tuple[FieldSpec, ...]:
    specs: list[FieldSpec] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        name, _, source = entry.partition("=")
        name = name.strip()
        paths = tuple(p.strip() for p in (source or name).split("|"))
        if not _NAME.match(name) or not all(_PATH.match(p) for p in paths):
            raise ExpensifyError(410, f"Template marker: malformed field '{entry}'")
        specs.append(FieldSpec(name, paths))
    return tuple(specs)


def parse_template(template: str) -> TemplateSpec:
    """The marker's spec; `UnknownTemplateError` when there is no marker at all."""
    marker = next(
        (m[1] for m in _COMMENT.finditer(template) if m[1].strip().startswith(MARKER)), None
    )
    if marker is None:
        raise UnknownTemplateError
    lines: dict[str, str] = {}
    last = ""
    for raw in marker.strip()[len(MARKER) :].splitlines():
        if raw[:1].isspace() and last and raw.strip():
            lines[last] += ", " + raw.strip()  # an indented line continues the previous one
            continue
        key, sep, value = raw.partition(":")
        if sep and key.strip():
            last = key.strip().lower()
            lines[last] = value.strip()
    fmt = lines.get("format", "")
    if fmt not in FORMATS:
        raise ExpensifyError(410, f"Template marker: unsupported format '{fmt}'")
    if "report" not in lines:
        raise ExpensifyError(410, "Template marker: no 'report:' line")
    expense = _fields(lines["expense"]) if "expense" in lines else None
    return TemplateSpec(format=fmt, report=_fields(lines["report"]), expense=expense)


def _lookup(values: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    current: Any = values
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _has_content(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list | dict | tuple):
        return len(value) > 0
    return True


def _value(values: Mapping[str, Any], spec: FieldSpec, *, strict: bool) -> object:
    for path in spec.paths:
        known, value = _lookup(values, path)
        if not known and strict and path.split(".")[0] not in values:
            raise ExpensifyError(410, f"Template marker: unknown field '{path}'")
        if _has_content(value):
            return value
    return None


def render(
    spec: TemplateSpec, reports: Sequence[Mapping[str, Any]], *, strict_fields: bool = False
) -> str:
    """What our Freemarker template prints for these reports (`report_fields` values)."""
    rendered: list[dict[str, Any]] = []
    for report in reports:
        row = {f.name: _value(report, f, strict=strict_fields) for f in spec.report}
        if spec.expense is not None:
            row["expenses"] = [
                {f.name: _value(expense, f, strict=strict_fields) for f in spec.expense}
                for expense in report.get("transactionList", [])
            ]
        rendered.append(row)
    return json.dumps(rendered, ensure_ascii=False, separators=(",", ":"))


def render_all_fields(reports: Sequence[Mapping[str, Any]]) -> str:
    """For templates without a marker, when the settings allow: every field, as JSON."""
    return json.dumps(list(reports), ensure_ascii=False, separators=(",", ":"))
