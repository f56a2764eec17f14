"""Opening a BambooHRClient for one connection: its company URL and how it authenticates.

A connection made by OAuth consent keeps ``subdomain`` in its settings and the token pair
in the vault (field ``oauth_tokens``, handed out by the TokenKeeper); a connection made
with an API key (``services/bamboohr/connection.py``) keeps ``credential_style: api_key``
and ``company_domain`` in its settings and the key in the vault (field ``api_key``).

Every webhook delivery opens a client, so what it needs is kept in the process: the HTTP
client of each connection's company for as long as the service runs (its connections to
BambooHR are reused, not one TLS handshake per delivery), and the connection's record for
``MLC_BAMBOOHR_CONNECTION_KEEP_SECONDS`` (a changed API key or company is seen that late).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import httpx

from services.bamboohr.auth import BambooHRAuth
from services.bamboohr.client import (
    ApiKeyAuthorization,
    Authorization,
    BambooHRClient,
    OAuthAuthorization,
)
from services.bamboohr.connection import CREDENTIALS
from services.bamboohr.settings import BambooHRSettings
from services.runtime.http import build_client
from services.runtime.kept_reads import KeptReads
from services.runtime.oauth_tokens import TokenKeeper
from services.runtime.ratelimit import RatePolicy
from services.runtime.retry import RetryPolicy
from services.runtime.store import StateStore
from services.runtime.store.records import ConnectionRecord
from services.runtime.vault import Vault

__all__ = ["BambooHRAccess", "UnknownConnectionError"]

VENDOR: Final = "bamboohr"
_API_KEY_FIELD: Final = "api_key"


class UnknownConnectionError(LookupError):
    """The event names a connection that is not (or no longer) a BambooHR connection."""


@dataclass(frozen=True, slots=True)
class _Credentials:
    company_url: str
    authorization: Authorization


class BambooHRAccess:
    """Builds a client per connection; HTTP policy (retries, Retry-After, limits) included."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        settings: BambooHRSettings,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._store = store
        self._vault = vault
        self._settings = settings
        self._auth = BambooHRAuth(settings)
        self._retry = retry or RetryPolicy(max_retry_after=settings.max_retry_after_seconds)
        # Bulk reads (clients opened with bulk=True) leave webhook reads their share.
        self._rate = RatePolicy(
            max_in_flight=settings.max_in_flight, reserved_share=settings.webhook_budget_share
        )
        self.keeper = TokenKeeper(
            store=store,
            vault=vault,
            refresher=self._auth,
            http=self._token_http,
            refresh_ahead=timedelta(seconds=settings.token_refresh_ahead_seconds),
        )
        self._records: KeptReads[ConnectionRecord | None] = KeptReads(
            keep_seconds=settings.connection_keep_seconds
        )
        self._companies: dict[tuple[str, str], httpx.AsyncClient] = {}

    def _token_http(self, connection_id: str) -> httpx.AsyncClient:
        return self._http(connection_id, base_url="")

    def _http(self, connection_id: str, *, base_url: str) -> httpx.AsyncClient:
        return build_client(
            vendor=VENDOR,
            base_url=base_url,
            connection_key=f"{VENDOR}:{connection_id}",
            retry=self._retry,
            rate=self._rate,
        )

    async def connection(self, connection_id: str) -> ConnectionRecord:
        """The connection's record, read again once it was kept its while."""

        async def read() -> ConnectionRecord | None:
            async with self._store.reading() as repos:
                return await repos.connections.get(connection_id)

        record = (await self._records.read(connection_id, read)).value
        if record is None or record.vendor != VENDOR:
            msg = f"{connection_id!r} is not a BambooHR connection"
            raise UnknownConnectionError(msg)
        return record

    async def _credentials(self, record: ConnectionRecord) -> _Credentials:
        if record.settings.get("credential_style") == CREDENTIALS.style:
            company_url = self._auth.company_url(
                {"subdomain": record.settings.get("company_domain", "")}
            )
            async with self._store.reading() as repos:
                stored = await repos.credentials.get(record.id, _API_KEY_FIELD)
            if stored is None:
                msg = f"connection {record.id} has no API key on file"
                raise UnknownConnectionError(msg)
            key = self._vault.decrypt(stored.token, connection_id=record.id, field=_API_KEY_FIELD)
            return _Credentials(company_url, ApiKeyAuthorization(key))
        company_url = self._auth.company_url({"subdomain": record.settings.get("subdomain", "")})
        return _Credentials(company_url, OAuthAuthorization(self.keeper, record.id))

    @asynccontextmanager
    async def client(
        self, record: ConnectionRecord, *, bulk: bool = False
    ) -> AsyncIterator[BambooHRClient]:
        """A client for ``record``'s company for the block, over the company's kept HTTP
        client (closed by :meth:`aclose`).

        ``bulk``: reads that can wait (everyone at once), kept out of the budget share
        reserved for webhook reads (``MLC_BAMBOOHR_WEBHOOK_BUDGET_SHARE``).
        """
        credentials = await self._credentials(record)
        company = (record.id, credentials.company_url)
        http = self._companies.get(company)
        if http is None:
            http = self._http(record.id, base_url=credentials.company_url)
            self._companies[company] = http
        yield BambooHRClient(http, credentials.company_url, credentials.authorization, bulk=bulk)

    async def aclose(self) -> None:
        """Close every kept HTTP client (the service is stopping)."""
        companies, self._companies = list(self._companies.values()), {}
        for http in companies:
            await http.aclose()
