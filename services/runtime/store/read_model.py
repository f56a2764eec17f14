"""The read model in the store: per-link outcome figures, dead letters, an index of the log.

One consumer (``services/control/projection.py``) folds a batch of the log into a
:class:`ProjectionBatch` and hands it to :meth:`ReadModel.apply`, which writes the rows
and moves the positions it read to in the caller's transaction. The move is a compare and
set on each partition's position: when another folder got there first, or the model was
cleared for a rebuild, :class:`ProjectionMovedError` rolls the whole batch back and the
folder starts again from the stored positions. So each event is counted exactly once,
whatever runs twice.

Readers (the console, ``mlc status``, ``mlc audit``) ask for figures, dead letters and the
places (topic, partition, offset) of the events that named a record or a chain.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.sql.schema import Table

from services.runtime.store.errors import StoreError
from services.runtime.store.statements import Repository, insert_on_conflict
from services.runtime.store.tables import (
    projection_dead_letters,
    projection_event_index,
    projection_link_hours,
    projection_link_latest,
    projection_link_totals,
    projection_positions,
)

__all__ = [
    "DeadLetterRow",
    "LatestOutcome",
    "LogPlace",
    "ProjectionBatch",
    "ProjectionMovedError",
    "ReadModel",
]

Partition = tuple[str, int]


class ProjectionMovedError(StoreError):
    """The stored position is not where this batch started: fold again from the store's."""


@dataclass(frozen=True, slots=True, order=True)
class LogPlace:
    """Where one event is in the log."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class LatestOutcome:
    """A link's newest sync outcome."""

    link_id: str
    recorded_at: datetime
    status: str
    service: str
    operation: str
    entity_key: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    """A dead letter as the read model keeps it (the log keeps its original bytes)."""

    event_id: str
    topic: str
    partition: int
    offset: int
    service: str
    connection_id: str | None
    entity_key: str | None
    correlation_id: str | None
    original_topic: str
    original_event_id: str | None
    error_type: str
    error: str
    recorded_at: datetime


@dataclass(slots=True)
class ProjectionBatch:
    """What one batch of the log adds to the read model, and the positions it moves."""

    moves: dict[Partition, tuple[int | None, int]] = field(default_factory=dict)
    """(topic, partition) -> (the stored position it started from, or None if none, the next)."""
    hours: dict[tuple[str, datetime, str], int] = field(default_factory=dict)
    totals: dict[tuple[str, str], int] = field(default_factory=dict)
    latest: dict[str, LatestOutcome] = field(default_factory=dict)
    dead_letters: dict[str, DeadLetterRow] = field(default_factory=dict)
    refs: list[tuple[str, LogPlace]] = field(default_factory=list)

    def count_outcome(self, outcome: LatestOutcome, hour: datetime) -> None:
        hour_key = (outcome.link_id, hour, outcome.status)
        self.hours[hour_key] = self.hours.get(hour_key, 0) + 1
        total_key = (outcome.link_id, outcome.status)
        self.totals[total_key] = self.totals.get(total_key, 0) + 1
        newest = self.latest.get(outcome.link_id)
        if newest is None or outcome.recorded_at >= newest.recorded_at:
            self.latest[outcome.link_id] = outcome


_TABLES: tuple[Table, ...] = (
    projection_positions,
    projection_link_hours,
    projection_link_totals,
    projection_link_latest,
    projection_dead_letters,
    projection_event_index,
)


