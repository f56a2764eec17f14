"""Per-connection FreshBooks clients (store + vault + tokens -> client), and the links around them.

The OAuth callback stored the identity read from users/me in the connection's settings
(``account_id`` for accounting paths, ``business_id`` for identity paths); a connection
made before that is read from users/me once here. Tokens come from one ``TokenKeeper``
per process, so refreshes are serialised per connection across replicas.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Final

import httpx

from services.freshbooks.auth import FreshBooksOAuth
from services.freshbooks.client import FreshBooksClient
from services.freshbooks.settings import FreshBooksSettings
from services.runtime.flow_links import flow_links
from services.runtime.http import build_client
from services.runtime.oauth_tokens import OAuthRefusedError, TokenKeeper
from services.runtime.ratelimit import RatePolicy
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.vault import Vault

__all__ = ["AP_FLOW", "EXPENSES_FLOW", "FLOW", "VENDOR", "FreshBooksAccess"]

FLOW: Final = "people-freshbooks"
AP_FLOW: Final = "ap-bill"
EXPENSES_FLOW: Final = "expenses"
"""Flow 4: this FreshBooks connection's bills and vendors go to BILL, payments come back."""
VENDOR: Final = "freshbooks"

HttpFactory = Callable[[str, str], httpx.AsyncClient]
"""(base_url, connection_key) -> client; tests may swap the transport."""


def _runtime_client(base_url: str, connection_key: str) -> httpx.AsyncClient:
    return build_client(vendor=VENDOR, base_url=base_url, connection_key=connection_key)


class FreshBooksAccess:
    """Clients per FreshBooks connection, and the people-freshbooks links around them."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        settings: FreshBooksSettings,
        http: HttpFactory | None = None,
        keeper: TokenKeeper | None = None,
        share_budgets: bool = True,
    ) -> None:
        """``share_budgets``: count each connection's request window in ``store`` across
        replicas (``MLC_SHARED_BUDGETS``); off, each process keeps its own."""
        self._store = store
        self._shared_in = store if share_budgets else None
        self._settings = settings
        self._http = http or self.production_client
        self.keeper = keeper or TokenKeeper(
            store=store,
            vault=vault,
            refresher=FreshBooksOAuth(settings),
            # FreshBooksOAuth calls absolute URLs on the token host.
            http=lambda connection_id: self._http("", f"freshbooks-oauth:{connection_id}"),
        )
        self._clients: dict[str, FreshBooksClient] = {}
        self._stack = AsyncExitStack()

    def production_client(self, base_url: str, connection_key: str) -> httpx.AsyncClient:
        """The client the factory builds by default: the connection's budget, retries."""
        rate = RatePolicy(requests=self._settings.requests_per_second, per_seconds=1.0)
        if connection_key.startswith("freshbooks-oauth:"):
            return _runtime_client(base_url, connection_key)
        return build_client(
            vendor=VENDOR,
            base_url=base_url,
            connection_key=connection_key,
            rate=rate,
            shared_in=self._shared_in,
        )

    async def links_from(self, source_connection_id: str) -> list[LinkRecord]:
        """Enabled people-freshbooks links whose source is this (BambooHR) connection."""
        return await flow_links(self._store, source_connection_id, FLOW, end="source")

    async def links_into(self, target_connection_id: str) -> list[LinkRecord]:
        """Enabled people-freshbooks links whose target is this FreshBooks connection."""
        return await flow_links(self._store, target_connection_id, FLOW, end="target")

    async def ap_links_from(self, source_connection_id: str) -> list[LinkRecord]:
        """Enabled ap-bill links whose source is this FreshBooks connection."""
        return await flow_links(self._store, source_connection_id, AP_FLOW, end="source")

    async def expense_links_from(self, expensify_connection_id: str) -> list[LinkRecord]:
        """Enabled expenses links whose source is this (Expensify) connection."""
        return await flow_links(self._store, expensify_connection_id, EXPENSES_FLOW, end="source")

    async def ap_links_to(self, bill_connection_id: str) -> list[LinkRecord]:
        """Enabled ap-bill links whose target (the BILL side) is this connection."""
        return await flow_links(self._store, bill_connection_id, AP_FLOW, end="target")

    async def client(self, connection_id: str) -> FreshBooksClient:
        """The client of a FreshBooks connection; OAuthRefusedError if it is not one we can use."""
        known = self._clients.get(connection_id)
        if known is not None:
            return known
        async with self._store.reading() as repos:
            record = await repos.connections.get(connection_id)
        if record is None or record.vendor != VENDOR:
            msg = f"connection {connection_id} is not a FreshBooks connection"
            raise OAuthRefusedError(msg)
        http = await self._stack.enter_async_context(
            self._http(self._settings.api_base_url, f"freshbooks:{connection_id}")
        )
        account_id = str(record.settings.get("account_id") or "")
        business_id = str(record.settings.get("business_id") or "")
        business_uuid = str(record.settings.get("business_uuid") or "")
        if not account_id or not business_id:
            tokens = await self.keeper.access_token(connection_id)
            identity = await FreshBooksOAuth(self._settings).read_identity(http, tokens, {})
            account_id, business_id = identity["account_id"], identity["business_id"]
            business_uuid = str(identity.get("business_uuid") or "")
        client = FreshBooksClient(
            http=http,
            keeper=self.keeper,
            connection_id=connection_id,
            account_id=account_id,
            business_id=business_id,
            business_uuid=business_uuid,
            per_page=self._settings.per_page,
            invitation_path=self._settings.invitation_path,
        )
        self._clients[connection_id] = client
        return client

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._clients.clear()
