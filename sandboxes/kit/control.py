"""The control API under `/_sandbox/`, the same for every vendor (JSON in and out)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandboxes.kit.faults import FaultSpec
from sandboxes.kit.limits import LimitPolicy
from sandboxes.kit.sandbox import ActionError, VendorSandbox
from sandboxes.kit.state import UnknownCollectionError
from sandboxes.kit.webhooks import WebhookConfig

__all__ = ["ControlInputError", "control_routes"]

ENDPOINTS = (
    "POST /_sandbox/reset",
    "POST /_sandbox/seed",
    "GET /_sandbox/state",
    "GET /_sandbox/state/{collection}",
    "POST /_sandbox/credentials",
    "GET /_sandbox/requests",
    "DELETE /_sandbox/requests",
    "GET|POST|DELETE /_sandbox/faults",
    "GET|POST /_sandbox/clock",
    "GET|POST|PUT|DELETE /_sandbox/webhooks",
    "POST /_sandbox/webhooks/retry-now",
    "GET|POST /_sandbox/limits",
    "GET /_sandbox/actions",
    "POST /_sandbox/actions/{name}",
)


JsonValue = Any
Endpoint = Callable[[Request], Awaitable[JSONResponse]]


class ControlInputError(Exception):
    """The control API's input was not what the endpoint takes."""


def _error(message: str, status: int = 400, **extra: object) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


async def _json_body(request: Request) -> JsonValue:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value: JsonValue = json.loads(raw)
        return value
    except json.JSONDecodeError as exc:
        raise ControlInputError(f"body is not JSON: {exc}") from exc


def control_routes(sandbox: VendorSandbox) -> list[Route]:  # noqa: PLR0915 - one closure per endpoint
    """The `/_sandbox/...` routes bound to one sandbox."""

    async def index(_: Request) -> JSONResponse:
        return JSONResponse({"vendor": sandbox.name, "endpoints": list(ENDPOINTS)})

    async def reset(request: Request) -> JSONResponse:
        body = await _json_body(request)
        sandbox.reset(empty=bool(body.get("empty", False)))
        return JSONResponse({"reset": True, "empty": bool(body.get("empty", False))})

    async def seed(request: Request) -> JSONResponse:
        body = await _json_body(request)
        if not isinstance(body, dict) or not all(isinstance(v, list) for v in body.values()):
            raise ControlInputError("seed is {collection: [record, ...]}")
        try:
            sandbox.state.load(body)
        except UnknownCollectionError as exc:
            return _error(f"unknown collection {exc.args[0]!r}", 404, known=sandbox.state.names)
        return JSONResponse({name: len(records) for name, records in body.items()})

    async def state(_: Request) -> JSONResponse:
        return JSONResponse(sandbox.state.snapshot())

    async def collection(request: Request) -> JSONResponse:
        name = request.path_params["collection"]
        try:
            return JSONResponse(sandbox.state.snapshot_of(name))
        except UnknownCollectionError:
            return _error(f"unknown collection {name!r}", 404, known=sandbox.state.names)

    async def credentials(request: Request) -> JSONResponse:
        return JSONResponse(sandbox.credentials_for(request))

    async def requests(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            sandbox.requests.clear()
        return JSONResponse([entry.as_json() for entry in sandbox.requests.entries])

    async def faults(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            sandbox.faults.clear()
        elif request.method == "POST":
            body = await _json_body(request)
            specs = body if isinstance(body, list) else [body]
            for spec in specs:
                sandbox.faults.add(FaultSpec.model_validate(spec))
        return JSONResponse([rule.as_json() for rule in sandbox.faults.rules])

    async def clock(request: Request) -> JSONResponse:
        if request.method == "POST":
            body = await _json_body(request)
            seconds = body.get("advance_seconds")
            if not isinstance(seconds, int | float) or seconds < 0:
                raise ControlInputError("advance_seconds must be a number >= 0")
            sandbox.clock.advance(float(seconds))
        return JSONResponse(
            {"now": sandbox.clock.now().isoformat(), "offset_seconds": sandbox.clock.offset_seconds}
        )

    async def webhooks(request: Request) -> JSONResponse:
        if request.method in ("POST", "PUT"):
            body = await _json_body(request)
            if not isinstance(body, dict):
                raise ControlInputError("the webhook configuration is a JSON object")
            # POST changes the fields it names and keeps the rest (a test that asks for
            # duplicates must not lose the delivery-URL override `make up` installed);
            # PUT replaces the whole configuration, unnamed fields back to their defaults.
            base = sandbox.webhooks.config.model_dump() if request.method == "POST" else {}
            sandbox.webhooks.configure(WebhookConfig.model_validate({**base, **body}))
        elif request.method == "DELETE":
            sandbox.webhooks.deliveries.clear()
        return JSONResponse(
            {
                "config": sandbox.webhooks.config.model_dump(),
                "pending": sandbox.webhooks.pending,
                "deliveries": [record.as_json() for record in sandbox.webhooks.deliveries],
            }
        )

    async def retry_now(_: Request) -> JSONResponse:
        return JSONResponse({"due_now": sandbox.webhooks.retry_now()})

    async def limits(request: Request) -> JSONResponse:
        if request.method == "POST":
            body = await _json_body(request)
            merged = {**sandbox.limiter.policy.model_dump(), **body}
            sandbox.limiter.reset(LimitPolicy.model_validate(merged))
        return JSONResponse(sandbox.limiter.policy.model_dump())

    async def action_list(_: Request) -> JSONResponse:
        return JSONResponse(sorted(sandbox.actions()))

    async def action(request: Request) -> JSONResponse:
        name = request.path_params["name"]
        handler = sandbox.actions().get(name)
        if handler is None:
            return _error(f"unknown action {name!r}", 404, known=sorted(sandbox.actions()))
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise ControlInputError("an action takes a JSON object")
        try:
            return JSONResponse(await handler(body))
        except ActionError as exc:
            return _error(exc.message, exc.status)

    def guarded(endpoint: Endpoint) -> Endpoint:
        async def run(request: Request) -> JSONResponse:
            try:
                response: JSONResponse = await endpoint(request)
            except ControlInputError as exc:
                return _error(str(exc))
            except ValidationError as exc:
                return _error("invalid input", 400, details=json.loads(exc.json()))
            return response

        return run

    table: list[tuple[str, Endpoint, list[str]]] = [
        ("/_sandbox", index, ["GET"]),
        ("/_sandbox/", index, ["GET"]),
        ("/_sandbox/reset", reset, ["POST"]),
        ("/_sandbox/seed", seed, ["POST"]),
        ("/_sandbox/state", state, ["GET"]),
        ("/_sandbox/state/{collection}", collection, ["GET"]),
        ("/_sandbox/credentials", credentials, ["GET", "POST"]),
        ("/_sandbox/requests", requests, ["GET", "DELETE"]),
        ("/_sandbox/faults", faults, ["GET", "POST", "DELETE"]),
        ("/_sandbox/clock", clock, ["GET", "POST"]),
        ("/_sandbox/webhooks", webhooks, ["GET", "POST", "PUT", "DELETE"]),
        ("/_sandbox/webhooks/retry-now", retry_now, ["POST"]),
        ("/_sandbox/limits", limits, ["GET", "POST"]),
        ("/_sandbox/actions", action_list, ["GET"]),
        ("/_sandbox/actions/{name}", action, ["POST"]),
    ]
    return [Route(path, guarded(endpoint), methods=methods) for path, endpoint, methods in table]
