"""The operator API: JSON routes under ``/api/v1`` for connections, links, status and audit.

Every route wants ``Authorization: Bearer <MLC_OPERATOR_TOKEN>``, compared in constant
time; without a configured token the API answers 503 rather than run open. The
OpenAPI document at ``/api/v1/openapi.json`` is built from the same pydantic models
the routes validate and answer with, so it cannot drift from them.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from schemas.raw import ReconcileTick
from schemas.topics import raw_topic
from services.ingest.connections import (
    ConnectionConflictError,
    ConnectionInputError,
    ConnectionNotFoundError,
    ConnectionView,
    OperatorConnections,
    WebhookVendorError,
)
from services.ingest.schedule_specs import SCHEDULES_KEY
from services.ingest.schedules import TickPublisher
from services.ingest.sync_now import LINK_SCHEDULE, request_sync
from services.ingest.webhook_registrations import REGISTRATION_KEY
from services.runtime.store import LinkRecord, StateStore

__all__ = [
    "OPENAPI_PATH",
    "OPERATIONS",
    "PREFIX",
    "Operation",
    "operator_openapi",
    "operator_routes",
]

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
    schedule: str
    full: bool


class LinkCreated(LinkOut):
    """A new link, and the full resend it asked of its source connection."""

    backfill: SyncOut | None = None
    backfill_error: str | None = None


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class AuditList(BaseModel):
    entries: list[AuditEntryOut]


class OAuthStart(BaseModel):
    display_name: str | None = Field(default=None, description="Defaults to the vendor's name.")
    tenant_id: str | None = None
    options: dict[str, str] = Field(
        default_factory=dict, description="What the vendor needs before consent (subdomain)."
    )


class OAuthStarted(BaseModel):
    connection_id: str
    consent_url: str = Field(description="Open it in a browser; the vendor redirects back.")


class OAuthStatusOut(BaseModel):
    status: str = Field(description="pending_consent until the callback, then active.")


class PingOut(BaseModel):
    ok: bool
    detail: str
    action: str = Field(description="What to do when not ok (e.g. reconnect).")


class HealthOut(BaseModel):
    status: str
    service: str


@dataclass(frozen=True, slots=True)
class Operation:
    """One documented route and method; ``path`` is the full path the app serves."""

    method: str
    path: str
    summary: str
    status: int
    response: type[BaseModel] | None = None
    request: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    public: bool = False  # no bearer token wanted


OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/healthz", "Readiness probe", 200, HealthOut, public=True),
    Operation("get", f"{PREFIX}/connections", "List connections", 200, ConnectionList),
    Operation(
        "post",
        f"{PREFIX}/connections",
        "Add a key/password connection",
        201,
        ConnectionOut,
        ConnectionCreate,
        errors=(400, 409, 422),
    ),
    Operation(
        "get",
        f"{PREFIX}/connections/{{connection_id}}",
        "Show a connection",
        200,
        ConnectionOut,
        errors=(404,),
    ),
    Operation(
        "delete",
        f"{PREFIX}/connections/{{connection_id}}",
        "Remove a connection (refused while links use it)",
        204,
        errors=(404, 409),
    ),
    Operation(
        "post",
        f"{PREFIX}/connections/{{connection_id}}/sync",
        "Reconcile a connection now (a ReconcileTick on raw.<vendor>); ?full=true resends "
        "every record, unchanged ones too",
        202,
        SyncOut,
        errors=(404, 409),
    ),
    Operation(
        "post",
        f"{PREFIX}/connections/{{connection_id}}/webhooks",
        "Register the connection's webhook anew at MLC_PUBLIC_URL (the old one is deleted "
        "first; 502 when it cannot be). A vendor refusing the new one answers 200 with "
        "webhook.state failed.",
        200,
        ConnectionOut,
        errors=(404, 409, 502),
    ),
    Operation(
        "post",
        f"{PREFIX}/connections/{{connection_id}}/ping",
        "One real read call against the vendor",
        200,
        PingOut,
    ),
    Operation(
        "post",
        f"{PREFIX}/oauth/{{vendor}}/start",
        "Start OAuth consent: a pending connection and its consent URL",
        201,
        OAuthStarted,
        OAuthStart,
        errors=(400, 404),
    ),
    Operation(
        "get",
        f"{PREFIX}/oauth/connections/{{connection_id}}",
        "A consent's progress",
        200,
        OAuthStatusOut,
        errors=(404,),
    ),
    Operation("get", f"{PREFIX}/links", "List links", 200, LinkList),
    Operation(
        "post",
        f"{PREFIX}/links",
        "Add a link (re-registers its connections' failed webhooks and asks its source "
        "for a full resend: backfill)",
        201,
        LinkCreated,
        LinkCreate,
        errors=(400, 404, 422),
    ),
    Operation("delete", f"{PREFIX}/links/{{link_id}}", "Remove a link", 204, errors=(404,)),
    Operation("get", f"{PREFIX}/status", "Per-link status", 200, StatusList),
    Operation("get", f"{PREFIX}/audit", "Audit log, newest first", 200, AuditList, errors=(422,)),
    Operation("get", OPENAPI_PATH, "This document", 200),
)
"""Every route the ingest app serves except the webhook intake and the OAuth callback
(which vendors and browsers call, not operators); a test walks the app to keep it so."""

_ERROR_TEXT = {
    400: "Malformed request",
    404: "No such record",
    409: "Conflicts with the current state",
    422: "Invalid input",
    502: "The vendor refused or could not be reached",
}


def operator_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operator route."""
    models: list[type[BaseModel]] = [
        m for op in OPERATIONS for m in (op.request, op.response) if m is not None
    ]
    models.append(ErrorBody)
    _, schema = models_json_schema(
        [(m, "validation") for m in dict.fromkeys(models)],
        ref_template="#/components/schemas/{model}",
    )
    error = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    }
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        operation: dict[str, Any] = {"summary": op.summary}
        if op.request is not None:
            ref = {"$ref": f"#/components/schemas/{op.request.__name__}"}
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref}},
            }
        ok: dict[str, Any] = {"description": "OK"}
        if op.response is not None:
            ref = {"$ref": f"#/components/schemas/{op.response.__name__}"}
            ok["content"] = {"application/json": {"schema": ref}}
        responses: dict[str, Any] = {str(op.status): ok}
        for status in op.errors:
            responses[str(status)] = {"description": _ERROR_TEXT[status], **error}
        if op.public:
            operation["security"] = []
        else:
            responses["401"] = {"description": "Missing or wrong bearer token", **error}
            responses["503"] = {
                "description": "No operator token configured (sync: Kafka did not take the tick)",
                **error,
            }
        operation["responses"] = responses
        params = [p.strip("{}") for p in op.path.split("/") if p.startswith("{")]
        if params:
            operation["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in params
            ]
        paths.setdefault(op.path, {})[op.method] = operation
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
    WebhookVendorError: 502,
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
            except (
                ConnectionInputError,
                ConnectionNotFoundError,
                ConnectionConflictError,
                WebhookVendorError,
            ) as exc:
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

    async def register_webhooks(request: Request) -> Response:
        view = await operations.register_webhooks(request.path_params["connection_id"])
        return JSONResponse(_connection_out(view))

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
        created = await _backfill_for_new_link(store, publish_tick, link)
        return JSONResponse(created.model_dump(mode="json"), status_code=201)

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
        ("post", "/connections/{connection_id}/webhooks"): register_webhooks,
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


