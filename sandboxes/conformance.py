"""`make conformance`: replay the recorded vendor calls in `../shared/reference` against the
sandboxes and validate the answers against the vendor's own OpenAPI where one exists.

Optional and read-only: it needs the shared reference folder next to the repository (it is
never copied into the repo and never read by `make test`). For each recorded call in the
sandbox's scope it compares the status, the content type, the JSON shape (the recorded
keys must all be present) and, with a spec, validates the sandbox's body against the
documented response schema. It prints one table row per vendor (and each call with `-v`).

Run: `python -m sandboxes.conformance [--reference DIR] [-v]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from sandboxes.kit import build_app

__all__ = ["CallResult", "main"]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"


@dataclass
class Recorded:
    source: str
    method: str
    path: str
    params: dict[str, str]
    data: Any
    status: int
    content_type: str
    response: Any


@dataclass
class CallResult:
    call: str
    in_scope: bool
    status: bool = False
    content_type: bool = False
    shape: bool = False
    spec: bool | None = None
    notes: list[str] = field(default_factory=list)


def recordings(folder: Path) -> Iterator[Recorded]:
    """Every `api.<method>.<path>` entry of Nango's recorded test files."""
    for file in sorted(folder.glob("*.json")):
        document = json.loads(file.read_text(encoding="utf-8"))
        for method, paths in (document.get("api") or {}).items():
            for path, entries in paths.items():
                for entry in entries if isinstance(entries, list) else [entries]:
                    request = entry.get("request") or {}
                    yield Recorded(
                        source=file.name,
                        method=method.upper(),
                        path=path,
                        params={k: str(v) for k, v in (request.get("params") or {}).items()},
                        data=request.get("data"),
                        status=int(entry.get("status") or 0),
                        content_type=str((entry.get("headers") or {}).get("content-type") or ""),
                        response=entry.get("response"),
                    )


def _family(content_type: str) -> str:
    lowered = content_type.lower()
    for name in ("json", "xml", "html", "csv", "plain"):
        if name in lowered:
            return name
    return "none"


def _shape_matches(recorded: object, actual: object) -> tuple[bool, str]:
    """The recorded top-level keys (of the object or of its first element) all present."""
    if isinstance(recorded, dict):
        if not isinstance(actual, dict):
            return False, f"expected an object, got {type(actual).__name__}"
        missing = sorted(set(recorded) - set(actual))
        return (not missing, f"missing keys {missing}" if missing else "")
    if isinstance(recorded, list):
        if not isinstance(actual, list):
            return False, f"expected an array, got {type(actual).__name__}"
        if recorded and actual and isinstance(recorded[0], dict) and isinstance(actual[0], dict):
            missing = sorted(set(recorded[0]) - set(actual[0]))
            return (not missing, f"item missing keys {missing}" if missing else "")
        return True, ""
    return True, ""


# --- BambooHR ------------------------------------------------------------------------------

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
    from sandboxes.bamboohr.app import build_sandbox  # noqa: PLC0415 - vendor chosen at run time

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
    if _family(call.content_type) == "json":
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
    _compare(result, call, answer, path, spec)
    return result


def _compare(
    result: CallResult,
    call: Recorded,
    answer: httpx.Response,
    path: str,
    spec: BambooSpec | None,
) -> None:
    """Fill `result` with how the sandbox's answer compares to the recording and the spec."""
    result.status = answer.status_code == call.status
    if not result.status:
        result.notes.append(f"status {answer.status_code} != recorded {call.status}")
    result.content_type = _family(answer.headers.get("content-type", "")) == _family(
        call.content_type
    ) or (not answer.content and not call.response)
    if not result.content_type:
        result.notes.append(
            f"content-type {answer.headers.get('content-type')} != recorded {call.content_type}"
        )
    actual: Any = None
    if "json" in answer.headers.get("content-type", ""):
        actual = answer.json()
    if isinstance(call.response, dict | list):
        result.shape, why = _shape_matches(call.response, actual)
        if why:
            result.notes.append(why)
    else:
        result.shape = answer.text.strip() == str(call.response or "").strip() or result.status
    if spec is not None and actual is not None:
        pointer = spec.pointer(path, call.method, answer.status_code)
        if pointer is not None:
            errors = spec.validate(pointer, actual)
            if errors and spec.validate(pointer, call.response):
                # The recorded real answer breaks the same schema: the spec is not the
                # authority here, the recording is (and the shape check covers it).
                result.notes.append("spec n/a: the recording itself violates this schema")
            else:
                result.spec = not errors
                result.notes += [f"spec: {e}" for e in errors]


