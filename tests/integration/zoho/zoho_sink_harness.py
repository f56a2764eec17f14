"""Shared pieces of the Zoho sink tests: a sandbox on a socket, an EU organisation, a link.

The Zoho connection is made through the real consent flow (``OAuthFlow``: start at the US
accounts server, the sandbox sends the EU user home, the callback exchanges the code
there), so its region, ``api_domain`` and organisation are stored as the control plane
stores them. Every request the sink makes goes through an httpx event hook that records
its URL, so a test can say which hosts were called. ``running_service`` runs the zoho
service's router on a real Kafka broker instead, around the same world.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
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

from sandboxes.kit import build_app, serve
from sandboxes.zoho.app import ZohoSandbox
from schemas import decode_event
from schemas.envelope import Event, utcnow
from schemas.outcomes import SyncOutcome
from schemas.people import EmployeeChanged
from services.control.oauth import OAuthFlow
from services.runtime.bus import create_broker
from services.runtime.dead_letters import HandlerRetryPolicy
from services.runtime.outcomes import BusPublisher, Outcomes
from services.runtime.publishing import encode_event, stamp
from services.runtime.settings import RuntimeSettings
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from services.zoho.access import ZohoAccess
from services.zoho.auth import ZohoOAuth
from services.zoho.handlers import SERVICE, ZohoTopics, build_router
from services.zoho.quota import DailyQuota
from services.zoho.reconcile import ContactsReconciliation
from services.zoho.settings import ZohoSettings
from services.zoho.sinks.contacts import ContactsSink
from services.zoho.sinks.option_lists import OptionListSink
from services.zoho.source import ZohoSource

__all__ = ["ZohoWorld", "employee", "running_service", "send", "zoho_world"]


@dataclass
class ZohoWorld:
    sandbox: httpx.AsyncClient  # base_url = the sandbox's socket
    base_url: str
    store: StateStore
    vault: Vault
    settings: ZohoSettings
    zoho_connection_id: str
    bamboohr_connection_id: str
    link_id: str
    organization_id: str
    called: list[str] = field(default_factory=list)  # every URL the sink's clients called
    outcomes: list[SyncOutcome] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    published: list[Event] = field(default_factory=list)  # what the service put on the bus
    run: str = field(default_factory=lambda: uuid4().hex)

    async def state(self, collection: str) -> list[dict[str, Any]]:
        answer = await self.sandbox.get(f"/_sandbox/state/{collection}")
        answer.raise_for_status()
        records: list[dict[str, Any]] = answer.json()
        return records

    async def contacts_with_email(self, email: str) -> list[dict[str, Any]]:
        wanted = email.lower()
        return [
            c
            for c in await self.state("contacts")
            if str(c.get("organization_id")) == self.organization_id
            and any(str(p.get("email", "")).lower() == wanted for p in c.get("contact_persons", []))
        ]

    async def action(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = await self.sandbox.post(f"/_sandbox/actions/{name}", json=payload)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def writes(self) -> list[dict[str, Any]]:
        """The sandbox's log of successful non-GET API calls (its control calls left out)."""
        answer = await self.sandbox.get("/_sandbox/requests")
        answer.raise_for_status()
        return [
            r
            for r in answer.json()
            if r["method"] != "GET" and "/books/v3/" in r["path"] and r["status"] < 400
        ]

    def outcomes_for(self, employee_id: str) -> list[SyncOutcome]:
        return [o for o in self.outcomes if o.entity_key == employee_id]

    def access(
        self,
        *,
        holder: str = "replica-1",
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> ZohoAccess:
        """Clients of this world's organisation, recording URLs and quota waits (``sleep``
        replaces the quota wait's sleep; by default a wait is only recorded)."""

        async def fake_sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            if sleep is not None:
                await sleep(seconds)

        def recording(base_url: str, connection_key: str) -> httpx.AsyncClient:
            async def remember(request: httpx.Request) -> None:
                self.called.append(str(request.url))

            # The request budgets are per process and key: a key of this world's own, so
            # the tests before it have not spent this organisation's minute.
            client = access.production_client(base_url, f"{connection_key}:{holder}:{self.run}")
            client.event_hooks["request"].append(remember)
            return client

        quota = DailyQuota(
            self.store,
            reserve=self.settings.daily_quota_reserve,
            max_wait_seconds=self.settings.max_quota_wait_seconds,
            sleep=fake_sleep,
            clock=clock or utcnow,
        )
        access = ZohoAccess(
            store=self.store, vault=self.vault, settings=self.settings, quota=quota, http=recording
        )
        return access

    def kept_outcomes(self) -> Outcomes:
        """Outcomes that land in ``self.outcomes`` instead of Kafka."""

        async def keep(event: SyncOutcome, *, cause: Event) -> None:
            self.outcomes.append(event)

        return Outcomes(keep, service="zoho")

    def sink(
        self,
        *,
        holder: str = "replica-1",
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> ContactsSink:
        """A contacts sink on this world's store (see :meth:`access`)."""
        return ContactsSink(
            store=self.store,
            access=self.access(holder=holder, clock=clock, sleep=sleep),
            settings=self.settings,
            outcomes=self.kept_outcomes(),
            holder=holder,
        )


async def connect_zoho(flow: OAuthFlow) -> str:
    """The operator's consent, with the test as the browser; returns the connection id."""
    connection_id, consent_url = await flow.start(
        "zoho", tenant_id="default", display_name="Acme Books EU"
    )
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(consent_url)
    assert consent.status_code in (302, 303), consent.text
    query = dict(parse_qsl(urlsplit(consent.headers["location"]).query))
    status, message = await flow.callback("zoho", query)
    assert status == 200, message
    return connection_id


@asynccontextmanager
async def zoho_world(
    tmp_path: Path, *, sandbox: ZohoSandbox | None = None
) -> AsyncIterator[ZohoWorld]:
    """A connected Zoho Books organisation (EU) and a people-zoho link into it (SQLite)."""
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    try:
        async with (
            serve(build_app(sandbox or ZohoSandbox())) as server,
            httpx.AsyncClient(base_url=server.base_url) as control,
        ):
            creds = (await control.post("/_sandbox/credentials")).json()
            settings = ZohoSettings(
                accounts_base_url=f"{server.base_url}/accounts.zoho.com",
                trusted_accounts_servers=(f"{server.base_url}/accounts.zoho.",),
                trusted_api_domains=(f"{server.base_url}/www.zohoapis.",),
                client_id=creds["client_id"],
                client_secret=SecretStr(creds["client_secret"]),
                redirect_uri=creds["redirect_uri"],
            )
            flow = OAuthFlow(store=store, vault=vault, vendors={"zoho": ZohoOAuth(settings)})
            zoho_id = await connect_zoho(flow)
            async with store.transaction() as repos:
                bamboo = await repos.connections.create(
                    vendor="bamboohr", tenant_id="default", display_name="Acme HR"
                )
                link = await repos.links.create(
                    source_connection_id=bamboo.id,
                    target_connection_id=zoho_id,
                    flow="people-zoho",
                )
            await control.delete("/_sandbox/requests")
            yield ZohoWorld(
                sandbox=control,
                base_url=server.base_url,
                store=store,
                vault=vault,
                settings=settings,
                zoho_connection_id=zoho_id,
                bamboohr_connection_id=bamboo.id,
                link_id=link.id,
                organization_id=str(creds["organization_id"]),
            )
    finally:
        await store.close()


_BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def employee(
    world: ZohoWorld, employee_id: str, *, version: int = 1, **changes: Any
) -> EmployeeChanged:
    """A BambooHR snapshot of one employee at ``version`` (later versions are newer)."""
    values: dict[str, Any] = {
        "connection_id": world.bamboohr_connection_id,
        "occurred_at": _BASE + timedelta(minutes=version),
        "source_updated_at": _BASE + timedelta(minutes=version),
        "employee_id": employee_id,
        "status": "active",
        "first_name": "Noor",
        "last_name": f"Haddad{employee_id}",
        "work_email": f"noor.{employee_id}@consultancy.example",
        "department": "Engineering",
        "job_title": "Consultant",
    }
    values.update(changes)
    return EmployeeChanged(**values)


@asynccontextmanager
async def running_service(
    world: ZohoWorld,
    kafka_bootstrap: str,
    *,
    topics: ZohoTopics,
    group: str,
    source_raw: str | None = None,
) -> AsyncIterator[KafkaBroker]:
    """The zoho service's router in this process, on the test's own ``topics``.

    Wired as ``services.zoho.app.wire`` wires it (quota, access, contacts and list sinks,
    the source and its reconciliation, outcomes on the bus), on this world's store and
    sandbox. Outcomes go to the real outcome topic; those of this world's link are read
    back into ``world.outcomes``. The source's reconcile requests to the link's source go
    to ``source_raw`` and, like the list events it publishes, are read back into
    ``world.published``.
    """
    settings = RuntimeSettings(service_name=SERVICE, kafka_bootstrap_servers=kafka_bootstrap)
    broker = create_broker(
        settings, retry=HandlerRetryPolicy(max_attempts=8, first_backoff_s=0.05, max_backoff_s=0.5)
    )

    def own_budget(base_url: str, connection_key: str) -> httpx.AsyncClient:
        # The request budgets are per process and key: this world's own, as in ``sink()``.
        return access.production_client(base_url, f"{connection_key}:{world.run}")

    quota = DailyQuota(
        world.store,
        reserve=world.settings.daily_quota_reserve,
        max_wait_seconds=world.settings.max_quota_wait_seconds,
    )
    access = ZohoAccess(
        store=world.store, vault=world.vault, settings=world.settings, quota=quota, http=own_budget
    )
    outcomes = Outcomes(BusPublisher(broker), service=SERVICE)
    holder = f"{SERVICE}-{uuid4().hex}"
    common: dict[str, Any] = {
        "store": world.store,
        "settings": world.settings,
        "outcomes": outcomes,
        "holder": holder,
    }
    source_topic = source_raw or f"{topics.raw}.bamboohr"
    source = ZohoSource(
        broker=broker,
        store=world.store,
        access=access,
        settings=world.settings,
        outcomes=outcomes,
        reconciliation=ContactsReconciliation(**common),
        service=SERVICE,
        departments_topic=topics.departments,
        raw_topics=lambda vendor: source_topic,
    )
    broker.include_router(
        build_router(
            ContactsSink(access=access, **common),
            OptionListSink(access=access, **common),
            source,
            group_id=group,
            topics=topics,
            max_quota_wait_seconds=world.settings.max_quota_wait_seconds,
        )
    )

    @broker.subscriber(
        SyncOutcome.topic_name, group_id=f"{group}.outcomes", auto_offset_reset="earliest"
    )
    async def collect(data: dict[str, Any]) -> None:
        outcome = decode_event(data)
        if isinstance(outcome, SyncOutcome) and outcome.link_id == world.link_id:
            world.outcomes.append(outcome)

    @broker.subscriber(
        topics.departments,
        source_topic,
        group_id=f"{group}.published",
        auto_offset_reset="earliest",
    )
    async def published(data: dict[str, Any]) -> None:
        world.published.append(decode_event(data))

    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()
        await access.aclose()


async def send(broker: KafkaBroker, event: Event, *, topic: str, times: int = 1) -> Event:
    """Publish one stamped message ``times`` times: a redelivery is the same bytes again."""
    stamped = stamp(event)
    for _ in range(times):
        await broker.publish(encode_event(stamped), topic=topic, key=stamped.key.encode())
    return stamped
