"""Per-connection Expensify clients (store + vault -> limited HTTP -> client), and the links.

An Expensify connection is a partner credential pair and the policy whose reports it reads
(``connection.py``); the secret is in the vault. Each connection gets one client in this
process, whose jobs:

- keep every window of ``MLC_EXPENSIFY_RATE_WINDOWS`` (5 per 10 s and 20 per minute per
  credential) proactively, one stacked budget per window, so the vendor never has to say so;
- are sent again after a backoff when Expensify says it rate-limited them anyway (a refused
  job did nothing, whatever its method: the transport's ``not_processed``).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Final

import httpx

from services.expensify.client import ExpensifyClient, is_rate_limited
from services.expensify.settings import ExpensifySettings
from services.runtime.flow_links import flow_links
from services.runtime.http import budgeted, build_client, network_transport
from services.runtime.oauth_tokens import OAuthRefusedError
from services.runtime.ratelimit import (
    PROCESS_BUDGETS,
    BudgetRegistry,
    RatePolicy,
)
from services.runtime.retry import RetryPolicy
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.vault import Vault

__all__ = ["FLOW", "VENDOR", "ExpensifyAccess", "ExpensifyConnection"]

FLOW: Final = "expenses"
VENDOR: Final = "expensify"
_VAULT_FIELD: Final = "partner_user_secret"


@dataclass(frozen=True, slots=True)
class ExpensifyConnection:
    """A connection's client and the policy it reads."""

    client: ExpensifyClient
    policy_id: str


class ExpensifyAccess:
    """Clients per Expensify connection, and the expenses links from them."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        settings: ExpensifySettings,
        transport: httpx.AsyncBaseTransport | None = None,
        budgets: BudgetRegistry = PROCESS_BUDGETS,
        share_budgets: bool = True,
    ) -> None:
        """``budgets`` holds the rate windows per credential (a test may keep its own);
        ``share_budgets`` counts them in ``store`` across replicas too (``MLC_SHARED_BUDGETS``).
        """
        self._store = store
        self._shared_in = store if share_budgets else None
        self._vault = vault
        self._settings = settings
        self._transport = transport
        self._budgets = budgets
        self._connections: dict[str, ExpensifyConnection] = {}
        self._stack = AsyncExitStack()

    @property
    def settings(self) -> ExpensifySettings:
        return self._settings

    def production_client(self, partner_user_id: str) -> httpx.AsyncClient:
        """The network behind every rate window of the credential, and the retries."""
        windows = self._settings.rate_windows
        network: httpx.AsyncBaseTransport = self._transport or network_transport()
        key = f"expensify:{partner_user_id}"
        for jobs, seconds in windows[1:]:
            network = budgeted(
                network,
                f"{key}/{jobs}per{seconds:g}s",
                RatePolicy(requests=jobs, per_seconds=seconds),
                registry=self._budgets,
                shared_in=self._shared_in,
            )
        first = RatePolicy(requests=windows[0][0], per_seconds=windows[0][1]) if windows else None
        retry = RetryPolicy(
            max_attempts=5,
            base_backoff=2.0,
            max_backoff=30.0,
            not_processed=lambda answer: is_rate_limited(answer, self._settings),
        )
        return build_client(
            vendor=VENDOR,
            base_url="",
            connection_key=key,
            rate=first,
            retry=retry,
            transport=network,
            budgets=self._budgets,
            shared_in=self._shared_in,
        )

    async def links_from(self, source_connection_id: str) -> list[LinkRecord]:
        """Enabled expenses links whose source is this Expensify connection."""
        return await flow_links(self._store, source_connection_id, FLOW, end="source")

    async def connection(self, connection_id: str) -> ExpensifyConnection:
        """The client of an Expensify connection; OAuthRefusedError if we cannot use it."""
        known = self._connections.get(connection_id)
        if known is not None:
            return known
        async with self._store.transaction() as repos:
            record = await repos.connections.get(connection_id)
            stored = await repos.credentials.get(connection_id, _VAULT_FIELD)
        if record is None or record.vendor != VENDOR:
            msg = f"connection {connection_id} is not an Expensify connection"
            raise OAuthRefusedError(msg)
        user_id = str(record.settings.get("partner_user_id") or "")
        policy_id = str(record.settings.get("policy_id") or "")
        if stored is None or not user_id or not policy_id:
            msg = (
                f"Expensify connection {connection_id} lacks its partner credentials or "
                "policy_id: re-add it"
            )
            raise OAuthRefusedError(msg)
        secret = self._vault.decrypt(stored.token, connection_id=connection_id, field=_VAULT_FIELD)
        http = await self._stack.enter_async_context(self.production_client(user_id))
        client = ExpensifyClient(
            http, settings=self._settings, partner_user_id=user_id, partner_user_secret=secret
        )
        connection = ExpensifyConnection(client=client, policy_id=policy_id)
        self._connections[connection_id] = connection
        return connection

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._connections.clear()
