"""The BambooHR service's subscribers and publishers: each body is one call into the source.

``router`` at module level exists to be described (``make docs`` builds the AsyncAPI
document from it); :func:`services.bamboohr.app.wire` builds the live one around a
:class:`~services.bamboohr.source.BambooHRSource`.
"""

from __future__ import annotations

from typing import Protocol

from faststream.kafka import KafkaRouter

from schemas.people import DepartmentChanged, EmployeeChanged
from services.bamboohr.source import SourceTopics
from services.runtime.bus import subscriber

__all__ = ["SERVICE", "RawEventHandler", "build_router", "router"]

SERVICE = "bamboohr"


class RawEventHandler(Protocol):
    """What the subscriber calls (the source)."""

    async def handle(self, message: object) -> None: ...


class _NotWired:
    async def handle(self, message: object) -> None:
        msg = "services.bamboohr.handlers.router is for documentation; app.wire builds the live one"
        raise RuntimeError(msg)


def build_router(
    source: RawEventHandler, *, group_id: str = SERVICE, topics: SourceTopics | None = None
) -> KafkaRouter:
    """The service's one subscriber and the topics it publishes to.

    The topics are parameters only so tests can run on topics of their own.
    """
    chosen = topics or SourceTopics()
    router = KafkaRouter()

    @subscriber(router, chosen.raw, group_id=group_id)
    async def snapshot_bamboohr_changes(message: object) -> None:
        await source.handle(message)

    router.publisher(
        chosen.employees,
        title=f"{chosen.employees}:EmployeeChanged",
        description="Full employee snapshots, published only when they differ from the last.",
        schema=EmployeeChanged,
    )
    router.publisher(
        chosen.departments,
        title=f"{chosen.departments}:DepartmentChanged",
        description="The department and division lists, one event per unit that changed.",
        schema=DepartmentChanged,
    )
    return router


router = build_router(_NotWired())
"""The service's subscribers and publishers as ``make docs`` describes them."""
