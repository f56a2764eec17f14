"""The freshbooks service's router: people.employee -> the people sink, raw.freshbooks ->
the expense sink (through the runtime's raw dispatch) and, in a consumer group of its own,
the payables source of flow ap-bill (bills and vendors out); ap.payment -> the bill-payments
sink (BILL's payments back into the books), in a consumer group of its own; expense.report ->
the expense-reports sink of flow expenses (approved Expensify reports booked), in a consumer
group of its own. Each body is one call.

``router`` at module level exists to be described (``make docs``); ``app.wire`` builds the
live one around the sinks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

from faststream.kafka import KafkaRouter

from schemas.ap import BillChanged, BillPaid, VendorChanged
from schemas.expense import ExpenseReportApproved
from schemas.outcomes import SyncOutcome
from schemas.people import EmployeeChanged
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from schemas.topics import raw_topic
from services.freshbooks.access import VENDOR
from services.runtime.bus import ONE_AT_A_TIME, Consuming, record_subscriber, subscriber
from services.runtime.raw_dispatch import RawHandlers, dispatch_raw

__all__ = [
    "PAYMENTS_GROUP_SUFFIX",
    "REPORTS_GROUP_SUFFIX",
    "SERVICE",
    "SOURCE_GROUP_SUFFIX",
    "EmployeeHandler",
    "PaymentHandler",
    "RawEventHandler",
    "ReportHandler",
    "build_router",
    "router",
]

SERVICE: Final = "freshbooks"
SOURCE_GROUP_SUFFIX: Final = ".source"
PAYMENTS_GROUP_SUFFIX: Final = ".bill-payments"
REPORTS_GROUP_SUFFIX: Final = ".expense-reports"


class EmployeeHandler(Protocol):
    """What the people.employee subscriber calls (the people sink)."""

    async def employee_changed(self, event: EmployeeChanged) -> None: ...

    async def employees_applied(self, events: Sequence[EmployeeChanged]) -> set[int]: ...


class PaymentHandler(Protocol):
    """What the ap.payment subscriber calls (the bill-payments sink)."""

    async def bill_paid(self, event: BillPaid) -> None: ...


class ReportHandler(Protocol):
    """What the expense.report subscriber calls (the expense-reports sink)."""

    async def report_approved(self, event: ExpenseReportApproved) -> None: ...


class RawEventHandler(Protocol):
    """What the raw.freshbooks source subscriber calls (the payables source)."""

    async def handle(self, message: object) -> None: ...


_NOT_WIRED: Final = (
    "services.freshbooks.handlers.router is for documentation; app.wire builds the live one"
)


class _NotWired:
    async def employee_changed(self, event: EmployeeChanged) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def employees_applied(self, events: Sequence[EmployeeChanged]) -> set[int]:
        raise RuntimeError(_NOT_WIRED)

    async def on_delivery(self, delivery: RawDelivery) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def on_poll(self, tick: PollTick) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def on_reconcile(self, tick: ReconcileTick) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def handle(self, message: object) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def bill_paid(self, event: BillPaid) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def report_approved(self, event: ExpenseReportApproved) -> None:
        raise RuntimeError(_NOT_WIRED)


def build_router(
    people: EmployeeHandler,
    expenses: RawHandlers,
    payables: RawEventHandler | None = None,
    payments: PaymentHandler | None = None,
    reports: ReportHandler | None = None,
    *,
    group_id: str = SERVICE,
    consuming: Consuming = ONE_AT_A_TIME,
    employee_topic: str = EmployeeChanged.topic_name,
    callback_topic: str = raw_topic(VENDOR),
    payment_topic: str = BillPaid.topic_name,
    report_topic: str = ExpenseReportApproved.topic_name,
) -> KafkaRouter:
    """The service's subscribers; the topics are parameters only so tests can use their own."""
    router = KafkaRouter()

    @record_subscriber(
        router,
        employee_topic,
        EmployeeChanged,
        group_id=group_id,
        consuming=consuming,
        screen=people.employees_applied,
    )
    async def sync_employee_to_freshbooks(event: EmployeeChanged) -> None:
        await people.employee_changed(event)

    @subscriber(router, callback_topic, group_id=group_id, workers=consuming.workers)
    async def attribute_expense_departments(message: object) -> None:
        await dispatch_raw(message, expenses)

    if payables is not None:
        source = payables

        @subscriber(
            router,
            callback_topic,
            group_id=group_id + SOURCE_GROUP_SUFFIX,
            workers=consuming.workers,
        )
        async def publish_bills_and_vendors(message: object) -> None:
            await source.handle(message)

        for event in (VendorChanged, BillChanged):
            router.publisher(
                event.topic_name,
                title=f"{event.topic_name}:{event.__name__}",
                description=f"Flow ap-bill: FreshBooks {event.__name__}, only what differs.",
                schema=event,
            )

    if payments is not None:
        bill_payments = payments

        @subscriber(
            router,
            payment_topic,
            group_id=group_id + PAYMENTS_GROUP_SUFFIX,
            workers=consuming.workers,
        )
        async def record_bill_payment(event: BillPaid) -> None:
            await bill_payments.bill_paid(event)

    if reports is not None:
        report_sink = reports

        @subscriber(
            router,
            report_topic,
            group_id=group_id + REPORTS_GROUP_SUFFIX,
            workers=consuming.workers,
        )
        async def book_expense_report(event: ExpenseReportApproved) -> None:
            await report_sink.report_approved(event)

    router.publisher(
        SyncOutcome.topic_name,
        title=f"{SyncOutcome.topic_name}:SyncOutcome",
        description=(
            "Every FreshBooks write attempt of flow 1, of expense departments, of flow "
            "ap-bill's bill payments and of flow expenses' reports; and each bill or vendor "
            "a callback named that FreshBooks would not let us read (consent gone)."
        ),
        schema=SyncOutcome,
    )
    return router


router = build_router(_NotWired(), _NotWired(), _NotWired(), _NotWired(), _NotWired())
"""The service's subscribers and publishers as ``make docs`` describes them."""
