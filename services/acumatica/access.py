"""Per-connection Acumatica clients (store + vault -> session -> client), and the links to them.

A connection is an instance URL, a tenant and branch, and the pinned endpoint versions,
and either a user whose password is in the vault (``connection.py``) or OAuth tokens from a
consent (``auth.py``). A password connection gets one long-lived
:class:`~services.acumatica.session.AcumaticaSession` (one API-user seat, shared with the
connection's other processes) that every caller of this process shares;
:meth:`AcumaticaAccess.aclose` signs every one out at shutdown. An OAuth connection gets a
:class:`~services.acumatica.oauth_session.BearerSession` over the runtime's token keeper.
Calls share one budget per connection (``requests_per_minute``,
``max_in_flight``); a 429 (the licence's limit) is retried with backoff and jitter.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Final
from uuid import uuid4

import httpx

from services.acumatica.auth import AcumaticaOAuth
from services.acumatica.client import AcumaticaClient, Endpoint
from services.acumatica.oauth_session import BearerSession
from services.acumatica.session import AcumaticaSession, ApiSession
from services.acumatica.settings import AcumaticaSettings
from services.runtime.flow_links import flow_links
from services.runtime.http import build_client
from services.runtime.oauth_tokens import TOKENS_FIELD, OAuthRefusedError, TokenKeeper
from services.runtime.ratelimit import RatePolicy
from services.runtime.retry import RetryPolicy
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.vault import Vault

__all__ = ["FLOW", "PASSWORD_FIELD", "VENDOR", "AcumaticaAccess"]

FLOW: Final = "people-acumatica"
VENDOR: Final = "acumatica"
PASSWORD_FIELD: Final = "password"  # noqa: S105 - the credential field's name, not a password

HttpFactory = Callable[[str], httpx.AsyncClient]
"""(connection key) -> client; tests may swap the transport."""


class AcumaticaAccess:
    """Clients per Acumatica connection, and the people-acumatica links into them."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        settings: AcumaticaSettings,
        http: HttpFactory | None = None,
        holder: str | None = None,
        share_budgets: bool = True,
    ) -> None:
        """``share_budgets``: count each connection's request window in ``store`` across
        replicas (``MLC_SHARED_BUDGETS``); off, each process keeps its own."""
        self._store = store
        self._shared_in = store if share_budgets else None
        self._vault = vault
        self._settings = settings
        self._http = http or self.production_client
        self._holder = holder or f"acumatica-{uuid4().hex}"
        self._clients: dict[str, AcumaticaClient] = {}
        self._stack = AsyncExitStack()
        self._keeper = TokenKeeper(
            store=store,
            vault=vault,
            refresher=AcumaticaOAuth(settings),
            # The token endpoint is on the instance; its calls are outside the API budget.
            http=lambda connection_id: self._http(f"acumatica-oauth:{connection_id}"),
        )

    def production_client(self, connection_key: str) -> httpx.AsyncClient:
        """The default client: the connection's budget, 429s retried with backoff and jitter."""
        rate = RatePolicy(
            requests=self._settings.requests_per_minute,
            per_seconds=60.0,
            max_in_flight=self._settings.max_in_flight,
        )
        # Not 500: Acumatica answers business refusals (and not-found) with 500 (sheet §9).
        retry = RetryPolicy(retry_statuses=frozenset({429, 502, 503, 504}))
        return build_client(
            vendor=VENDOR,
            base_url="",
            connection_key=connection_key,
            rate=rate,
            retry=retry,
            shared_in=self._shared_in,
        )

    async def links_from(self, source_connection_id: str) -> list[LinkRecord]:
        """Enabled people-acumatica links whose source is this (BambooHR) connection."""
        return await flow_links(self._store, source_connection_id, FLOW, end="source")

    async def client(self, connection_id: str) -> AcumaticaClient:
        """The client of an Acumatica connection; OAuthRefusedError if it is not one we can use."""
        known = self._clients.get(connection_id)
        if known is not None:
            return known
        async with self._store.reading() as repos:
            record = await repos.connections.get(connection_id)
            stored = await repos.credentials.get(connection_id, PASSWORD_FIELD)
            consented = await repos.credentials.get(connection_id, TOKENS_FIELD)
        if record is None or record.vendor != VENDOR:
            msg = f"connection {connection_id} is not an Acumatica connection"
            raise OAuthRefusedError(msg)
        settings = record.settings
        base_url = str(settings.get("base_url") or "").rstrip("/")
        if not base_url or (stored is None and consented is None):
            msg = (
                f"Acumatica connection {connection_id} has no instance URL, password or OAuth "
                "tokens: re-add it"
            )
            raise OAuthRefusedError(msg)
        version = str(settings.get("version") or "")
        http = await self._stack.enter_async_context(self._http(f"acumatica:{connection_id}"))
        session: ApiSession
        if stored is None:
            session = BearerSession(
                http=http, base_url=base_url, connection_id=connection_id, keeper=self._keeper
            )
        else:
            password = self._vault.decrypt(
                stored.token, connection_id=connection_id, field=PASSWORD_FIELD
            )
            login = {
                "name": str(settings.get("username") or ""),
                "password": password,
                "tenant": str(settings.get("tenant") or ""),
            }
            if settings.get("branch"):
                login["branch"] = str(settings["branch"])
            session = await self._stack.enter_async_context(
                AcumaticaSession(
                    http=http,
                    base_url=base_url,
                    login=login,
                    connection_id=connection_id,
                    store=self._store,
                    vault=self._vault,
                    holder=self._holder,
                    lease_ttl=timedelta(seconds=30),
                )
            )
        client = AcumaticaClient(
            session,
            endpoint=Endpoint(str(settings.get("endpoint") or "Default"), version),
            department_endpoint=Endpoint(
                str(settings.get("department_endpoint") or self._settings.department_endpoint),
                str(settings.get("department_endpoint_version") or version),
            ),
        )
        self._clients[connection_id] = client
        return client

    async def aclose(self) -> None:
        """Sign every session out, then close the clients."""
        await self._stack.aclose()
        self._clients.clear()
