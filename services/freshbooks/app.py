"""Composition root of the freshbooks service: settings -> connections -> handlers -> router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from services.freshbooks.connections import FreshBooksConnections
from services.freshbooks.handlers import SERVICE, FreshBooksHandlers, build_router
from services.freshbooks.settings import FreshBooksSettings
from services.runtime.service_main import ServiceParts
from services.runtime.settings import RuntimeSettings, load_settings

__all__ = ["FreshBooksServiceSettings", "wire"]


class FreshBooksServiceSettings(RuntimeSettings):
    """The runtime settings with this service's name (group id, logs, ``dlq.freshbooks``)."""

    service_name: str = SERVICE


async def wire(parts: ServiceParts) -> Sequence[AbstractAsyncContextManager[object]]:
    """Attach the subscribers to ``parts.broker``; the clients close after the broker stops."""
    vendor = load_settings(FreshBooksSettings)
    connections = FreshBooksConnections(store=parts.store, vault=parts.vault, settings=vendor)
    handlers = FreshBooksHandlers(
        broker=parts.broker,
        store=parts.store,
        connections=connections,
        settings=vendor,
        service=parts.settings.service_name,
    )
    parts.broker.include_router(build_router(handlers, group_id=parts.settings.service_name))

    @asynccontextmanager
    async def clients_closed_at_exit() -> AsyncIterator[object]:
        try:
            yield connections
        finally:
            await connections.aclose()

    return [clients_closed_at_exit()]