async def replay_freshbooks(reference: Path) -> list[CallResult]:
    from sandboxes.freshbooks.conformance import (  # noqa: PLC0415 - it imports this module
        replay_freshbooks as replay,
    )

    return await replay(reference)


async def replay_zoho(reference: Path) -> list[CallResult]:
    from sandboxes.zoho.conformance import (  # noqa: PLC0415 - it imports this module
        replay_zoho as replay,
    )

    return await replay(reference)


async def replay_bill(reference: Path) -> list[CallResult]:
    from sandboxes.bill.conformance import (  # noqa: PLC0415 - it imports this module
        replay_bill as replay,
    )

    return await replay(reference)


async def replay_expensify(reference: Path) -> list[CallResult]:
    from sandboxes.expensify.conformance import (  # noqa: PLC0415 - it imports this module
        replay_expensify as replay,
    )

    return await replay(reference)


async def replay_acumatica(reference: Path) -> list[CallResult]:
    from sandboxes.acumatica.conformance import (  # noqa: PLC0415 - it imports this module
        replay_acumatica as replay,
    )

    return await replay(reference)


VENDORS: dict[str, tuple[str, Callable[[Path], Awaitable[list[CallResult]]]]] = {
    "bamboohr": ("nango/bamboohr-basic + bamboohr OpenAPI", replay_bamboohr),
    "freshbooks": ("nango/freshbooks", replay_freshbooks),
    "expensify": ("nango/expensify", replay_expensify),
    "zoho": ("nango/zoho-books", replay_zoho),
    "acumatica": ("acumatica Default_<version>.openapi.json exports", replay_acumatica),
    "bill": ("bill/BILL_v3_API.postman_collection.json (official examples)", replay_bill),
}
"""vendor -> (what is replayed, replay function). Other sandboxes add their entry here."""


def _table(rows: list[tuple[str, list[CallResult]]]) -> str:
    header = (
        "| vendor | recorded | in scope | status | content type | shape | spec-valid |\n"
        "|---|---|---|---|---|---|---|"
    )
    lines = [header]
    for vendor, results in rows:
        scoped = [r for r in results if r.in_scope]
        specced = [r for r in scoped if r.spec is not None]

        def count(flag: Callable[[CallResult], bool], of: list[CallResult]) -> str:
            return f"{sum(1 for r in of if flag(r))}/{len(of)}"

        lines.append(
            f"| {vendor} | {len(results)} | {len(scoped)} | {count(lambda r: r.status, scoped)}"
            f" | {count(lambda r: r.content_type, scoped)} | {count(lambda r: r.shape, scoped)}"
            f" | {count(lambda r: bool(r.spec), specced)} |"
        )
    return "\n".join(lines)


async def _run(reference: Path, verbose: bool) -> int:
    rows: list[tuple[str, list[CallResult]]] = []
    for vendor, (_, replay) in VENDORS.items():
        results = await replay(reference)
        rows.append((vendor, results))
        if verbose:
            for result in results:
                if result.in_scope:
                    ok = result.status and result.content_type and result.shape
                    mark = "ok  " if ok and result.spec is not False else "DIFF"
                    notes = "; ".join(result.notes)
                    print(f"{vendor:10} {mark} {result.call:60} {notes}")
    print(_table(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.conformance")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per call")
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        print(f"no reference folder at {args.reference}: nothing to check (optional target)")
        return 0
    return asyncio.run(_run(args.reference, args.verbose))


if __name__ == "__main__":
    sys.exit(main())
