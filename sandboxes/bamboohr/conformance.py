"""`make conformance` for BambooHR: Nango's recorded `bamboohr-basic` calls replayed against
the sandbox, each answer also validated against BambooHR's public OpenAPI when it is there."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from sandboxes.bamboohr.app import build_sandbox
from sandboxes.kit import build_app
from sandboxes.kit.conformance import (
    CallResult,
    Conformance,
    Recorded,
    compare,
    content_family,
    recordings,
)

__all__ = ["CONFORMANCE", "BambooSpec", "replay_bamboohr"]

BAMBOO_IN_SCOPE = re.compile(
    r"^/v1(_1)?/(employees(/(\d+|all|directory|changed))?"
    r"(/tables/(jobInfo|employmentStatus)(/\d+)?)?"
    r"|employees/changed/tables/(jobInfo|employmentStatus)|reports/(custom|\d+)|custom-reports(/\d+)?"
    r"|meta/(lists|fields|tables)|webhooks(/\d+)?(/log)?)$"
)


class BambooSpec:
    """BambooHR's OpenAPI: finds an operation for a path and validates a response body."""

    def __init__(self, path: Path) -> None:
        import yaml  # noqa: PLC0415 - only `make conformance` needs it (a dev dependency)

        self.document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        self._templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"), template)
            for template in self.document.get("paths", {})
        ]

    def pointer(self, path: str, method: str, status: int) -> str | None:
        candidates = [t for rx, t in self._templates if rx.match(f"/api{path}")]
        # Prefer the most literal template (fewest parameters).
        for template in sorted(candidates, key=lambda t: t.count("{")):
            operation = self.document["paths"][template].get(method.lower())
            if not operation:
                continue
            response = operation.get("responses", {}).get(str(status))
            content = (response or {}).get("content", {})
            if "application/json" in content and "schema" in content["application/json"]:
                escaped = template.replace("~", "~0").replace("/", "~1")
                return (
                    f"/paths/{escaped}/{method.lower()}/responses/{status}"
                    "/content/application~1json/schema"
                )
        return None

    def validate(self, pointer: str, body: object) -> list[str]:
        from jsonschema import Draft202012Validator  # noqa: PLC0415 - dev dependency
        from referencing import Registry, Resource  # noqa: PLC0415
        from referencing.jsonschema import DRAFT202012  # noqa: PLC0415

        uri = "urn:bamboohr:openapi"
        registry: Registry[Any] = Registry().with_resource(
            uri, Resource.from_contents(self.document, default_specification=DRAFT202012)
        )
        validator = Draft202012Validator(
            {"$ref": f"{uri}#{quote(pointer, safe='/~')}"}, registry=registry
        )
        return [error.message[:160] for error in validator.iter_errors(body)][:3]


async def _bamboo_token(client: httpx.AsyncClient, creds: dict[str, str]) -> str:
    authorize = await client.get(
        "/acme.bamboohr.com/authorize.php",
        params={
            "request": "authorize",
            "response_type": "code",
            "client_id": creds["client_id"],
            "redirect_uri": creds["redirect_uri"],
            "scope": "openid offline_access employee",
        },
    )
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
    tokens = await client.post(
        "/acme.bamboohr.com/token.php",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "redirect_uri": creds["redirect_uri"],
        },
    )
    token: str = tokens.json()["access_token"]
    return token


async def _bamboo_path(client: httpx.AsyncClient, call: Recorded, auth: httpx.Auth) -> str:
    """The recorded path with its ids replaced by ids that exist in the default seed."""
    path = call.path
    gateway = "/api/gateway.php/acme"
    if call.method == "DELETE" and re.fullmatch(r"/v1/employees/\d+", path):
        created = await client.post(
            f"{gateway}/v1/employees", json={"firstName": "Tmp", "lastName": "Tmp"}, auth=auth
        )
        return created.headers["location"].split("/api/gateway.php/acme", 1)[1]
    match = re.fullmatch(r"/(v1(?:_1)?)/employees/\d+/tables/(\w+)/\d+", path)
    if match is not None:
        rows = await client.get(
            f"{gateway}/v1/employees/108/tables/{match[2]}",
            auth=auth,
            headers={"Accept": "application/json"},
        )
        row_id = rows.json()[0]["id"] if rows.status_code == 200 and rows.json() else "1"
        return f"/{match[1]}/employees/108/tables/{match[2]}/{row_id}"
    match = re.fullmatch(r"/v1/webhooks/\d+(/log)?", path)
    if match is not None:
        hook = await client.post(
            f"{gateway}/v1/webhooks",
            json={"name": "c", "url": "https://example.com/h", "format": "json",
                  "events": ["employee.created"]},
            auth=auth,
        )  # fmt: skip
        return f"/v1/webhooks/{hook.json()['id']}{match[1] or ''}"
    path = re.sub(r"^/v1/reports/\d+$", "/v1/reports/1", path)
    return re.sub(r"^(/v1(?:_1)?/employees)/\d+", r"\1/108", path)


async def replay_bamboohr(reference: Path) -> list[CallResult]:
    spec_file = reference / "bamboohr" / "bamboohr-public-openapi.yaml"
    spec = BambooSpec(spec_file) if spec_file.exists() else None
    results: list[CallResult] = []
    sandbox = build_sandbox()
    sandbox.limiter.policy = sandbox.limiter.policy.model_copy(update={"enabled": False})
    transport = httpx.ASGITransport(app=build_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        creds = (await client.post("/_sandbox/credentials")).json()
        basic = httpx.BasicAuth(creds["api_key"], "x")
        bearer = await _bamboo_token(client, creds)
        for call in recordings(reference / "nango" / "bamboohr-basic"):
            name = f"{call.method} {call.path}"
            if not BAMBOO_IN_SCOPE.match(call.path):
                results.append(CallResult(call=name, in_scope=False))
                continue
            results.append(
                await _replay_one(
                    client, call=call, name=name, basic=basic, bearer=bearer, spec=spec
                )
            )
    await sandbox.aclose()
    return results


async def _replay_one(
    client: httpx.AsyncClient,
    *,
    call: Recorded,
    name: str,
    basic: httpx.Auth,
    bearer: str,
    spec: BambooSpec | None,
) -> CallResult:
    result = CallResult(call=name, in_scope=True)
    headers: dict[str, str] = {}
    if content_family(call.content_type) == "json":
        headers["Accept"] = "application/json"
    cursor_list = call.method == "GET" and call.path == "/v1/employees"
    path = await _bamboo_path(client, call, basic)
    if cursor_list:
        url = f"/acme.bamboohr.com/api{path}"
        headers["Authorization"] = f"Bearer {bearer}"
        auth: httpx.Auth | None = None
    else:
        url = f"/api/gateway.php/acme{path}"
        auth = basic
    params = dict(call.params)
    if "page[after]" in params:
        params.pop("page[after]")
        result.notes.append("cursor replaced by the first page")
    body = call.data if call.method in ("POST", "PUT") else None
    answer = await client.request(
        call.method, url, params=params, json=body, headers=headers, auth=auth
    )
    compare(result, call, answer, path, spec)
    return result


CONFORMANCE = Conformance("nango/bamboohr-basic + bamboohr OpenAPI", replay_bamboohr)
