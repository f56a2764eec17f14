"""What the log says about each link: its last sync outcome (lag), failed outcomes, dead letters.

``mlc status`` and the console read this next to the store's audit entries. The sinks
publish a ``SyncOutcome`` (with ``link_id``) to ``sync.outcome`` for every write they
attempt, and a message a service gives up on goes to ``dlq.<service>``; the read model's
folder (:mod:`services.control.projection`) keeps per-link figures of both in the store,
so a reading costs the same after a million outcomes as after ten.

Before answering, the reader waits a moment (``wait_seconds``) for the folder to reach the
end of those topics as it was when asked, so an outcome just published is counted; when
the folder is behind or not running, the figures are the read model's and a note says so.

Honest limits, also in ``docs/control.md``:

- dead letters name no link: they are counted per link when their ``connection_id`` is the
  link's source or target connection, so two links sharing a connection share its count;
- lag is the time since the link's newest outcome was recorded. A quiet link (nothing
  changed at the source) has a growing lag without anything being wrong; the reconciliation
  ticks give every active link at least a daily outcome once its sink reports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.control.projection import Projection
from services.runtime.store import LinkRecord, StateStore
from services.vendors import TOPICS

__all__ = ["LinkHealth", "LinkHealthReader", "projected_link_health"]

OUTCOME_TOPIC = "sync.outcome"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class LinkHealth:
    """One link's figures from the log."""

    last_outcome_at: datetime | None = None
    last_outcome_status: str | None = None
    outcome_failures: int = 0
    dead_letters: int = 0
    note: str | None = None
    """Why the figures may be short (the read model behind the log), or None."""


LinkHealthReader = Callable[[Sequence[LinkRecord]], Awaitable[dict[str, LinkHealth]]]
"""Reads the figures of these links, by link id."""


def health_topics() -> list[str]:
    """The topics the figures come from: outcomes and every dead-letter topic."""
    return [OUTCOME_TOPIC, *(topic.name for topic in TOPICS if topic.name.startswith("dlq."))]


def projected_link_health(
    store: StateStore, projection: Projection | None, *, wait_seconds: float = 2.0
) -> LinkHealthReader:
    """A reader over ``store``'s read model, kept by ``projection`` (None: kept elsewhere)."""

    async def read(links: Sequence[LinkRecord]) -> dict[str, LinkHealth]:
        note = None
        if projection is not None:
            behind = await projection.behind(health_topics(), wait_seconds=wait_seconds)
            if behind < 0:
                note = "the read model is not reading the log yet (Kafka unreachable?)"
            elif behind > 0:
                note = f"the read model is {behind} event(s) behind the log"
        link_ids = [link.id for link in links]
        connections = {c for link in links for c in _connections(link)}
        async with store.transaction() as tx:
            latest = await tx.read_model.latest(link_ids)
            totals = await tx.read_model.totals(link_ids)
            dead = await tx.read_model.dead_letter_counts(connections)
        found: dict[str, LinkHealth] = {}
        for link in links:
            newest = latest.get(link.id)
            found[link.id] = LinkHealth(
                last_outcome_at=newest.recorded_at if newest else None,
                last_outcome_status=newest.status if newest else None,
                outcome_failures=totals.get(link.id, {}).get(FAILED, 0),
                dead_letters=sum(dead.get(c, 0) for c in _connections(link)),
                note=note,
            )
        return found

    return read


def _connections(link: LinkRecord) -> tuple[str, ...]:
    return tuple(dict.fromkeys((link.source_connection_id, link.target_connection_id)))
