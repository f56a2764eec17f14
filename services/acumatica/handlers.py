"""The acumatica service's subscribers: each body is one call.

- ``people.employee`` -> the employees sink;
- ``people.department`` -> the departments sink (departments before anyone is hired into
  them), in a consumer group of its own;
- ``raw.acumatica`` (poll and reconcile ticks) -> the source: each link's drift read, in a
  consumer group of its own.

``router`` at module level exists to be described (``make docs``); ``app.wire`` builds the
live one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

from faststream.kafka import KafkaRouter

from schemas.outcomes import SyncOutcome
from schemas.people import DepartmentChanged, EmployeeChanged
from schemas.topics import raw_topic
from services.runtime.bus import ONE_AT_A_TIME, Consuming, record_subscriber, subscriber

__all__ = [
    "LISTS_GROUP_SUFFIX",
    "SERVICE",
    "SOURCE_GROUP_SUFFIX",
    "DepartmentHandler",
    "EmployeeHandler",
    "RawEventHandler",
    "build_router",
    "router",
]

SERVICE: Final = "acumatica"
SOURCE_GROUP_SUFFIX: Final = ".source"
LISTS_GROUP_SUFFIX: Final = ".option-lists"


class EmployeeHandler(Protocol):
    """What the people.employee subscriber calls (the employees sink)."""

    async def employee_changed(self, event: EmployeeChanged) -> None: ...

    async def employees_applied(self, events: Sequence[EmployeeChanged]) -> set[int]: ...


class DepartmentHandler(Protocol):
    """What the people.department subscriber calls (the departments sink)."""

    async def list_changed(self, message: object) -> None: ...


class RawEventHandler(Protocol):
    """What the raw.acumatica subscriber calls (the source)."""

    async def handle(self, message: object) -> None: ...


_NOT_WIRED: Final = "services.acumatica.handlers.router is for documentation; app.wire builds it"


class _NotWired:
    async def employee_changed(self, event: EmployeeChanged) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def employees_applied(self, events: Sequence[EmployeeChanged]) -> set[int]:
        raise RuntimeError(_NOT_WIRED)

    async def handle(self, message: object) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def list_changed(self, message: object) -> None:
        raise RuntimeError(_NOT_WIRED)


def build_router(
    employees: EmployeeHandler,
    source: RawEventHandler | None = None,
    departments: DepartmentHandler | None = None,
    *,
    group_id: str = SERVICE,
    consuming: Consuming = ONE_AT_A_TIME,
    employee_topic: str = EmployeeChanged.topic_name,
    department_topic: str = DepartmentChanged.topic_name,
    raw: str | None = None,
) -> KafkaRouter:
    """The service's subscribers; the topics are parameters only so tests can use their own."""
    router = KafkaRouter()

    @record_subscriber(
        router,
        employee_topic,
        EmployeeChanged,
        group_id=group_id,
        consuming=consuming,
        screen=employees.employees_applied,
    )
    async def sync_employee_to_acumatica(event: EmployeeChanged) -> None:
        await employees.employee_changed(event)

    if departments is not None:
        department_sink = departments

        @subscriber(
            router,
            department_topic,
            group_id=group_id + LISTS_GROUP_SUFFIX,
            workers=consuming.workers,
        )
        async def sync_department_to_acumatica(message: object) -> None:
            await department_sink.list_changed(message)

    if source is not None:
        raw_source = source

        @subscriber(
            router,
            raw or raw_topic(SERVICE),
            group_id=group_id + SOURCE_GROUP_SUFFIX,
            workers=consuming.workers,
        )
        async def read_acumatica_drift(message: object) -> None:
            await raw_source.handle(message)

    router.publisher(
        SyncOutcome.topic_name,
        title=f"{SyncOutcome.topic_name}:SyncOutcome",
        description=(
            "Every Acumatica write attempt of flow 3 (people-acumatica): employees, "
            "departments, drift repairs and each drift read's summary."
        ),
        schema=SyncOutcome,
    )
    return router


router = build_router(_NotWired(), _NotWired(), _NotWired())
"""The service's subscribers and publishers as ``make docs`` describes them."""
