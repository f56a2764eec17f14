"""The acumatica service's router: people.employee -> the employees sink. Each body is one call.

``router`` at module level exists to be described (``make docs``); ``app.wire`` builds the
live one around the sink.
"""

from __future__ import annotations

from typing import Final, Protocol

from faststream.kafka import KafkaRouter

from schemas.outcomes import SyncOutcome
from schemas.people import EmployeeChanged
from services.runtime.bus import subscriber

__all__ = ["SERVICE", "EmployeeHandler", "build_router", "router"]

SERVICE: Final = "acumatica"


class EmployeeHandler(Protocol):
    """What the people.employee subscriber calls (the employees sink)."""

    async def employee_changed(self, event: EmployeeChanged) -> None: ...


class _NotWired:
    async def employee_changed(self, event: EmployeeChanged) -> None:
        msg = "services.acumatica.handlers.router is for documentation; app.wire builds it"
        raise RuntimeError(msg)


def build_router(
    employees: EmployeeHandler,
    *,
    group_id: str = SERVICE,
    employee_topic: str = EmployeeChanged.topic_name,
) -> KafkaRouter:
    """The service's subscribers; the topic is a parameter only so tests can use their own."""
    router = KafkaRouter()

    @subscriber(router, employee_topic, group_id=group_id)
    async def sync_employee_to_acumatica(event: EmployeeChanged) -> None:
        await employees.employee_changed(event)

    router.publisher(
        SyncOutcome.topic_name,
        title=f"{SyncOutcome.topic_name}:SyncOutcome",
        description="Every Acumatica write attempt of flow 3 (people-acumatica).",
        schema=SyncOutcome,
    )
    return router


router = build_router(_NotWired())
"""The service's subscribers and publishers as ``make docs`` describes them."""
