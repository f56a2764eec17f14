"""Which of the source's reads are bulk work for the connection's budget, and which are not.

Reads of everyone (a reconcile, a first poll, a delivery over the cap) leave the reserved
share of the budget to a webhook's single reads; the mark travels on each request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import orjson
import pytest
from faststream.kafka import KafkaBroker

from schemas.envelope import utcnow
from schemas.raw import RawDelivery, ReconcileTick
from services.bamboohr.access import BambooHRAccess
from services.bamboohr.client import ApiKeyAuthorization, BambooHRClient
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.source import BambooHRSource
from services.runtime.outcomes import BusPublisher, Outcomes
from services.runtime.publishing import encode_event
from services.runtime.ratelimit import BULK_EXTENSION
from services.runtime.store import StateStore
from services.runtime.store.records import ConnectionRecord
from services.runtime.vault import Vault, generate_key_ring_entry

COMPANY = "http://acme.bamboohr.test"


def _bamboohr(request: httpx.Request) -> httpx.Response:
    """An empty company: nobody in the report, no lists, no changes, no such employee."""
    path = request.url.path
    if path.endswith("/employees/changed"):
        return httpx.Response(200, json={"latest": None, "employees": {}})
    if path.endswith("/reports/custom"):
        return httpx.Response(200, json={"employees": []})
    if path.endswith("/meta/lists"):
        return httpx.Response(200, json=[])
    return httpx.Response(404)


class _RecordingAccess(BambooHRAccess):
    """The real access, but its clients talk to ``_bamboohr`` and each request is kept."""

    def __init__(self, store: StateStore, settings: BambooHRSettings) -> None:
        super().__init__(
            store=store, vault=Vault.from_text(generate_key_ring_entry("k1")), settings=settings
        )
        self.requests: list[tuple[str, bool]] = []

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.url.path, request.extensions.get(BULK_EXTENSION) is True))
        return _bamboohr(request)

    @asynccontextmanager
    async def client(
        self, record: ConnectionRecord, *, bulk: bool = False
    ) -> AsyncIterator[BambooHRClient]:
        transport = httpx.MockTransport(self._answer)
        async with httpx.AsyncClient(transport=transport) as http:
            yield BambooHRClient(http, COMPANY, ApiKeyAuthorization("key"), bulk=bulk)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[tuple[BambooHRSource, _RecordingAccess, str]]:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    settings = BambooHRSettings(delivery_max_employees=3)
    access = _RecordingAccess(store, settings)
    async with store.transaction() as repos:
        record = await repos.connections.create(
            vendor="bamboohr", tenant_id="default", display_name="Acme", settings={}
        )
    broker = KafkaBroker()  # never started: an empty company publishes nothing
    try:
        yield (
            BambooHRSource(
                broker=broker,
                store=store,
                access=access,
                settings=settings,
                outcomes=Outcomes(BusPublisher(broker), service="bamboohr"),
                service="bamboohr",
            ),
            access,
            record.id,
        )
    finally:
        await store.close()


def _delivery(connection_id: str, employee_ids: list[str]) -> bytes:
    body = {"employees": [{"id": i, "action": "Updated"} for i in employee_ids]}
    delivery_id = "sha256:test"
    return encode_event(
        RawDelivery(
            connection_id=connection_id,
            occurred_at=utcnow(),
            vendor="bamboohr",
            entity_key=delivery_id,
            delivery_id=delivery_id,
            content_type="application/json",
            body=orjson.dumps(body).decode(),
        )
    )


async def test_a_delivery_within_the_cap_reads_each_person_outside_bulk_work(
    rig: tuple[BambooHRSource, _RecordingAccess, str],
) -> None:
    source, access, connection_id = rig
    await source.handle(_delivery(connection_id, ["7", "8", "7", "9", "8"]))

    assert access.requests == [
        ("/api/v1/employees/7", False),
        ("/api/v1/employees/8", False),
        ("/api/v1/employees/9", False),
    ]


async def test_a_delivery_over_the_cap_and_a_reconcile_read_everyone_as_bulk_work(
    rig: tuple[BambooHRSource, _RecordingAccess, str],
) -> None:
    source, access, connection_id = rig
    await source.handle(_delivery(connection_id, ["7", "8", "9", "10"]))
    over_cap = list(access.requests)
    access.requests.clear()
    due = utcnow().isoformat()
    tick = ReconcileTick(
        connection_id=connection_id,
        occurred_at=utcnow(),
        vendor="bamboohr",
        entity_key=f"reconcile:{due}",
        schedule="reconcile",
        due_at=due,
    )
    await source.handle(encode_event(tick))

    assert over_cap == [("/api/v1/meta/lists", True), ("/api/v1/reports/custom", True)]
    # The over-cap delivery was a reconcile: this one also asks for deletions since it.
    assert access.requests == [
        ("/api/v1/meta/lists", True),
        ("/api/v1/reports/custom", True),
        ("/api/v1/employees/changed", True),
    ]
