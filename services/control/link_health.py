"""What the log says about each link: its last sync outcome (lag), failed outcomes, dead letters.

``mlc status`` reads this next to the store's audit entries. The sinks publish a
``SyncOutcome`` (with ``link_id``) to ``sync.outcome`` for every write they attempt, and a
message a service gives up on goes to ``dlq.<service>``; neither is kept in the state store,
so this reads the topics themselves, from the beginning to their current end, with no
consumer group (nothing is committed, the log is not changed).

Honest limits, also in ``docs/control.md``:

- the cost grows with the topics' retained size: every ``mlc status`` reads them all;
  fine for an operator's command, not for a dashboard polling every second;
- what counts is what the topics still retain (their retention is the window);
- dead letters name no link: they are counted per link when their ``connection_id`` is the
  link's source or target connection, so two links sharing a connection share its count;
- lag is the time since the link's newest outcome was recorded. A quiet link (nothing
  changed at the source) has a growing lag without anything being wrong; the reconciliation
  ticks give every active link at least a daily outcome once its sink reports them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.runtime.audit_trail import LoggedEvent, read_events
from services.runtime.store import LinkRecord
from services.vendors import TOPICS

__all__ = ["LinkHealth", "LinkHealthReader", "kafka_link_health"]

OUTCOME_TOPIC = "sync.outcome"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class LinkHealth:
    """One link's figures from the log."""

    last_outcome_at: datetime | None = None
    last_outcome_status: str | None = None
    outcome_failures: int = 0
    dead_letters: int = 0


LinkHealthReader = Callable[[Sequence[LinkRecord]], Awaitable[dict[str, LinkHealth]]]
"""Reads the figures of these links, by link id."""


def _dead_letter_topics() -> list[str]:
    return [topic.name for topic in TOPICS if topic.name.startswith("dlq.")]


def kafka_link_health(bootstrap_servers: str, *, timeout_seconds: float = 20.0) -> LinkHealthReader:
    """A reader over the Kafka cluster at ``bootstrap_servers``; gives up after the timeout."""

    async def read(links: Sequence[LinkRecord]) -> dict[str, LinkHealth]:
        # An unreachable cluster must not hold `mlc status` forever: TimeoutError is reported.
        return await asyncio.wait_for(_read(links), timeout_seconds)

    async def _read(links: Sequence[LinkRecord]) -> dict[str, LinkHealth]:
        link_ids = {link.id for link in links}
        by_connection: dict[str, list[str]] = {}
        for link in links:
            for connection_id in (link.source_connection_id, link.target_connection_id):
                by_connection.setdefault(connection_id, []).append(link.id)
        dead_letter_topics = set(_dead_letter_topics())

        def keep(logged: LoggedEvent) -> bool:
            if logged.topic == OUTCOME_TOPIC:
                return logged.event.get("link_id") in link_ids
            return str(logged.event.get("connection_id")) in by_connection

        found = await read_events(
            bootstrap_servers, topics=[OUTCOME_TOPIC, *sorted(dead_letter_topics)], keep=keep
        )
        last: dict[str, tuple[datetime, str]] = {}
        failures: dict[str, int] = {}
        dead: dict[str, int] = {}
        for logged in found:
            event = logged.event
            if logged.topic == OUTCOME_TOPIC:
                link_id = str(event["link_id"])
                at = datetime.fromisoformat(str(event.get("recorded_at")))
                if link_id not in last or at > last[link_id][0]:
                    last[link_id] = (at, str(event.get("status")))
                if event.get("status") == FAILED:
                    failures[link_id] = failures.get(link_id, 0) + 1
            else:
                for link_id in by_connection.get(str(event.get("connection_id")), []):
                    dead[link_id] = dead.get(link_id, 0) + 1
        return {
            link.id: LinkHealth(
                last_outcome_at=last[link.id][0] if link.id in last else None,
                last_outcome_status=last[link.id][1] if link.id in last else None,
                outcome_failures=failures.get(link.id, 0),
                dead_letters=dead.get(link.id, 0),
            )
            for link in links
        }

    return read
