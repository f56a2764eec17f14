"""A range of a topic's log: from a point a person names to another, per partition.

A person names a point as ``beginning``, ``end``, a time (``2026-12-05T09:00Z``), a time
ago (``90m``, ``2h``, ``3d``), or offsets (``offset:120`` on every partition,
``offset:0=120,1=98`` per partition). :func:`parse_point` checks the words (the CLI and
the operator API answer a bad one with a clear error before anything runs);
:func:`resolve_range` turns two points into offsets per partition, once, so a replay run
again covers the same records; :func:`read_range` reads them.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.envelope import utcnow
from services.runtime.topics_admin import partition_counts

__all__ = [
    "LogPoint",
    "LoggedRecord",
    "PointError",
    "parse_point",
    "read_range",
    "resolve_range",
]

_AGO: Final = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_OFFSETS: Final = re.compile(r"^offset:(\d+|\d+=\d+(,\d+=\d+)*)$")


class PointError(ValueError):
    """A point of the log a person named that means nothing; the message says what would."""


@dataclass(frozen=True, slots=True)
class LogPoint:
    """A parsed point: the log's beginning or end, a time, or offsets per partition."""

    kind: Literal["beginning", "end", "time", "offsets"]
    at: datetime | None = None
    offsets: Mapping[int, int] | None = None
    """Per partition; the key ``-1`` means every partition."""


@dataclass(frozen=True, slots=True)
class LoggedRecord:
    """One record of the range: where it is, its key, its bytes."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def parse_point(text: str, *, now: datetime | None = None) -> LogPoint:
    """The point ``text`` names (see the module's docstring), or :class:`PointError`."""
    words = text.strip()
    lowered = words.lower()
    if lowered in ("beginning", "start", "earliest"):
        return LogPoint("beginning")
    if lowered in ("end", "now", "latest"):
        return LogPoint("end")
    ago = _AGO.match(lowered)
    if ago:
        span = timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
        return LogPoint("time", at=(now or utcnow()) - span)
    if _OFFSETS.match(lowered):
        spec = lowered.removeprefix("offset:")
        if "=" not in spec:
            return LogPoint("offsets", offsets={-1: int(spec)})
        pairs = (pair.split("=") for pair in spec.split(","))
        return LogPoint("offsets", offsets={int(p): int(o) for p, o in pairs})
    try:
        at = datetime.fromisoformat(words)
    except ValueError:
        at = None
    if at is not None:
        if at.tzinfo is None:
            msg = f"{words!r} has no time zone: write it as 2026-12-05T09:00Z or with +01:00"
            raise PointError(msg)
        return LogPoint("time", at=at.astimezone(UTC))
    msg = (
        f"{words!r} is not a point of the log: use 'beginning', 'end', a time such as "
        "2026-12-05T09:00Z, a time ago such as 90m, 2h or 3d, or offsets such as "
        "offset:120 or offset:0=120,1=98"
    )
    raise PointError(msg)


async def resolve_range(
    bootstrap_servers: str, topic: str, since: LogPoint, until: LogPoint
) -> tuple[dict[int, int], dict[int, int]]:
    """Offsets per partition: the first to read and the end (exclusive), both within the log."""
    counts = await partition_counts(bootstrap_servers, [topic])
    partitions = [TopicPartition(topic, p) for p in range(counts.get(topic, 0))]
    if not partitions:
        return {}, {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        first = await consumer.beginning_offsets(partitions)
        last = await consumer.end_offsets(partitions)

        async def at(point: LogPoint) -> dict[int, int]:
            if point.kind == "beginning":
                return {tp.partition: first[tp] for tp in partitions}
            if point.kind == "end":
                return {tp.partition: last[tp] for tp in partitions}
            if point.kind == "offsets":
                given = point.offsets or {}
                return {
                    tp.partition: given.get(tp.partition, given.get(-1, last[tp]))
                    for tp in partitions
                }
            assert point.at is not None
            stamp = int(point.at.timestamp() * 1000)
            found = await consumer.offsets_for_times(dict.fromkeys(partitions, stamp))
            # No record at or after that time: the range starts (or ends) at the log's end.
            return {
                tp.partition: last[tp] if found[tp] is None else found[tp].offset
                for tp in partitions
            }

        start, end = await at(since), await at(until)
    finally:
        await consumer.stop()
    # Offsets a person typed may lie outside the log, or end before they start.
    bounds = {tp.partition: (first[tp], last[tp]) for tp in partitions}
    start = {p: min(max(o, bounds[p][0]), bounds[p][1]) for p, o in start.items()}
    end = {p: min(max(o, start[p]), bounds[p][1]) for p, o in end.items()}
    return start, end


async def read_range(
    bootstrap_servers: str,
    topic: str,
    start: Mapping[int, int],
    end: Mapping[int, int],
    *,
    max_wait_ms: int = 500,
) -> AsyncIterator[LoggedRecord]:
    """Every record of ``topic`` from ``start`` to ``end`` (exclusive), partition by partition
    interleaved as Kafka hands them over; one record's order within its partition is kept."""
    wanted = {
        TopicPartition(topic, p): (start[p], end[p]) for p in start if end.get(p, 0) > start[p]
    }
    if not wanted:
        return
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(wanted))
        for tp, (first, _) in wanted.items():
            consumer.seek(tp, first)
        pending = set(wanted)
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=max_wait_ms)
            for tp, records in batch.items():
                stop = wanted[tp][1]
                for record in records:
                    if record.offset < stop:
                        yield LoggedRecord(tp.partition, record.offset, record.key, record.value)
            pending = {tp for tp in pending if await consumer.position(tp) < wanted[tp][1]}
    finally:
        await consumer.stop()
