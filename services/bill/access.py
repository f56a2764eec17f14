"""Per-connection BILL clients (store + vault -> shared session -> client), and the links.

A BILL connection is a developer key and a user's login into one organisation
(``connection.py``); the key and password are in the vault. Each connection gets one client
in this process, whose calls:

- share the connection's one session with every other process (``session.py``);
- hold one of ``MLC_BILL_MAX_IN_FLIGHT`` (3) slots per organisation across every replica
  (:mod:`services.runtime.shared_slots`): BILL refuses a fourth with ``BDC_1322``;
- keep under ``MLC_BILL_REQUESTS_PER_HOUR`` per connection, proactively (BILL's 20,000 an
  hour, ``BDC_1144``, would stop every call until the next hour);
- retry a ``BDC_1322`` whatever the method (BILL did nothing with it), and 429/5xx of
  idempotent calls, with backoff and jitter. A create is never retried after BILL may
  have done it: no retry makes a second bill or vendor.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Final
from uuid import uuid4

import httpx

from services.bill.client import BillClient
from services.bill.session import BillApiSession, error_code, login_body
from services.bill.settings import BillSettings
from services.runtime.flow_links import flow_links
from services.runtime.http import build_client, network_transport
from services.runtime.oauth_tokens import OAuthRefusedError
from services.runtime.ratelimit import RatePolicy
from services.runtime.retry import RetryPolicy
from services.runtime.shared_slots import SharedSlots, SlotTransport
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.vault import Vault

__all__ = ["FLOW", "VENDOR", "BillAccess", "HttpFactory"]

FLOW: Final = "ap-bill"
VENDOR: Final = "bill"
_SECRET_FIELDS: Final = ("dev_key", "password")

HttpFactory = Callable[[str, SharedSlots], httpx.AsyncClient]
"""(connection key, the organisation's slots) -> client; tests may swap the transport."""


class BillAccess:
    """Clients per BILL connection, and the ap-bill links into them."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        settings: BillSettings,
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
        self._holder = holder or f"bill-{uuid4().hex}"
        self._clients: dict[str, BillClient] = {}
        self._stack = AsyncExitStack()

    @property
    def settings(self) -> BillSettings:
        return self._settings

    def retry_policy(self) -> RetryPolicy:
        codes = frozenset(self._settings.retry_codes)
        return RetryPolicy(
            retry_statuses=frozenset({429, 502, 503, 504}),
            not_processed=lambda answer: error_code(answer)[0] in codes,
        )

    def production_client(self, connection_key: str, slots: SharedSlots) -> httpx.AsyncClient:
        """The network behind the organisation's slots, the hourly budget and the retries."""
        s = self._settings
        rate = RatePolicy(requests=s.requests_per_hour, per_seconds=3600.0)
        network = SlotTransport(network_transport(), slots)
        return build_client(
            vendor=VENDOR,
            base_url="",
            connection_key=connection_key,
            rate=rate,
            retry=self.retry_policy(),
            transport=network,
            shared_in=self._shared_in,
        )

    async def links_from(self, source_connection_id: str) -> list[LinkRecord]:
        """Enabled ap-bill links whose source is this (FreshBooks) connection."""
        return await flow_links(self._store, source_connection_id, FLOW, end="source")

    async def links_to(self, target_connection_id: str) -> list[LinkRecord]:
        """Enabled ap-bill links whose target is this BILL connection."""
        return await flow_links(self._store, target_connection_id, FLOW, end="target")

    async def client(self, connection_id: str) -> BillClient:
        """The client of a BILL connection; OAuthRefusedError if it is not one we can use."""
        known = self._clients.get(connection_id)
        if known is not None:
            return known
        async with self._store.reading() as repos:
            record = await repos.connections.get(connection_id)
            stored = {f: await repos.credentials.get(connection_id, f) for f in _SECRET_FIELDS}
        if record is None or record.vendor != VENDOR:
            msg = f"connection {connection_id} is not a BILL connection"
            raise OAuthRefusedError(msg)
        missing = [name for name, row in stored.items() if row is None]
        organization = str(record.settings.get("organization_id") or "")
        if missing or not organization:
            msg = f"BILL connection {connection_id} lacks {', '.join(missing) or 'organization_id'}"
            raise OAuthRefusedError(msg + ": re-add it")
        secrets = {
            name: self._vault.decrypt(row.token, connection_id=connection_id, field=name)
            for name, row in stored.items()
            if row is not None
        }
        slots = SharedSlots(
            self._store,
            f"bill-in-flight:{organization}",
            count=self._settings.max_in_flight,
            ttl=timedelta(seconds=self._settings.slot_seconds),
        )
        http = await self._stack.enter_async_context(self._http(f"bill:{connection_id}", slots))
        session = BillApiSession(
            http=http,
            settings=self._settings,
            connection_id=connection_id,
            dev_key=secrets["dev_key"],
            login=login_body(secrets, record.settings),
            store=self._store,
            vault=self._vault,
            holder=self._holder,
        )
        self._stack.push_async_callback(session.close)
        client = BillClient(session, api_base_url=self._settings.api_base_url)
        self._clients[connection_id] = client
        return client

    async def aclose(self) -> None:
        """Log every session out, then close the clients."""
        await self._stack.aclose()
        self._clients.clear()
