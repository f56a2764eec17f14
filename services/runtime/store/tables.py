"""The state store's tables (ARCHITECTURE.md, "State that is not an event").

One ``MetaData`` for everything; the migrations in ``migrations/versions``
create exactly these tables, and a test checks that they agree. Times are
stored in UTC and always come back timezone-aware, on both backends. Tables a
single service writes carry a ``service`` column, so services share one
database without reading each other's rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = [
    "JsonDocument",
    "UtcDateTime",
    "audit_log",
    "connection_credentials",
    "connections",
    "console_sessions",
    "cross_references",
    "idempotency_ledger",
    "leases",
    "links",
    "mappings",
    "metadata",
    "projection_dead_letters",
    "projection_event_index",
    "projection_link_hours",
    "projection_link_latest",
    "projection_link_totals",
    "projection_positions",
    "replay_parts",
    "replay_plan",
    "replays",
    "review_queue",
    "watermarks",
]

# Constraint names are fixed so later migrations can refer to them on both backends.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC; naive datetimes are refused.

    SQLite has no time zone type, so values are stored as UTC text there and
    get their ``UTC`` tzinfo back when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            msg = f"naive datetime {value!r}: the state store keeps timezone-aware times only"
            raise ValueError(msg)
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JsonDocument: Any = JSON().with_variant(JSONB(), "postgresql")

# An integer key that autoincrements on both: SQLite only does so for INTEGER PRIMARY KEY.
_SerialId: Any = BigInteger().with_variant(Integer(), "sqlite")

connections = Table(
    "connections",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("vendor", String(64), nullable=False),
    Column("tenant_id", String(128), nullable=False),
    Column("display_name", String(256), nullable=False),
    Column("settings", JsonDocument, nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "vendor"),
)

connection_credentials = Table(
    "connection_credentials",
    metadata,
    Column(
        "connection_id",
        String(64),
        ForeignKey("connections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("field", String(64), primary_key=True),
    # The vault's ciphertext ("v1:<kid>:..."); the store never holds plaintext.
    Column("token", Text, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

links = Table(
    "links",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "source_connection_id",
        String(64),
        ForeignKey("connections.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column(
        "target_connection_id",
        String(64),
        ForeignKey("connections.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column("flow", String(64), nullable=False),
    Column("options", JsonDocument, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "source_connection_id"),
    Index(None, "target_connection_id"),
)

mappings = Table(
    "mappings",
    metadata,
    Column("link_id", String(64), ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("source_value", String(512), primary_key=True),
    Column("target_value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

cross_references = Table(
    "cross_references",
    metadata,
    Column("id", _SerialId, primary_key=True, autoincrement=True),
    Column("link_id", String(64), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("source_key", String(256), nullable=False),
    Column("target_kind", String(64), nullable=False),
    Column("target_id", String(256), nullable=False),
    # Hash of the target state we last wrote: an equal hash means "unchanged".
    Column("fingerprint", String(128), nullable=True),
    # The source record's own version and time, to drop events that arrive out of order.
    Column("source_version", String(128), nullable=True),
    Column("source_updated_at", UtcDateTime, nullable=True),
    # Row version for compare-and-set: every successful write adds one.
    Column("revision", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("link_id", "source_key", "target_kind"),
    Index(None, "link_id", "target_kind", "target_id"),
)

watermarks = Table(
    "watermarks",
    metadata,
    Column("service", String(64), primary_key=True),
    Column(
        "connection_id",
        String(64),
        ForeignKey("connections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("name", String(128), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

idempotency_ledger = Table(
    "idempotency_ledger",
    metadata,
    Column("id", _SerialId, primary_key=True, autoincrement=True),
    Column("service", String(64), nullable=False),
    Column("key", String(512), nullable=False),
    Column("outcome", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("service", "key"),
    Index(None, "created_at"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("holder", String(256), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
)

review_queue = Table(
    "review_queue",
    metadata,
    Column("id", _SerialId, primary_key=True, autoincrement=True),
    Column("service", String(64), nullable=False),
    Column("link_id", String(64), ForeignKey("links.id", ondelete="CASCADE"), nullable=True),
    Column("reason", Text, nullable=False),
    Column("payload", JsonDocument, nullable=False),
    Column("status", String(16), nullable=False),
    Column("resolution", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    # The record the item is about (payload["entity_key"]): one item per link and record.
    Column("entity_key", String(256), nullable=True),
    # What happened to the item, oldest first: re-drives, resolutions, each return.
    Column("history", JsonDocument, nullable=False, server_default=text("'[]'")),
    CheckConstraint("status IN ('open', 'resolved', 'dismissed', 'redriven')", name="status"),
    Index(None, "status", "id"),
    Index(None, "link_id", "entity_key"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _SerialId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("action", String(128), nullable=False),
    Column("subject", String(256), nullable=False),
    Column("detail", JsonDocument, nullable=False),
    Index(None, "subject", "id"),
)

# A link's replay (``mlc replay --link``): asked by a person, run by the services that
# write the link's flow, one part per (service, topic), each over a fixed range of the log.
replays = Table(
    "replays",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("link_id", String(64), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("requested_by", String(256), nullable=False),
    # The range as the person wrote it, and the one entity it is cut down to (if any).
    Column("since", String(128), nullable=False),
    Column("until", String(128), nullable=True),
    Column("entity", String(256), nullable=True),
    Column("dry_run", Boolean, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    CheckConstraint("state IN ('running', 'finished', 'failed')", name="state"),
    Index(None, "link_id", "created_at"),
)

replay_parts = Table(
    "replay_parts",
    metadata,
    Column("replay_id", String(64), ForeignKey("replays.id", ondelete="CASCADE"), primary_key=True),
    Column("service", String(64), primary_key=True),
    Column("topic", String(249), primary_key=True),
    # The order the flow runs its parts in (departments before the employees in them).
    Column("position", Integer, nullable=False),
    # Per partition (as text keys): first offset read, and the end (exclusive), fixed when asked.
    Column("start_offsets", JsonDocument, nullable=False),
    Column("end_offsets", JsonDocument, nullable=False),
    Column("state", String(16), nullable=False),
    # Who runs it, until when: another replica takes it over once this has passed.
    Column("holder", String(256), nullable=True),
    Column("held_until", UtcDateTime, nullable=True),
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False),
    # Outcomes so far by status (applied, unchanged, failed, needs_review, ...).
    Column("counts", JsonDocument, nullable=False),
    Column("error", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("state IN ('waiting', 'running', 'finished', 'failed')", name="state"),
    Index(None, "service", "state"),
)

replay_plan = Table(
    "replay_plan",
    metadata,
    Column("id", _SerialId, primary_key=True, autoincrement=True),
    Column("replay_id", String(64), ForeignKey("replays.id", ondelete="CASCADE"), nullable=False),
    Column("service", String(64), nullable=False),
    Column("topic", String(249), nullable=False),
    Column("entity_key", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("action", String(32), nullable=False),
    Column("operation", String(256), nullable=False),
    Column("detail", Text, nullable=False),
    Column("target_ids", JsonDocument, nullable=False),
    UniqueConstraint("replay_id", "service", "topic", "entity_key"),
    Index(None, "replay_id", "id"),
)


# The read model (``services/control/projection.py``): what the console, ``mlc status`` and
# ``mlc audit`` read instead of scanning topics. One consumer folds the log into these rows
# and the position it has read to, in one transaction; deleting them all (``mlc projection
# rebuild``) makes it fold the log again from the beginning.
projection_positions = Table(
    "projection_positions",
    metadata,
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True),
    # The next offset to fold: everything before it is in the rows below.
    Column("next_offset", BigInteger, nullable=False),
)

# Outcomes per link, hour and status: the links page's 24-hour chart.
projection_link_hours = Table(
    "projection_link_hours",
    metadata,
    Column("link_id", String(64), primary_key=True),
    Column("hour", UtcDateTime, primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("count", Integer, nullable=False),
)

# Outcomes per link and status since the log began: what the counts were before the chart.
projection_link_totals = Table(
    "projection_link_totals",
    metadata,
    Column("link_id", String(64), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# Each link's newest outcome (its lag is measured from it).
projection_link_latest = Table(
    "projection_link_latest",
    metadata,
    Column("link_id", String(64), primary_key=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("service", String(64), nullable=False),
    Column("operation", String(256), nullable=False),
    Column("entity_key", String(256), nullable=True),
    Column("detail", Text, nullable=False),
)

projection_dead_letters = Table(
    "projection_dead_letters",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("topic", String(249), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("service", String(64), nullable=False),
    Column("connection_id", String(64), nullable=True),
    Column("entity_key", String(256), nullable=True),
    Column("correlation_id", String(64), nullable=True),
    Column("original_topic", String(249), nullable=False),
    Column("original_event_id", String(64), nullable=True),
    Column("error_type", String(256), nullable=False),
    Column("error", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index(None, "recorded_at"),
    Index(None, "connection_id"),
)

# Where each record's and each chain's events are: ``record:<connection>:<entity key>``,
# ``chain:<correlation id>`` and ``email:<address>`` -> topic, partition, offset.
projection_event_index = Table(
    "projection_event_index",
    metadata,
    Column("id", _SerialId, primary_key=True, autoincrement=True),
    Column("ref", String(512), nullable=False),
    Column("topic", String(249), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Index(None, "ref"),
)

# A person signed in to the console: the cookie's hash (never the cookie), the form token
# every form must carry back, and when it ends (signed out, or expired).
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Index(None, "expires_at"),
)
