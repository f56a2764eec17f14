"""Read the audit trail of a chain of events, or of one record, back from the log.

The topics are the audit trail (ARCHITECTURE.md): every event of one chain
shares a ``correlation_id``, and ``causation_id`` says which event caused which.
This module reads the given topics from the beginning up to their current end
(no consumer group, nothing committed, the log is not changed).

- :func:`read_chain` returns the events of one chain ordered by cause.
- :func:`read_entity_chains` answers "what happened to this record?": it finds the
  events keyed ``{connection}:{entity id}`` for the vendor's connections, follows
  their correlation ids, and keeps of each chain the path from its root (a webhook
  delivery, a reconcile tick) down to the record's own events and everything they
  caused (outcomes, dead letters, replays). Events of other records that share a
  chain (a backfill's tick causes one event per employee) are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.topics import Topic, raw_topic
from services.runtime.log_index import LogPlace, chain_ref, record_ref
from services.runtime.topics_admin import partition_counts

__all__ = [
    "AuditEntry",
    "EntityRef",
    "LogIndex",
    "LoggedEvent",
    "about_the_record",
    "decode_event",
    "describe",
    "entity_topics",
    "format_chain",
    "parse_entity_ref",
    "read_chain",
    "read_entity_chains",
    "read_events",
    "read_places",
]

# How much of a failure's text a chain line shows; the dead letter keeps all of it.
_MAX_REASON_CHARS = 300


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event of a chain, where it was found, and how deep in the chain it is."""

    topic: str
    partition: int
    offset: int
    event: dict[str, Any]
    depth: int


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as read from the log, with its place and Kafka key."""

    topic: str
    partition: int
    offset: int
    key: str | None
    event: dict[str, Any]


class LogIndex(Protocol):
    """An index of the log (the read model's): where it has read to, what named a ref."""

    async def folded(self) -> dict[tuple[str, int], int]: ...

    async def places(self, refs: Iterable[str]) -> list[LogPlace]: ...


@dataclass(frozen=True, slots=True)
class EntityRef:
    """``<vendor>:<entity id>``, e.g. ``bamboohr:4711``: a record in a vendor's system."""

    vendor: str
    entity_id: str

    def __str__(self) -> str:
        return f"{self.vendor}:{self.entity_id}"


def parse_entity_ref(text: str, vendors: Collection[str]) -> EntityRef | None:
    """The reference ``text`` names, or None when it is not ``<one of vendors>:<id>``."""
    vendor, sep, entity_id = text.partition(":")
    if not sep or vendor not in vendors or not entity_id:
        return None
    return EntityRef(vendor, entity_id)


def entity_topics(vendor: str, catalog: Iterable[Topic]) -> list[str]:
    """Where a vendor's record leaves traces: its raw topic and every non-raw catalog topic.

    The canonical topics, ``sync.outcome`` and the dead-letter topics; other vendors'
    raw topics cannot hold this vendor's records.
    """
    own = raw_topic(vendor)
    return [t.name for t in catalog if t.name == own or not t.name.startswith("raw.")]


async def read_events(
    bootstrap_servers: str,
    *,
    topics: Iterable[str],
    keep: Callable[[LoggedEvent], bool],
    max_wait_ms: int = 500,
    start: Mapping[tuple[str, int], int] | None = None,
) -> list[LoggedEvent]:
    """Every JSON event on ``topics`` (up to their end when called) that ``keep`` accepts,
    from ``start``'s offset per (topic, partition) when given, else from the beginning."""
    counts = await partition_counts(bootstrap_servers, topics)
    partitions = [TopicPartition(topic, p) for topic, n in sorted(counts.items()) for p in range(n)]
    if not partitions:
        return []
    consumer = _reader(bootstrap_servers)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        begins: dict[TopicPartition, int] = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            if start and start.get((tp.topic, tp.partition), 0) > begins[tp]:
                consumer.seek(tp, start[(tp.topic, tp.partition)])
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > await consumer.position(tp)}
        found: list[LoggedEvent] = []
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=max_wait_ms)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue  # written after we started: not part of this reading
                    logged = _logged(tp, record)
                    if logged is not None and keep(logged):
                        found.append(logged)
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return found


