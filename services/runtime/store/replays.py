"""Link replays in the store: the request, its parts and their progress, a dry run's plan.

The control plane writes a replay with one part per (service, topic) of the link's flow,
each over a range of offsets fixed at that moment. Each service's replay worker
(``services/runtime/link_replays.py``) claims its own parts: a part is held by one replica
until ``held_until`` and the holder pushes that forward as it saves progress, so a replica
that dies halfway lets another take the part over and run it again (the sinks are
idempotent: what was written comes out ``unchanged``). The replay is finished when its
last part is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import and_, or_, select, update

from schemas.envelope import utcnow
from services.runtime.store.records import (
    PlannedWrite,
    ReplayPartRecord,
    ReplayPartState,
    ReplayRecord,
)
from services.runtime.store.statements import Repository, insert_on_conflict
from services.runtime.store.tables import replay_parts, replay_plan, replays

__all__ = ["PartRange", "Replays"]

_OPEN: tuple[ReplayPartState, ...] = ("waiting", "running")


@dataclass(frozen=True, slots=True)
class PartRange:
    """One part to run: which service reads which topic, from where to where (exclusive)."""

    service: str
    topic: str
    start_offsets: Mapping[int, int]
    end_offsets: Mapping[int, int]
    position: int = 0
    """Parts of one replay are claimed in this order (a flow's reference data first)."""


def _offsets(values: Mapping[int, int]) -> dict[str, int]:
    return {str(partition): int(offset) for partition, offset in sorted(values.items())}


def _part(row: Any) -> ReplayPartRecord:  # noqa: ANN401 - a SQLAlchemy row
    values = row._asdict()
    values["counts"] = dict(values.get("counts") or {})
    return ReplayPartRecord(**values)


class Replays(Repository):
    """Replay requests, their parts and plans."""

    async def create(
        self,
        *,
        link_id: str,
        requested_by: str,
        since: str,
        until: str | None,
        entity: str | None,
        dry_run: bool,
        parts: Sequence[PartRange],
        now: datetime | None = None,
    ) -> ReplayRecord:
        at = now or utcnow()
        record = ReplayRecord(
            id=uuid4().hex,
            link_id=link_id,
            requested_by=requested_by,
            since=since,
            until=until,
            entity=entity,
            dry_run=dry_run,
            state="running" if parts else "finished",
            created_at=at,
            finished_at=None if parts else at,
        )
        await self._connection.execute(replays.insert().values(_record_values(record)))
        for part in parts:
            await self._connection.execute(
                replay_parts.insert().values(
                    replay_id=record.id,
                    service=part.service,
                    topic=part.topic,
                    position=part.position,
                    start_offsets=_offsets(part.start_offsets),
                    end_offsets=_offsets(part.end_offsets),
                    state="waiting",
                    holder=None,
                    held_until=None,
                    total=0,
                    done=0,
                    counts={},
                    error=None,
                    updated_at=at,
                )
            )
        return record

    async def get(self, replay_id: str) -> ReplayRecord | None:
        row = (
            await self._connection.execute(select(replays).where(replays.c.id == replay_id))
        ).one_or_none()
        return None if row is None else ReplayRecord(**row._asdict())

    async def recent(self, *, link_id: str | None = None, limit: int = 20) -> list[ReplayRecord]:
        """Newest first."""
        query = select(replays).order_by(replays.c.created_at.desc(), replays.c.id).limit(limit)
        if link_id is not None:
            query = query.where(replays.c.link_id == link_id)
        return [ReplayRecord(**row._asdict()) for row in await self._connection.execute(query)]

    async def parts(self, replay_id: str) -> list[ReplayPartRecord]:
        query = (
            select(replay_parts)
            .where(replay_parts.c.replay_id == replay_id)
            .order_by(replay_parts.c.position, replay_parts.c.service, replay_parts.c.topic)
        )
        return [_part(row) for row in await self._connection.execute(query)]

    async def claim(
        self, service: str, holder: str, *, ttl: timedelta, now: datetime | None = None
    ) -> ReplayPartRecord | None:
        """Take the oldest open part of ``service`` nobody holds (or whose holder went quiet)."""
        at = now or utcnow()
        free = or_(replay_parts.c.held_until.is_(None), replay_parts.c.held_until < at)
        candidates = (
            await self._connection.execute(
                select(replay_parts)
                .where(
                    replay_parts.c.service == service,
                    replay_parts.c.state.in_(_OPEN),
                    free,
                )
                .order_by(replay_parts.c.updated_at, replay_parts.c.position)
                .limit(5)
            )
        ).all()
        for row in candidates:
            part = _part(row)
            taken = await self._connection.execute(
                update(replay_parts)
                .where(_key(part), free, replay_parts.c.state.in_(_OPEN))
                .values(state="running", holder=holder, held_until=at + ttl, updated_at=at)
                .returning(*replay_parts.c)
            )
            won = taken.one_or_none()
            if won is not None:
                return _part(won)
        return None

    async def progress(
        self,
        part: ReplayPartRecord,
        holder: str,
        *,
        ttl: timedelta,
        total: int,
        done: int,
        counts: Mapping[str, int],
        now: datetime | None = None,
    ) -> bool:
        """Save progress and hold the part longer; False when another replica took it over."""
        at = now or utcnow()
        result = await self._connection.execute(
            update(replay_parts)
            .where(_key(part), replay_parts.c.holder == holder, replay_parts.c.state == "running")
            .values(total=total, done=done, counts=dict(counts), held_until=at + ttl, updated_at=at)
        )
        return result.rowcount > 0

    async def finish(
        self,
        part: ReplayPartRecord,
        holder: str,
        *,
        state: ReplayPartState,
        total: int,
        done: int,
        counts: Mapping[str, int],
        error: str | None = None,
        now: datetime | None = None,
    ) -> ReplayRecord | None:
        """Close the part; the replay when this closed its last part (None otherwise)."""
        at = now or utcnow()
        closed = await self._connection.execute(
            update(replay_parts)
            .where(_key(part), replay_parts.c.holder == holder, replay_parts.c.state == "running")
            .values(
                state=state,
                total=total,
                done=done,
                counts=dict(counts),
                error=error,
                holder=None,
                held_until=None,
                updated_at=at,
            )
        )
        if closed.rowcount == 0:
            return None
        parts = await self.parts(part.replay_id)
        if any(p.state in _OPEN for p in parts):
            return None
        final = "failed" if any(p.state == "failed" for p in parts) else "finished"
        row = (
            await self._connection.execute(
                update(replays)
                .where(replays.c.id == part.replay_id, replays.c.state == "running")
                .values(state=final, finished_at=at)
                .returning(*replays.c)
            )
        ).one_or_none()
        return None if row is None else ReplayRecord(**row._asdict())

    async def plan_rows(self, rows: Sequence[PlannedWrite]) -> None:
        """Record a dry run's rows; a part run again replaces its earlier rows."""
        for row in rows:
            values = {
                "replay_id": row.replay_id,
                "service": row.service,
                "topic": row.topic,
                "entity_key": row.entity_key,
                "status": row.status,
                "action": row.action,
                "operation": row.operation,
                "detail": row.detail,
                "target_ids": dict(row.target_ids),
            }
            await self._connection.execute(
                insert_on_conflict(
                    self._connection,
                    replay_plan,
                    values,
                    conflict=("replay_id", "service", "topic", "entity_key"),
                    update_columns=("status", "action", "operation", "detail", "target_ids"),
                )
            )

    async def plan(self, replay_id: str) -> list[PlannedWrite]:
        """A dry run's rows, in the order the records were met."""
        query = (
            select(replay_plan)
            .where(replay_plan.c.replay_id == replay_id)
            .order_by(replay_plan.c.id)
        )
        rows = await self._connection.execute(query)
        return [
            PlannedWrite(**{k: v for k, v in row._asdict().items() if k != "id"}) for row in rows
        ]


def _key(part: ReplayPartRecord) -> Any:  # noqa: ANN401 - a SQLAlchemy clause
    return and_(
        replay_parts.c.replay_id == part.replay_id,
        replay_parts.c.service == part.service,
        replay_parts.c.topic == part.topic,
    )


def _record_values(record: ReplayRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in ReplayRecord.__dataclass_fields__}
