"""Shared pieces of the FreshBooks sink tests: a sandbox on a socket, a connected account, a link.

The FreshBooks connection is made through the real consent flow (``OAuthFlow``: start,
the sandbox's auto-consenting authorize page, the callback), so the tokens and the
identity (``account_id``, ``business_id``) are stored exactly as ingest stores them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from uuid import uuid4

import httpx
from faststream.kafka import KafkaBroker
from pydantic import SecretStr

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.kit import build_app, serve
from schemas import decode_event
from schemas.envelope import Event
from schemas.outcomes import SyncOutcome
from schemas.people import EmployeeChanged
from services.control.oauth import OAuthFlow
from services.freshbooks.access import FreshBooksAccess
from services.freshbooks.auth import FreshBooksOAuth
from services.freshbooks.handlers import build_router
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.sinks.expenses import ExpenseSink
from services.freshbooks.sinks.people import PeopleSink
from services.runtime.bus import create_broker
from services.runtime.dead_letters import HandlerRetryPolicy
from services.runtime.oauth_tokens import TokenKeeper
from services.runtime.outcomes import BusPublisher, Outcomes
from services.runtime.publishing import encode_event, stamp
from services.runtime.settings import RuntimeSettings
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry

__all__ = ["SinkWorld", "employee", "running_service", "send", "sink_world"]


@dataclass
class SinkWorld:
    sandbox: httpx.AsyncClient  # base_url = the sandbox's socket
    store: StateStore
    vault: Vault
    key_ring: str
    database_url: str
    settings: FreshBooksSettings
    freshbooks_connection_id: str
    bamboohr_connection_id: str
    link_id: str
    account_id: str
    outcomes: list[SyncOutcome] = field(default_factory=list)

    async def state(self, collection: str) -> list[dict[str, Any]]:
        answer = await self.sandbox.get(f"/_sandbox/state/{collection}")
        answer.raise_for_status()
        records: list[dict[str, Any]] = answer.json()
        return records

    async def requests(self) -> list[dict[str, Any]]:
        answer = await self.sandbox.get("/_sandbox/requests")
        answer.raise_for_status()
        logged: list[dict[str, Any]] = answer.json()
        return logged

    async def count_requests(self, method: str, path_part: str) -> int:
        return sum(
            1
            for r in await self.requests()
            if r["method"] == method and path_part in r["path"] and r["status"] < 400
        )

    async def members_with_email(self, email: str) -> list[dict[str, Any]]:
        return [
            m
            for m in await self.state("team_members")
            if str(m.get("email")).lower() == email.lower()
        ]

    async def staff_with_email(self, email: str) -> list[dict[str, Any]]:
        return [
            s for s in await self.state("staff") if str(s.get("email")).lower() == email.lower()
        ]

    async def action(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = await self.sandbox.post(f"/_sandbox/actions/{name}", json=payload)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def outcomes_for(self, employee_id: str) -> list[SyncOutcome]:
        return [o for o in self.outcomes if o.entity_key == employee_id]


async def connect_freshbooks(flow: OAuthFlow) -> str:
    """The operator's consent, with the test as the browser; returns the connection id."""
    connection_id, consent_url = await flow.start(
        "freshbooks", tenant_id="default", display_name="Acme Books"
    )
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(consent_url)
    assert consent.status_code in (302, 303), consent.text
    query = dict(parse_qsl(urlsplit(consent.headers["location"]).query))
    status, message = await flow.callback("freshbooks", query)
    assert status == 200, message
    return connection_id


