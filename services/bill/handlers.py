"""The bill service's subscribers: each body is one call.

- ``ap.vendor`` -> the vendors sink, in consumer group ``bill.vendors``;
- ``ap.bill`` -> the bills sink, in consumer group ``bill``. A bill whose vendor is not in
  BILL yet is parked and written when the vendors sink has written the vendor, so the two
  topics need no order between them;
- ``raw.bill`` (payment notifications, poll and reconcile ticks) -> the source, which
  publishes cleared and voided payments on ``ap.payment``, in consumer group
  ``bill.source``.

``router`` at module level exists to be described (``make docs``); ``app.wire`` builds the
live one.
"""

from __future__ import annotations

from typing import Final, Protocol

from faststream.kafka import KafkaRouter

from schemas.ap import BillChanged, BillPaid, VendorChanged
from schemas.outcomes import SyncOutcome
from schemas.topics import raw_topic
from services.runtime.bus import ONE_AT_A_TIME, Consuming, subscriber

__all__ = [
    "SERVICE",
    "SOURCE_GROUP_SUFFIX",
    "VENDORS_GROUP_SUFFIX",
    "BillHandler",
    "RawEventHandler",
    "VendorHandler",
    "build_router",
    "router",
]

SERVICE: Final = "bill"
VENDORS_GROUP_SUFFIX: Final = ".vendors"
SOURCE_GROUP_SUFFIX: Final = ".source"


class VendorHandler(Protocol):
    """What the ap.vendor subscriber calls (the vendors sink)."""

    async def vendor_changed(self, event: VendorChanged) -> None: ...


class BillHandler(Protocol):
    """What the ap.bill subscriber calls (the bills sink)."""

    async def bill_changed(self, event: BillChanged) -> None: ...


class RawEventHandler(Protocol):
    """What the raw.bill subscriber calls (the source)."""

    async def handle(self, message: object) -> None: ...


_NOT_WIRED: Final = "services.bill.handlers.router is for documentation; app.wire builds it"


class _NotWired:
    async def vendor_changed(self, event: VendorChanged) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def bill_changed(self, event: BillChanged) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def handle(self, message: object) -> None:
        raise RuntimeError(_NOT_WIRED)


def build_router(
    vendors: VendorHandler,
    bills: BillHandler,
    source: RawEventHandler | None = None,
    *,
    group_id: str = SERVICE,
    consuming: Consuming = ONE_AT_A_TIME,
    vendor_topic: str = VendorChanged.topic_name,
    bill_topic: str = BillChanged.topic_name,
    raw: str = raw_topic(SERVICE),
) -> KafkaRouter:
    """The service's subscribers; the topics are parameters only so tests can use their own."""
    router = KafkaRouter()

    @subscriber(
        router, vendor_topic, group_id=group_id + VENDORS_GROUP_SUFFIX, workers=consuming.workers
    )
    async def sync_vendor_to_bill(event: VendorChanged) -> None:
        await vendors.vendor_changed(event)

    @subscriber(router, bill_topic, group_id=group_id, workers=consuming.workers)
    async def sync_bill_to_bill(event: BillChanged) -> None:
        await bills.bill_changed(event)

    if source is not None:
        payments = source

        @subscriber(router, raw, group_id=group_id + SOURCE_GROUP_SUFFIX, workers=consuming.workers)
        async def publish_cleared_payments(message: object) -> None:
            await payments.handle(message)

        router.publisher(
            BillPaid.topic_name,
            title=f"{BillPaid.topic_name}:BillPaid",
            description="Flow ap-bill: each share of a cleared (or later voided) BILL payment.",
            schema=BillPaid,
        )

    router.publisher(
        SyncOutcome.topic_name,
        title=f"{SyncOutcome.topic_name}:SyncOutcome",
        description=(
            "Every BILL write attempt of flow ap-bill: vendors, bills (waiting for their "
            "vendor, or for a person when an account has no BILL GL account)."
        ),
        schema=SyncOutcome,
    )
    return router


router = build_router(_NotWired(), _NotWired(), _NotWired())
"""The service's subscribers and publishers as ``make docs`` describes them."""