async def read_places(
    bootstrap_servers: str, places: Iterable[LogPlace], *, max_wait_ms: int = 500
) -> list[LoggedEvent]:
    """The JSON events at ``places`` (an index's answer), read where they are."""
    wanted: dict[TopicPartition, set[int]] = {}
    for place in places:
        wanted.setdefault(TopicPartition(place.topic, place.partition), set()).add(place.offset)
    if not wanted:
        return []
    consumer = _reader(bootstrap_servers)
    await consumer.start()
    found: list[LoggedEvent] = []
    try:
        consumer.assign(list(wanted))
        ends: dict[TopicPartition, int] = await consumer.end_offsets(list(wanted))
        for tp, offsets in wanted.items():
            left = sorted(offset for offset in offsets if offset < ends[tp])
            while left:
                # One seek per run of nearby offsets: a fetch returns what follows it too.
                consumer.seek(tp, left[0])
                batch = await consumer.getmany(tp, timeout_ms=max_wait_ms)
                records = batch.get(tp, [])
                if not records:
                    break  # no longer retained
                last = records[-1].offset
                for record in records:
                    if record.offset in offsets:
                        logged = _logged(tp, record)
                        if logged is not None:
                            found.append(logged)
                left = [offset for offset in left if offset > last]
    finally:
        await consumer.stop()
    return found