@asynccontextmanager
async def sink_world(
    tmp_path: Path,
    *,
    sandbox: FreshBooksSandbox | None = None,
    database_url: str | None = None,
) -> AsyncIterator[SinkWorld]:
    """A connected FreshBooks account and a link into it; SQLite unless ``database_url``."""
    database_url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    store = await StateStore.open(database_url)
    key_ring = generate_key_ring_entry("k1")
    vault = Vault.from_text(key_ring)
    try:
        async with (
            serve(build_app(sandbox or FreshBooksSandbox())) as server,
            httpx.AsyncClient(base_url=server.base_url) as control,
        ):
            creds = (await control.post("/_sandbox/credentials")).json()
            settings = FreshBooksSettings(
                auth_base_url=server.base_url,
                api_base_url=server.base_url,
                client_id=creds["client_id"],
                client_secret=SecretStr(creds["client_secret"]),
                redirect_uri=creds["redirect_uri"],
            )
            flow = OAuthFlow(
                store=store, vault=vault, vendors={"freshbooks": FreshBooksOAuth(settings)}
            )
            freshbooks_id = await connect_freshbooks(flow)
            async with store.transaction() as repos:
                bamboo = await repos.connections.create(
                    vendor="bamboohr", tenant_id="default", display_name="Acme HR"
                )
                link = await repos.links.create(
                    source_connection_id=bamboo.id,
                    target_connection_id=freshbooks_id,
                    flow="people-freshbooks",
                )
            await control.delete("/_sandbox/requests")
            yield SinkWorld(
                sandbox=control,
                store=store,
                vault=vault,
                key_ring=key_ring,
                database_url=database_url,
                settings=settings,
                freshbooks_connection_id=freshbooks_id,
                bamboohr_connection_id=bamboo.id,
                link_id=link.id,
                account_id=str(creds["account_id"]),
            )
    finally:
        await store.close()


_BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def employee(
    world: SinkWorld,
    employee_id: str,
    *,
    version: int = 1,
    **changes: Any,
) -> EmployeeChanged:
    """A BambooHR snapshot of one employee at ``version`` (later versions are newer)."""
    values: dict[str, Any] = {
        "connection_id": world.bamboohr_connection_id,
        "occurred_at": _BASE + timedelta(minutes=version),
        "source_updated_at": _BASE + timedelta(minutes=version),
        "employee_id": employee_id,
        "status": "active",
        "first_name": "Maya",
        "last_name": f"Lopez{employee_id}",
        "work_email": f"maya.{employee_id}@acmecreative.example",
        "department": "Engineering",
        "job_title": "Engineer",
    }
    values.update(changes)
    return EmployeeChanged(**values)


@asynccontextmanager
async def running_service(
    world: SinkWorld,
    kafka_bootstrap: str,
    *,
    topics: tuple[str, str],
    group: str,
    keeper: TokenKeeper | None = None,
) -> AsyncIterator[KafkaBroker]:
    """The freshbooks service's handlers in this process, on ``topics`` (employees, raw).

    Outcomes of this world's link are collected into ``world.outcomes``.
    """
    settings = RuntimeSettings(service_name="freshbooks", kafka_bootstrap_servers=kafka_bootstrap)
    broker = create_broker(
        settings, retry=HandlerRetryPolicy(max_attempts=8, first_backoff_s=0.05, max_backoff_s=0.5)
    )
    connections = FreshBooksAccess(
        store=world.store, vault=world.vault, settings=world.settings, keeper=keeper
    )
    outcomes = Outcomes(BusPublisher(broker), service="freshbooks")
    holder = f"freshbooks-{uuid4().hex}"
    people = PeopleSink(
        store=world.store,
        access=connections,
        settings=world.settings,
        outcomes=outcomes,
        holder=holder,
    )
    expenses = ExpenseSink(
        store=world.store,
        access=connections,
        settings=world.settings,
        outcomes=outcomes,
        service="freshbooks",
        holder=holder,
    )
    employee_topic, callback_topic = topics
    broker.include_router(
        build_router(
            people,
            expenses,
            group_id=group,
            employee_topic=employee_topic,
            callback_topic=callback_topic,
        )
    )

    @broker.subscriber(
        SyncOutcome.topic_name, group_id=f"{group}.outcomes", auto_offset_reset="earliest"
    )
    async def collect(data: dict[str, Any]) -> None:
        outcome = decode_event(data)
        if isinstance(outcome, SyncOutcome) and outcome.link_id == world.link_id:
            world.outcomes.append(outcome)

    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()
        await connections.aclose()


async def send(broker: KafkaBroker, event: Event, *, topic: str, times: int = 1) -> Event:
    """Publish one stamped message ``times`` times: a redelivery is the same bytes again."""
    stamped = stamp(event)
    for _ in range(times):
        await broker.publish(encode_event(stamped), topic=topic, key=stamped.key.encode())
    return stamped
