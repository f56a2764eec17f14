"""Wiring of the BambooHR source: settings, the raw.bamboohr subscriber, the client factory."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

from services.bamboohr.access import BambooHRAccess
from services.bamboohr.handlers import build_router
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.source import BambooHRSource, SourceTopics
from services.runtime.service_main import ServiceParts
from services.runtime.settings import load_settings

__all__ = ["wire"]


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
    parts.broker.include_router(
        build_router(source, group_id=parts.settings.service_name, topics=chosen)
    )
    return ()
