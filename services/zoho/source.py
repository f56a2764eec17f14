"""The Zoho source: ``raw.zoho`` in; the tags' options out, and each link's reconciliation run.

Zoho Books is a link's *target* in flow 2, but two things start on its side:

- **Its lists.** The department and job-title reporting tags are published as
  ``DepartmentChanged`` / ``JobTitleChanged`` of the Zoho connection on ``people.department``
  (only options that differ from what was last published: ``services/runtime/snapshots.py``),
  so the BambooHR service's list sink adds a cost centre Finance created here to BambooHR.
  Settings fire no webhook, so a new option arrives with the next pass.
- **Its drift.** A contact edited by hand is found and put back by the reconciliation
  (``reconcile.py``).

When a pass runs, per Zoho connection:

- a **reconcile tick** of the connection's ``links`` schedule (every minute, added to every
  Zoho connection by its plugin) runs the links that are *due*: each link's interval is
  its ``reconcile_every_seconds`` option (default ``MLC_ZOHO_RECONCILE_EVERY_SECONDS``, 15
  minutes), and its last run is a watermark of this service;
- any other reconcile tick (the daily one, an operator's ``mlc connections sync``) runs
  every link now;
- a webhook delivery (a contact changed in Zoho: Books fires none for settings) or a poll
  tick (the fallback when no webhook could be registered) checks each link's contacts
  changed since its last check only (newest first: a page, usually), at most once a
  minute: our own writes fire Zoho webhooks too, and a burst of them must not become a
  burst of reads.

A whole run reads the tags once (three calls) and, for each link, asks the link's source
for a reconcile too (a ``ReconcileTick`` on its raw topic, schedule ``link:<id>``), so
both sides are read at the link's interval: a BambooHR change whose webhook was lost is
published by that reconcile and written by the contacts sink.

While the organisation's daily quota is spent, nothing is read: the pass is skipped with
one ``waiting`` outcome per link and the next tick tries again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from faststream.kafka import KafkaBroker

from schemas.envelope import Event, utcnow
from schemas.people import DepartmentChanged, JobTitleChanged
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from schemas.topics import raw_topic
from services.runtime.logging import get_logger
from services.runtime.option_lists import OFF_VALUES
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.raw_dispatch import decode_raw, dispatch_raw
from services.runtime.snapshots import PublishedSnapshots
from services.runtime.store import StateStore
from services.runtime.store.records import ConnectionRecord, LinkRecord
from services.runtime.ticks import TickPublisher, kafka_tick_publisher, tick_entity_key
from services.zoho.access import VENDOR, ZohoAccess
from services.zoho.client import ZohoBooksClient
from services.zoho.mapping import tag_list_events
from services.zoho.plugin import LINKS_SCHEDULE
from services.zoho.reconcile import ContactsReconciliation, summary_key
from services.zoho.settings import ZohoSettings
from services.zoho.sinks.option_lists import tag_names

__all__ = [
    "LINKS_SCHEDULE",
    "RECONCILE_EVERY",
    "ZohoSource",
    "link_interval",
    "link_watermark",
]

RECONCILE_EVERY: Final = "reconcile_every_seconds"
"""Link option: seconds between the link's reconciliations (``off``: only on request)."""
_MIN_INTERVAL: Final = 60

_log = get_logger(__name__)


RECONCILED: Final = "reconciled_at"
"""Watermark of a link's last whole run (lists, the source asked, contacts)."""
CONTACTS_CHECKED: Final = "contacts_checked_at"
"""Watermark of a link's last contacts check (a whole run, a webhook's or a poll's)."""


def link_watermark(link_id: str, mark: str) -> str:
    """The watermark name of one of a link's marks, under this service and its Zoho end."""
    return f"link:{link_id}:{mark}"