def _sync_out(tick: ReconcileTick) -> SyncOut:
    return SyncOut(
        connection_id=tick.connection_id,
        vendor=tick.vendor,
        topic=raw_topic(tick.vendor),
        event_id=str(tick.event_id),
        due_at=tick.due_at,
        schedule=tick.schedule,
        full=tick.full,
    )


async def _backfill_for_new_link(
    store: StateStore, publish_tick: TickPublisher | None, link: LinkRecord
) -> LinkCreated:
    """Ask the link's source for a full resend: what it published before the link existed
    never reached this link's sink, and an ordinary reconcile only sends what changed."""
    created = LinkCreated(**_link_out(link).model_dump())
    retry = f"run: mlc connections sync {link.source_connection_id} --full"
    if publish_tick is None:
        created.backfill_error = f"no Kafka publisher here; {retry}"
        return created
    try:
        tick = await request_sync(
            store, publish_tick, link.source_connection_id, full=True, schedule=LINK_SCHEDULE
        )
    except ConnectionConflictError as exc:
        # Consent still pending: its first reconcile will send everything anyway.
        created.backfill_error = str(exc)
    except Exception as exc:  # any publish failure means "not sent": the link stands
        created.backfill_error = (
            f"the backfill tick was not published ({type(exc).__name__}); {retry}"
        )
    else:
        created.backfill = _sync_out(tick)
    return created


def _sync_handler(store: StateStore, publish_tick: TickPublisher | None) -> Handler:
    """``POST /connections/{id}/sync``: 202 once Kafka has the tick; 503 when it cannot."""

    async def sync_connection(request: Request) -> Response:
        if publish_tick is None:
            return _error(503, "sync is not available: this service has no Kafka publisher")
        try:
            tick = await request_sync(
                store,
                publish_tick,
                request.path_params["connection_id"],
                full=request.query_params.get("full", "").lower() in ("1", "true", "yes"),
            )
        except (ConnectionNotFoundError, ConnectionConflictError):
            raise
        except Exception as exc:  # any publish failure means "not sent, retry"
            return _error(503, f"the tick could not be published ({type(exc).__name__}): retry")
        return JSONResponse(_sync_out(tick).model_dump(mode="json"), status_code=202)

    return sync_connection


def _route(path: str, methods: dict[str, Handler]) -> Route:
    async def dispatch(request: Request) -> Response:
        return await methods[request.method](request)

    return Route(path, dispatch, methods=list(methods))
