"""Per-connection Zoho Books clients (store + vault + tokens -> client), and the links to them.

A connection lives in one data centre: its ``api_domain`` (stored at consent, from the token
answer) is where every API call goes, and its accounts server (in the token set) is where
its tokens are refreshed, so an EU organisation never calls a US host. The ``api_domain``
is checked against ``trusted_api_domains`` before any call: the access token goes there.
Calls share one budget per organisation (``requests_per_minute``, ``max_in_flight``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from functools import partial
from typing import Final

import httpx

from services.runtime.flow_links import flow_links
from services.runtime.http import build_client
from services.runtime.oauth_tokens import OAuthRefusedError, TokenKeeper
from services.runtime.ratelimit import RatePolicy
from services.runtime.retry import RetryPolicy
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.vault import Vault
from services.zoho.auth import ZohoOAuth
from services.zoho.client import ZohoBooksClient
from services.zoho.quota import DailyQuota
from services.zoho.settings import ZohoSettings

__all__ = ["FLOW", "VENDOR", "UntrustedApiDomainError", "ZohoAccess", "trusted_api_domain"]

FLOW: Final = "people-zoho"
VENDOR: Final = "zoho"

HttpFactory = Callable[[str, str], httpx.AsyncClient]
"""(base_url, connection_key) -> client; tests may swap the transport."""


class UntrustedApiDomainError(OAuthRefusedError):
    """A connection's api_domain is not a Zoho data centre's API host: nothing is sent."""


def trusted_api_domain(api_domain: str, trusted: tuple[str, ...]) -> bool:
    """Exactly one of ``trusted``, or under an entry ending in ``.`` or ``/`` (a sandbox's)."""
    domain = api_domain.rstrip("/")
    return any(
        domain == entry.rstrip("/") or (entry[-1:] in (".", "/") and domain.startswith(entry))
        for entry in trusted
    )


class ZohoAccess:
    """Clients per Zoho connection, and the people-zoho links into them."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        settings: ZohoSettings,
        quota: DailyQuota,
        http: HttpFactory | None = None,
        keeper: TokenKeeper | None = None,
        share_budgets: bool = True,
    ) -> None:
        """``share_budgets``: count each connection's request window in ``store`` across
        replicas (``MLC_SHARED_BUDGETS``); off, each process keeps its own."""
        self._store = store
        self._shared_in = store if share_budgets else None
        self._settings = settings
        self.quota = quota
        self._http = http or self.production_client
        self.keeper = keeper or TokenKeeper(
            store=store,
            vault=vault,
            refresher=ZohoOAuth(settings),
            # ZohoOAuth calls absolute URLs on the connection's own accounts server.
            http=lambda connection_id: self._http("", f"zoho-oauth:{connection_id}"),
        )
        self._clients: dict[str, ZohoBooksClient] = {}
        self._stack = AsyncExitStack()

    def production_client(self, base_url: str, connection_key: str) -> httpx.AsyncClient:
        """The client the factory builds by default: the organisation's budget, retries."""
        if connection_key.startswith("zoho-oauth:"):
            return build_client(vendor=VENDOR, base_url=base_url, connection_key=connection_key)
        rate = RatePolicy(
            requests=self._settings.requests_per_minute,
            per_seconds=60.0,
            max_in_flight=self._settings.max_in_flight,
        )
        # No 429 is retried in place: Zoho sends no Retry-After, a per-minute or concurrency
        # refusal (44, 1070) is prevented by the budget above and retried by the bus, and a
        # spent daily quota (45) is waited for by the sink, not hammered.
        retry = RetryPolicy(retry_statuses=frozenset({500, 502, 503, 504}))
        return build_client(
            vendor=VENDOR,
            base_url=base_url,
            connection_key=connection_key,
            rate=rate,
            retry=retry,
            shared_in=self._shared_in,
        )

    async def links_from(self, source_connection_id: str) -> list[LinkRecord]:
        """Enabled people-zoho links whose source is this (BambooHR) connection."""
        return await flow_links(self._store, source_connection_id, FLOW, end="source")

    async def links_into(self, target_connection_id: str) -> list[LinkRecord]:
        """Enabled people-zoho links whose target is this Zoho connection."""
        return await flow_links(self._store, target_connection_id, FLOW, end="target")

    async def client(self, connection_id: str) -> ZohoBooksClient:
        """The client of a Zoho connection; OAuthRefusedError if it is not one we can use."""
        known = self._clients.get(connection_id)
        if known is not None:
            return known
        async with self._store.reading() as repos:
            record = await repos.connections.get(connection_id)
        if record is None or record.vendor != VENDOR:
            msg = f"connection {connection_id} is not a Zoho Books connection"
            raise OAuthRefusedError(msg)
        organization_id = str(record.settings.get("organization_id") or "")
        api_domain = str(record.settings.get("api_domain") or "")
        if not api_domain:
            tokens = await self.keeper.access_token(connection_id)
            api_domain = tokens.extra.get("api_domain", "")
        if not organization_id or not api_domain:
            msg = f"Zoho connection {connection_id} names no organization or data centre: reconnect"
            raise OAuthRefusedError(msg)
        if not trusted_api_domain(api_domain, self._settings.trusted_api_domains):
            msg = (
                f"Zoho connection {connection_id} names api_domain {api_domain!r}, which is not "
                "a Zoho data centre (MLC_ZOHO_TRUSTED_API_DOMAINS): nothing is sent there"
            )
            raise UntrustedApiDomainError(msg)
        http = await self._stack.enter_async_context(self._http("", f"zoho-org:{organization_id}"))

        client = ZohoBooksClient(
            http=http,
            keeper=self.keeper,
            connection_id=connection_id,
            api_domain=api_domain,
            organization_id=organization_id,
            reporting_tags_path=self._settings.reporting_tags_path,
            reporting_tags_max_age=timedelta(seconds=self._settings.reporting_tags_max_age_seconds),
            per_page=self._settings.per_page,
            on_quota=partial(self.quota.observed, connection_id),
            clock=self.quota.clock,
        )
        self._clients[connection_id] = client
        return client

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._clients.clear()
