"""What the FreshBooks sinks' contract bindings share: the sandbox in-process, an account
consented as ingest does it, and one replica of a sink.

The three FreshBooks sinks (people, bill payments, expense reports) take the same parts:
the store, a :class:`FreshBooksAccess` whose HTTP goes to the sandbox's ASGI app, the
settings, the outcomes (caught by the binding's recorder), a lease holder of its own and
the replica's upsert (which may play the crash). This builds them once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
from pydantic import SecretStr
from starlette.types import ASGIApp

from sandboxes.freshbooks.app import FreshBooksSandbox
from sandboxes.kit import build_app
from services.freshbooks.access import FreshBooksAccess
from services.freshbooks.auth import FreshBooksOAuth
from services.freshbooks.settings import FreshBooksSettings
from services.runtime.http import build_client
from services.runtime.oauth_tokens import save_tokens
from services.runtime.outcomes import Outcomes
from services.runtime.store import StateStore
from services.runtime.upsert import IdempotentUpsert
from services.runtime.vault import Vault, generate_key_ring_entry
from tests.contract.sink_contract import (
    Preview,
    PreviewingSink,
    RecordingPublisher,
    link_previewer,
    replica_upsert,
)

__all__ = [
    "ORIGIN",
    "FreshBooksBinding",
    "InProcessBooks",
    "connect_books",
    "freshbooks_previewer",
    "freshbooks_sink_replica",
    "in_process_books",
]

ORIGIN = "http://freshbooks.sandbox.test"

S_co = TypeVar("S_co", covariant=True)


class FreshBooksBinding(Protocol):
    @property
    def app(self) -> ASGIApp: ...

    @property
    def store(self) -> StateStore: ...

    @property
    def vault(self) -> Vault: ...

    @property
    def settings(self) -> FreshBooksSettings: ...

    @property
    def published(self) -> RecordingPublisher: ...


class SinkClass(Protocol[S_co]):
    def __call__(
        self,
        *,
        store: StateStore,
        access: FreshBooksAccess,
        settings: FreshBooksSettings,
        outcomes: Outcomes,
        holder: str,
        upsert: IdempotentUpsert | None = None,
    ) -> S_co: ...


@asynccontextmanager
async def freshbooks_sink_replica(
    binding: FreshBooksBinding,
    sink_class: SinkClass[S_co],
    *,
    lease_seconds: float,
    crashing: bool,
) -> AsyncIterator[S_co]:
    """A new sink of ``sink_class`` (its own clients and lease holder) on the binding's store."""
    access = FreshBooksAccess(
        store=binding.store,
        vault=binding.vault,
        settings=binding.settings,
        http=lambda base_url, key: build_client(
            vendor="test",
            base_url=base_url,
            connection_key=key,
            transport=httpx.ASGITransport(binding.app),
        ),
    )
    holder = f"replica-{uuid4().hex}"
    sink = sink_class(
        store=binding.store,
        access=access,
        settings=binding.settings,
        outcomes=Outcomes(binding.published, service="freshbooks"),
        holder=holder,
        upsert=replica_upsert(
            binding.store, holder, lease_seconds=lease_seconds, crashing=crashing
        ),
    )
    try:
        yield sink
    finally:
        await access.aclose()


def freshbooks_previewer(
    binding: FreshBooksBinding, sink_class: SinkClass[PreviewingSink], *, lease_seconds: float
) -> AbstractAsyncContextManager[Preview]:
    """A new replica's ``preview`` for the binding's one link."""
    replica = freshbooks_sink_replica(
        binding, sink_class, lease_seconds=lease_seconds, crashing=False
    )
    return link_previewer(replica, binding.store)


async def connect_books(
    control: httpx.AsyncClient, store: StateStore, vault: Vault
) -> tuple[FreshBooksSettings, str]:
    """A FreshBooks connection consented as ingest does it (in-process); settings and id."""
    creds = (await control.post("/_sandbox/credentials")).raise_for_status().json()
    settings = FreshBooksSettings(
        auth_base_url=ORIGIN,
        api_base_url=ORIGIN,
        client_id=creds["client_id"],
        client_secret=SecretStr(creds["client_secret"]),
        redirect_uri=creds["redirect_uri"],
    )
    auth = FreshBooksOAuth(settings)
    consent = await control.get(auth.authorize_url("contract", {}))
    code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    tokens = await auth.exchange_code(control, code, {})
    identity = await auth.read_identity(control, tokens, {})
    async with store.transaction() as repos:
        books = await repos.connections.create(
            vendor="freshbooks", tenant_id="default", display_name="Books", settings=identity
        )
        await save_tokens(repos, vault, books.id, tokens)
    return settings, books.id


@dataclass(frozen=True, slots=True)
class InProcessBooks:
    """A consented FreshBooks account in an in-process sandbox, and the store it is in."""

    app: ASGIApp
    control: httpx.AsyncClient
    store: StateStore
    vault: Vault
    settings: FreshBooksSettings
    connection_id: str


@asynccontextmanager
async def in_process_books(tmp_path: Path) -> AsyncIterator[InProcessBooks]:
    """The sandbox's app, a SQLite store and the FreshBooks connection, for the block."""
    sandbox = FreshBooksSandbox()
    app = build_app(sandbox)
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url=ORIGIN
        ) as control:
            settings, books = await connect_books(control, store, vault)
            yield InProcessBooks(app, control, store, vault, settings, books)
    finally:
        await store.close()
        await sandbox.aclose()
