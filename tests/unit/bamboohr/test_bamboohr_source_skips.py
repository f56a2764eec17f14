"""Messages the source can never handle are audited and skipped, never retried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from faststream.kafka import KafkaBroker

from schemas.envelope import utcnow
from schemas.raw import PollTick
from services.bamboohr.access import BambooHRAccess
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.source import BambooHRSource
from services.runtime.publishing import encode_event
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry


@pytest.fixture
async def source(tmp_path: Path) -> AsyncIterator[tuple[BambooHRSource, StateStore]]:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    settings = BambooHRSettings()
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    try:
        yield (
            BambooHRSource(
                broker=KafkaBroker(),  # never started: nothing here may publish
                store=store,
                access=BambooHRAccess(store=store, vault=vault, settings=settings),
                settings=settings,
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


async def test_a_message_that_is_no_event_is_audited_and_skipped(
    source: tuple[BambooHRSource, StateStore],
) -> None:
    handler, store = source
    await handler.handle(b"\x00 not an event")
    await handler.handle({"type": "NoSuchEvent"})

    skips = await _skips(store)
    assert [(subject, detail["reason"]) for subject, detail in skips] == [
        ("unknown", "undecodable_event"),
        ("unknown", "undecodable_event"),
    ]


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
