"""Expensify as a source (flow ``expenses``): ``raw.expensify`` ticks in, ``expense.report`` out.

Expensify sends no webhooks (sheet 11): the edge ticks each connection every minute and
this source polls the links whose own schedule is due (``schedule.py``); ``mlc connections
sync`` (a reconcile tick) polls every link at once and sends every report again.

A poll exports the connection's policy's reports in the approved states
(``MLC_EXPENSIFY_REPORT_STATES``) approved since the day before the last poll (the first:
``MLC_EXPENSIFY_FIRST_POLL_DAYS`` back), through our template (``template.py``), and
publishes each as an ``ExpenseReportApproved`` snapshot (``mapping.py``) when it differs
from what was last published: a report seen by two polls goes out once, one rejected and
approved again with changes goes out again (a newer revision; the sink decides).

A link's options shape it:

- ``test_report_prefix``: only reports whose title starts with it (Expensify has no sandbox;
  a customer tries the flow on production reports named for it). The source publishes what
  any of a connection's links wants; each sink checks its own link's prefix again.
- ``export_label``: Expensify marks the exported reports with it, as its manual recommends,
  so people see what was read. Nothing depends on it: a crash after the export and before
  the publish would otherwise lose those reports (sheet 3).

One poll per connection at a time across replicas (a lease), so two replicas never spend
the same credential's few jobs a minute twice. A poll reads for the whole connection, so
when one Expensify connection feeds several links, each link's sink sees what the
earliest-due link's poll published.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

from schemas.envelope import Event
from schemas.expense import ExpenseReportApproved
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from services.expensify.access import ExpensifyAccess
from services.expensify.client import ExpensifyClient, ExportRequest
from services.expensify.mapping import report_approved
from services.expensify.schedule import LinkScheduleError, PollSchedule
from services.expensify.template import ExportedReport, export_template, read_export
from services.runtime.leasing import held_lease
from services.runtime.logging import get_logger
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.raw_dispatch import dispatch_raw
from services.runtime.snapshots import PublishedSnapshots
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

__all__ = ["EXPORT_LABEL", "POLLED", "TEST_PREFIX", "ReportsSource", "poll_key"]

TEST_PREFIX: Final = "test_report_prefix"
EXPORT_LABEL: Final = "export_label"
POLLED: Final = "polled"
MAX_LOOKBACK_DAYS: Final = 180
_APPROVED_SINCE: Final = "reports.approved_since"
_log = get_logger(__name__)

Clock = Callable[[], datetime]


def poll_key(link_id: str) -> str:
    """The entity key of a link's poll outcomes (a poll that could not run)."""
    return f"poll:{link_id}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ReportsSource:
    """Publishes one Expensify connection's approved reports as they appear."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: ExpensifyAccess,
        snapshots: PublishedSnapshots,
        outcomes: Outcomes,
        service: str,
        holder: str,
        topic: str = ExpenseReportApproved.topic_name,
        clock: Clock = _utcnow,
    ) -> None:
        self._store = store
        self._access = access
        self._snapshots = snapshots
        self._outcomes = outcomes
        self._service = service
        self._holder = holder
        self._topic = topic
        self._clock = clock

    async def handle(self, message: object) -> None:
        await dispatch_raw(message, self)

    async def on_delivery(self, delivery: RawDelivery) -> None:
        """Expensify has no webhooks: a delivery on raw.expensify is not ours to read."""
        _log.warning("expensify.delivery_ignored", connection=delivery.connection_id)

    async def on_poll(self, tick: PollTick) -> None:
        now = self._clock()
        due = [link for link in await self._access.links_from(tick.connection_id)
               if await self._due(link, tick, now)]  # fmt: skip
        await self._poll(tick, due, now, resend=False)

    async def on_reconcile(self, tick: ReconcileTick) -> None:
        links = await self._access.links_from(tick.connection_id)
        await self._poll(tick, links, self._clock(), resend=tick.full)

    async def _due(self, link: LinkRecord, tick: Event, now: datetime) -> bool:
        settings = self._access.settings
        try:
            schedule = PollSchedule.of(
                link.options, default_every_seconds=settings.poll_every_seconds
            )
        except LinkScheduleError as error:
            detail = (
                f"the link's poll schedule is not valid: {error}; fix it with mlc links set-options"
            )
            await self._outcomes.publish(
                tick, link, poll_key(link.id), WriteResult("failed", "poll", detail=detail)
            )
            return False
        return schedule.is_due(await self._last_polled(link), now)

    async def _poll(
        self, tick: Event, links: Sequence[LinkRecord], now: datetime, *, resend: bool
    ) -> None:
        if not links:
            return
        lease = f"expensify-poll:{tick.connection_id}"
        ttl = timedelta(seconds=self._access.settings.report_lease_seconds)
        async with held_lease(self._store, lease, self._holder, ttl=ttl, wait=ttl):
            published = await self._export_and_publish(tick, links, now, resend=resend)
            for link in links:
                await self._mark_polled(link, now)
            await self._set_approved_since(tick.connection_id, now)
        _log.info("expensify.polled", connection=tick.connection_id, links=len(links),
                  published=published)  # fmt: skip

    async def _export_and_publish(
        self, tick: Event, links: Sequence[LinkRecord], now: datetime, *, resend: bool
    ) -> int:
        settings = self._access.settings
        connection = await self._access.connection(tick.connection_id)
        # A full resend (a new link, an operator's sync --full) reads the whole first window.
        since = None if resend else await self._approved_since(tick.connection_id)
        # Never further back than half a year: a link stopped for longer starts there.
        earliest = now - timedelta(days=MAX_LOOKBACK_DAYS)
        start = max(since or now - timedelta(days=settings.first_poll_days), earliest).date()
        # "Approved after" leaves the day itself out (open question 4), and Expensify's day
        # may be a zone behind ours (up to a day): two days before the watermark's day
        # reads every approval since it; the overlap is published once (the snapshots).
        start -= timedelta(days=2)
        labels = sorted({str(link.options[EXPORT_LABEL]) for link in links
                         if link.options.get(EXPORT_LABEL)})  # fmt: skip
        request = ExportRequest(
            policy_ids=(connection.policy_id,),
            states=settings.report_states,
            approved_after=start,
            # Filed at most half a year before the approvals read: within Expensify's one
            # year (further back would need an end date anyway).
            filed_from=start - timedelta(days=MAX_LOOKBACK_DAYS),
            filed_to=now.date(),
            mark_labels=tuple(labels),
            limit=settings.export_limit,
        )
        reports = await self._export_every_page(tick, connection.client, request)
        prefixes = [str(link.options.get(TEST_PREFIX) or "") for link in links]
        published = 0
        for report in reports:
            if not any(report.report_name.startswith(p) for p in prefixes):
                continue
            event = report_approved(report, connection_id=tick.connection_id,
                                    fallback_approved_at=now)  # fmt: skip
            if event is None:
                _log.warning("expensify.report_without_expenses", report=report.report_id)
                continue
            if await self._snapshots.publish_if_changed(
                event, topic=self._topic, cause=tick, resend=resend
            ):
                published += 1
        return published

    async def _export_every_page(
        self, tick: Event, client: ExpensifyClient, request: ExportRequest
    ) -> list[ExportedReport]:
        """Every report of ``request``, however many: an export has no offset, so one that
        comes back full is asked again as two halves of its filing window, until each half
        fits (a full single day is read as it is, with a warning: raise the limit)."""
        windows = [request]
        found: dict[str, ExportedReport] = {}
        while windows:
            window = windows.pop()
            name = await client.export(window, export_template())
            reports = read_export(await client.download(name))
            days = (window.filed_to - window.filed_from).days
            if len(reports) >= window.limit and days > 0:
                middle = window.filed_from + timedelta(days=days // 2)
                windows.append(replace(window, filed_to=middle))
                windows.append(replace(window, filed_from=middle + timedelta(days=1)))
                continue
            if len(reports) >= window.limit:
                _log.warning("expensify.export_limit_reached", connection=tick.connection_id,
                             day=window.filed_from.isoformat(), limit=window.limit)  # fmt: skip
            found.update((report.report_id, report) for report in reports)
        return list(found.values())

    # --- watermarks ------------------------------------------------------------------------

    async def _read(self, connection_id: str, name: str) -> datetime | None:
        async with self._store.transaction() as repos:
            value = await repos.watermarks.get(self._service, connection_id, name)
        return datetime.fromisoformat(value) if value else None

    async def _write(self, connection_id: str, name: str, when: datetime) -> None:
        async with self._store.transaction() as repos:
            await repos.watermarks.set(self._service, connection_id, name, when.isoformat())

    async def _last_polled(self, link: LinkRecord) -> datetime | None:
        return await self._read(link.source_connection_id, f"link:{link.id}:{POLLED}")

    async def _mark_polled(self, link: LinkRecord, now: datetime) -> None:
        await self._write(link.source_connection_id, f"link:{link.id}:{POLLED}", now)

    async def _approved_since(self, connection_id: str) -> datetime | None:
        return await self._read(connection_id, _APPROVED_SINCE)

    async def _set_approved_since(self, connection_id: str, now: datetime) -> None:
        await self._write(connection_id, _APPROVED_SINCE, now)