def link_interval(link: LinkRecord, default_seconds: int) -> timedelta | None:
    """The link's reconcile interval, or None when its option turns scheduled runs off.

    A value that is no whole number of seconds (or under a minute) falls back to the
    default, and says so in the log: a typo must not stop reconciliation.
    """
    raw = link.options.get(RECONCILE_EVERY)
    if raw is None:
        return timedelta(seconds=default_seconds)
    if str(raw).strip().lower() in OFF_VALUES:
        return None
    try:
        seconds = int(str(raw).strip())
    except ValueError:
        seconds = 0
    if seconds < _MIN_INTERVAL:
        _log.warning("zoho.bad_reconcile_interval", link=link.id, value=str(raw)[:50])
        seconds = default_seconds
    return timedelta(seconds=seconds)


class ZohoSource:
    """Handles one raw event at a time; stateless between events apart from the store."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        store: StateStore,
        access: ZohoAccess,
        settings: ZohoSettings,
        outcomes: Outcomes,
        reconciliation: ContactsReconciliation,
        service: str,
        departments_topic: str = DepartmentChanged.topic_name,
        ticks: TickPublisher | None = None,
        raw_topics: Callable[[str], str] = raw_topic,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``raw_topics`` names a vendor's raw topic (tests give each run its own)."""
        self._store = store
        self._access = access
        self._settings = settings
        self._outcomes = outcomes
        self._reconciliation = reconciliation
        self._service = service
        self._departments_topic = departments_topic
        self._ticks = ticks or kafka_tick_publisher(broker)
        self._raw_topics = raw_topics
        self._clock = clock
        self._published = PublishedSnapshots(store=store, broker=broker, service=service)

    async def handle(self, message: object) -> None:
        """One message of ``raw.zoho`` (JSON already parsed by the broker)."""
        await dispatch_raw(decode_raw(message), self)

    async def on_delivery(self, delivery: RawDelivery) -> None:
        # Zoho says a contact changed (settings fire none): check the contacts, no more.
        await self._check_contacts(delivery)

    async def on_poll(self, tick: PollTick) -> None:
        # The fallback for webhooks that could not be registered: what a webhook would do.
        await self._check_contacts(tick)

    async def on_reconcile(self, tick: ReconcileTick) -> None:
        every_link = tick.schedule != LINKS_SCHEDULE
        record = await self._zoho_connection(tick)
        if record is None:
            return
        now = self._clock()
        links = [
            link
            for link in await self._access.links_into(record.id)
            if every_link or await self._older_than(link, RECONCILED, self._interval(link), now)
        ]
        if not links or await self._quota_spent(record, links, tick):
            return
        client = await self._access.client(record.id)
        await self._publish_lists(record, client, cause=tick, resend=tick.full)
        for link in links:
            await self._ask_source_to_reconcile(link, tick, now)
            await self._reconciliation.run(link, client, cause=tick)
            await self._mark(link, RECONCILED, now)
            await self._mark(link, CONTACTS_CHECKED, now)

    # --- the parts of a pass -----------------------------------------------------------

    async def _check_contacts(self, cause: Event) -> None:
        """The contacts of each link, at most once a minute each: our own writes fire Zoho
        webhooks too, and a burst of them must not become a burst of list reads."""
        record = await self._zoho_connection(cause)
        if record is None:
            return
        now = self._clock()
        throttle = timedelta(seconds=_MIN_INTERVAL)
        links = [
            link
            for link in await self._access.links_into(record.id)
            if await self._older_than(link, CONTACTS_CHECKED, throttle, now)
        ]
        if not links or await self._quota_spent(record, links, cause):
            return
        client = await self._access.client(record.id)
        for link in links:
            since = await self._marked(link, CONTACTS_CHECKED)
            await self._reconciliation.run(link, client, cause=cause, changed_since=since)
            await self._mark(link, CONTACTS_CHECKED, now)

    async def _quota_spent(
        self, record: ConnectionRecord, links: list[LinkRecord], cause: Event
    ) -> bool:
        """Whether the daily quota is spent (then each link gets one ``waiting`` outcome)."""
        spent = await self._access.quota.spent(record.id)
        if spent is None:
            return False
        detail = (
            f"Zoho Books' daily quota is spent until "
            f"{spent.resets_at.isoformat(timespec='minutes')}: reconciliation skipped"
        )
        waiting = WriteResult("waiting", "reconcile", {}, detail)
        for link in links:
            await self._outcomes.publish(cause, link, summary_key(link.id), waiting)
        return True

    def _interval(self, link: LinkRecord) -> timedelta | None:
        return link_interval(link, self._settings.reconcile_every_seconds)

    async def _older_than(
        self, link: LinkRecord, mark: str, interval: timedelta | None, now: datetime
    ) -> bool:
        """Whether ``mark`` of the link is at least ``interval`` old (None: never due)."""
        if interval is None:
            return False
        last = await self._marked(link, mark)
        # A little early is on time: ticks come every minute, not at the second.
        slack = timedelta(seconds=_MIN_INTERVAL / 2)
        return last is None or now - last >= interval - slack

    async def _marked(self, link: LinkRecord, mark: str) -> datetime | None:
        async with self._store.transaction() as repos:
            last = await repos.watermarks.get(
                self._service, link.target_connection_id, link_watermark(link.id, mark)
            )
        return datetime.fromisoformat(last) if last else None

    async def _mark(self, link: LinkRecord, mark: str, now: datetime) -> None:
        async with self._store.transaction() as repos:
            await repos.watermarks.set(
                self._service,
                link.target_connection_id,
                link_watermark(link.id, mark),
                now.isoformat(),
            )

    async def _zoho_connection(self, cause: Event) -> ConnectionRecord | None:
        async with self._store.transaction() as repos:
            record = await repos.connections.get(cause.connection_id)
            if record is None or record.vendor != VENDOR:
                detail: Mapping[str, Any] = {
                    "event_id": str(cause.event_id),
                    "event_type": cause.type,
                    "reason": "not a Zoho Books connection (gone, or another vendor's)",
                }
                await repos.audit_log.append(
                    actor=self._service,
                    action="zoho.event_skipped",
                    subject=cause.connection_id,
                    detail=dict(detail),
                )
                _log.warning("zoho.event_skipped", subject=cause.connection_id, **detail)
                return None
        return record

    # --- the tags as lists ---------------------------------------------------------------

    async def _publish_lists(
        self, record: ConnectionRecord, client: ZohoBooksClient, *, cause: Event, resend: bool
    ) -> None:
        events = tag_list_events(
            await client.reporting_tags(fresh=True),
            tag_names(self._settings),
            connection_id=record.id,
            tenant_id=record.tenant_id,
            read_at=self._clock(),
        )
        for event in events:
            await self._published.publish_if_changed(
                event,
                topic=self._departments_topic,
                cause=cause,
                resend=resend,
                annotate=_renamed,
            )

    # --- the other side --------------------------------------------------------------------

    async def _ask_source_to_reconcile(self, link: LinkRecord, cause: Event, now: datetime) -> None:
        async with self._store.transaction() as repos:
            source = await repos.connections.get(link.source_connection_id)
        if source is None:
            return
        tick = ReconcileTick(
            connection_id=source.id,
            tenant_id=source.tenant_id,
            occurred_at=now,
            vendor=source.vendor,
            entity_key=tick_entity_key(f"link:{link.id}"),
            schedule=f"link:{link.id}",
            due_at=now.isoformat(),
            causation_id=cause.event_id,
            correlation_id=cause.correlation_id,
        )
        await self._ticks(tick, topic=self._raw_topics(source.vendor))


def _renamed(
    event: DepartmentChanged | JobTitleChanged,
    previous: Mapping[str, Any],
    changed: tuple[str, ...],
) -> DepartmentChanged | JobTitleChanged:
    """A renamed option carries its previous name (the alignment forgets the old one)."""
    if "name" in changed:
        return event.model_copy(update={"previous_name": previous.get("name")})
    return event
