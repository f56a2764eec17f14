"""JSON or XML, chosen the way BambooHR chooses: by `Accept` (sheet 1), XML by default [I]."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandboxes.bamboohr.errors import BambooError
from sandboxes.bamboohr.settings import BambooHRSandboxSettings

__all__ = [
    "employee_xml",
    "empty_ok",
    "json_or_xml",
    "read_fields",
    "rows_xml",
    "wants_json",
    "xml_response",
]


def wants_json(request: Request, settings: BambooHRSandboxSettings) -> bool:
    accept = request.headers.get("accept", "").lower()
    if "json" in accept:
        return True
    if "xml" in accept:
        return False
    return settings.default_format == "json"


def _text(value: object) -> str:
    return "" if value is None else str(value)


def xml_response(root: ET.Element) -> Response:
    body = b'<?xml version="1.0"?>\n' + ET.tostring(root, encoding="utf-8")
    return Response(body, media_type="text/xml; charset=UTF-8")


def employee_xml(employee: Mapping[str, Any]) -> ET.Element:
    root = ET.Element("employee", {"id": _text(employee.get("id"))})
    for key, value in employee.items():
        if key != "id":
            ET.SubElement(root, "field", {"id": key}).text = _text(value)
    return root


def rows_xml(rows: Iterable[Mapping[str, Any]]) -> ET.Element:
    root = ET.Element("table")
    for row in rows:
        element = ET.SubElement(
            root, "row", {"id": _text(row.get("id")), "employeeId": _text(row.get("employeeId"))}
        )
        for key, value in row.items():
            if key not in ("id", "employeeId"):
                ET.SubElement(element, "field", {"id": key}).text = _text(value)
    return root


def empty_ok() -> Response:
    """BambooHR's answer to many writes: 200, no body, text/html (recordings)."""
    return Response(b"", status_code=200, media_type="text/html; charset=UTF-8")


async def read_fields(request: Request) -> dict[str, Any]:
    """A write body as `{alias: value}`: JSON object, or `<employee|row><field id=..>` XML."""
    raw = await request.body()
    if not raw.strip():
        raise BambooError(400, "Empty request body")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    looks_xml = raw.lstrip().startswith(b"<")
    if content_type == "application/json" or (not looks_xml and raw.lstrip()[:1] == b"{"):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BambooError(400, "Malformed JSON") from exc
        if not isinstance(value, dict):
            raise BambooError(400, "Expected a JSON object")
        return value
    try:
        # Sandbox-only input from tests and local tools; expat resolves no external entities.
        root = ET.fromstring(raw)  # noqa: S314
    except ET.ParseError as exc:
        raise BambooError(400, "Malformed XML") from exc
    return {
        field.attrib["id"]: (field.text or "")
        for field in root.iter("field")
        if "id" in field.attrib
    }


def json_or_xml(
    request: Request, settings: BambooHRSandboxSettings, payload: object, element: ET.Element
) -> Response:
    if wants_json(request, settings):
        return JSONResponse(payload)
    return xml_response(element)
