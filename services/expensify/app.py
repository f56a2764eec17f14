"""Composition root of the expensify service: settings -> access -> source -> router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from uuid import uuid4

from services.expensify.access import ExpensifyAccess
from services.expensify.handlers import build_router
from services.expensify.settings import ExpensifySettings
from services.expensify.source import ReportsSource
from services.runtime.bus import Consuming
from services.runtime.outcomes import BusPublisher, Outcomes
from services.runtime.service_main import ServiceParts
from services.runtime.settings import load_settings
from services.runtime.snapshots import PublishedSnapshots

__all__ = ["wire"]


async def wire(parts: ServiceParts) -> Sequence[AbstractAsyncContextManager[object]]:
    """Attach the subscriber to ``parts.broker``; the clients close after it stops."""
    vendor = load_settings(ExpensifySettings)
    service = parts.settings.service_name
    access = ExpensifyAccess(
        store=parts.store,
        vault=parts.vault,
        settings=vendor,
        share_budgets=parts.settings.shared_budgets,
    )
    source = ReportsSource(
        store=parts.store,
        access=access,
        snapshots=PublishedSnapshots(store=parts.store, broker=parts.broker, service=service),
        outcomes=Outcomes(BusPublisher(parts.broker), service=service),
        service=service,
        holder=f"{service}-{uuid4().hex}",
    )
    parts.broker.include_router(
        build_router(source, group_id=service, consuming=Consuming.of(parts.settings))
    )

    @asynccontextmanager
    async def clients_closed_at_exit() -> AsyncIterator[object]:
        try:
            yield access
        finally:
            await access.aclose()

    return [clients_closed_at_exit()]
