"""`make conformance` for Acumatica: the sandbox held against Acumatica's own endpoint exports.

There are no recorded Acumatica calls in the reference folder, so this plays a fixed set of
calls per exported Default version (`acumatica/Default_<version>.openapi.json`, OpenAPI 3
or Swagger 2) and checks each answer's status against the operation's documented statuses
and its body against the operation's documented response schema. One more row per version
compares our entity definitions field by field with the export (same names, same value
types). Read-only; run through `python -m sandboxes.conformance`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sandboxes.acumatica.app import build_sandbox
from sandboxes.acumatica.entities import EMPLOYEE, VALUE_SCHEMAS, EntityDef
from sandboxes.acumatica.seed import API_PASSWORD, API_USER
from sandboxes.acumatica.settings import AcumaticaSandboxSettings
from sandboxes.kit import build_app
from sandboxes.kit.conformance import CallResult, Conformance

__all__ = ["CONFORMANCE", "replay_acumatica"]

EXPAND = "ContactInfo,ContactInfo/Address,EmployeeSettings,FinancialSettings,EmploymentHistory"


@dataclass(frozen=True)
class Probe:
    name: str
    method: str
    template: str
    path: str
    status: int
    params: dict[str, str] | None = None
    body: object = None
    headers: dict[str, str] | None = None
    signed_in: bool = True


def _v(value: object) -> dict[str, object]:
    return {"value": value}


PROBES = (
    Probe("list with expand", "GET", "/Employee", "/Employee", 200, {"$expand": EXPAND}),
    Probe(
        "list filtered by watermark",
        "GET",
        "/Employee",
        "/Employee",
        200,
        {
            "$filter": "LastModifiedDateTime gt datetimeoffset'2026-01-01T00:00:00.000+00:00'",
            "$top": "2",
            "$skip": "1",
        },
    ),
    Probe(
        "read by key", "GET", "/Employee/{ids}", "/Employee/EP00000003", 200, {"$expand": EXPAND}
    ),
    Probe("missing key", "GET", "/Employee/{ids}", "/Employee/EP99999999", 500),
    Probe("not signed in", "GET", "/Employee", "/Employee", 401, signed_in=False),
    Probe(
        "insert",
        "PUT",
        "/Employee",
        "/Employee",
        200,
        {"$expand": EXPAND},
        {
            "ContactInfo": {"FirstName": _v("Ava"), "LastName": _v("Nguyen")},
            "EmployeeSettings": {"DepartmentID": _v("ADMIN")},
        },
    ),
    Probe(
        "invalid department",
        "PUT",
        "/Employee",
        "/Employee",
        422,
        None,
        {"ContactInfo": {"LastName": _v("X")}, "EmployeeSettings": {"DepartmentID": _v("NOPE")}},
    ),
    Probe(
        "insert only, exists",
        "PUT",
        "/Employee",
        "/Employee",
        412,
        None,
        {"EmployeeID": _v("EP00000003")},
        {"If-None-Match": "*"},
    ),
    Probe(
        "change key",
        "POST",
        "/Employee/ChangeEmployeeID",
        "/Employee/ChangeEmployeeID",
        204,
        None,
        {
            "entity": {"EmployeeID": _v("EP00000002")},
            "parameters": {"EmployeeID": _v("EP00000022")},
        },
    ),
    Probe("delete by key", "DELETE", "/Employee/{ids}", "/Employee/EP00000006", 204),
)


class ExportSpec:
    """One export document: operations, documented statuses and response schemas."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.openapi3 = "openapi" in document
        self.schemas: dict[str, Any] = (
            document["components"]["schemas"] if self.openapi3 else document["definitions"]
        )

    def statuses(self, template: str, method: str) -> set[int]:
        operation = self.document["paths"].get(template, {}).get(method.lower(), {})
        return {int(s) for s in operation.get("responses", {})}

    def pointer(self, template: str, method: str, status: int) -> str | None:
        operation = self.document["paths"].get(template, {}).get(method.lower(), {})
        response = operation.get("responses", {}).get(str(status))
        if response is None:
            return None
        escaped = template.replace("~", "~0").replace("/", "~1")
        base = f"/paths/{escaped}/{method.lower()}/responses/{status}"
        if "$ref" in response:
            base = response["$ref"].removeprefix("#")
            response = self.document["components"]["responses"][base.rsplit("/", 1)[1]]
        if self.openapi3:
            if "application/json" not in response.get("content", {}):
                return None
            return f"{base}/content/application~1json/schema"
        return f"{base}/schema" if "schema" in response else None

    def validate(self, pointer: str, body: object) -> list[str]:
        from jsonschema import Draft202012Validator  # noqa: PLC0415 - dev dependency
        from referencing import Registry, Resource  # noqa: PLC0415
        from referencing.jsonschema import DRAFT202012  # noqa: PLC0415

        uri = "urn:acumatica:export"
        registry: Registry[Any] = Registry().with_resource(
            uri, Resource.from_contents(self.document, default_specification=DRAFT202012)
        )
        validator = Draft202012Validator({"$ref": f"{uri}#{pointer}"}, registry=registry)
        return [error.message[:160] for error in validator.iter_errors(body)][:3]

    def properties(self, schema: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for part in self.schemas.get(schema, {}).get("allOf", []):
            merged.update(part.get("properties", {}))
        return merged


def _field_drift(spec: ExportSpec, definition: EntityDef, where: str) -> list[str]:
    """Our fields missing from the export or typed differently there ([] = identical)."""
    exported = spec.properties(definition.schema)
    notes: list[str] = []
    for name, value_type in definition.fields.items():
        ref = str(exported.get(name, {}).get("$ref", "")).rsplit("/", 1)[-1]
        if ref != VALUE_SCHEMAS[value_type]:
            notes.append(f"{where}{name}: ours {VALUE_SCHEMAS[value_type]}, export {ref or '-'}")
    for name, part in {**definition.linked, **definition.details}.items():
        if name not in exported:
            notes.append(f"{where}{name}: not in the export")
        notes += _field_drift(spec, part, f"{where}{name}/")
    return notes


async def _play(
    client: httpx.AsyncClient, spec: ExportSpec, version: str, probe: Probe
) -> CallResult:
    result = CallResult(call=f"{version} {probe.method} {probe.path} ({probe.name})", in_scope=True)
    base = f"/AcumaticaERP/entity/Default/{version}"
    client.cookies.clear()
    if probe.signed_in:
        login = {"name": API_USER, "password": API_PASSWORD, "tenant": "AcmeLive"}
        await client.post("/AcumaticaERP/entity/auth/login", json=login)
    answer = await client.request(
        probe.method, base + probe.path, params=probe.params, json=probe.body, headers=probe.headers
    )
    if probe.signed_in:
        await client.post("/AcumaticaERP/entity/auth/logout")
    documented = spec.statuses(probe.template, probe.method)
    result.status = answer.status_code == probe.status and probe.status in documented
    if not result.status:
        result.notes.append(
            f"status {answer.status_code}, expected {probe.status} "
            f"(documented {sorted(documented)})"
        )
    is_json = "json" in answer.headers.get("content-type", "")
    result.content_type = is_json or not answer.content
    result.shape = result.content_type
    pointer = spec.pointer(probe.template, probe.method, answer.status_code)
    if pointer is not None and is_json:
        errors = spec.validate(pointer, answer.json())
        result.spec = not errors
        result.notes += [f"spec: {e}" for e in errors]
    return result


async def replay_acumatica(reference: Path) -> list[CallResult]:
    results: list[CallResult] = []
    settings = AcumaticaSandboxSettings(throttle_delay_scale=0.0, api_user_seats=50)
    for export in sorted((reference / "acumatica").glob("Default_*.openapi.json")):
        version = export.name.removeprefix("Default_").removesuffix(".openapi.json")
        spec = ExportSpec(json.loads(export.read_text(encoding="utf-8")))
        sandbox = build_sandbox(settings=settings.model_copy(update={"versions": (version,)}))
        sandbox.limiter.policy = sandbox.limiter.policy.model_copy(update={"enabled": False})
        transport = httpx.ASGITransport(app=build_app(sandbox))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
            for probe in PROBES:
                results.append(await _play(client, spec, version, probe))
        await sandbox.aclose()
        drift = _field_drift(spec, EMPLOYEE, "Employee/")
        fields = CallResult(
            call=f"{version} Employee fields and value types",
            in_scope=True,
            status=True,
            content_type=True,
            shape=not drift,
            notes=drift,
        )
        results.append(fields)
    return results


CONFORMANCE = Conformance("acumatica Default_<version>.openapi.json exports", replay_acumatica)
