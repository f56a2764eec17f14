"""The operator API: JSON routes under ``/api/v1`` for connections, links, status and audit.

Every route wants ``Authorization: Bearer <MLC_OPERATOR_TOKEN>``, compared in constant
time; without a configured token the API answers 503 rather than run open. The
OpenAPI document at ``/api/v1/openapi.json`` is built from the same pydantic models
the routes validate and answer with, so it cannot drift from them.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.ingest.connections import (
    ConnectionConflictError,
    ConnectionInputError,
    ConnectionNotFoundError,
    ConnectionView,
    OperatorConnections,
)
from services.ingest.schedule_specs import SCHEDULES_KEY
from services.ingest.schedules import TickPublisher
from services.ingest.sync_now import request_sync
from services.ingest.webhook_registrations import REGISTRATION_KEY
from services.runtime.store import LinkRecord, StateStore

__all__ = ["OPENAPI_PATH", "PREFIX", "operator_openapi", "operator_routes"]

PREFIX = "/api/v1"
OPENAPI_PATH = f"{PREFIX}/openapi.json"


class ErrorBody(BaseModel):
    error: str


class ConnectionCreate(BaseModel):
    vendor: str
    display_name: str = Field(min_length=1)
    credentials: dict[str, str]
    tenant_id: str | None = None
    options: dict[str, str] = Field(
        default_factory=dict, description='Plain settings, e.g. {"webhooks": "off"}.'
    )


class ConnectionOut(BaseModel):
    id: str
    vendor: str
    tenant_id: str
    display_name: str
    status: str
    credentials: dict[str, str] = Field(description="Plain fields shown, secrets masked.")
    webhook: dict[str, Any] | None = Field(
        default=None,
        description="The webhook registration: state (registered, failed, off), ids, url, reason.",
    )
    schedules: list[dict[str, Any]] = Field(
        default_factory=list, description="Stored poll/reconcile schedules."
    )
    created_at: datetime
    updated_at: datetime


class ConnectionList(BaseModel):
    connections: list[ConnectionOut]


class LinkCreate(BaseModel):
    source_connection_id: str
    target_connection_id: str
    flow: str
    options: dict[str, Any] = Field(default_factory=dict)


class LinkOut(BaseModel):
    id: str
    source_connection_id: str
    target_connection_id: str
    flow: str
    options: dict[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class LinkList(BaseModel):
    links: list[LinkOut]


class LinkStatusOut(BaseModel):
    link: LinkOut
    last_event_at: datetime | None = Field(description="Newest audit entry (store).")
    last_action: str | None
    failures: int = Field(description="Refusals/failures among the recent audit entries.")
    recent: list[dict[str, Any]]
    last_outcome_at: datetime | None = Field(
        default=None, description="When the link's newest sync.outcome was recorded (log)."
    )
    last_outcome_status: str | None = None
    lag_seconds: float | None = Field(
        default=None, description="Seconds since last_outcome_at; null without outcomes."
    )
    outcome_failures: int | None = Field(
        default=None, description="sync.outcome events with status failed (log retention)."
    )
    dead_letters: int | None = Field(
        default=None, description="Dead letters naming the link's source or target connection."
    )
    log_error: str | None = Field(default=None, description="Why the log figures are missing.")


class StatusList(BaseModel):
    links: list[LinkStatusOut]


class SyncOut(BaseModel):
    connection_id: str
    vendor: str
    topic: str
    event_id: str
    due_at: str


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class AuditList(BaseModel):
    entries: list[AuditEntryOut]


# (method, path, summary, request model, response status, response model)
_OPERATIONS: tuple[
    tuple[str, str, str, type[BaseModel] | None, int, type[BaseModel] | None], ...
] = (
    ("get", "/connections", "List connections", None, 200, ConnectionList),
    ("post", "/connections", "Add a key/password connection", ConnectionCreate, 201, ConnectionOut),
    ("get", "/connections/{connection_id}", "Show a connection", None, 200, ConnectionOut),
    ("delete", "/connections/{connection_id}", "Remove a connection", None, 204, None),
    (
        "post",
        "/connections/{connection_id}/sync",
        "Reconcile a connection now (a ReconcileTick on raw.<vendor>)",
        None,
        202,
        SyncOut,
    ),
    ("get", "/links", "List links", None, 200, LinkList),
    ("post", "/links", "Add a link", LinkCreate, 201, LinkOut),
    ("delete", "/links/{link_id}", "Remove a link", None, 204, None),
    ("get", "/status", "Per-link status", None, 200, StatusList),
    ("get", "/audit", "Audit log, newest first", None, 200, AuditList),
    ("get", "/openapi.json", "This document", None, 200, None),
)


def operator_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operator route."""
    models = [m for op in _OPERATIONS for m in (op[3], op[5]) if m is not None] + [ErrorBody]
    _, schema = models_json_schema(
        [(m, "validation") for m in dict.fromkeys(models)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, request_model, status, response_model in _OPERATIONS:
        operation: dict[str, Any] = {"summary": summary, "responses": {}}
        if request_model is not None:
            ref = {"$ref": f"#/components/schemas/{request_model.__name__}"}
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref}},
            }
        ok: dict[str, Any] = {"description": "OK"}
        if response_model is not None:
            ref = {"$ref": f"#/components/schemas/{response_model.__name__}"}
            ok["content"] = {"application/json": {"schema": ref}}
        error = {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        }
        operation["responses"] = {
            str(status): ok,
            "401": {"description": "Missing or wrong bearer token", **error},
            "503": {"description": "No operator token configured", **error},
        }
        params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
        if params:
            operation["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in params
            ]
        paths.setdefault(PREFIX + path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "ml-connector operator API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


_ERROR_STATUS: dict[type[Exception], int] = {
    ConnectionInputError: 422,
    ConnectionNotFoundError: 404,
    ConnectionConflictError: 409,
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _connection_out(view: ConnectionView) -> dict[str, Any]:
    r = view.record
    return ConnectionOut(
        id=r.id,
        vendor=r.vendor,
        tenant_id=r.tenant_id,
        display_name=r.display_name,
        status=r.status,
        credentials=view.credentials,
        webhook=r.settings.get(REGISTRATION_KEY),
        schedules=list(r.settings.get(SCHEDULES_KEY) or []),
        created_at=r.created_at,
        updated_at=r.updated_at,
    ).model_dump(mode="json")


def _link_out(link: LinkRecord) -> LinkOut:
    return LinkOut.model_validate(link, from_attributes=True)


Handler = Callable[[Request], Awaitable[Response]]


def operator_routes(
    store: StateStore,
    operations: OperatorConnections,
    *,
    operator_token: str | None,
    publish_tick: TickPublisher | None = None,
) -> list[BaseRoute]:
    """The ``/api/v1`` routes; pass ``settings.operator_token`` (None disables the API with 503).

    ``publish_tick`` puts a sync's tick on Kafka; without it ``.../sync`` answers 503.
    """
    expected = operator_token.encode() if operator_token else None

    def guarded(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if expected is None:
                return _error(503, "operator API disabled: set MLC_OPERATOR_TOKEN and restart")
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
                return JSONResponse(
                    {"error": "missing or wrong bearer token (MLC_OPERATOR_TOKEN)"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            try:
                return await handler(request)
            except (ConnectionInputError, ConnectionNotFoundError, ConnectionConflictError) as exc:
                return _error(_ERROR_STATUS[type(exc)], str(exc))
            except ValidationError as exc:
                return _error(
                    422,
                    "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()),
                )
            except ValueError:
                return _error(400, "body must be a JSON object")

        return endpoint

    async def list_connections(_: Request) -> Response:
        views = await operations.list_connections()
        return JSONResponse({"connections": [_connection_out(v) for v in views]})

    async def add_connection(request: Request) -> Response:
        body = ConnectionCreate.model_validate_json(await request.body())
        view = await operations.add_connection(
            body.vendor,
            display_name=body.display_name,
            credentials=body.credentials,
            tenant_id=body.tenant_id,
            options=body.options,
        )
        return JSONResponse(_connection_out(view), status_code=201)

    async def show_connection(request: Request) -> Response:
        view = await operations.show_connection(request.path_params["connection_id"])
        return JSONResponse(_connection_out(view))

    async def remove_connection(request: Request) -> Response:
        await operations.remove_connection(request.path_params["connection_id"])
        return Response(status_code=204)

    async def list_links(_: Request) -> Response:
        links = await operations.list_links()
        return JSONResponse(
            LinkList(links=[_link_out(link) for link in links]).model_dump(mode="json")
        )

    async def add_link(request: Request) -> Response:
        body = LinkCreate.model_validate_json(await request.body())
        link = await operations.add_link(
            source_connection_id=body.source_connection_id,
            target_connection_id=body.target_connection_id,
            flow=body.flow,
            options=body.options,
        )
        return JSONResponse(_link_out(link).model_dump(mode="json"), status_code=201)

    async def remove_link(request: Request) -> Response:
        await operations.remove_link(request.path_params["link_id"])
        return Response(status_code=204)

    async def status(_: Request) -> Response:
        statuses = await operations.status()
        body = StatusList(
            links=[
                LinkStatusOut(
                    link=_link_out(s.link),
                    last_event_at=s.last_event_at,
                    last_action=s.last_action,
                    failures=s.failures,
                    recent=s.recent,
                    last_outcome_at=s.last_outcome_at,
                    last_outcome_status=s.last_outcome_status,
                    lag_seconds=s.lag_seconds,
                    outcome_failures=s.outcome_failures,
                    dead_letters=s.dead_letters,
                    log_error=s.log_error,
                )
                for s in statuses
            ]
        )
        return JSONResponse(body.model_dump(mode="json"))

    async def audit(request: Request) -> Response:
        subject = request.query_params.get("subject")
        raw_limit = request.query_params.get("limit", "100")
        if not raw_limit.isdigit():
            return _error(422, "limit must be a whole number")
        limit = min(int(raw_limit), 1000)
        async with store.transaction() as tx:
            entries = await tx.audit_log.list(subject=subject, limit=limit)
        body = AuditList(
            entries=[AuditEntryOut.model_validate(e, from_attributes=True) for e in entries]
        )
        return JSONResponse(body.model_dump(mode="json"))

    document = operator_openapi()

    async def openapi(_: Request) -> Response:
        return JSONResponse(document)

    handlers: dict[tuple[str, str], Handler] = {
        ("get", "/connections"): list_connections,
        ("post", "/connections"): add_connection,
        ("get", "/connections/{connection_id}"): show_connection,
        ("delete", "/connections/{connection_id}"): remove_connection,
        ("post", "/connections/{connection_id}/sync"): _sync_handler(store, publish_tick),
        ("get", "/links"): list_links,
        ("post", "/links"): add_link,
        ("delete", "/links/{link_id}"): remove_link,
        ("get", "/status"): status,
        ("get", "/audit"): audit,
        ("get", "/openapi.json"): openapi,
    }
    # One Route per path with every method, so a wrong method is 405 rather than 404.
    by_path: dict[str, dict[str, Handler]] = {}
    for (method, path), handler in handlers.items():
        by_path.setdefault(path, {})[method.upper()] = guarded(handler)
    return [_route(PREFIX + path, methods) for path, methods in by_path.items()]


def _sync_handler(store: StateStore, publish_tick: TickPublisher | None) -> Handler:
    """``POST /connections/{id}/sync``: 202 once Kafka has the tick; 503 when it cannot."""

    async def sync_connection(request: Request) -> Response:
        if publish_tick is None:
            return _error(503, "sync is not available: this service has no Kafka publisher")
        try:
            tick = await request_sync(store, publish_tick, request.path_params["connection_id"])
        except (ConnectionNotFoundError, ConnectionConflictError):
            raise
        except Exception as exc:  # any publish failure means "not sent, retry"
            return _error(503, f"the tick could not be published ({type(exc).__name__}): retry")
        body = SyncOut(
            connection_id=tick.connection_id,
            vendor=tick.vendor,
            topic=f"raw.{tick.vendor}",
            event_id=str(tick.event_id),
            due_at=tick.due_at,
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=202)

    return sync_connection


def _route(path: str, methods: dict[str, Handler]) -> Route:
    async def dispatch(request: Request) -> Response:
        return await methods[request.method](request)

    return Route(path, dispatch, methods=list(methods))
