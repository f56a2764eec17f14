"""The BambooHR service's subscribers and publishers: each body is one call.

- ``raw.bamboohr`` -> the source (``people.employee``, ``people.department`` out), in
  batches (``MLC_CONSUMER_BATCH``) as the sinks take theirs;
- ``people.department`` -> the option-list sink, the one writer to BambooHR (the other
  side's list options into BambooHR's lists), in a consumer group of its own: the source
  publishes to that topic and never consumes it, and the sink's offsets must not be the
  source's.

``router`` at module level exists to be described (``make docs`` builds the AsyncAPI
document from it); :func:`services.bamboohr.app.wire` builds the live one around a
:class:`~services.bamboohr.source.BambooHRSource` and an
:class:`~services.bamboohr.sinks.option_lists.OptionListSink`.
"""

from __future__ import annotations

from typing import Final, Protocol

from faststream.kafka import KafkaRouter

from schemas.envelope import Event
from schemas.outcomes import SyncOutcome
from schemas.people import DepartmentChanged, EmployeeChanged, JobTitleChanged
from services.bamboohr.source import SourceTopics
from services.runtime.bus import ONE_AT_A_TIME, Consuming, record_subscriber, subscriber

__all__ = [
    "LISTS_GROUP_SUFFIX",
    "SERVICE",
    "ListEventHandler",
    "RawEventHandler",
    "build_router",
    "router",
]

SERVICE: Final = "bamboohr"
LISTS_GROUP_SUFFIX: Final = ".option-lists"
"""The list sink's consumer group is the service's name plus this."""


class RawEventHandler(Protocol):
    """What the raw.bamboohr subscriber calls (the source)."""

    async def handle(self, message: object) -> None: ...


class ListEventHandler(Protocol):
    """What the people.department subscriber calls (the option-list sink)."""

    async def list_changed(self, message: object) -> None: ...


_NOT_WIRED: Final = (
    "services.bamboohr.handlers.router is for documentation; app.wire builds the live one"
)


class _NotWired:
    async def handle(self, message: object) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def list_changed(self, message: object) -> None:
        raise RuntimeError(_NOT_WIRED)


def build_router(
    source: RawEventHandler,
    lists: ListEventHandler | None = None,
    *,
    group_id: str = SERVICE,
    consuming: Consuming = ONE_AT_A_TIME,
    lists_group_id: str | None = None,
    topics: SourceTopics | None = None,
) -> KafkaRouter:
    """The service's subscribers and the topics it publishes to.

    ``lists``: the option-list sink (None: the source alone, as some tests run it);
    ``lists_group_id`` defaults to ``group_id`` + :data:`LISTS_GROUP_SUFFIX`. The topics
    are parameters only so tests can run on topics of their own; the sink reads the topic
    the source writes its lists to.
    """
    chosen = topics or SourceTopics()
    router = KafkaRouter()

    # In batches: deliveries of different people are read at once, each committed with
    # its batch (a delivery is keyed by its own id, so none waits on another's reads).
    # ``message`` is the decoded event in a batch, the parsed JSON one at a time (three
    # event types share the topic): the source's decode_raw takes either.
    @record_subscriber(router, chosen.raw, Event, group_id=group_id, consuming=consuming)
    async def snapshot_bamboohr_changes(message: object) -> None:
        await source.handle(message)

    if lists is not None:
        list_sink = lists

        @subscriber(
            router,
            chosen.departments,
            group_id=lists_group_id or group_id + LISTS_GROUP_SUFFIX,
            workers=consuming.workers,
        )
        async def align_bamboohr_option_lists(message: object) -> None:
            await list_sink.list_changed(message)

    router.publisher(
        SyncOutcome.topic_name,
        title=f"{SyncOutcome.topic_name}:SyncOutcome",
        description=(
            "Every attempt to align a BambooHR option list with the other side's, and each "
            "employee a delivery named whom BambooHR would not let us read (consent gone)."
        ),
        schema=SyncOutcome,
    )

    router.publisher(
        chosen.employees,
        title=f"{chosen.employees}:EmployeeChanged",
        description="Full employee snapshots, published only when they differ from the last.",
        schema=EmployeeChanged,
    )
    router.publisher(
        chosen.departments,
        title=f"{chosen.departments}:DepartmentChanged",
        description="The department and division lists, one event per option that changed.",
        schema=DepartmentChanged,
    )
    router.publisher(
        chosen.departments,
        title=f"{chosen.departments}:JobTitleChanged",
        description="The job-title list, one event per option that changed.",
        schema=JobTitleChanged,
    )
    return router


router = build_router(_NotWired(), _NotWired())
"""The service's subscribers and publishers as ``make docs`` describes them."""
