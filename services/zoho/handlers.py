"""The zoho service's subscribers: each body is one call.

- ``people.employee`` -> the contacts sink (one contact per employee, per linked org);
- ``people.department`` -> the option-list sink (the source's departments and job titles
  into the organisation's reporting tags), in a consumer group of its own;
- ``raw.zoho`` -> the source (the tags out as lists, each link's reconciliation), in a
  group of its own too: each subscriber's offsets are its own.

``router`` at module level exists to be described (``make docs``); ``app.wire`` builds the
live one. The contacts subscriber may hold a message while the organisation's daily quota
is spent (up to ``max_quota_wait_seconds``), so its poll interval is longer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from faststream.kafka import KafkaRouter

from schemas.outcomes import SyncOutcome
from schemas.people import DepartmentChanged, EmployeeChanged, JobTitleChanged
from schemas.topics import raw_topic
from services.runtime.bus import ONE_AT_A_TIME, Consuming, record_subscriber, subscriber

__all__ = [
    "LISTS_GROUP_SUFFIX",
    "SERVICE",
    "SOURCE_GROUP_SUFFIX",
    "EmployeeHandler",
    "ListEventHandler",
    "RawEventHandler",
    "ZohoTopics",
    "build_router",
    "router",
]

SERVICE: Final = "zoho"
LISTS_GROUP_SUFFIX: Final = ".option-lists"
SOURCE_GROUP_SUFFIX: Final = ".source"
_POLL_MARGIN_MS: Final = 600_000  # the wait, and a write's worth of time after it


class EmployeeHandler(Protocol):
    """What the people.employee subscriber calls (the contacts sink)."""

    async def employee_changed(self, event: EmployeeChanged) -> None: ...

    async def employees_applied(self, events: Sequence[EmployeeChanged]) -> set[int]: ...


class ListEventHandler(Protocol):
    """What the people.department subscriber calls (the option-list sink)."""

    async def list_changed(self, message: object) -> None: ...


class RawEventHandler(Protocol):
    """What the raw.zoho subscriber calls (the source)."""

    async def handle(self, message: object) -> None: ...


@dataclass(frozen=True, slots=True)
class ZohoTopics:
    """Where the service reads; tests give each run its own."""

    employees: str = EmployeeChanged.topic_name
    departments: str = DepartmentChanged.topic_name
    raw: str = field(default_factory=lambda: raw_topic("zoho"))


_NOT_WIRED: Final = "services.zoho.handlers.router is for documentation; app.wire builds it"


class _NotWired:
    async def employee_changed(self, event: EmployeeChanged) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def employees_applied(self, events: Sequence[EmployeeChanged]) -> set[int]:
        raise RuntimeError(_NOT_WIRED)

    async def list_changed(self, message: object) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def handle(self, message: object) -> None:
        raise RuntimeError(_NOT_WIRED)


def build_router(
    contacts: EmployeeHandler,
    lists: ListEventHandler | None = None,
    source: RawEventHandler | None = None,
    *,
    group_id: str = SERVICE,
    consuming: Consuming = ONE_AT_A_TIME,
    topics: ZohoTopics | None = None,
    max_quota_wait_seconds: float = 90_000.0,
) -> KafkaRouter:
    """The service's subscribers (``lists`` and ``source`` None: the contacts sink alone)."""
    chosen = topics or ZohoTopics()
    router = KafkaRouter()

    @record_subscriber(
        router,
        chosen.employees,
        EmployeeChanged,
        group_id=group_id,
        consuming=consuming,
        max_poll_interval_ms=int(max_quota_wait_seconds * 1000) + _POLL_MARGIN_MS,
        screen=contacts.employees_applied,
    )
    async def sync_employee_to_zoho(event: EmployeeChanged) -> None:
        await contacts.employee_changed(event)

    if lists is not None:
        list_sink = lists

        @subscriber(
            router,
            chosen.departments,
            group_id=group_id + LISTS_GROUP_SUFFIX,
            workers=consuming.workers,
        )
        async def align_zoho_reporting_tags(message: object) -> None:
            await list_sink.list_changed(message)

    if source is not None:
        raw_source = source

        @subscriber(
            router, chosen.raw, group_id=group_id + SOURCE_GROUP_SUFFIX, workers=consuming.workers
        )
        async def reconcile_zoho_organisation(message: object) -> None:
            await raw_source.handle(message)

        router.publisher(
            chosen.departments,
            title=f"{chosen.departments}:DepartmentChanged",
            description="The Department tag's options, one event per option that changed.",
            schema=DepartmentChanged,
        )
        router.publisher(
            chosen.departments,
            title=f"{chosen.departments}:JobTitleChanged",
            description="The Job Title tag's options, one event per option that changed.",
            schema=JobTitleChanged,
        )

    router.publisher(
        SyncOutcome.topic_name,
        title=f"{SyncOutcome.topic_name}:SyncOutcome",
        description=(
            "Every Zoho Books write attempt of flow 2 (people-zoho): contacts, tag options, "
            "reconciliation repairs and each run's summary."
        ),
        schema=SyncOutcome,
    )
    return router


router = build_router(_NotWired(), _NotWired(), _NotWired())
"""The service's subscribers and publishers as ``make docs`` describes them."""
