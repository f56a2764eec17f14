"""Wiring of the BambooHR source: settings, the raw.bamboohr subscriber, the client factory."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

from faststream.kafka import KafkaBroker

from services.bamboohr.access import BambooHRAccess
from services.bamboohr.handlers import BambooHRSource, SourceTopics
from services.bamboohr.service_settings import BambooHRServiceSettings
from services.bamboohr.settings import BambooHRSettings
from services.runtime.bus import subscriber
from services.runtime.service_main import ServiceParts
from services.runtime.settings import load_settings

__all__ = ["BambooHRServiceSettings", "register", "wire"]


def register(broker: KafkaBroker, source: BambooHRSource, *, topic: str, group_id: str) -> None:
    """Subscribe ``source`` to ``topic`` in consumer group ``group_id``."""

    @subscriber(broker, topic, group_id=group_id)
    async def bamboohr_raw_event(message: object) -> None:
        await source.handle(message)


async def wire(
    parts: ServiceParts,
    *,
    vendor_settings: BambooHRSettings | None = None,
    topics: SourceTopics | None = None,
) -> Sequence[AbstractAsyncContextManager[object]]:
    """Attach the source to the broker; it needs no background parts."""
    vendor = vendor_settings or load_settings(BambooHRSettings)
    chosen = topics or SourceTopics()
    source = BambooHRSource(
        broker=parts.broker,
        store=parts.store,
        access=BambooHRAccess(store=parts.store, vault=parts.vault, settings=vendor),
        settings=vendor,
        service=parts.settings.service_name,
        topics=chosen,
    )
    register(parts.broker, source, topic=chosen.raw, group_id=parts.settings.service_name)
    return ()
