"""What the state store's repositories return: plain frozen values, one per row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "AuditRecord",
    "ConnectionRecord",
    "CrossReference",
    "Lease",
    "LedgerEntry",
    "LinkRecord",
    "Mapping",
    "PlannedWrite",
    "ReplayPartRecord",
    "ReplayPartState",
    "ReplayRecord",
    "ReplayState",
    "ReviewItem",
    "ReviewStatus",
    "StoredCredential",
]

ReviewStatus = Literal["open", "resolved", "dismissed", "redriven"]
ReplayState = Literal["running", "finished", "failed"]
ReplayPartState = Literal["waiting", "running", "finished", "failed"]


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    """One account at a vendor that we read from or write to."""

    id: str
    vendor: str
    tenant_id: str
    display_name: str
    settings: dict[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """A credential as stored: the vault's token, never the plaintext."""

    connection_id: str
    field: str
    token: str
    key_id: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """A flow from a source connection to a target connection."""

    id: str
    source_connection_id: str
    target_connection_id: str
    flow: str
    options: dict[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Mapping:
    """One value translation of a link, e.g. an expense category to a GL account."""

    link_id: str
    kind: str
    source_value: str
    target_value: str


@dataclass(frozen=True, slots=True)
class CrossReference:
    """Which target record a source record became, and what we last wrote there.

    ``revision`` is the row version for compare-and-set writes; ``fingerprint``
    hashes the last written target state; ``source_version`` and
    ``source_updated_at`` say which source state that was.
    """

    link_id: str
    source_key: str
    target_kind: str
    target_id: str
    fingerprint: str | None
    source_version: str | None
    source_updated_at: datetime | None
    revision: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A message key a service has claimed, and the outcome it recorded."""

    service: str
    key: str
    outcome: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds a named lease, until when."""

    name: str
    holder: str
    expires_at: datetime
    acquired_at: datetime


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """Something a service could not decide alone and handed to a person.

    ``entity_key`` is the record it is about (one item per link and record, see
    ``ReviewQueue.raise_item``); ``history`` lists what happened to it since, oldest
    first: who re-drove, resolved or dismissed it and when, and each time it came back.
    """

    id: int
    service: str
    link_id: str | None
    reason: str
    payload: dict[str, Any]
    status: ReviewStatus
    resolution: str | None
    created_at: datetime
    resolved_at: datetime | None
    entity_key: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the operator-facing audit log."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReplayRecord:
    """A person's request to re-drive (or, with ``dry_run``, preview) one link's events."""

    id: str
    link_id: str
    requested_by: str
    since: str
    until: str | None
    entity: str | None
    dry_run: bool
    state: ReplayState
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReplayPartRecord:
    """The part of a replay one service runs over one topic, with its progress.

    ``start_offsets`` and ``end_offsets`` map a partition (as text) to the first offset read
    and the end (exclusive), both fixed when the replay was asked; ``counts`` holds the
    outcomes so far by status.
    """

    replay_id: str
    service: str
    topic: str
    position: int
    start_offsets: dict[str, int]
    end_offsets: dict[str, int]
    state: ReplayPartState
    holder: str | None
    held_until: datetime | None
    total: int
    done: int
    counts: dict[str, int]
    error: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PlannedWrite:
    """One record of a dry run: what its sink would do to the target now."""

    replay_id: str
    service: str
    topic: str
    entity_key: str
    status: str
    action: str
    operation: str
    detail: str
    target_ids: dict[str, str]
