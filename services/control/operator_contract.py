"""The operator API's contract: its request and response models.

The OpenAPI document at ``/api/v1/openapi.json`` is FastAPI's, generated from the routes
(``operator_api.py``, ``oauth.py``) and these models, which the routes validate and answer
with, so it cannot drift from them (and a test walks the served app against it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "OPENAPI_PATH",
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
    "LinkOptionsIn",
    "LinkOut",
    "LinkStatusOut",
    "MappingIn",
    "MappingList",
    "MappingOut",
    "MappingSet",
    "OAuthStart",
    "OAuthStarted",
    "OAuthStatusOut",
    "PingOut",
    "PlannedWriteOut",
    "QuotaOut",
    "ReplayIn",
    "ReplayList",
    "ReplayOut",
    "ReplayPartOut",
    "ReplayPlan",
    "ReviewItemOut",
    "ReviewList",
    "ReviewReasonOut",
    "ReviewRedriven",
    "ReviewResolveIn",
    "StatusList",
    "SyncOut",
    "error_responses",
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
    preview: bool = Field(
        default=False,
        description=(
            "Create it disabled: nothing is written until POST /links/{id}/live; a dry-run "
            "replay (POST /links/{id}/replays with dry_run) lists what it would write."
        ),
    )


class LinkOptionsIn(BaseModel):
    options: dict[str, Any] = Field(
        description="The link's options as a whole: they replace the ones it had."
    )


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


class QuotaOut(BaseModel):
    """A vendor's call quota of the link's target connection, as its service last saw it."""

    limit: int = Field(description="Calls the window allows (Zoho Books: per organisation a day).")
    remaining: int
    resets_at: datetime = Field(description="When the window starts again.")
    observed_at: datetime = Field(description="When the vendor last said so.")


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
    target_quota: QuotaOut | None = Field(
        default=None, description="The target vendor's call quota; null when it has none."
    )


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


class ReplayIn(BaseModel):
    since: str = Field(
        default="beginning",
        description=(
            "From where: beginning, a time (2026-12-05T09:00Z), a time ago (90m, 2h, 3d), or "
            "offsets (offset:120, offset:0=120,1=98)."
        ),
    )
    until: str | None = Field(default=None, description="To where (same forms); default: now.")
    entity: str | None = Field(
        default=None, description="Only this record, as <vendor>:<id> (e.g. bamboohr:4711)."
    )
    dry_run: bool = Field(
        default=False, description="Write nothing: list what each record's write would be."
    )
    requested_by: str = Field(
        default="operator", min_length=1, max_length=256, description="Who asks (audited)."
    )


class ReplayPartOut(BaseModel):
    service: str
    topic: str
    state: Literal["waiting", "running", "finished", "failed"]
    records: int = Field(description="The link's records found in the range (0 until read).")
    done: int
    counts: dict[str, int] = Field(description="Outcomes so far by status.")
    error: str | None = None
    start_offsets: dict[str, int]
    end_offsets: dict[str, int]


class ReplayOut(BaseModel):
    id: str
    link_id: str
    requested_by: str
    since: str
    until: str | None
    entity: str | None
    dry_run: bool
    state: Literal["running", "finished", "failed"]
    created_at: datetime
    finished_at: datetime | None
    totals: dict[str, int] = Field(
        description="records, done, and outcomes by status (applied, unchanged, failed, ...)."
    )
    parts: list[ReplayPartOut]


class ReplayList(BaseModel):
    replays: list[ReplayOut]


class PlannedWriteOut(BaseModel):
    record: str = Field(description="<source connection>:<entity key>.")
    service: str
    topic: str
    status: str = Field(description="What the live write would report: applied, unchanged, ...")
    action: str = Field(description="create, update, deactivate, review, or empty (nothing).")
    operation: str = Field(description="The calls it would make, joined by +.")
    detail: str
    target_ids: dict[str, str]


class ReplayPlan(BaseModel):
    replay: ReplayOut
    writes: list[PlannedWriteOut]


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class AuditList(BaseModel):
    entries: list[AuditEntryOut]


class ReviewReasonOut(BaseModel):
    """One reason an item waits. An item whose flow named no missing reference has one
    reason: its note, with ``missing``, ``value`` and ``fix`` null."""

    missing: str | None = Field(description='What is missing, e.g. "category".')
    value: str | None = Field(description="The source value that has no translation.")
    fix: str | None = Field(description="What would fix it, e.g. an `mlc mappings set`.")
    note: str = Field(description="The reason in one sentence.")
    mapping_kind: str | None = Field(
        default=None, description="The kind of link mapping that would fix it, if one would."
    )
    mapping_source: str | None = Field(
        default=None, description="The source value that mapping would translate."
    )


class ReviewItemOut(BaseModel):
    """A review item as ``mlc review list|show --json`` prints it and the API answers."""

    id: int
    link: str | None = Field(description="The link whose flow could not write the record.")
    record: str | None = Field(description="The record (the event's entity key).")
    status: str = Field(description="open, redriven, resolved or dismissed.")
    reasons: list[ReviewReasonOut]
    service: str
    reason: str = Field(description="The service's code for the kind of problem.")
    note: str | None
    event_type: str | None = Field(description="The event a re-drive sends; null: none.")
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    history: list[dict[str, Any]] = Field(
        description="Oldest first: {at, action, by, note, ...} for each re-drive, "
        "resolution, dismissal and return."
    )
    link_id: str | None = Field(description="Same as link (older scripts read it).")
    entity_key: str | None = Field(description="Same as record (older scripts read it).")


class ReviewList(BaseModel):
    items: list[ReviewItemOut]


class ReviewResolveIn(BaseModel):
    note: str = Field(default="", description="Why it is closed.")
    status: Literal["resolved", "dismissed"] = Field(
        default="resolved", description="dismissed: nothing was to be done."
    )


class ReviewRedriven(BaseModel):
    """A re-driven item and the event that put its record back through the flow."""

    item: ReviewItemOut
    event_id: str
    type: str
    topic: str
    entity_key: str


class MappingOut(BaseModel):
    link: str
    kind: str
    source: str
    target: str


class MappingList(BaseModel):
    mappings: list[MappingOut]


class MappingIn(BaseModel):
    target: str = Field(min_length=1, description="The value the source value becomes.")


class MappingSet(MappingOut):
    """A mapping as set, what it replaced, and the open items that waited for it."""

    previous: str | None = Field(description="The target it had before; null: new.")
    waiting_items: list[int] = Field(
        description="Open review items of the link missing this value: re-drive them."
    )


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
    status: str = Field(
        description="pending_consent while a consent (a reconnect too) is outstanding, "
        "then the connection's status: active once the callback completed it."
    )
    refused: str | None = Field(
        default=None, description="Why the vendor's callback for the last consent was refused."
    )


class PingOut(BaseModel):
    ok: bool
    detail: str
    action: str = Field(description="What to do when not ok (e.g. reconnect).")


class HealthOut(BaseModel):
    status: str
    service: str


_ERROR_TEXT: dict[int, str] = {
    400: "Malformed request",
    401: "Missing or wrong bearer token",
    404: "No such record",
    409: "Conflicts with the current state",
    422: "Invalid input (the field is named)",
    502: "The vendor refused or could not be reached",
    503: "No operator token configured, or Kafka did not take the tick / does not answer",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses: each an :class:`ErrorBody`."""
    return {status: {"model": ErrorBody, "description": _ERROR_TEXT[status]} for status in statuses}
