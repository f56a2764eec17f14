"""The BILL bills sink bound to the sink contract: the sandbox in-process.

The BILL connection is stored the way the control plane stores a key connection (the
developer key and password encrypted in the vault); the bills' vendor is already BILL's
(its cross-reference stored, as the vendors sink leaves it); every call holds one of the
organisation's in-flight slots, over httpx's ASGI transport: no socket, no Kafka.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from starlette.types import ASGIApp

from sandboxes.bill.app import BillSandbox
from sandboxes.kit import build_app
from schemas.ap import BillChanged, BillLine, VendorRef
from schemas.snapshot import Snapshot
from schemas.values import AccountRef
from services.bill.access import FLOW, BillAccess
from services.bill.settings import BillSettings
from services.bill.sinks.bills import BillsSink
from services.bill.sinks.vendors import VENDOR
from services.runtime.http import build_client
from services.runtime.outcomes import Outcomes
from services.runtime.retry import RetryPolicy
from services.runtime.shared_slots import SharedSlots, SlotTransport
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from tests.contract.sandbox_counts import SandboxCounts
from tests.contract.sink_contract import (
    Deliver,
    Preview,
    RecordingPublisher,
    link_previewer,
    replica_upsert,
)
from tests.integration.bill.bill_world import store_bill_connection

__all__ = ["BillBills", "bill_bills"]

ORIGIN = "http://bill.sandbox.test"
_BASE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_VENDOR = "v-adobe"


def _number(entity: str) -> str:
    return f"INV-{entity}"


@dataclass
class BillBills(SandboxCounts):
    not_writes = ("/v3/login", "/v3/logout")

    app: ASGIApp
    control: httpx.AsyncClient
    store: StateStore
    vault: Vault
    settings: BillSettings
    source_connection_id: str
    published: RecordingPublisher = field(default_factory=RecordingPublisher)
    # Reads refused are retried in place (idempotent); a refused create goes back to the bus.
    storm: Sequence[Mapping[str, Any]] = (
        {"path": "/v3/bills$", "method": "GET", "status": 429, "count": 2},
        {"path": "/v3/bills$", "method": "POST", "status": 429, "count": 3},
    )

    def record(self, entity: str, *, version: int = 1, variant: int = 0) -> BillChanged:
        amount = Decimal("100.00") + variant
        return BillChanged(
            connection_id=self.source_connection_id,
            occurred_at=_BASE + timedelta(minutes=version),
            source_updated_at=_BASE + timedelta(minutes=version),
            bill_id=entity,
            bill_number=_number(entity),
            vendor=VendorRef(vendor_id=_VENDOR, name="Adobe Inc."),
            issue_date=date(2026, 11, 1),
            currency="USD",
            subtotal=amount,
            total=amount,
            status="open",
            lines=(
                BillLine(amount=amount, account=AccountRef(account_id="5031", name="Software")),
            ),
        )

    @asynccontextmanager
    async def replica(self, *, crash_before_bookkeeping: bool = False) -> AsyncIterator[Deliver]:
        async with self._sink(crashing=crash_before_bookkeeping) as sink:

            async def deliver(snapshot: Snapshot) -> None:
                assert isinstance(snapshot, BillChanged)
                await sink.bill_changed(snapshot)

            yield deliver

    def previewer(self) -> AbstractAsyncContextManager[Preview]:
        return link_previewer(self._sink(crashing=False), self.store)

    @asynccontextmanager
    async def _sink(self, *, crashing: bool) -> AsyncIterator[BillsSink]:
        """A new replica of the sink: its own clients, chart and lease holder."""
        holder = f"replica-{uuid4().hex}"
        retry = RetryPolicy(
            base_backoff=0.01, max_backoff=0.05, retry_statuses=frozenset({429, 502, 503, 504})
        )

        def http(key: str, slots: SharedSlots) -> httpx.AsyncClient:
            transport = SlotTransport(httpx.ASGITransport(self.app), slots)
            return build_client(
                vendor="test",
                base_url="",
                connection_key=f"{key}:{holder}",
                retry=retry,
                transport=transport,
            )

        access = BillAccess(
            store=self.store, vault=self.vault, settings=self.settings, http=http, holder=holder
        )
        lease = timedelta(seconds=self.settings.record_lease_seconds)
        sink = BillsSink(
            store=self.store,
            access=access,
            outcomes=Outcomes(self.published, service="bill"),
            holder=holder,
            lease_ttl=lease,
            upsert=replica_upsert(
                self.store,
                holder,
                lease_seconds=self.settings.record_lease_seconds,
                crashing=crashing,
            ),
        )
        try:
            yield sink
        finally:
            await access.aclose()

    async def created(self, entity: str) -> int:
        return sum(
            1
            for b in await self.state("bills")
            if b["invoice"]["invoiceNumber"] == _number(entity) and not b.get("archived")
        )


@asynccontextmanager
async def bill_bills(tmp_path: Path) -> AsyncIterator[BillBills]:
    """A BILL organisation in an in-process sandbox, linked from a books connection."""
    app = build_app(BillSandbox())
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url=ORIGIN
        ) as control:
            creds = (await control.post("/_sandbox/credentials")).raise_for_status().json()
            target = await store_bill_connection(store, vault, creds)
            vendors = (await control.get("/_sandbox/state/vendors")).raise_for_status().json()
            adobe = next(v["id"] for v in vendors if v["name"] == "Adobe Inc.")
            async with store.transaction() as repos:
                source = await repos.connections.create(
                    vendor="freshbooks", tenant_id="default", display_name="Books"
                )
                link = await repos.links.create(
                    source_connection_id=source.id,
                    target_connection_id=target,
                    flow=FLOW,
                    options={"account_map": {"5031": "6100"}},
                )
                await repos.cross_references.put(
                    link.id, _VENDOR, VENDOR, target_id=adobe, expected_revision=None,
                    fingerprint=None, source_version="1.0", source_updated_at=_BASE,
                )  # fmt: skip
            await control.delete("/_sandbox/requests")
            yield BillBills(
                app=app,
                control=control,
                store=store,
                vault=vault,
                settings=BillSettings(
                    api_base_url=f"{ORIGIN}/connect", events_base_url=f"{ORIGIN}/connect-events"
                ),
                source_connection_id=source.id,
            )
    finally:
        await store.close()