def _reader(bootstrap_servers: str) -> AIOKafkaConsumer:
    """A consumer with no group: nothing is committed, the log is not changed."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


def _logged(tp: TopicPartition, record: Any) -> LoggedEvent | None:  # noqa: ANN401 - Kafka's
    event = decode_event(record.value)
    if event is None:
        return None
    key = record.key.decode("utf-8", "replace") if record.key else None
    return LoggedEvent(tp.topic, tp.partition, record.offset, key, event)


async def _indexed_and_tail(
    bootstrap_servers: str,
    *,
    topics: list[str],
    index: LogIndex | None,
    refs: Callable[[], Iterable[str]],
    keep: Callable[[LoggedEvent], bool],
    max_wait_ms: int,
) -> list[LoggedEvent]:
    """What ``keep`` accepts: read at the index's places for ``refs`` and in the log's tail
    the index has not folded yet; without an index, the whole log. ``refs`` is called after
    the tail is read (its ``keep`` may collect what it asks for)."""
    folded = await index.folded() if index is not None else None
    tail = await read_events(
        bootstrap_servers, topics=topics, keep=keep, max_wait_ms=max_wait_ms, start=folded
    )
    if index is None:
        return tail
    seen = {(e.topic, e.partition, e.offset) for e in tail}
    places = [
        p
        for p in await index.places(refs())
        if p.topic in topics and (p.topic, p.partition, p.offset) not in seen
    ]
    indexed = await read_places(bootstrap_servers, places, max_wait_ms=max_wait_ms)
    return [e for e in indexed if keep(e)] + tail


async def read_chain(
    bootstrap_servers: str,
    correlation_id: str,
    *,
    topics: Iterable[str],
    index: LogIndex | None = None,
    max_wait_ms: int = 500,
) -> list[AuditEntry]:
    """Every event whose correlation id (or own id, for the root) is ``correlation_id``."""
    found = await _indexed_and_tail(
        bootstrap_servers,
        topics=list(topics),
        index=index,
        refs=lambda: [chain_ref(correlation_id)],
        keep=lambda logged: correlation_id in _chain_ids(logged.event),
        max_wait_ms=max_wait_ms,
    )
    return _order_by_cause(found)


async def read_entity_chains(
    bootstrap_servers: str,
    entity: EntityRef,
    *,
    topics: Iterable[str],
    connection_ids: Iterable[str] = (),
    index: LogIndex | None = None,
    max_wait_ms: int = 500,
) -> list[list[AuditEntry]]:
    """The chains that touched ``entity``, oldest first, each cut down to that record.

    The record's events are those keyed ``{connection}:{entity id}`` where the
    connection is one of ``connection_ids`` (the vendor's connections, e.g. from the
    state store) or, when none are given, a connection seen on ``raw.<vendor>``: ids
    are not unique across vendors, the connection says whose id it is. With an
    ``index`` (and ``connection_ids``), only the indexed places and the unindexed tail
    of the log are read.
    """
    names = list(topics)
    own_raw = raw_topic(entity.vendor)
    vendor_connections = set(connection_ids)
    discover = not vendor_connections
    if discover:
        index = None  # the index cannot discover connections: read the whole log
    candidates: list[LoggedEvent] = []

    def first_pass(logged: LoggedEvent) -> bool:
        if discover and logged.topic == own_raw:
            vendor_connections.add(str(logged.event.get("connection_id")))
        if _entity_key_of(logged) == entity.entity_id:
            candidates.append(logged)
        return False  # nothing is kept but what the closures collect

    if index is None:
        await read_events(bootstrap_servers, topics=names, keep=first_pass, max_wait_ms=max_wait_ms)
    else:
        candidates = await _indexed_and_tail(
            bootstrap_servers,
            topics=names,
            index=index,
            refs=lambda: [record_ref(c, entity.entity_id) for c in sorted(vendor_connections)],
            keep=lambda logged: _entity_key_of(logged) == entity.entity_id,
            max_wait_ms=max_wait_ms,
        )
    mine = [c for c in candidates if _connection_of(c) in vendor_connections]
    if not mine:
        return []
    own_ids = {str(c.event.get("event_id")) for c in mine}
    correlations = {_correlation_of(c.event) for c in mine}
    found = await _indexed_and_tail(
        bootstrap_servers,
        topics=names,
        index=index,
        refs=lambda: [chain_ref(c) for c in sorted(correlations)],
        keep=lambda logged: _correlation_of(logged.event) in correlations,
        max_wait_ms=max_wait_ms,
    )
    chains: dict[str, list[LoggedEvent]] = {}
    for logged in found:
        chains.setdefault(_correlation_of(logged.event), []).append(logged)
    ordered = [_order_by_cause(about_the_record(events, own_ids)) for events in chains.values()]
    ordered = [chain for chain in ordered if chain]
    return sorted(ordered, key=lambda chain: str(chain[0].event.get("recorded_at", "")))


def _entity_key_of(logged: LoggedEvent) -> str | None:
    """The record key: from the Kafka key when there is one (it is what orders), else the body."""
    if logged.key and ":" in logged.key:
        return logged.key.partition(":")[2]
    value = logged.event.get("entity_key")
    return str(value) if value is not None else None


def _connection_of(logged: LoggedEvent) -> str:
    if logged.key and ":" in logged.key:
        return logged.key.partition(":")[0]
    return str(logged.event.get("connection_id"))


def _chain_ids(event: dict[str, Any]) -> tuple[str, str]:
    return str(event.get("correlation_id")), str(event.get("event_id"))


def _correlation_of(event: dict[str, Any]) -> str:
    correlation = event.get("correlation_id")
    return str(correlation if correlation is not None else event.get("event_id"))


def about_the_record(events: list[LoggedEvent], own_ids: set[str]) -> list[LoggedEvent]:
    """The record's events, what they caused, and the causes that led to them."""
    by_id = {str(e.event.get("event_id")): e for e in events}
    children: dict[str, list[str]] = {}
    for event_id, logged in by_id.items():
        cause = logged.event.get("causation_id")
        if cause is not None:
            children.setdefault(str(cause), []).append(event_id)
    keep: set[str] = set()
    for start in own_ids & set(by_id):
        cause = by_id[start].event.get("causation_id")
        while cause is not None and str(cause) in by_id and str(cause) not in keep:
            keep.add(str(cause))
            cause = by_id[str(cause)].event.get("causation_id")
        stack = [start]
        while stack:
            current = stack.pop()
            if current not in keep:
                keep.add(current)
                stack.extend(children.get(current, []))
    return [by_id[event_id] for event_id in by_id if event_id in keep]


