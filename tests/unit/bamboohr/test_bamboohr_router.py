"""The bamboohr service's router: each topic to its handler, the list sink in a group of its own."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from faststream.kafka import KafkaBroker, KafkaRouter, TestKafkaBroker
from faststream.kafka.subscriber.usecase import LogicSubscriber

from schemas.people import DepartmentChanged
from services.bamboohr.handlers import build_router, router
from services.bamboohr.source import SourceTopics

_AT = datetime(2026, 3, 1, tzinfo=UTC)


def _consumers(built: KafkaRouter) -> dict[str, str | None]:
    """Topic -> consumer group of each subscriber."""
    found: dict[str, str | None] = {}
    for subscriber in built.subscribers:
        assert isinstance(subscriber, LogicSubscriber)
        for name in subscriber.topic_names:
            found[name] = subscriber.group_id
    return found


class Recorder:
    """Stands in for the source and the list sink: keeps what each was handed."""

    def __init__(self) -> None:
        self.raw: list[object] = []
        self.lists: list[object] = []

    async def handle(self, message: object) -> None:
        self.raw.append(message)

    async def list_changed(self, message: object) -> None:
        self.lists.append(message)


def test_the_list_sink_consumes_people_department_in_its_own_consumer_group() -> None:
    groups = _consumers(router)

    # The source publishes to people.department and never consumes it; the sink's offsets
    # are its own, so neither can take the other's messages.
    assert groups == {"raw.bamboohr": "bamboohr", "people.department": "bamboohr.option-lists"}


def test_without_a_list_sink_the_router_is_the_source_alone() -> None:
    alone = build_router(Recorder(), group_id="g")

    assert _consumers(alone) == {"raw.bamboohr": "g"}


async def test_each_topic_reaches_its_handler() -> None:
    recorder = Recorder()
    topics = SourceTopics(raw="raw.test", employees="employees.test", departments="lists.test")
    broker = KafkaBroker()
    broker.include_router(build_router(recorder, recorder, group_id="g", topics=topics))
    unit = DepartmentChanged(
        connection_id="books",
        occurred_at=_AT,
        source_updated_at=_AT,
        kind="department",
        unit_id="7",
        name="Cost Centre 7",
        active=True,
    )

    async with TestKafkaBroker(broker) as bus:
        await bus.publish(orjson.dumps(unit.model_dump(mode="json")), "lists.test")
        await bus.publish(b'{"type": "PollTick"}', "raw.test")

    assert recorder.lists == [unit.model_dump(mode="json")]
    assert recorder.raw == [{"type": "PollTick"}]
