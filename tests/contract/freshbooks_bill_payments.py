"""The FreshBooks bill-payments sink bound to the sink contract: the sandbox in-process.

Flow ap-bill's way back: ``BillPaid`` events of a BILL connection, each a share of a
payment of one seeded FreshBooks bill (the origin the bill sink's cross-reference names).
FreshBooks consented as ingest does it (``freshbooks_in_process.connect_books``), over httpx's
ASGI transport: no socket, no Kafka.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp

from schemas.ap import BillPaid, BillRef
from schemas.snapshot import Snapshot
from services.freshbooks.access import AP_FLOW
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.sinks.bill_payments import BillPaymentsSink
from services.runtime.store import StateStore
from services.runtime.vault import Vault
from tests.contract.freshbooks_in_process import (
    freshbooks_previewer,
    freshbooks_sink_replica,
    in_process_books,
)
from tests.contract.sandbox_counts import SandboxCounts
from tests.contract.sink_contract import Deliver, Preview, RecordingPublisher

__all__ = ["FreshBooksBillPayments", "freshbooks_bill_payments"]

_BASE = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass
class FreshBooksBillPayments(SandboxCounts):
    not_writes = ("/oauth/", "/auth/")

    app: ASGIApp
    control: httpx.AsyncClient
    store: StateStore
    vault: Vault
    settings: FreshBooksSettings
    books_connection_id: str
    bill_connection_id: str
    bill_id: str  # a seeded FreshBooks bill with room for every test's payments
    published: RecordingPublisher = field(default_factory=RecordingPublisher)
    # A refused create goes back to the bus; a refused read is waited out in place.
    storm: Sequence[Mapping[str, Any]] = (
        {"path": "/bills/bills/", "method": "GET", "status": 429, "count": 2, "retry_after": 0},
        {"path": "/bill_payments/bill_payments$", "method": "POST", "status": 429, "count": 3},
    )

    def record(self, entity: str, *, version: int = 1, variant: int = 0) -> BillPaid:
        return BillPaid(
            connection_id=self.bill_connection_id,
            occurred_at=_BASE + timedelta(minutes=version),
            source_updated_at=_BASE + timedelta(minutes=version),
            payment_id=entity,
            allocation_id=f"blp-{entity}",
            bill=BillRef(
                bill_id=f"00n-{self.bill_id}",
                bill_number="WW-7781",
                vendor_name="WeWork",
                origin_connection_id=self.books_connection_id,
                origin_bill_id=self.bill_id,
            ),
            amount=Decimal("10.00") + variant,
            currency="USD",
            paid_on=date(2026, 11, 18),
            cleared_on=date(2026, 11, 20),
            method="ach",
        )

    @asynccontextmanager
    async def replica(self, *, crash_before_bookkeeping: bool = False) -> AsyncIterator[Deliver]:
        async with freshbooks_sink_replica(
            self,
            BillPaymentsSink,
            lease_seconds=self.settings.person_lease_seconds,
            crashing=crash_before_bookkeeping,
        ) as sink:

            async def deliver(snapshot: Snapshot) -> None:
                assert isinstance(snapshot, BillPaid)
                await sink.bill_paid(snapshot)

            yield deliver

    def previewer(self) -> AbstractAsyncContextManager[Preview]:
        return freshbooks_previewer(
            self, BillPaymentsSink, lease_seconds=self.settings.person_lease_seconds
        )

    async def created(self, entity: str) -> int:
        marker = f"[BILL payment {entity} / blp-{entity}]"
        return sum(
            1
            for p in await self.state("bill_payments")
            if marker in str(p.get("note") or "") and p.get("vis_state") == 0
        )


@asynccontextmanager
async def freshbooks_bill_payments(tmp_path: Path) -> AsyncIterator[FreshBooksBillPayments]:
    """A consented FreshBooks account in an in-process sandbox, the source of an ap-bill link."""
    async with in_process_books(tmp_path) as books:
        async with books.store.transaction() as repos:
            bill_pay = await repos.connections.create(
                vendor="bill", tenant_id="default", display_name="BILL"
            )
            await repos.links.create(
                source_connection_id=books.connection_id,
                target_connection_id=bill_pay.id,
                flow=AP_FLOW,
            )
        await books.control.delete("/_sandbox/requests")
        yield FreshBooksBillPayments(
            app=books.app,
            control=books.control,
            store=books.store,
            vault=books.vault,
            settings=books.settings,
            books_connection_id=books.connection_id,
            bill_connection_id=bill_pay.id,
            bill_id="202",  # WeWork: 4,000.00, 2,000.00 paid in the seed
        )
