"""The BambooHR source wired to real parts: Kafka, a state store, the sandbox on a socket.

Each rig has its own raw/output topics and consumer group, so tests never see each
other's events; outputs are read back by the chain of the raw event that caused them
(``services.runtime.audit_trail.read_chain``), which is also what ``mlc audit`` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
from faststream.kafka import KafkaBroker

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.kit import build_app, serve, wait_until
from schemas.envelope import Event, utcnow
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from services.bamboohr.access import BambooHRAccess
from services.bamboohr.auth import BambooHRAuth
from services.bamboohr.handlers import build_router
from services.bamboohr.settings import BambooHRServiceSettings, BambooHRSettings
from services.bamboohr.source import BambooHRSource, SourceTopics
from services.runtime.audit_trail import read_chain
from services.runtime.bus import Consuming, create_broker
from services.runtime.oauth_tokens import TokenSet, save_tokens
from services.runtime.outcomes import BusPublisher, Outcomes
from services.runtime.publishing import publish
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry

__all__ = ["Rig", "add_connection", "bamboohr_settings", "source_rig"]

TopicMaker = Callable[..., Awaitable[str]]


def bamboohr_settings(base_url: str, creds: dict[str, Any]) -> BambooHRSettings:
    """Vendor settings that point every company URL at the sandbox."""
    return BambooHRSettings(
        company_url_template=f"{base_url}/{{subdomain}}.bamboohr.com",
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        redirect_uri=creds["redirect_uri"],
    )


async def oauth_tokens(
    sandbox: httpx.AsyncClient, settings: BambooHRSettings, subdomain: str
) -> TokenSet:
    """Consent as a browser would (the sandbox auto-consents), then the code exchange."""
    auth = BambooHRAuth(settings)
    answer = await sandbox.get(auth.authorize_url("state-1", {"subdomain": subdomain}))
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    return await auth.exchange_code(sandbox, code, {"subdomain": subdomain})


@dataclass
class Rig:
    bootstrap: str
    sandbox: BambooHRSandbox
    control: httpx.AsyncClient  # the sandbox's own origin: control API and OAuth pages
    store: StateStore
    vault: Vault
    broker: KafkaBroker
    topics: SourceTopics
    connection_id: str

    def _envelope(self) -> dict[str, Any]:
        return {
            "connection_id": self.connection_id,
            "occurred_at": utcnow(),
            "vendor": "bamboohr",
        }

    async def send(self, event: Event) -> Event:
        return await publish(self.broker, event, topic=self.topics.raw)

    async def deliver(self, body: str, content_type: str = "application/json") -> Event:
        delivery_id = f"sha256:{uuid4().hex}"
        return await self.send(
            RawDelivery(
                **self._envelope(),
                entity_key=delivery_id,
                delivery_id=delivery_id,
                content_type=content_type,
                body=body,
            )
        )

    async def tick(self, kind: Literal["poll", "reconcile", "full"]) -> Event:
        due = utcnow().isoformat()
        if kind == "poll":
            return await self.send(
                PollTick(**self._envelope(), entity_key=f"poll:{due}", schedule=kind, due_at=due)
            )
        return await self.send(
            ReconcileTick(
                **self._envelope(),
                entity_key=f"{kind}:{due}",
                schedule=kind,
                due_at=due,
                full=kind == "full",
            )
        )

    async def outputs(self, cause: Event, topic: str) -> list[dict[str, Any]]:
        """Every event on ``topic`` caused (directly) by ``cause``."""
        chain = await read_chain(self.bootstrap, str(cause.event_id), topics=[topic])
        return [e.event for e in chain if e.event.get("causation_id") == str(cause.event_id)]

    async def wait_outputs(self, cause: Event, topic: str, count: int) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []

        async def enough() -> list[dict[str, Any]] | None:
            seen[:] = await self.outputs(cause, topic)
            return list(seen) if len(seen) >= count else None

        return await wait_until(
            enough,
            timeout_seconds=60,
            message=f"{count} events on {topic}",
            details=lambda: f"saw {len(seen)}",
        )

    async def employees(self, cause: Event, count: int) -> list[dict[str, Any]]:
        return await self.wait_outputs(cause, self.topics.employees, count)

    async def vendor_requests(self) -> list[dict[str, Any]]:
        """BambooHR API calls the sandbox logged (the control API is never logged)."""
        answer = await self.control.get("/_sandbox/requests")
        return [r for r in answer.json() if "/api/" in r["path"]]

    async def wait_for_call(self, path_end: str) -> dict[str, Any]:
        """The first logged API call whose path ends with ``path_end``, once it was answered."""

        async def found() -> dict[str, Any] | None:
            calls = await self.vendor_requests()
            return next((c for c in calls if c["path"].endswith(path_end)), None)

        return await wait_until(found, timeout_seconds=60, message=f"a call to {path_end}")

    async def clear_requests(self) -> None:
        await self.control.delete("/_sandbox/requests")

    async def act(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = await self.control.post(f"/_sandbox/actions/{action}", json=payload)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    async def employee_record(self, employee_id: str) -> dict[str, Any]:
        answer = await self.control.get("/_sandbox/state/employees")
        return next(e for e in answer.json() if str(e["id"]) == employee_id)


async def add_connection(
    *,
    store: StateStore,
    vault: Vault,
    control: httpx.AsyncClient,
    settings: BambooHRSettings,
    style: Literal["api_key", "oauth"],
    token_expires_at: datetime | None,
    access_token: str | None,
) -> str:
    creds = (await control.post("/_sandbox/credentials")).json()
    async with store.transaction() as repos:
        if style == "api_key":
            record = await repos.connections.create(
                vendor="bamboohr",
                tenant_id="default",
                display_name="Acme by key",
                settings={"credential_style": "api_key", "company_domain": "acme"},
            )
            token = vault.encrypt(creds["api_key"], connection_id=record.id, field="api_key")
            await repos.credentials.put(
                record.id, "api_key", token=token, key_id=vault.active_key_id
            )
            return record.id
        record = await repos.connections.create(
            vendor="bamboohr",
            tenant_id="default",
            display_name="Acme by OAuth",
            settings={"subdomain": "acme"},
        )
    tokens = await oauth_tokens(control, settings, "acme")
    tokens = TokenSet(
        access_token=access_token or tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=token_expires_at or tokens.expires_at,
        extra=tokens.extra,
    )
    async with store.transaction() as repos:
        await save_tokens(repos, vault, record.id, tokens)
    return record.id


@asynccontextmanager
async def source_rig(
    *,
    bootstrap: str,
    kafka_topic: TopicMaker,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    style: Literal["api_key", "oauth"] = "api_key",
    token_expires_at: datetime | None = None,
    access_token: str | None = None,
) -> AsyncIterator[Rig]:
    topics = SourceTopics(
        raw=await kafka_topic("raw.bamboohr"),
        employees=await kafka_topic("people.employee"),
        departments=await kafka_topic("people.department"),
    )
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    sandbox = BambooHRSandbox()
    try:
        async with (
            serve(build_app(sandbox)) as server,
            httpx.AsyncClient(base_url=server.base_url) as control,
        ):
            creds = (await control.post("/_sandbox/credentials")).json()
            settings = bamboohr_settings(server.base_url, creds)
            connection_id = await add_connection(
                store=store,
                vault=vault,
                control=control,
                settings=settings,
                style=style,
                token_expires_at=token_expires_at,
                access_token=access_token,
            )
            await control.delete("/_sandbox/requests")
            runtime = BambooHRServiceSettings(kafka_bootstrap_servers=bootstrap)
            broker = create_broker(runtime)
            access = BambooHRAccess(store=store, vault=vault, settings=settings)
            source = BambooHRSource(
                broker=broker,
                store=store,
                access=access,
                settings=settings,
                outcomes=Outcomes(BusPublisher(broker), service=runtime.service_name),
                service=runtime.service_name,
                topics=topics,
            )
            broker.include_router(
                build_router(
                    source,
                    group_id=unique_name("bamboohr"),
                    # As deployed: in batches of MLC_CONSUMER_BATCH, keys at once.
                    consuming=Consuming.of(runtime),
                    topics=topics,
                )
            )
            await broker.start()
            try:
                yield Rig(bootstrap, sandbox, control, store, vault, broker, topics, connection_id)
            finally:
                await broker.stop()
                await access.aclose()
    finally:
        await store.close()
