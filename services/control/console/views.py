"""What each console page shows, read from the store's read model and tables.

Nothing here scans a topic: link figures, the 24-hour charts and dead letters come from the
read model (``services/control/projection.py``), a record's chain from the log at the
places its index names (``mlc audit``'s reading). The pages (``pages.py``) only render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.control.connections import LinkStatus
from services.runtime.audit_trail import (
    AuditEntry,
    EntityRef,
    describe,
    entity_topics,
    parse_entity_ref,
    read_entity_chains,
    read_places,
)
from services.runtime.log_index import StoreLogIndex, email_ref
from services.runtime.replay import replayed_dead_letters
from services.runtime.store import ConnectionRecord, StateStore
from services.runtime.store.read_model import DeadLetterRow
from services.vendors import TOPICS, VENDORS

__all__ = [
    "CHART_STATUSES",
    "ChartBar",
    "DeadLetterView",
    "LinkRow",
    "RecordFound",
    "TimelineStep",
    "dead_letter_views",
    "find_record",
    "link_rows",
]

# The statuses the chart draws, in stacking order, with their colours (also the legend's).
CHART_STATUSES: tuple[tuple[str, str], ...] = (
    ("applied", "#2e7d32"),
    ("unchanged", "#9e9e9e"),
    ("needs_review", "#ef6c00"),
    ("failed", "#c62828"),
)
CHART_HOURS = 24


@dataclass(frozen=True, slots=True)
class ChartBar:
    """One hour of a link's outcomes: the hour and its counts, as stacked segments."""

    hour: datetime
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class LinkRow:
    status: LinkStatus
    source: ConnectionRecord | None
    target: ConnectionRecord | None
    bars: list[ChartBar]
    day_counts: dict[str, int]
    open_review: int
    running_replays: list[tuple[str, int, int]] = field(default_factory=list)
    """(replay id, records done, records found) of each replay still running."""

    @property
    def chart_peak(self) -> int:
        return max((bar.total for bar in self.bars), default=0) or 1


