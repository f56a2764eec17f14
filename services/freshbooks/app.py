"""Composition root of the freshbooks service: settings -> access -> sinks -> router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from uuid import uuid4

from schemas.ap import BillPaid
from schemas.expense import ExpenseReportApproved
from schemas.people import EmployeeChanged
from services.freshbooks.access import AP_FLOW, EXPENSES_FLOW, FLOW, FreshBooksAccess
from services.freshbooks.handlers import build_router
from services.freshbooks.plugin import PLUGIN
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.sinks.bill_payments import BillPaymentsSink
from services.freshbooks.sinks.expense_reports import ExpenseReportsSink
from services.freshbooks.sinks.expenses import ExpenseSink
from services.freshbooks.sinks.people import PeopleSink
from services.freshbooks.source import PayablesSource
from services.runtime.bus import Consuming
from services.runtime.link_replays import ReplayInput, replay_worker
from services.runtime.outcomes import BusPublisher, Outcomes
from services.runtime.service_main import ServiceParts
from services.runtime.settings import load_settings
from services.runtime.snapshots import PublishedSnapshots

__all__ = ["wire"]


async def wire(parts: ServiceParts) -> Sequence[AbstractAsyncContextManager[object]]:
    """Attach the subscribers to ``parts.broker``; the clients close after the broker stops."""
    vendor = load_settings(FreshBooksSettings)
    service = parts.settings.service_name
    holder = f"{service}-{uuid4().hex}"
    access = FreshBooksAccess(
        store=parts.store,
        vault=parts.vault,
        settings=vendor,
        share_budgets=parts.settings.shared_budgets,
    )
    outcomes = Outcomes(BusPublisher(parts.broker), service=service)
    people = PeopleSink(
        store=parts.store,
        access=access,
        settings=vendor,
        outcomes=outcomes,
        holder=holder,
    )
    expenses = ExpenseSink(
        store=parts.store,
        access=access,
        settings=vendor,
        outcomes=outcomes,
        service=service,
        holder=holder,
    )
    payables = PayablesSource(
        access=access,
        snapshots=PublishedSnapshots(store=parts.store, broker=parts.broker, service=service),
        outcomes=outcomes,
    )
    payments = BillPaymentsSink(
        store=parts.store, access=access, settings=vendor, outcomes=outcomes, holder=holder
    )
    reports = ExpenseReportsSink(
        store=parts.store, access=access, settings=vendor, outcomes=outcomes, holder=holder
    )
    parts.broker.include_router(
        build_router(
            people,
            expenses,
            payables,
            payments,
            reports,
            group_id=service,
            consuming=Consuming.of(parts.settings),
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
            ReplayInput(FLOW, EmployeeChanged.topic_name, (EmployeeChanged,), people),
            ReplayInput(AP_FLOW, BillPaid.topic_name, (BillPaid,), payments),
            ReplayInput(
                EXPENSES_FLOW,
                ExpenseReportApproved.topic_name,
                (ExpenseReportApproved,),
                reports,
            ),
        ],
    )
    return [clients_closed_at_exit(), replays.running()]
