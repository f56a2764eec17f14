"""What the ingest service puts on the bus, declared for the AsyncAPI document.

The ingest service consumes nothing: it turns verified webhooks
(``webhooks.py``) and due schedules (``schedules.py``) into records on
``raw.<vendor>``. Those modules publish through ``services.runtime.publishing``
(keyed, acks=all); the publishers below name the same topics and payloads so
``make docs`` can describe them.
"""

from __future__ import annotations

from faststream.kafka import KafkaRouter

from schemas.raw import PollTick, RawDelivery, ReconcileTick
from schemas.topics import raw_topic
from services.vendors import VENDORS, webhook_schemes

__all__ = ["router"]

router = KafkaRouter()

_WEBHOOK_VENDORS = webhook_schemes()

for _vendor in VENDORS:
    if _vendor in _WEBHOOK_VENDORS:
        router.publisher(
            raw_topic(_vendor),
            title=f"{raw_topic(_vendor)}:RawDelivery",
            description=f"Verified {_vendor} webhook deliveries.",
            schema=RawDelivery,
        )
    router.publisher(
        raw_topic(_vendor),
        title=f"{raw_topic(_vendor)}:PollTick",
        description=f"Poll ticks of {_vendor} connections, from their stored schedules.",
        schema=PollTick,
    )
    router.publisher(
        raw_topic(_vendor),
        title=f"{raw_topic(_vendor)}:ReconcileTick",
        description=f"Reconciliation ticks of {_vendor} connections.",
        schema=ReconcileTick,
    )
