"""The bill-payments sink: each ``BillPaid`` recorded once against its FreshBooks bill.

Flow ap-bill's way back: BILL paid a bill that came from FreshBooks, and the books must
show it (partly paid, then paid). The event names its origin (``bill.origin_connection_id``
and ``origin_bill_id``: the bill sink's cross-reference); the link is the ap-bill link whose
target is the BILL connection that published it and whose source is that origin.

Exactly once in effect is the runtime's idempotent upsert (``services/runtime/upsert.py``),
per payment share (``payment_id`` + ``allocation_id``):

- Find: the cross-reference, then the original bill's payments whose note carries the
  share's marker (``mapping.payment_marker``): a crash between the create and its
  bookkeeping is found, not paid twice.
- Write: a cleared share is one bill payment for exactly its amount (``mapping``); a share
  voided after that soft-deletes its bill payment, so the balance is true again.
- A bill FreshBooks no longer has, or a payment FreshBooks refuses (more than the bill
  owes), waits for a person (``needs_review``).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import partial
from typing import Final

import orjson

from schemas.ap import BillPaid
from services.freshbooks.access import FreshBooksAccess
from services.freshbooks.client import (
    FreshBooksClient,
    FreshBooksIdError,
    FreshBooksRejectedError,
)
from services.freshbooks.mapping import bill_payment_body, payment_marker
from services.freshbooks.models import BillPayment
from services.freshbooks.settings import FreshBooksSettings
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import Repositories, StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.upsert import AnnounceCreate, IdempotentUpsert, Known, Written

__all__ = ["BILL_PAYMENT", "LEASE_PREFIX", "BillPaymentsSink"]

BILL_PAYMENT: Final = "bill_payment"  # cross-reference target kind: the FreshBooks payment id
LEASE_PREFIX: Final = "freshbooks-bill-payment"
_DELETED: Final = 1  # vis_state (section 6)


class BillPaymentsSink:
    """Records BILL's payments of FreshBooks bills in the FreshBooks books they came from."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: FreshBooksAccess,
        settings: FreshBooksSettings,
        outcomes: Outcomes,
        holder: str,
        upsert: IdempotentUpsert | None = None,
    ) -> None:
        """``upsert`` replaces the kit's default (the contract suite plays a crash there)."""
        self._access = access
        self._outcomes = outcomes
        self._upsert = upsert or IdempotentUpsert(
            store=store,
            holder=holder,
            lease_ttl=timedelta(seconds=settings.person_lease_seconds),
        )

    async def bill_paid(self, event: BillPaid) -> None:
        """One write per ap-bill link from the bill's origin, each published as an outcome."""
        for link in await self._access.ap_links_to(event.connection_id):
            if not self.accepts(event, link):
                continue  # the bill came from another books connection
            await self._outcomes.attempt(
                event,
                link,
                event.entity_key,
                partial(self.apply, event, link),
                written=link.source_connection_id,
            )

    def accepts(self, event: BillPaid, link: LinkRecord) -> bool:
        """A payment from the link's BILL connection of a bill from the link's books."""
        return (
            event.connection_id == link.target_connection_id
            and link.source_connection_id == event.bill.origin_connection_id
        )

    async def apply(self, event: BillPaid, link: LinkRecord) -> WriteResult:
        """Record ``event`` in ``link``'s FreshBooks books; the outcome is the caller's."""
        return await self._attempt(event, link, preview=False)

    async def preview(self, event: BillPaid, link: LinkRecord) -> WriteResult:
        """What :meth:`apply` would do now, reading only."""
        return await self._attempt(event, link, preview=True)

    async def _attempt(self, event: BillPaid, link: LinkRecord, *, preview: bool) -> WriteResult:
        if not event.bill.origin_bill_id:
            detail = f"BILL bill {event.bill.bill_id} names no FreshBooks bill it came from"
            return WriteResult("needs_review", "find_bill", detail=detail, action="review")
        client = await self._access.client(link.source_connection_id)
        payment = _Payment(event, client)
        if preview:
            return await self._upsert.preview(link, event, payment)
        try:
            return await self._upsert.apply(link, event, payment)
        except (FreshBooksRejectedError, FreshBooksIdError) as error:
            return WriteResult("needs_review", "write_bill_payment", detail=str(error))


class _Payment:
    """One attempt at one payment share: the FreshBooks half of the upsert."""

    lease_prefix = LEASE_PREFIX
    reference_kinds = (BILL_PAYMENT,)

    def __init__(self, event: BillPaid, client: FreshBooksClient) -> None:
        self._event = event
        self._client = client
        self._current: BillPayment | None = None
        self._bill_missing = False
        self._adopted = False  # found by its note's marker, not by our cross-reference

    @property
    def fingerprint(self) -> str:
        said = {"amount": str(self._event.amount), "voided": self._event.voided}
        return hashlib.sha256(orjson.dumps(said, option=orjson.OPT_SORT_KEYS)).hexdigest()

    async def find(self, known: Known) -> None:
        ref = known.references.get(BILL_PAYMENT)
        current = await self._client.bill_payment(ref.target_id) if ref else None
        if current is None:
            bill = await self._client.bill(str(self._event.bill.origin_bill_id))
            self._bill_missing = bill is None
            marker = payment_marker(self._event)
            current = next(
                (p for p in (bill.bill_payments if bill else []) if marker in (p.note or "")),
                None,
            )
            self._adopted = current is not None
        self._current = current

    def _decide(self) -> Written:
        """What the write does: its operation (none or one), or why a person must look."""
        decided = Written(unchanged_detail="FreshBooks already records it")
        event, current = self._event, self._current
        if event.voided:
            if current is None or current.vis_state == _DELETED:
                decided.unchanged_detail = "no FreshBooks bill payment to take back"
            else:
                decided.operations.append("delete_bill_payment")
                decided.action = "deactivate"
        elif current is not None:
            if self._adopted:  # recorded before, its bookkeeping lost (a crash): found
                decided.operations.append("adopt_bill_payment")
        elif self._bill_missing:
            decided.review = (
                f"FreshBooks has no bill {event.bill.origin_bill_id} any more: BILL's "
                f"payment {event.payment_id} of {event.amount} {event.currency} is not "
                "recorded; a person decides"
            )
        else:
            decided.operations.append("create_bill_payment")
        if current is not None:
            decided.target_ids[BILL_PAYMENT] = str(current.id)
        return decided

    async def plan(self) -> Written:
        return self._decide()

    async def write(self, announce_create: AnnounceCreate) -> Written:
        written = self._decide()
        current = self._current
        if "delete_bill_payment" in written.operations and current is not None:
            current = await self._client.delete_bill_payment(current.id)
        elif "create_bill_payment" in written.operations:
            await announce_create()
            body = bill_payment_body(self._event, int(str(self._event.bill.origin_bill_id)))
            current = await self._client.create_bill_payment(body)
        if current is not None:
            written.target_ids[BILL_PAYMENT] = str(current.id)
        return written

    async def record(self, repos: Repositories, written: Written) -> None:
        return None
