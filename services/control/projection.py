"""The read model's folder: one consumer that keeps the store's read model current.

``mlc status``, ``mlc audit`` and the console read per-link outcome figures, dead letters
and the places of a record's events from the store (``services/runtime/store/read_model``)
rather than scanning topics from the beginning, so a page costs the same after a million
outcomes as after ten. This folds the log into those rows:

- every event is indexed under ``record:<connection>:<entity key>`` (its Kafka key),
  ``chain:<correlation id>`` and ``email:<address>`` for each top-level ``*email`` field;
- a ``SyncOutcome`` with a link counts per link, hour and status, and may be its newest;
- a ``DeadLetter`` is kept with its cause.

It reads with no consumer group: the positions it has folded to are stored with the rows,
in one transaction, so a crash redoes a batch rather than losing or doubling it, and
``mlc projection rebuild`` (clearing both) makes it fold the log again from the
beginning. Two control-plane replicas may both fold: the store's compare-and-set on the
positions lets one batch through and sends the other back to the stored positions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy.exc import SQLAlchemyError

from services.runtime.audit_trail import LoggedEvent, decode_event
from services.runtime.log_index import chain_ref, email_ref, record_ref
from services.runtime.replay import original_event_id
from services.runtime.store import StateStore, StoreError
from services.runtime.store.read_model import (
    DeadLetterRow,
    LatestOutcome,
    LogPlace,
    ProjectionBatch,
    ProjectionMovedError,
)
from services.runtime.topics_admin import partition_counts

__all__ = ["Projection", "fold", "projection_running"]

_log = structlog.get_logger(__name__)

# A batch is one store transaction: large enough that a backlog folds at thousands of
# events a second, small enough that one transaction stays short.
_MAX_RECORDS = 2000
_POLL_MS = 250
# How long a batch gathers once its first events came: at most two transactions a second.
_GATHER_SECONDS = 0.5
_RETRY_SECONDS = 2.0
# How often an idle folder checks that its positions are still the store's (a rebuild).
_IDLE_CHECK_SECONDS = 2.0
# How often an idle folder looks for topics or partitions made after it started.
_TOPOLOGY_CHECK_SECONDS = 30.0


def fold(batch: ProjectionBatch, logged: LoggedEvent) -> None:
    """Add what one event means to the read model to ``batch``."""
    event = logged.event
    place = LogPlace(logged.topic, logged.partition, logged.offset)
    record = _record_key(logged)
    if record is not None:
        connection, _, entity = record.partition(":")
        batch.refs.append((record_ref(connection, entity), place))
    correlation = event.get("correlation_id") or event.get("event_id")
    if correlation is not None:
        batch.refs.append((chain_ref(str(correlation)), place))
    for name, value in event.items():
        if (name == "email" or name.endswith("_email")) and isinstance(value, str) and "@" in value:
            batch.refs.append((email_ref(value), place))
    kind = event.get("type")
    recorded_at = _time(event.get("recorded_at"))
    if kind == "SyncOutcome" and event.get("link_id") and recorded_at is not None:
        outcome = LatestOutcome(
            link_id=str(event["link_id"]),
            recorded_at=recorded_at,
            status=str(event.get("status")),
            service=str(event.get("service")),
            operation=str(event.get("operation", ""))[:256],
            entity_key=_text(event.get("entity_key")),
            detail=str(event.get("detail") or ""),
        )
        batch.count_outcome(outcome, recorded_at.replace(minute=0, second=0, microsecond=0))
    elif kind == "DeadLetter" and event.get("event_id") and recorded_at is not None:
        letter = DeadLetterRow(
            event_id=str(event["event_id"]),
            topic=logged.topic,
            partition=logged.partition,
            offset=logged.offset,
            service=str(event.get("service")),
            connection_id=_text(event.get("connection_id")),
            entity_key=_text(event.get("entity_key")),
            correlation_id=_text(event.get("correlation_id")),
            original_topic=str(event.get("original_topic")),
            original_event_id=original_event_id(event),
            error_type=str(event.get("error_type"))[:256],
            error=str(event.get("error") or ""),
            recorded_at=recorded_at,
        )
        batch.dead_letters[letter.event_id] = letter


class Projection:
    """Folds ``topics`` into the read model of ``store`` while :meth:`run` runs."""

    def __init__(
        self,
        store: StateStore,
        bootstrap_servers: str,
        topics: Iterable[str],
        *,
        max_records: int = _MAX_RECORDS,
    ) -> None:
        self._store = store
        self._bootstrap = bootstrap_servers
        self._topics = sorted(set(topics))
        self._max_records = max_records
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._positions: dict[TopicPartition, int] = {}
        # What the store holds (None: no row yet), the compare in each batch's compare-and-set.
        self._stored: dict[TopicPartition, int] = {}
        self._folded = asyncio.Condition()

    async def run(self) -> None:
        """Fold until cancelled; a broker or store outage is logged and retried."""
        while True:  # each round assigns the partitions the topics have now
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError, StoreError, SQLAlchemyError) as exc:
                _log.warning("projection.interrupted", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(_RETRY_SECONDS)

    async def behind(self, topics: Sequence[str] | None = None, *, wait_seconds: float) -> int:
        """Events of ``topics`` (all by default) on the log now but not folded yet, after
        waiting up to ``wait_seconds`` for the folder to reach them; -1 when not folding."""
        async with self._folded:
            with suppress(TimeoutError):
                await asyncio.wait_for(
                    self._folded.wait_for(lambda: self._consumer is not None), wait_seconds
                )
        consumer = self._consumer
        if consumer is None:
            return -1
        wanted = [tp for tp in self._partitions if topics is None or tp.topic in topics]
        if not wanted:
            return 0
        ends: dict[TopicPartition, int] = await consumer.end_offsets(wanted)

        def missing() -> int:
            return sum(max(0, end - self._positions.get(tp, 0)) for tp, end in ends.items())

        async with self._folded:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._folded.wait_for(lambda: missing() == 0), wait_seconds)
            return missing()

    async def _run_once(self) -> None:
        self._partitions = await self._current_partitions()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._max_records,
        )
        await consumer.start()
        try:
            consumer.assign(self._partitions)
            self._consumer = consumer
            await self._seek_to_stored(consumer)
            idle_since = topology_checked = time.monotonic()
            while True:
                fetched = await self._gather(consumer)
                if fetched:
                    await self._fold_batch(consumer, fetched)
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since >= _IDLE_CHECK_SECONDS:
                    # A rebuild cleared the store while nothing new came: notice it anyway;
                    # and a topic made after the start: assign it (by starting again).
                    if time.monotonic() - topology_checked >= _TOPOLOGY_CHECK_SECONDS:
                        if await self._partitions_changed():
                            return
                        topology_checked = time.monotonic()
                    await self._reseek_if_moved(consumer)
                    idle_since = time.monotonic()
        finally:
            self._consumer = None
            await consumer.stop()

    async def _seek_to_stored(self, consumer: AIOKafkaConsumer) -> None:
        async with self._store.transaction() as tx:
            stored = await tx.read_model.positions()
        self._stored = {TopicPartition(t, p): offset for (t, p), offset in stored.items()}
        for tp in self._partitions:
            consumer.seek(tp, self._stored.get(tp, 0))
        async with self._folded:
            self._positions = {tp: self._stored.get(tp, 0) for tp in self._partitions}
            self._folded.notify_all()

    async def _gather(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, list[Any]]:
        """What the log has now, gathered for up to ``_GATHER_SECONDS`` once something came:
        one store transaction a moment, not one per trickle of events (the store is the
        services' too, and SQLite has one writer)."""
        fetched: dict[TopicPartition, list[Any]] = await consumer.getmany(
            timeout_ms=_POLL_MS, max_records=self._max_records
        )
        count = sum(len(records) for records in fetched.values())
        deadline = time.monotonic() + _GATHER_SECONDS
        while fetched and count < self._max_records and (left := deadline - time.monotonic()) > 0:
            more = await consumer.getmany(
                timeout_ms=max(1, int(left * 1000)), max_records=self._max_records - count
            )
            for tp, records in more.items():
                fetched.setdefault(tp, []).extend(records)
                count += len(records)
        return fetched

    async def _current_partitions(self) -> list[TopicPartition]:
        counts = await partition_counts(self._bootstrap, self._topics)
        return [TopicPartition(topic, p) for topic, n in sorted(counts.items()) for p in range(n)]

    async def _partitions_changed(self) -> bool:
        return await self._current_partitions() != self._partitions

    async def _reseek_if_moved(self, consumer: AIOKafkaConsumer) -> None:
        async with self._store.transaction() as tx:
            stored = await tx.read_model.positions()
        if {TopicPartition(t, p): offset for (t, p), offset in stored.items()} != self._stored:
            _log.info("projection.moved", reason="the stored positions changed")
            await self._seek_to_stored(consumer)

    async def _fold_batch(
        self, consumer: AIOKafkaConsumer, fetched: dict[TopicPartition, list[object]]
    ) -> None:
        batch = ProjectionBatch()
        ends: dict[TopicPartition, int] = {}
        for tp, records in fetched.items():
            for record in records:
                logged = _logged(tp, record)
                if logged is not None:
                    fold(batch, logged)
                ends[tp] = record.offset + 1  # type: ignore[attr-defined]
        for tp, end in ends.items():
            batch.moves[(tp.topic, tp.partition)] = (self._stored.get(tp), end)
        try:
            async with self._store.transaction() as tx:
                await tx.read_model.apply(batch)
        except ProjectionMovedError as exc:
            # Rebuilt, or folded by another replica: start again from what the store says.
            _log.info("projection.moved", reason=str(exc))
            await self._seek_to_stored(consumer)
            return
        async with self._folded:
            for tp, end in ends.items():
                self._stored[tp] = end
                self._positions[tp] = end
            self._folded.notify_all()


@asynccontextmanager
async def projection_running(projection: Projection) -> AsyncIterator[None]:
    """Fold in the background while the block runs (a control plane's lifespan)."""
    task = asyncio.create_task(projection.run(), name="projection")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def _logged(tp: TopicPartition, record: object) -> LoggedEvent | None:
    event = decode_event(getattr(record, "value", None))
    if event is None:
        return None
    raw_key = getattr(record, "key", None)
    key = raw_key.decode("utf-8", "replace") if raw_key else None
    return LoggedEvent(tp.topic, tp.partition, int(getattr(record, "offset", 0)), key, event)


def _record_key(logged: LoggedEvent) -> str | None:
    """``<connection>:<entity key>``: the Kafka key when it has one, else the body's fields."""
    if logged.key and ":" in logged.key:
        return logged.key
    connection, entity = logged.event.get("connection_id"), logged.event.get("entity_key")
    if connection is None or entity is None:
        return None
    return f"{connection}:{entity}"


def _time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)
