"""Composition root of the zoho service: settings -> quota -> access -> sinks, source -> router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from uuid import uuid4

from schemas.people import DepartmentChanged, EmployeeChanged, JobTitleChanged
from services.runtime.bus import Consuming
from services.runtime.link_replays import ReplayInput, replay_worker
from services.runtime.outcomes import BusPublisher, Outcomes
from services.runtime.service_main import ServiceParts
from services.runtime.settings import load_settings
from services.zoho.access import FLOW, ZohoAccess
from services.zoho.handlers import build_router
from services.zoho.plugin import PLUGIN
from services.zoho.quota import DailyQuota
from services.zoho.reconcile import ContactsReconciliation
from services.zoho.settings import ZohoSettings
from services.zoho.sinks.contacts import ContactsSink
from services.zoho.sinks.option_lists import OptionListSink
from services.zoho.source import ZohoSource

__all__ = ["wire"]


async def wire(parts: ServiceParts) -> Sequence[AbstractAsyncContextManager[object]]:
    """Attach the subscribers to ``parts.broker``; the clients close after the broker stops."""
    vendor = load_settings(ZohoSettings)
    service = parts.settings.service_name
    holder = f"{service}-{uuid4().hex}"
    quota = DailyQuota(
        parts.store,
        reserve=vendor.daily_quota_reserve,
        max_wait_seconds=vendor.max_quota_wait_seconds,
    )
    access = ZohoAccess(
        store=parts.store,
        vault=parts.vault,
        settings=vendor,
        quota=quota,
        share_budgets=parts.settings.shared_budgets,
    )
    outcomes = Outcomes(BusPublisher(parts.broker), service=service)
    store = parts.store
    contacts = ContactsSink(
        store=store, access=access, settings=vendor, outcomes=outcomes, holder=holder
    )
    lists = OptionListSink(
        store=store, access=access, settings=vendor, outcomes=outcomes, holder=holder
    )
    source = ZohoSource(
        broker=parts.broker,
        store=store,
        access=access,
        settings=vendor,
        outcomes=outcomes,
        reconciliation=ContactsReconciliation(
            store=store, settings=vendor, outcomes=outcomes, holder=holder
        ),
        service=service,
    )
    parts.broker.include_router(
        build_router(
            contacts,
            lists,
            source,
            group_id=service,
            consuming=Consuming.of(parts.settings),
            max_quota_wait_seconds=vendor.max_quota_wait_seconds,
        )
    )

    @asynccontextmanager
    async def clients_closed_at_exit() -> AsyncIterator[object]:
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
            ReplayInput(FLOW, EmployeeChanged.topic_name, (EmployeeChanged,), contacts),
            ReplayInput(
                FLOW, DepartmentChanged.topic_name, (DepartmentChanged, JobTitleChanged), lists
            ),
        ],
    )
    return [clients_closed_at_exit(), replays.running()]
