"""Messages the source can never handle are never retried: a message that cannot be decoded
is handed to the runtime's dead-letter policy with its cause; a tick of a connection that is
gone is audited and skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from faststream.kafka import KafkaBroker

from schemas import EventDecodeError
from schemas.envelope import utcnow
from schemas.raw import PollTick, RawDelivery
from services.bamboohr.access import BambooHRAccess
from services.bamboohr.mapping import MalformedDeliveryError
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.source import BambooHRSource
from services.runtime.dead_letters import UndecodableMessageError
from services.runtime.outcomes import BusPublisher, Outcomes
from services.runtime.publishing import encode_event
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry


@pytest.fixture
async def source(tmp_path: Path) -> AsyncIterator[tuple[BambooHRSource, StateStore]]:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    settings = BambooHRSettings()
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    broker = KafkaBroker()  # never started: nothing here may publish
    try:
        yield (
            BambooHRSource(
                broker=broker,
                store=store,
                access=BambooHRAccess(store=store, vault=vault, settings=settings),
                settings=settings,
                outcomes=Outcomes(BusPublisher(broker), service="bamboohr"),
                service="bamboohr",
            ),
            store,
        )
    finally:
        await store.close()


async def _skips(store: StateStore) -> list[tuple[str, dict[str, object]]]:
    async with store.transaction() as repos:
        entries = await repos.audit_log.list()
    return [(e.subject, e.detail) for e in entries if e.action == "bamboohr.event_skipped"]


@pytest.mark.parametrize("message", [b"\x00 not an event", {"type": "NoSuchEvent"}])
async def test_a_message_that_is_no_event_is_dead_lettered_with_its_cause_not_skipped(
    source: tuple[BambooHRSource, StateStore], message: object
) -> None:
    handler, store = source
    with pytest.raises(UndecodableMessageError) as raised:
        await handler.handle(message)

    assert isinstance(raised.value.__cause__, EventDecodeError)
    assert await _skips(store) == []


async def test_a_body_that_is_no_bamboohr_delivery_is_dead_lettered_with_its_cause(
    source: tuple[BambooHRSource, StateStore],
) -> None:
    handler, store = source
    delivery = RawDelivery(
        connection_id="any-connection",
        occurred_at=utcnow(),
        vendor="bamboohr",
        entity_key="sha256:x",
        delivery_id="sha256:x",
        content_type="application/json",
        body="[1, 2",
    )
    with pytest.raises(UndecodableMessageError) as raised:
        await handler.handle(encode_event(delivery))

    assert isinstance(raised.value.__cause__, MalformedDeliveryError)
    assert await _skips(store) == []


async def test_a_tick_for_a_connection_that_is_gone_is_audited_and_skipped(
    source: tuple[BambooHRSource, StateStore],
) -> None:
    handler, store = source
    due = utcnow().isoformat()
    tick = PollTick(
        connection_id="removed-connection",
        occurred_at=utcnow(),
        entity_key=f"poll:{due}",
        vendor="bamboohr",
        schedule="poll",
        due_at=due,
    )
    await handler.handle(encode_event(tick))

    [(subject, detail)] = await _skips(store)
    assert subject == "removed-connection"
    assert detail["reason"] == "UnknownConnectionError"
    assert detail["event_id"] == str(tick.event_id)
