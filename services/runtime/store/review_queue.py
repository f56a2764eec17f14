"""The review queue: what a service could not decide alone, waiting for a person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from schemas.envelope import utcnow
from services.runtime.store.records import ReviewItem, ReviewStatus
from services.runtime.store.statements import Repository
from services.runtime.store.tables import review_queue

__all__ = ["ReviewQueue"]


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
        values: dict[str, Any] = {
            "service": service,
            "link_id": link_id,
            "reason": reason,
            "payload": payload,
            "status": "open",
            "resolution": None,
            "created_at": now or utcnow(),
            "resolved_at": None,
        }
        row = (
            await self._connection.execute(
                review_queue.insert().values(values).returning(*review_queue.c)
            )
        ).one()
        return ReviewItem(**row._asdict())

    async def get(self, item_id: int) -> ReviewItem | None:
        row = (
            await self._connection.execute(select(review_queue).where(review_queue.c.id == item_id))
        ).one_or_none()
        return None if row is None else ReviewItem(**row._asdict())

    async def list(
        self,
        *,
        status: ReviewStatus | None = "open",
        link_id: str | None = None,
        limit: int = 100,
    ) -> list[ReviewItem]:
        """Oldest first, so the queue is worked in the order it filled."""
        query = select(review_queue).order_by(review_queue.c.id).limit(limit)
        if status is not None:
            query = query.where(review_queue.c.status == status)
        if link_id is not None:
            query = query.where(review_queue.c.link_id == link_id)
        return [ReviewItem(**row._asdict()) for row in await self._connection.execute(query)]

    async def resolve(
        self,
        item_id: int,
        *,
        status: ReviewStatus = "resolved",
        resolution: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Close an open item; False if it was not open (already closed, or absent)."""
        if status == "open":
            msg = "resolve() closes an item: status must be 'resolved' or 'dismissed'"
            raise ValueError(msg)
        result = await self._connection.execute(
            update(review_queue)
            .where(review_queue.c.id == item_id, review_queue.c.status == "open")
            .values(status=status, resolution=resolution, resolved_at=now or utcnow())
        )
        return result.rowcount == 1

    async def count_open(self) -> int:
        count = await self._connection.scalar(
            select(func.count()).select_from(review_queue).where(review_queue.c.status == "open")
        )
        return int(count or 0)
