"""BILL as a source (flow ap-bill): ``raw.bill`` in, ``ap.payment`` out.

For each BILL connection that is the target of an enabled ``ap-bill`` link:

- a ``payment.updated`` notification re-reads that payment (BILL advises webhooks are not
  the source of truth, §11) and publishes what it says;
- a poll tick reads the payments updated since the last poll's newest ``updatedTime``
  (minus ``MLC_BILL_POLL_OVERLAP_SECONDS``: equal timestamps, late writes), the backup for
  a lost notification; a reconcile tick reads every payment.

A payment goes out (``payments.py``) once per share of a bill that came from the link's
source (the bill sink's cross-reference names it), only when cleared, and again when
voided after that. Only what differs from what this source last published goes out
(``services/runtime/snapshots.py``), so a poll after a notification publishes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from schemas.ap import BillPaid
from schemas.envelope import Event, utcnow
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from services.bill.access import BillAccess
from services.bill.client import BillClient
from services.bill.payments import Origin, bill_paid, payment_state
from services.bill.sinks.bills import BILL
from services.bill.webhook import notification
from services.runtime.logging import get_logger
from services.runtime.raw_dispatch import dispatch_raw
from services.runtime.snapshots import PublishedSnapshots
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

__all__ = ["PAYMENTS_WATERMARK", "BillSource"]

PAYMENTS_WATERMARK: Final = "payments.updated"
_PAYMENT_EVENTS: Final = frozenset({"payment.updated"})

_log = get_logger(__name__)


class BillSource:
    """Publishes one BILL connection's cleared and voided payments of the link's bills."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: BillAccess,
        snapshots: PublishedSnapshots,
        service: str,
        payment_topic: str = BillPaid.topic_name,
    ) -> None:
        self._store = store
        self._access = access
        self._snapshots = snapshots
        self._service = service
        self._topic = payment_topic
        settings = access.settings
        self._cleared = frozenset(settings.cleared_statuses)
        self._voided = frozenset(settings.voided_statuses)
        self._overlap = timedelta(seconds=settings.poll_overlap_seconds)

    async def handle(self, message: object) -> None:
        await dispatch_raw(message, self)

    async def on_delivery(self, delivery: RawDelivery) -> None:
        """A payment notification; any other event type is not ours."""
        payment_id = _payment_id(delivery.body)
        links = await self._access.links_to(delivery.connection_id)
        if payment_id is None or not links:
            return
        client = await self._access.client(delivery.connection_id)
        payment = await client.payment(payment_id)
        if payment is not None:
            await self._publish(client, links, delivery.connection_id, payment, delivery)

    async def on_poll(self, tick: PollTick) -> None:
        await self._read(tick, since_last=True)

    async def on_reconcile(self, tick: ReconcileTick) -> None:
        await self._read(tick, since_last=False)

    async def _read(self, tick: PollTick | ReconcileTick, *, since_last: bool) -> None:
        links = await self._access.links_to(tick.connection_id)
        if not links:
            return
        client = await self._access.client(tick.connection_id)
        async with self._store.transaction() as repos:
            mark = await repos.watermarks.get(self._service, tick.connection_id, PAYMENTS_WATERMARK)
        since = datetime.fromisoformat(mark) - self._overlap if since_last and mark else None
        newest = mark
        payments = await client.payments_updated_since(since)
        for payment in payments:
            await self._publish(client, links, tick.connection_id, payment, tick)
            updated = str(payment.get("updatedTime") or "")
            if updated and (newest is None or _later(updated, newest)):
                newest = updated
        if newest and newest != mark:
            async with self._store.transaction() as repos:
                await repos.watermarks.set(
                    self._service, tick.connection_id, PAYMENTS_WATERMARK, newest
                )
        _log.info("bill.payments_read", connection=tick.connection_id, payments=len(payments))

    async def _publish(
        self,
        client: BillClient,
        links: list[LinkRecord],
        connection_id: str,
        payment: dict[str, Any],
        cause: Event,
    ) -> None:
        state = payment_state(payment, cleared=self._cleared, voided=self._voided)
        if state == "pending":
            return
        now = utcnow()
        for share in payment.get("billPayments") or []:
            bill_id = str(share.get("billId") or "")
            origin = await self._origin(links, bill_id)
            if origin is None:
                continue  # a bill entered in BILL itself: not the books' to record
            bill = await client.bill(bill_id)
            if bill is None:
                continue
            event = bill_paid(
                payment, share, bill, origin, connection_id=connection_id,
                currency=self._access.settings.currency, voided=state == "voided", now=now,
            )  # fmt: skip
            if state == "voided":
                last = await self._snapshots.last(connection_id, event.type, event.entity_key)
                if last is None:
                    continue  # never written back as cleared: nothing to take out
            await self._snapshots.publish_if_changed(event, topic=self._topic, cause=cause)

    async def _origin(self, links: list[LinkRecord], bill_id: str) -> Origin | None:
        async with self._store.transaction() as repos:
            for link in links:
                ref = await repos.cross_references.find_by_target(link.id, BILL, bill_id)
                if ref is not None:
                    return Origin(connection_id=link.source_connection_id, bill_id=ref.source_key)
        return None


def _later(one: str, other: str) -> bool:
    try:
        return datetime.fromisoformat(one.replace("Z", "+00:00")) > datetime.fromisoformat(
            other.replace("Z", "+00:00")
        )
    except ValueError:
        return False


def _payment_id(body: str) -> str | None:
    """The payment id of a ``payment.*`` notification (§11: metadata + the entity)."""
    payload = notification(body)
    if payload is None:
        return None
    kind = str((payload.get("metadata") or {}).get("eventType") or "")
    payment = payload.get("payment")
    if kind not in _PAYMENT_EVENTS or not isinstance(payment, dict) or not payment.get("id"):
        return None
    return str(payment["id"])
