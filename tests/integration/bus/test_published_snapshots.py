"""A source's memory of what it published, with records handled at once (a batch's lanes)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from faststream.kafka import KafkaBroker

from schemas.envelope import utcnow
from schemas.people import EmployeeChanged
from schemas.raw import PollTick
from services.runtime.audit_trail import read_events
from services.runtime.snapshots import PublishedSnapshots
from services.runtime.store import StateStore


async def test_one_record_named_twice_at_once_is_published_once(
    store: StateStore, kafka_bootstrap: str, kafka_topic: Callable[..., Awaitable[str]]
) -> None:
    # BambooHR's employee.created and employee.updated of one hire, read in two lanes.
    topic = await kafka_topic("people.employee")
    async with store.transaction() as repos:
        connection = await repos.connections.create(
            vendor="bamboohr", tenant_id="default", display_name="Acme", settings={}
        )
    now = utcnow()
    cause = PollTick(
        connection_id=connection.id,
        occurred_at=now,
        vendor="bamboohr",
        schedule="poll",
        due_at=now.isoformat(),
        entity_key="tick:poll",
    )
    hire = EmployeeChanged(
        connection_id=connection.id,
        occurred_at=now,
        source_updated_at=now,
        employee_id="501",
        first_name="Ada",
        last_name="Quinn",
        status="active",
    )
    broker = KafkaBroker(kafka_bootstrap)
    await broker.connect()
    try:
        snapshots = PublishedSnapshots(store=store, broker=broker, service="bamboohr")
        published = await asyncio.gather(
            *(snapshots.publish_if_changed(hire, topic=topic, cause=cause) for _ in range(2))
        )
        # A later change of the same person is published again, once.
        renamed = hire.model_copy(update={"last_name": "Quinn-Hart"})
        again = await asyncio.gather(
            *(snapshots.publish_if_changed(renamed, topic=topic, cause=cause) for _ in range(2))
        )
    finally:
        await broker.stop()

    assert sorted(published) == [False, True]
    assert sorted(again) == [False, True]
    events = await read_events(kafka_bootstrap, topics=[topic], keep=lambda _: True)
    assert [e.event["last_name"] for e in events] == ["Quinn", "Quinn-Hart"]