def decode_event(value: bytes | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _order_by_cause(found: list[LoggedEvent]) -> list[AuditEntry]:
    """Depth-first from the root, children in the order they were recorded."""
    by_cause: dict[str | None, list[LoggedEvent]] = {}
    ids = {str(logged.event.get("event_id")) for logged in found}
    for logged in sorted(found, key=lambda logged: str(logged.event.get("recorded_at", ""))):
        cause = logged.event.get("causation_id")
        # An event whose cause is not in the chain (or has none) is shown as a root.
        key = str(cause) if cause is not None and str(cause) in ids else None
        by_cause.setdefault(key, []).append(logged)

    ordered: list[AuditEntry] = []

    def visit(cause: str | None, depth: int) -> None:
        for logged in by_cause.get(cause, []):
            ordered.append(
                AuditEntry(logged.topic, logged.partition, logged.offset, logged.event, depth)
            )
            visit(str(logged.event.get("event_id")), depth + 1)

    visit(None, 0)
    return ordered


def describe(event: dict[str, Any], *, cause_type: str | None = None) -> str:
    """What an event means for the record, in words: received, published, written, failed."""
    kind = event.get("type")
    replay = "replayed from its dead letter: " if cause_type == "DeadLetter" else ""
    if kind == "RawDelivery":
        return f"webhook received from {event.get('vendor')} (delivery {event.get('delivery_id')})"
    if kind in ("PollTick", "ReconcileTick"):
        what = "poll" if kind == "PollTick" else "reconcile (backfill)"
        return f"{what} tick for {event.get('vendor')} (schedule {event.get('schedule')})"
    if kind == "SyncOutcome":
        return _describe_outcome(event)
    if kind == "DeadLetter":
        reason = _short(f"{event.get('error_type')}: {event.get('error')}")
        return (
            f"dead-lettered by {event.get('service')} after {event.get('attempts')} attempts: "
            f"{reason} (retry with: mlc replay {event.get('event_id')})"
        )
    changed = event.get("changed_fields")
    detail = f" (changed: {', '.join(map(str, changed))})" if changed else ""
    status = f" status={event['status']}" if isinstance(event.get("status"), str) else ""
    return f"{replay}fetched and published {kind}{status}{detail}"


def _describe_outcome(event: dict[str, Any]) -> str:
    service, operation, status = event.get("service"), event.get("operation"), event.get("status")
    targets = event.get("target_ids") or {}
    target = ", ".join(f"{name}={value}" for name, value in sorted(targets.items()))
    if status in ("applied", "unchanged"):
        where = f" -> {target}" if target else ""
        note = f" ({_short(str(event['detail']))})" if event.get("detail") else ""
        return f"written by {service}: {operation} {status}{where}{note}"
    return f"{service} {operation} {status}: {_short(str(event.get('detail') or 'no reason'))}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON_CHARS else text[: _MAX_REASON_CHARS - 1] + "…"


def format_chain(entries: list[AuditEntry]) -> str:
    """A chain as indented text lines for people: type, topic@offset, status, what happened."""
    types = {str(entry.event.get("event_id")): entry.event.get("type") for entry in entries}
    lines = []
    for entry in entries:
        event = entry.event
        status = f" status={event['status']}" if event.get("type") == "SyncOutcome" else ""
        cause_type = types.get(str(event.get("causation_id")))
        lines.append(
            f"{'  ' * entry.depth}- {event.get('type')} "
            f"[{entry.topic}#{entry.partition}@{entry.offset}] "
            f"key={event.get('connection_id')}:{event.get('entity_key')}{status} "
            f"id={event.get('event_id')} | "
            f"{describe(event, cause_type=None if cause_type is None else str(cause_type))}"
        )
    return "\n".join(lines)