class ReadModel(Repository):
    """The read model's rows."""

    async def positions(self) -> dict[Partition, int]:
        rows = await self._connection.execute(select(projection_positions))
        return {(row.topic, row.partition): row.next_offset for row in rows}

    async def apply(self, batch: ProjectionBatch) -> None:
        """Write ``batch`` and move its positions; :class:`ProjectionMovedError` if moved."""
        for (topic, partition), (start, end) in sorted(batch.moves.items()):
            await self._move(topic, partition, start, end)
        for (link_id, hour, status), count in batch.hours.items():
            await self._add(
                projection_link_hours,
                {"link_id": link_id, "hour": hour, "status": status},
                count,
            )
        for (link_id, status), count in batch.totals.items():
            await self._add(projection_link_totals, {"link_id": link_id, "status": status}, count)
        for outcome in batch.latest.values():
            values = _row(outcome)
            newer = projection_link_latest.c.recorded_at <= outcome.recorded_at
            await self._connection.execute(
                insert_on_conflict(
                    self._connection,
                    projection_link_latest,
                    values,
                    conflict=["link_id"],
                    update_columns=[name for name in values if name != "link_id"],
                    where=newer,
                )
            )
        for letter in batch.dead_letters.values():
            await self._connection.execute(
                insert_on_conflict(
                    self._connection,
                    projection_dead_letters,
                    _row(letter),
                    conflict=["event_id"],
                )
            )
        if batch.refs:
            await self._connection.execute(
                insert(projection_event_index),
                [
                    {
                        "ref": ref,
                        "topic": place.topic,
                        "partition": place.partition,
                        "offset": place.offset,
                    }
                    for ref, place in batch.refs
                ],
            )

    async def clear(self) -> None:
        """Forget everything: the folder starts again from the beginning of the log."""
        for table in _TABLES:
            await self._connection.execute(delete(table))

    async def latest(self, link_ids: Collection[str]) -> dict[str, LatestOutcome]:
        rows = await self._connection.execute(
            select(projection_link_latest).where(projection_link_latest.c.link_id.in_(link_ids))
        )
        return {row.link_id: LatestOutcome(**row._asdict()) for row in rows}

    async def totals(self, link_ids: Collection[str]) -> dict[str, dict[str, int]]:
        """Outcomes by link and status, since the log began."""
        rows = await self._connection.execute(
            select(projection_link_totals).where(projection_link_totals.c.link_id.in_(link_ids))
        )
        found: dict[str, dict[str, int]] = {}
        for row in rows:
            found.setdefault(row.link_id, {})[row.status] = int(row._mapping["count"])
        return found

    async def hours(
        self, link_ids: Collection[str], *, since: datetime
    ) -> dict[str, dict[datetime, dict[str, int]]]:
        """Outcomes by link, hour and status from the hour of ``since`` on."""
        table = projection_link_hours
        rows = await self._connection.execute(
            select(table).where(and_(table.c.link_id.in_(link_ids), table.c.hour >= since))
        )
        found: dict[str, dict[datetime, dict[str, int]]] = {}
        for row in rows:
            hour = found.setdefault(row.link_id, {}).setdefault(row.hour, {})
            hour[row.status] = int(row._mapping["count"])
        return found

    async def dead_letter_counts(self, connection_ids: Collection[str]) -> dict[str, int]:
        """Dead letters by the connection they name."""
        table = projection_dead_letters
        rows = await self._connection.execute(
            select(table.c.connection_id, func.count())
            .where(table.c.connection_id.in_(connection_ids))
            .group_by(table.c.connection_id)
        )
        return {str(connection_id): int(count) for connection_id, count in rows}

    async def dead_letters(
        self, *, limit: int, connection_ids: Collection[str] | None = None
    ) -> list[DeadLetterRow]:
        """The newest dead letters first."""
        table = projection_dead_letters
        query = select(table).order_by(table.c.recorded_at.desc()).limit(limit)
        if connection_ids is not None:
            query = query.where(table.c.connection_id.in_(connection_ids))
        return [DeadLetterRow(**row._asdict()) for row in await self._connection.execute(query)]

    async def dead_letter(self, event_id: str) -> DeadLetterRow | None:
        """The dead letter whose own id, or its original event's, is ``event_id``."""
        table = projection_dead_letters
        row = (
            await self._connection.execute(
                select(table)
                .where((table.c.event_id == event_id) | (table.c.original_event_id == event_id))
                .order_by(table.c.recorded_at.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else DeadLetterRow(**row._asdict())

    async def places(self, refs: Iterable[str]) -> list[LogPlace]:
        """Where the events that named any of ``refs`` are, in log order per partition."""
        table = projection_event_index
        wanted = sorted(set(refs))
        if not wanted:
            return []
        rows = await self._connection.execute(
            select(table.c.topic, table.c.partition, table.c.offset)
            .where(table.c.ref.in_(wanted))
            .distinct()
        )
        return sorted(LogPlace(row.topic, row.partition, row.offset) for row in rows)

    async def _move(self, topic: str, partition: int, start: int | None, end: int) -> None:
        table = projection_positions
        if start is None:
            values = {"topic": topic, "partition": partition, "next_offset": end}
            statement = insert_on_conflict(
                self._connection, table, values, conflict=["topic", "partition"]
            )
            moved = (await self._connection.execute(statement)).rowcount
        else:
            moved = (
                await self._connection.execute(
                    update(table)
                    .where(
                        and_(
                            table.c.topic == topic,
                            table.c.partition == partition,
                            table.c.next_offset == start,
                        )
                    )
                    .values(next_offset=end)
                )
            ).rowcount
        if moved != 1:
            msg = f"{topic}#{partition} is no longer at {start}: folded elsewhere, or cleared"
            raise ProjectionMovedError(msg)

    async def _add(self, table: Table, key: Mapping[str, Any], count: int) -> None:
        """``count`` more on the row at ``key`` (made at ``count`` when there is none)."""
        where = and_(*(table.c[name] == value for name, value in key.items()))
        added = await self._connection.execute(
            update(table).where(where).values(count=table.c.count + count)
        )
        if added.rowcount == 0:
            await self._connection.execute(insert(table).values({**key, "count": count}))


def _row(value: LatestOutcome | DeadLetterRow) -> dict[str, Any]:
    return asdict(value)
