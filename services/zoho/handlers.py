"""The zoho service's router: people.employee -> the contacts sink. Each body is one call.

``router`` at module level exists to be described (``make docs``); ``app.wire`` builds the
live one around the sinks. The subscriber may hold a message while the organisation's
daily quota is spent (up to ``max_quota_wait_seconds``), so its poll interval is longer.
"""

from __future__ import annotations

from typing import Final, Protocol

from faststream.kafka import KafkaRouter

from schemas.outcomes import SyncOutcome
from schemas.people import EmployeeChanged
from services.runtime.bus import subscriber

__all__ = ["SERVICE", "EmployeeHandler", "build_router", "router"]

SERVICE: Final = "zoho"
_POLL_MARGIN_MS: Final = 600_000  # the wait, and a write's worth of time after it


class EmployeeHandler(Protocol):
    """What the people.employee subscriber calls (the contacts sink)."""

    async def employee_changed(self, event: EmployeeChanged) -> None: ...


class _NotWired:
    async def employee_changed(self, event: EmployeeChanged) -> None:
        msg = "services.zoho.handlers.router is for documentation; app.wire builds the live one"
        raise RuntimeError(msg)


def build_router(
    contacts: EmployeeHandler,
    *,
    group_id: str = SERVICE,
    employee_topic: str = EmployeeChanged.topic_name,
    max_quota_wait_seconds: float = 90_000.0,
) -> KafkaRouter:
    """The service's subscribers; the topics are parameters only so tests can use their own."""
    router = KafkaRouter()

    @subscriber(
        router,
        employee_topic,
        group_id=group_id,
        max_poll_interval_ms=int(max_quota_wait_seconds * 1000) + _POLL_MARGIN_MS,
    )
    async def sync_employee_to_zoho(event: EmployeeChanged) -> None:
        await contacts.employee_changed(event)

    router.publisher(
        SyncOutcome.topic_name,
        title=f"{SyncOutcome.topic_name}:SyncOutcome",
        description="Every Zoho Books write attempt of flow 2 (people-zoho).",
        schema=SyncOutcome,
    )
    return router


router = build_router(_NotWired())
"""The service's subscribers and publishers as ``make docs`` describes them."""
