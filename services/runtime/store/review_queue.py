"""The review queue: what a service could not decide alone, waiting for a person.

One item per link and record. A sink that cannot write a record without a person calls
:meth:`ReviewQueue.raise_item`, never :meth:`ReviewQueue.add`: while the record's item is
open it is updated (the newest note, reasons and event), once it was re-driven it opens
again with the new ones, and only otherwise (none yet, or closed by a person) is a new
item added. Items never disappear on their own: only a person closes one, by re-driving
it (``redriven``), resolving it (``resolved``) or dismissing it (``dismissed``).

The payload, as every flow writes it:

``entity_key``
    the record (the canonical event's entity key), also the item's ``entity_key`` column;
``note``
    one sentence for a person: what is missing and what to do;
``reasons`` (optional)
    each missing reference, a :class:`MissingReference`: ``{"missing": "category",
    "value": "Meals", "fix": "mlc mappings set --link L --kind category 'Meals' <account>"}``.
    An item without them is shown with its note as its one reason;
``event``
    the canonical event to put back through the flow (``mlc review redrive``), as JSON.

``history`` lists, oldest first, what happened to the item: each entry has ``at`` (ISO
time), ``action`` (``redriven``, ``redrive_failed``, ``reopened``, ``resolved``,
``dismissed``), ``by`` (a person, ``operator-api``, or the service that raised it again)
and ``note``; a ``redriven`` entry keeps the ``reasons`` it was re-driven with and, once
sent, the ``event_id`` and ``topic``; ``reopened`` keeps the new ``reasons``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Final, NotRequired, TypedDict

from sqlalchemy import func, select, update

from schemas.envelope import utcnow
from services.runtime.store.errors import RecordNotFoundError
from services.runtime.store.records import ReviewItem, ReviewStatus
from services.runtime.store.statements import Repository
from services.runtime.store.tables import review_queue

__all__ = ["CLOSED_STATUSES", "MissingReference", "ReviewQueue"]

CLOSED_STATUSES: Final[tuple[ReviewStatus, ...]] = ("resolved", "dismissed", "redriven")
"""Every status but ``open``: a person closed the item (``redriven`` reopens on failure)."""


class MissingReference(TypedDict):
    """One reason an item waits: a reference the flow could not translate."""

    missing: str  # what is missing, e.g. "category" (a mapping kind) or "BILL GL account"
    value: str  # the source value that has no translation, e.g. "Meals"
    fix: str  # what would fix it, e.g. the `mlc mappings set ...` command
    # When a link mapping fixes it: its kind and source value (the console's fix form).
    mapping_kind: NotRequired[str]
    mapping_source: NotRequired[str]


def _item(row: Any) -> ReviewItem:  # noqa: ANN401 - a SQLAlchemy row
    values = row._asdict()
    values["history"] = list(values.get("history") or [])
    return ReviewItem(**values)


def _entry(action: str, by: str, now: datetime, note: str | None, **extra: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON
    return {"at": now.isoformat(), "action": action, "by": by, "note": note, **extra}


class ReviewQueue(Repository):
    """Items a person has to decide, e.g. an expense category with no mapping."""

    async def add(
        self,
        *,
        service: str,
        reason: str,
        payload: dict[str, Any],
        link_id: str | None = None,
        now: datetime | None = None,
    ) -> ReviewItem:
        """A new item, whatever is queued already; sinks call :meth:`raise_item` instead."""
        key = payload.get("entity_key")
        values: dict[str, Any] = {
            "service": service,
            "link_id": link_id,
            "reason": reason,
            "payload": payload,
            "status": "open",
            "resolution": None,
            "created_at": now or utcnow(),
            "resolved_at": None,
            "entity_key": None if key is None else str(key),
            "history": [],
        }
        row = (
            await self._connection.execute(
                review_queue.insert().values(values).returning(*review_queue.c)
            )
        ).one()
        return _item(row)

    async def raise_item(
        self,
        *,
        service: str,
        reason: str,
        link_id: str | None,
        entity_key: str,
        note: str,
        event: dict[str, Any] | None = None,
        reasons: Sequence[MissingReference] = (),
        now: datetime | None = None,
    ) -> ReviewItem:
        """The record's item, made to say ``note`` (and ``reasons``), with ``event`` to re-drive.

        Open already: updated in place (no second item). Re-driven, and failing again:
        reopened with the new reasons, its history keeping the attempt. Otherwise (none,
        or resolved or dismissed by a person): a new item.
        """
        at = now or utcnow()
        payload: dict[str, Any] = {"entity_key": entity_key, "note": note}
        if reasons:
            payload["reasons"] = [dict(r) for r in reasons]
        if event is not None:
            payload["event"] = event
        query = (
            select(review_queue)
            .where(
                review_queue.c.entity_key == entity_key,
                review_queue.c.status.in_(("open", "redriven")),
                review_queue.c.link_id.is_(None)
                if link_id is None
                else review_queue.c.link_id == link_id,
            )
            .order_by(review_queue.c.id.desc())
            .limit(1)
            .with_for_update()
        )
        row = (await self._connection.execute(query)).one_or_none()
        if row is None:
            return await self.add(
                service=service, reason=reason, payload=payload, link_id=link_id, now=at
            )
        current = _item(row)
        changes: dict[str, Any] = {"reason": reason, "payload": payload}
        if current.status == "redriven":
            changes |= {"status": "open", "resolution": None, "resolved_at": None}
            entry = _entry("reopened", service, at, note, reasons=payload.get("reasons", []))
            changes["history"] = [*current.history, entry]
        return await self._change(current.id, changes)

    async def get(self, item_id: int) -> ReviewItem | None:
        row = (
            await self._connection.execute(select(review_queue).where(review_queue.c.id == item_id))
        ).one_or_none()
        return None if row is None else _item(row)

    async def list(
        self,
        *,
        status: ReviewStatus | Collection[ReviewStatus] | None = "open",
        link_id: str | None = None,
        entity_key: str | None = None,
        limit: int = 100,
    ) -> list[ReviewItem]:
        """Oldest first, so the queue is worked in the order it filled.

        ``status`` is one status, several (``CLOSED_STATUSES``), or None for every item.
        """
        query = select(review_queue).order_by(review_queue.c.id).limit(limit)
        if isinstance(status, str):
            query = query.where(review_queue.c.status == status)
        elif status is not None:
            query = query.where(review_queue.c.status.in_(list(status)))
        if link_id is not None:
            query = query.where(review_queue.c.link_id == link_id)
        if entity_key is not None:
            query = query.where(review_queue.c.entity_key == entity_key)
        return [_item(row) for row in await self._connection.execute(query)]

    async def resolve(
        self,
        item_id: int,
        *,
        status: ReviewStatus = "resolved",
        resolution: str | None = None,
        by: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Close an open item by hand; False if it was not open (already closed, or absent).

        ``status`` is ``resolved`` or ``dismissed``; re-driving is :meth:`mark_redriven`.
        """
        if status not in ("resolved", "dismissed"):
            msg = "resolve() closes an item by hand: status must be 'resolved' or 'dismissed'"
            raise ValueError(msg)
        at = now or utcnow()
        current = await self._locked(item_id)
        if current is None or current.status != "open":
            return False
        entry = _entry(status, by or "unknown", at, resolution)
        await self._change(
            item_id,
            {
                "status": status,
                "resolution": resolution,
                "resolved_at": at,
                "history": [*current.history, entry],
            },
        )
        return True

    async def mark_redriven(
        self, item_id: int, *, by: str, now: datetime | None = None
    ) -> ReviewItem | None:
        """Close an open item as re-driven, before its event is sent; None if it was not open.

        Marked first, so that a flow failing again at once finds it re-driven and reopens
        it (marked after, the new failure would land on the open item and then be closed).
        """
        at = now or utcnow()
        current = await self._locked(item_id)
        if current is None or current.status != "open":
            return None
        reasons = current.payload.get("reasons", [])
        entry = _entry("redriven", by, at, None, reasons=reasons)
        return await self._change(
            item_id,
            {
                "status": "redriven",
                "resolution": f"re-driven by {by}",
                "resolved_at": at,
                "history": [*current.history, entry],
            },
        )

    async def redrive_sent(self, item_id: int, *, event_id: str, topic: str) -> ReviewItem:
        """Note on the item's last re-drive which event carried it, once Kafka took it."""
        current = await self._locked(item_id)
        if current is None:
            msg = f"no review item {item_id}"
            raise RecordNotFoundError(msg)
        history = [dict(entry) for entry in current.history]
        last = next((e for e in reversed(history) if e.get("action") == "redriven"), None)
        if last is None:
            msg = f"review item {item_id} was never re-driven"
            raise RecordNotFoundError(msg)
        last |= {"event_id": event_id, "topic": topic}
        changes: dict[str, Any] = {"history": history}
        if current.status == "redriven":
            changes["resolution"] = f"re-driven by {last.get('by')} as event {event_id}"
        return await self._change(item_id, changes)

    async def redrive_failed(
        self, item_id: int, *, by: str, note: str, now: datetime | None = None
    ) -> ReviewItem | None:
        """Open a re-driven item again: its event could not be sent. None if not re-driven."""
        current = await self._locked(item_id)
        if current is None or current.status != "redriven":
            return None
        entry = _entry("redrive_failed", by, now or utcnow(), note)
        return await self._change(
            item_id,
            {
                "status": "open",
                "resolution": None,
                "resolved_at": None,
                "history": [*current.history, entry],
            },
        )

    async def count_open(self) -> int:
        count = await self._connection.scalar(
            select(func.count()).select_from(review_queue).where(review_queue.c.status == "open")
        )
        return int(count or 0)

    async def open_by_link(self) -> dict[str | None, tuple[int, datetime]]:
        """link id (None: an item of no link) -> (open items, when the oldest was raised)."""
        rows = await self._connection.execute(
            select(review_queue.c.link_id, func.count(), func.min(review_queue.c.created_at))
            .where(review_queue.c.status == "open")
            .group_by(review_queue.c.link_id)
        )
        return {link_id: (int(count), oldest) for link_id, count, oldest in rows}

    async def _locked(self, item_id: int) -> ReviewItem | None:
        """The item, its row locked until the transaction ends (PostgreSQL; SQLite's
        transactions take the write lock up front)."""
        row = (
            await self._connection.execute(
                select(review_queue).where(review_queue.c.id == item_id).with_for_update()
            )
        ).one_or_none()
        return None if row is None else _item(row)

    async def _change(self, item_id: int, changes: dict[str, Any]) -> ReviewItem:
        row = (
            await self._connection.execute(
                update(review_queue)
                .where(review_queue.c.id == item_id)
                .values(changes)
                .returning(*review_queue.c)
            )
        ).one()
        return _item(row)
