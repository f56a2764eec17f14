"""The gauges only the control plane can sample: review-queue depth and age, and how fresh
each link's outcomes are (from the read model it keeps)."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.envelope import utcnow
from services.runtime.health import Sampler
from services.runtime.metrics import LINK_LAST_OUTCOME, REVIEW_QUEUE_ITEMS, REVIEW_QUEUE_OLDEST
from services.runtime.store import StateStore

__all__ = ["control_sampler"]


def control_sampler(store: StateStore, *, every_seconds: float = 15.0) -> Sampler:
    """Refreshes ``mlc_review_queue_*`` and ``mlc_link_last_outcome_timestamp_seconds``."""

    async def sample() -> None:
        async with store.transaction() as tx:
            links = await tx.links.list()
            latest = await tx.read_model.latest([link.id for link in links])
            queue = await tx.review_queue.open_by_link()
        now = utcnow()
        REVIEW_QUEUE_ITEMS.replace({(link or "",): count for link, (count, _) in queue.items()})
        REVIEW_QUEUE_OLDEST.replace(
            {
                (link or "",): max(0.0, (now - _aware(oldest)).total_seconds())
                for link, (_, oldest) in queue.items()
            }
        )
        LINK_LAST_OUTCOME.replace(
            {(link, o.status): _aware(o.recorded_at).timestamp() for link, o in latest.items()}
        )

    return Sampler("control_gauges", sample, every_seconds)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive times; the store writes UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
