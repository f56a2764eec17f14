"""Composition root of the acumatica service: settings -> access -> sinks, source -> router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from uuid import uuid4

from schemas.people import DepartmentChanged, EmployeeChanged
from services.acumatica.access import FLOW, AcumaticaAccess
from services.acumatica.handlers import build_router
from services.acumatica.plugin import PLUGIN
from services.acumatica.reconcile import DriftRead
from services.acumatica.settings import AcumaticaSettings
from services.acumatica.sinks.departments import DepartmentsSink
from services.acumatica.sinks.employees import EmployeesSink
from services.acumatica.source import AcumaticaSource
from services.runtime.bus import Consuming
from services.runtime.link_replays import ReplayInput, replay_worker
from services.runtime.outcomes import BusPublisher, Outcomes
from services.runtime.service_main import ServiceParts
from services.runtime.settings import load_settings

__all__ = ["wire"]


async def wire(parts: ServiceParts) -> Sequence[AbstractAsyncContextManager[object]]:
    """Attach the subscriber to ``parts.broker``; every session signs out after it stops."""
    vendor = load_settings(AcumaticaSettings)
    service = parts.settings.service_name
    holder = f"{service}-{uuid4().hex}"
    access = AcumaticaAccess(
        store=parts.store,
        vault=parts.vault,
        settings=vendor,
        holder=holder,
        share_budgets=parts.settings.shared_budgets,
    )
    outcomes = Outcomes(BusPublisher(parts.broker), service=service)
    employees = EmployeesSink(
        store=parts.store, access=access, settings=vendor, outcomes=outcomes, holder=holder
    )
    departments = DepartmentsSink(
        store=parts.store, access=access, settings=vendor, outcomes=outcomes, holder=holder
    )
    drift = DriftRead(
        store=parts.store,
        outcomes=outcomes,
        service=service,
        holder=holder,
        lease_ttl=timedelta(seconds=vendor.person_lease_seconds),
    )
    source = AcumaticaSource(store=parts.store, access=access, drift=drift, service=service)
    parts.broker.include_router(
        build_router(
            employees,
            source,
            departments,
            group_id=service,
            consuming=Consuming.of(parts.settings),
        )
    )

    @asynccontextmanager
    async def sessions_signed_out_at_exit() -> AsyncIterator[object]:
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
            ReplayInput(FLOW, DepartmentChanged.topic_name, (DepartmentChanged,), departments),
            ReplayInput(FLOW, EmployeeChanged.topic_name, (EmployeeChanged,), employees),
        ],
    )
    return [sessions_signed_out_at_exit(), replays.running()]
