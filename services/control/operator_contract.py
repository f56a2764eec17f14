"""The operator API's contract: its request/response models and the table of its routes.

The OpenAPI document at ``/api/v1/openapi.json`` is built from this table and the same
pydantic models the routes validate and answer with, so it cannot drift from them (and a
test walks the served app against the table).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

__all__ = [
    "OPENAPI_PATH",
    "OPERATIONS",
    "PREFIX",
    "AuditEntryOut",
    "AuditList",
    "ConnectionCreate",
    "ConnectionList",
    "ConnectionOut",
    "ErrorBody",
    "HealthOut",
    "LinkCreate",
    "LinkCreated",
    "LinkList",
    "LinkOut",
    "LinkStatusOut",
    "OAuthStart",
    "OAuthStarted",
    "OAuthStatusOut",
    "Operation",
    "PingOut",
    "StatusList",
    "SyncOut",
    "operator_openapi",
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
    Operation(
        "get",
        "/healthz",
        "Readiness probe (Kafka answers)",
        200,
        HealthOut,
        errors=(503,),
        public=True,
    ),
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
    503: "Not ready: Kafka does not answer",
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
