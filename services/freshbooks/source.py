"""FreshBooks as a source (flow ap-bill): ``raw.freshbooks`` in, ``ap.vendor`` and ``ap.bill`` out.

Only for connections that are the source of an enabled ``ap-bill`` link: a FreshBooks
account that only receives people (flow 1) is never read for its bills.

- A ``bill_vendor.*`` callback re-reads that vendor and publishes it; a ``bill.*`` callback
  re-reads the bill and its vendor and publishes both (the vendor first). FreshBooks
  callbacks are thin (the object's id, never its values: sheet section 8).
- A poll or reconcile tick reads every vendor and every bill (FreshBooks has no
  updated-since filter for bills, section 5) and publishes those that changed: the
  backup for a lost callback.
- A bill or vendor FreshBooks no longer returns (deleted for good) is published once more
  from its last known state, as ``void`` / inactive, so the sink archives its copy.

A callback FreshBooks will not let us read because the connection's consent is gone is a
``failed`` outcome on that bill or vendor, then raised: the runtime's policy for every
source (``services/runtime/raw_dispatch.py``); this source names the record (the object's
id, as the ``BillChanged`` or ``VendorChanged`` it would have become).

Whatever the path, a record goes out only when it differs from what this source last
published (``services/runtime/snapshots.py``), so a reconcile after a callback publishes
nothing and our own echo costs nothing. What a bill and a vendor become is
``payables.py``.
"""

from __future__ import annotations

from typing import Final

from schemas.ap import BillChanged, VendorChanged
from schemas.envelope import Event, utcnow
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from services.freshbooks.access import FreshBooksAccess
from services.freshbooks.client import FreshBooksClient
from services.freshbooks.mapping import callback_event
from services.freshbooks.payables import bill_changed, vendor_changed
from services.runtime.logging import get_logger
from services.runtime.outcomes import Outcomes
from services.runtime.raw_dispatch import RefusedReads, dispatch_raw
from services.runtime.snapshots import PublishedSnapshots

__all__ = ["BILL_EVENTS", "VENDOR_EVENTS", "PayablesSource"]

BILL_EVENTS: Final = frozenset({"bill.create", "bill.update", "bill.delete"})
VENDOR_EVENTS: Final = frozenset({"bill_vendor.create", "bill_vendor.update", "bill_vendor.delete"})

_log = get_logger(__name__)


class PayablesSource:
    """Publishes one FreshBooks connection's bills and bill vendors as they change."""

    def __init__(
        self,
        *,
        access: FreshBooksAccess,
        snapshots: PublishedSnapshots,
        outcomes: Outcomes,
        vendor_topic: str = VendorChanged.topic_name,
        bill_topic: str = BillChanged.topic_name,
    ) -> None:
        self._access = access
        self._snapshots = snapshots
        self._refused = RefusedReads(
            outcomes=outcomes, vendor="FreshBooks", record_keys=_callback_record
        )
        self._vendor_topic = vendor_topic
        self._bill_topic = bill_topic

    async def handle(self, message: object) -> None:
        await dispatch_raw(message, self, refused=self._refused)

    async def _client(self, connection_id: str) -> FreshBooksClient | None:
        if not await self._access.ap_links_from(connection_id):
            return None
        return await self._access.client(connection_id)

    async def on_delivery(self, delivery: RawDelivery) -> None:
        """A bill or vendor callback; any other delivery (expenses, a handshake) is not ours."""
        callback = callback_event(delivery.body)
        if callback is None or callback.name not in BILL_EVENTS | VENDOR_EVENTS:
            return
        client = await self._client(delivery.connection_id)
        if client is None:
            return
        if callback.name in VENDOR_EVENTS:
            await self._vendor(client, delivery.connection_id, callback.object_id, delivery)
        else:
            await self._bill(client, delivery.connection_id, callback.object_id, delivery)

    async def on_poll(self, tick: PollTick) -> None:
        await self._everything(tick)

    async def on_reconcile(self, tick: ReconcileTick) -> None:
        await self._everything(tick)

    async def _vendor(
        self, client: FreshBooksClient, connection_id: str, vendor_id: str, cause: Event
    ) -> str:
        """Publish one vendor if it changed; its name (for its bills)."""
        vendor = await client.bill_vendor(vendor_id)
        if vendor is None:
            return await self._gone_vendor(connection_id, vendor_id, cause)
        event = vendor_changed(vendor, connection_id=connection_id, now=utcnow())
        await self._snapshots.publish_if_changed(event, topic=self._vendor_topic, cause=cause)
        return event.name

    async def _bill(
        self, client: FreshBooksClient, connection_id: str, bill_id: str, cause: Event
    ) -> None:
        bill = await client.bill(bill_id)
        if bill is None:
            await self._gone_bill(connection_id, bill_id, cause)
            return
        name = await self._vendor(client, connection_id, str(bill.vendorid), cause)
        event = bill_changed(bill, name, connection_id=connection_id, now=utcnow())
        await self._snapshots.publish_if_changed(event, topic=self._bill_topic, cause=cause)

    async def _everything(self, tick: PollTick | ReconcileTick) -> None:
        client = await self._client(tick.connection_id)
        if client is None:
            return
        now = utcnow()
        names: dict[int, str] = {}
        async for vendor in client.bill_vendors():
            event = vendor_changed(vendor, connection_id=tick.connection_id, now=now)
            names[vendor.vendorid] = event.name
            await self._snapshots.publish_if_changed(event, topic=self._vendor_topic, cause=tick)
        seen = 0
        async for bill in client.bills():
            name = names.get(bill.vendorid) or await self._vendor(
                client, tick.connection_id, str(bill.vendorid), tick
            )
            changed = bill_changed(bill, name, connection_id=tick.connection_id, now=now)
            await self._snapshots.publish_if_changed(changed, topic=self._bill_topic, cause=tick)
            seen += 1
        _log.info("freshbooks.payables_read", connection=tick.connection_id,
                  vendors=len(names), bills=seen)  # fmt: skip

    async def _gone_vendor(self, connection_id: str, vendor_id: str, cause: Event) -> str:
        last = await self._snapshots.last(connection_id, "VendorChanged", vendor_id)
        if last is None:
            return f"Vendor {vendor_id}"
        now = utcnow()
        event = VendorChanged.model_validate(
            {
                **last,
                "connection_id": connection_id,
                "occurred_at": now,
                "source_updated_at": now,
                "active": False,
            }
        )
        await self._snapshots.publish_if_changed(event, topic=self._vendor_topic, cause=cause)
        return event.name

    async def _gone_bill(self, connection_id: str, bill_id: str, cause: Event) -> None:
        last = await self._snapshots.last(connection_id, "BillChanged", bill_id)
        if last is None:
            return  # never published: nothing downstream to take back
        now = utcnow()
        event = BillChanged.model_validate(
            {
                **last,
                "connection_id": connection_id,
                "occurred_at": now,
                "source_updated_at": now,
                "status": "void",
            }
        )
        await self._snapshots.publish_if_changed(event, topic=self._bill_topic, cause=cause)


def _callback_record(delivery: RawDelivery) -> tuple[str, ...]:
    """The bill or vendor a callback names: the entity key of the event it would become."""
    callback = callback_event(delivery.body)
    if callback is None or callback.name not in BILL_EVENTS | VENDOR_EVENTS:
        return ()
    return (callback.object_id,)