async def link_rows(
    store: StateStore, statuses: Sequence[LinkStatus], *, now: datetime
) -> list[LinkRow]:
    """Each link's row of the links page."""
    link_ids = [s.link.id for s in statuses]
    first_hour = (now - timedelta(hours=CHART_HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    async with store.transaction() as tx:
        hours = await tx.read_model.hours(link_ids, since=first_hour)
        connections = {c.id: c for c in await tx.connections.list()}
        open_items = await tx.review_queue.list(status="open", limit=10_000)
        replays = {
            link_id: [
                r for r in await tx.replays.recent(link_id=link_id, limit=5) if r.state == "running"
            ]
            for link_id in link_ids
        }
        progress = {
            r.id: await tx.replays.parts(r.id) for running in replays.values() for r in running
        }
    rows = []
    for status in statuses:
        by_hour = hours.get(status.link.id, {})
        bars = [
            ChartBar(hour, by_hour.get(hour, {}))
            for hour in (first_hour + timedelta(hours=n) for n in range(CHART_HOURS))
        ]
        day: dict[str, int] = {}
        for bar in bars:
            for name, count in bar.counts.items():
                day[name] = day.get(name, 0) + count
        rows.append(
            LinkRow(
                status=status,
                source=connections.get(status.link.source_connection_id),
                target=connections.get(status.link.target_connection_id),
                bars=bars,
                day_counts=day,
                open_review=sum(1 for item in open_items if item.link_id == status.link.id),
                running_replays=[
                    (
                        r.id,
                        sum(p.done for p in progress[r.id]),
                        sum(p.total for p in progress[r.id]),
                    )
                    for r in replays.get(status.link.id, [])
                ],
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One event of a record's chain, as the record page draws it."""

    depth: int
    kind: str
    topic: str
    place: str
    recorded_at: str
    status: str | None
    says: str
    target_ids: dict[str, str]
    target_vendor: str | None = None
    """Whose ids ``target_ids`` are: each is linked to that vendor's record."""


@dataclass(frozen=True, slots=True)
class RecordFound:
    """What a search found: the record(s) and each chain that touched them."""

    records: list[str]
    chains: list[list[TimelineStep]]
    problem: str | None = None


async def find_record(store: StateStore, bootstrap_servers: str, query: str) -> RecordFound:
    """``<vendor>:<id>``, or an email address: the record's chains, as ``mlc audit`` finds
    them (the index's places, then only the log's unindexed tail)."""
    text = query.strip()
    index = StoreLogIndex(store)
    entity = parse_entity_ref(text, VENDORS)
    if entity is None and "@" in text:
        entity = await _entity_by_email(store, bootstrap_servers, text)
        if entity is None:
            return RecordFound([], [], f"no event names the email address {text}")
    if entity is None:
        known = ", ".join(sorted(VENDORS))
        return RecordFound(
            [], [], f"“{text}” is neither <vendor>:<id> (vendors: {known}) nor an email address"
        )
    async with store.transaction() as tx:
        vendors = {c.id: c.vendor for c in await tx.connections.list()}
    connection_ids = [c for c, vendor in vendors.items() if vendor == entity.vendor]
    if not connection_ids:
        return RecordFound([str(entity)], [], f"there is no {entity.vendor} connection")
    chains = await read_entity_chains(
        bootstrap_servers,
        entity,
        topics=entity_topics(entity.vendor, TOPICS),
        connection_ids=connection_ids,
        index=index,
    )
    if not chains:
        return RecordFound([str(entity)], [], f"no event about {entity} in the log")
    return RecordFound([str(entity)], [_timeline(chain, vendors) for chain in chains])


async def _entity_by_email(
    store: StateStore, bootstrap_servers: str, address: str
) -> EntityRef | None:
    """The source record an email address belongs to: the newest event carrying it."""
    async with store.transaction() as tx:
        places = await tx.read_model.places([email_ref(address)])
        connections = {c.id: c.vendor for c in await tx.connections.list()}
    for logged in reversed(await read_places(bootstrap_servers, places[-20:])):
        vendor = connections.get(str(logged.event.get("connection_id")))
        entity_key = logged.event.get("entity_key")
        if vendor is not None and entity_key is not None:
            return EntityRef(vendor, str(entity_key))
    return None


def _timeline(chain: list[AuditEntry], vendors: dict[str, str]) -> list[TimelineStep]:
    types = {str(entry.event.get("event_id")): entry.event.get("type") for entry in chain}
    steps = []
    for entry in chain:
        event = entry.event
        cause_type = types.get(str(event.get("causation_id")))
        steps.append(
            TimelineStep(
                depth=entry.depth,
                kind=str(event.get("type")),
                topic=entry.topic,
                place=f"{entry.topic}#{entry.partition}@{entry.offset}",
                recorded_at=str(event.get("recorded_at", ""))[:19].replace("T", " "),
                status=str(event["status"]) if event.get("type") == "SyncOutcome" else None,
                says=describe(event, cause_type=None if cause_type is None else str(cause_type)),
                target_ids={
                    str(name): str(value) for name, value in (event.get("target_ids") or {}).items()
                },
                target_vendor=vendors.get(str(event.get("target_connection_id"))),
            )
        )
    return steps


@dataclass(frozen=True, slots=True)
class DeadLetterView:
    row: DeadLetterRow
    replayed: bool
    record: str | None
    """``<vendor>:<entity key>`` of the record it is about (the record page's query)."""


async def dead_letter_views(store: StateStore, *, limit: int = 200) -> list[DeadLetterView]:
    async with store.transaction() as tx:
        rows = await tx.read_model.dead_letters(limit=limit)
        vendors = {c.id: c.vendor for c in await tx.connections.list()}
    replayed = await replayed_dead_letters(store, [row.event_id for row in rows])
    return [
        DeadLetterView(
            row,
            row.event_id in replayed,
            f"{vendors[row.connection_id]}:{row.entity_key}"
            if row.connection_id in vendors and row.entity_key
            else None,
        )
        for row in rows
    ]
