"""The expensify service's subscriber: ``raw.expensify`` (poll and reconcile ticks) -> the
reports source, which publishes approved reports on ``expense.report``.

``router`` at module level exists to be described (``make docs``); ``app.wire`` builds the
live one.
"""

from __future__ import annotations

from typing import Final, Protocol

from faststream.kafka import KafkaRouter

from schemas.expense import ExpenseReportApproved
from schemas.outcomes import SyncOutcome
from schemas.topics import raw_topic
from services.runtime.bus import ONE_AT_A_TIME, Consuming, subscriber

__all__ = ["SERVICE", "RawEventHandler", "build_router", "router"]

SERVICE: Final = "expensify"


class RawEventHandler(Protocol):
    """What the raw.expensify subscriber calls (the reports source)."""

    async def handle(self, message: object) -> None: ...


class _NotWired:
    async def handle(self, message: object) -> None:
        msg = "services.expensify.handlers.router is for documentation; app.wire builds it"
        raise RuntimeError(msg)


def build_router(
    source: RawEventHandler,
    *,
    group_id: str = SERVICE,
    consuming: Consuming = ONE_AT_A_TIME,
    raw: str = raw_topic(SERVICE),
) -> KafkaRouter:
    """The service's subscriber; the topic is a parameter only so tests can use their own."""
    router = KafkaRouter()

    @subscriber(router, raw, group_id=group_id, workers=consuming.workers)
    async def publish_approved_reports(message: object) -> None:
        await source.handle(message)

    router.publisher(
        ExpenseReportApproved.topic_name,
        title=f"{ExpenseReportApproved.topic_name}:ExpenseReportApproved",
        description="Flow expenses: each approved Expensify report, when it differs.",
        schema=ExpenseReportApproved,
    )
    router.publisher(
        SyncOutcome.topic_name,
        title=f"{SyncOutcome.topic_name}:SyncOutcome",
        description="A link's poll that could not run (its schedule options are not valid).",
        schema=SyncOutcome,
    )
    return router


router = build_router(_NotWired())
"""The service's subscribers and publishers as ``make docs`` describes them."""
