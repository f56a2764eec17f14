"""Composition root of the bill service: settings -> access -> sinks, source -> router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from uuid import uuid4

from schemas.ap import BillChanged, VendorChanged
from services.bill.access import FLOW, BillAccess
from services.bill.handlers import build_router
from services.bill.plugin import PLUGIN
from services.bill.settings import BillSettings
from services.bill.sinks.bills import BillsSink
from services.bill.sinks.vendors import VendorsSink
from services.bill.source import BillSource
from services.runtime.bus import Consuming
from services.runtime.link_replays import ReplayInput, replay_worker
from services.runtime.outcomes import BusPublisher, Outcomes
from services.runtime.service_main import ServiceParts
from services.runtime.settings import load_settings
from services.runtime.snapshots import PublishedSnapshots

__all__ = ["wire"]


async def wire(parts: ServiceParts) -> Sequence[AbstractAsyncContextManager[object]]:
    """Attach the subscribers to ``parts.broker``; every session logs out after they stop."""
    vendor = load_settings(BillSettings)
    service = parts.settings.service_name
    holder = f"{service}-{uuid4().hex}"
    access = BillAccess(
        store=parts.store,
        vault=parts.vault,
        settings=vendor,
        holder=holder,
        share_budgets=parts.settings.shared_budgets,
    )
    outcomes = Outcomes(BusPublisher(parts.broker), service=service)
    lease = timedelta(seconds=vendor.record_lease_seconds)
    bills = BillsSink(
        store=parts.store, access=access, outcomes=outcomes, holder=holder, lease_ttl=lease
    )
    vendors = VendorsSink(
        store=parts.store,
        access=access,
        outcomes=outcomes,
        holder=holder,
        lease_ttl=lease,
        arrived=bills.vendor_arrived,
    )
    source = BillSource(
        store=parts.store,
        access=access,
        snapshots=PublishedSnapshots(store=parts.store, broker=parts.broker, service=service),
        service=service,
    )
    parts.broker.include_router(
        build_router(
            vendors, bills, source, group_id=service, consuming=Consuming.of(parts.settings)
        )
    )

    @asynccontextmanager
    async def sessions_logged_out_at_exit() -> AsyncIterator[object]:
        try:
            yield access
        finally:
            await access.aclose()

    replays = replay_worker(
        parts,
        outcomes,
        PLUGIN,
        holder=holder,
        inputs=[
            ReplayInput(FLOW, VendorChanged.topic_name, (VendorChanged,), vendors),
            ReplayInput(FLOW, BillChanged.topic_name, (BillChanged,), bills),
        ],
    )
    return [sessions_logged_out_at_exit(), replays.running()]
