"""Read the audit trail of a chain of events back from the log.

The topics are the audit trail (ARCHITECTURE.md): every event of one chain
shares a ``correlation_id``, and ``causation_id`` says which event caused which.
This module reads the given topics from the beginning up to their current end
(no consumer group, nothing committed, the log is not changed) and returns the
events of one chain ordered by cause.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.runtime.topics_admin import partition_counts

__all__ = ["AuditEntry", "format_chain", "read_chain"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event of a chain, where it was found, and how deep in the chain it is."""

    topic: str
    partition: int
    offset: int
    event: dict[str, Any]
    depth: int


async def read_chain(
    bootstrap_servers: str,
    correlation_id: str,
    *,
    topics: Iterable[str],
    max_wait_ms: int = 500,
) -> list[AuditEntry]:
    """Every event whose correlation id (or own id, for the root) is ``correlation_id``."""
    counts = await partition_counts(bootstrap_servers, topics)
    partitions = [TopicPartition(topic, p) for topic, n in sorted(counts.items()) for p in range(n)]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > 0}
        found: list[tuple[str, int, int, dict[str, Any]]] = []
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=max_wait_ms)
            for tp, records in batch.items():
                for record in records:
                    event = _decode(record.value)
                    if event is not None and correlation_id in (
                        str(event.get("correlation_id")),
                        str(event.get("event_id")),
                    ):
                        found.append((tp.topic, tp.partition, record.offset, event))
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return _order_by_cause(found)


def _decode(value: bytes | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _order_by_cause(found: list[tuple[str, int, int, dict[str, Any]]]) -> list[AuditEntry]:
    """Depth-first from the root, children in the order they were recorded."""
    by_cause: dict[str | None, list[tuple[str, int, int, dict[str, Any]]]] = {}
    ids = {str(event.get("event_id")) for *_, event in found}
    for item in sorted(found, key=lambda item: str(item[3].get("recorded_at", ""))):
        cause = item[3].get("causation_id")
        # An event whose cause is not in the chain (or has none) is shown as a root.
        key = str(cause) if cause is not None and str(cause) in ids else None
        by_cause.setdefault(key, []).append(item)

    ordered: list[AuditEntry] = []

    def visit(cause: str | None, depth: int) -> None:
        for topic, partition, offset, event in by_cause.get(cause, []):
            ordered.append(AuditEntry(topic, partition, offset, event, depth))
            visit(str(event.get("event_id")), depth + 1)

    visit(None, 0)
    return ordered


def format_chain(entries: list[AuditEntry]) -> str:
    """A chain as indented text lines for people: type, topic@offset, status."""
    lines = []
    for entry in entries:
        event = entry.event
        status = f" status={event['status']}" if event.get("type") == "SyncOutcome" else ""
        lines.append(
            f"{'  ' * entry.depth}- {event.get('type')} "
            f"[{entry.topic}#{entry.partition}@{entry.offset}] "
            f"key={event.get('connection_id')}:{event.get('entity_key')}{status} "
            f"id={event.get('event_id')}"
        )
    return "\n".join(lines)
