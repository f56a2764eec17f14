"""The Acumatica conformance run, fed a small hand-written export (never ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

from sandboxes.acumatica.conformance import replay_acumatica


def _value(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _write_export(root: Path) -> None:
    """An OpenAPI 3 export of our own making: Employee.Status typed as an integer on purpose."""
    error = {"description": "e", "content": {"application/json": {"schema": _value("HttpError")}}}
    employee = {
        "description": "ok",
        "content": {"application/json": {"schema": _value("Employee")}},
    }
    listed = {
        "description": "ok",
        "content": {"application/json": {"schema": {"type": "array", "items": _value("Employee")}}},
    }
    document = {
        "openapi": "3.0.1",
        "info": {"title": "Default/24.200.001", "version": "4"},
        "paths": {
            "/Employee": {
                "get": {"responses": {"200": listed, "401": error, "500": error}},
                "put": {
                    "responses": {"200": employee, "412": error, "422": employee, "500": error}
                },
            },
            "/Employee/{ids}": {
                "get": {"responses": {"200": employee, "500": error}},
                "delete": {"responses": {"204": {"description": "gone"}}},
            },
        },
        "components": {
            "schemas": {
                "HttpError": {
                    "type": "object",
                    "properties": {"message": {"type": "string"}},
                    "required": ["message"],
                },
                "IntValue": {"type": "object", "properties": {"value": {"type": "integer"}}},
                "StringValue": {"type": "object", "properties": {"value": {"type": "string"}}},
                "Employee": {
                    "allOf": [
                        {
                            "type": "object",
                            "properties": {
                                "EmployeeID": _value("StringValue"),
                                "Status": _value("IntValue"),
                            },
                        }
                    ]
                },
            }
        },
    }
    folder = root / "acumatica"
    folder.mkdir(parents=True)
    (folder / "Default_24.200.001.openapi.json").write_text(json.dumps(document))


async def test_answers_are_checked_against_the_export_and_drift_is_reported(
    tmp_path: Path,
) -> None:
    _write_export(tmp_path)
    rows = await replay_acumatica(tmp_path)
    results = {r.call.removeprefix("24.200.001 ").split(" (")[-1].rstrip(")"): r for r in rows}
    assert results["missing key"].status is True
    assert results["missing key"].spec is True
    assert results["not signed in"].spec is True
    # The export types Status as IntValue: our answers and our fields both disagree.
    assert results["read by key"].spec is False
    assert any("Status" in note for note in results["Employee fields and value types"].notes)
    # An operation the export does not document is reported, not passed.
    assert results["change key"].status is False
