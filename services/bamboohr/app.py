"""Composition root of the bamboohr service: settings -> access -> source, list sink -> router."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, aclosing
from uuid import uuid4

from schemas.people import DepartmentChanged, JobTitleChanged
from services.bamboohr.access import BambooHRAccess
from services.bamboohr.handlers import build_router
from services.bamboohr.plugin import PLUGIN
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.sinks.option_lists import OptionListSink
from services.bamboohr.source import BambooHRSource, SourceTopics
from services.runtime.bus import Consuming
from services.runtime.link_replays import ReplayInput, replay_worker
from services.runtime.outcomes import BusPublisher, Outcomes
from services.runtime.service_main import ServiceParts
from services.runtime.settings import load_settings

__all__ = ["wire"]


async def wire(
    parts: ServiceParts,
    *,
    vendor_settings: BambooHRSettings | None = None,
    topics: SourceTopics | None = None,
    group_id: str | None = None,
) -> Sequence[AbstractAsyncContextManager[object]]:
    """Attach the source and the option-list sink to the broker; the sink's replays run beside
    (and the access's kept HTTP clients are closed when the service stops).

    ``group_id`` (default: the service's name) names the source's consumer group; the list
    sink's is that plus ``.option-lists``. Tests give each run its own.
    """
    vendor = vendor_settings or load_settings(BambooHRSettings)
    chosen = topics or SourceTopics()
    service = parts.settings.service_name
    access = BambooHRAccess(store=parts.store, vault=parts.vault, settings=vendor)
    outcomes = Outcomes(BusPublisher(parts.broker), service=service)
    source = BambooHRSource(
        broker=parts.broker,
        store=parts.store,
        access=access,
        settings=vendor,
        outcomes=outcomes,
        service=service,
        topics=chosen,
    )
    holder = f"{service}-{uuid4().hex}"
    lists = OptionListSink(
        store=parts.store,
        access=access,
        outcomes=outcomes,
        holder=holder,
        lease_seconds=vendor.option_list_lease_seconds,
    )
    parts.broker.include_router(
        build_router(
            source,
            lists,
            group_id=group_id or service,
            topics=chosen,
            consuming=Consuming.of(parts.settings),
        )
    )
    replays = replay_worker(
        parts,
        outcomes,
        PLUGIN,
        holder=holder,
        inputs=[
            ReplayInput(
                sink.flow,
                sink.topic,
                (DepartmentChanged, JobTitleChanged),
                lists,
                writes_source=True,
            )
            for sink in PLUGIN.sinks  # lists from whichever flow's target publishes them
        ],
    )
    return [aclosing(access), replays.running()]
