"""The bills sink: one ``BillChanged`` made true in one BILL organisation, once.

Exactly once in effect is the runtime's idempotent upsert (``services/runtime/upsert.py``).
What is BILL's is here and in ``mapping.py``:

- **Vendor first.** The bill's vendor is the vendor sink's cross-reference. A bill whose
  vendor is not in BILL yet waits for it: it is parked (mapping kind
  :data:`WAITING_PREFIX` + the vendor's id) with a ``waiting`` outcome, and written as soon
  as the vendor sink has written that vendor (:meth:`BillsSink.vendor_arrived`; a vendor
  recorded while the bill was being parked is found by a second look). No failure, no
  retry storm.
- **Find**: the cross-reference, then BILL's bills of that vendor whose invoice number is
  the bill number (trimmed, any case), archived ones left out. A match that is already
  another source bill's is a duplicate (the same bill entered twice): ``needs_review``.
- **GL accounts**: every line's account is resolved (``mapping.AccountChoice``); one that
  is not makes the bill ``needs_review`` with a note, and an item in the review queue.
  Nothing is written in part.
- **Write**: a new bill is created (``POST``), unless the source says it is paid already
  (nothing to pay: not sent) or partly paid outside BILL (``needs_review``: BILL would ask
  for the whole amount again); an existing one that differs is replaced
  (``PUT``: its lines become the source's) unless BILL has paid or scheduled any of it
  (``needs_review``: a person decides). A voided or deleted source bill archives BILL's,
  unless BILL paid some of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any, Final

import orjson

from schemas import decode_event
from schemas.ap import BillChanged
from services.bill.access import BillAccess
from services.bill.client import BillClient, BillRejectedError
from services.bill.mapping import (
    AccountChoice,
    MappingError,
    bill_body,
    bill_number_of,
    name_key,
    unmapped_note,
)
from services.bill.sinks.vendors import VENDOR
from services.runtime.kept_reads import KeptReads
from services.runtime.logging import get_logger
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import Repositories, StateStore
from services.runtime.store.records import CrossReference, LinkRecord
from services.runtime.upsert import AnnounceCreate, IdempotentUpsert, Known, Written

__all__ = ["BILL", "LEASE_PREFIX", "REVIEW_REASON", "WAITING_PREFIX", "BillsSink"]

BILL: Final = "bill"  # cross-reference target kind: the BILL bill id
LEASE_PREFIX: Final = "bill-bill"
WAITING_PREFIX: Final = "bill.waiting_for_vendor:"
"""Mapping kind prefix (+ source vendor id): bill entity key -> the parked event's JSON."""
REVIEW_REASON: Final = "bill_needs_review"
SERVICE: Final = "bill"

_log = get_logger(__name__)


class BillsSink:
    """Applies bill snapshots to every BILL organisation linked from their source."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: BillAccess,
        outcomes: Outcomes,
        holder: str,
        lease_ttl: timedelta,
        upsert: IdempotentUpsert | None = None,
    ) -> None:
        """``upsert`` replaces the kit's default (the contract suite plays a crash there)."""
        self._store = store
        self._access = access
        self._outcomes = outcomes
        self._upsert = upsert or IdempotentUpsert(store=store, holder=holder, lease_ttl=lease_ttl)
        # BILL's chart of accounts per connection (MLC_BILL_CHART_SECONDS).
        self._charts: KeptReads[list[dict[str, Any]]] = KeptReads(
            keep_seconds=access.settings.chart_seconds
        )

    async def bill_changed(self, event: BillChanged) -> None:
        """One write per linked organisation, each published as an outcome."""
        for link in await self._access.links_from(event.connection_id):
            if self.accepts(event, link):
                await self._attempt(event, link)

    async def _attempt(self, event: BillChanged, link: LinkRecord) -> None:
        await self._outcomes.attempt(
            event, link, event.entity_key, partial(self.apply, event, link)
        )

    def accepts(self, event: BillChanged, link: LinkRecord) -> bool:
        """Every bill of the link's books (``links_from`` chose the links)."""
        return event.connection_id == link.source_connection_id

    async def vendor_arrived(self, link: LinkRecord, vendor_id: str) -> None:
        """The vendor sink wrote ``vendor_id``: write the bills that waited for it."""
        kind = WAITING_PREFIX + vendor_id
        async with self._store.transaction() as repos:
            parked = await repos.mappings.list(link.id, kind=kind)
        for row in parked:
            event = decode_event(row.target_value)
            if isinstance(event, BillChanged):
                await self._attempt(event, link)
            async with self._store.transaction() as repos:
                await repos.mappings.delete(link.id, kind, row.source_value)

    async def apply(self, event: BillChanged, link: LinkRecord) -> WriteResult:
        """Make ``event`` true in ``link``'s organisation, or queue it for a person; the
        outcome is the caller's."""
        result = await self._write(event, link, preview=False)
        if result.status == "needs_review":
            await self._queue_for_review(event, link, result.detail)
        return result

    async def preview(self, event: BillChanged, link: LinkRecord) -> WriteResult:
        """What :meth:`apply` would do now, reading only (nothing parked or queued)."""
        result = await self._write(event, link, preview=True)
        return replace(result, action="review") if result.status == "needs_review" else result

    async def _write(self, event: BillChanged, link: LinkRecord, *, preview: bool) -> WriteResult:
        if preview:
            async with self._store.transaction() as repos:
                vendor = await repos.cross_references.get(link.id, event.vendor.vendor_id, VENDOR)
        else:
            vendor = await self._vendor_or_park(event, link)
        if vendor is None:
            detail = f"waiting for vendor {event.vendor.name!r} to reach BILL; written after it"
            return WriteResult("waiting", "wait_for_vendor", detail=detail)
        client = await self._access.client(link.target_connection_id)
        try:
            accounts = await self._accounts(event, link, client)
        except MappingError as error:
            return WriteResult("needs_review", "map_accounts", detail=str(error))
        target = _Bill(
            event=event,
            link=link,
            client=client,
            store=self._store,
            vendor_id=vendor.target_id,
            accounts=accounts,
        )
        if preview:
            return await self._upsert.preview(link, event, target)
        try:
            return await self._upsert.apply(link, event, target)
        except BillRejectedError as error:
            # Perhaps against an account archived since the chart was read.
            self._charts.forget(link.target_connection_id)
            return WriteResult("needs_review", "write_bill", detail=str(error))

    async def _accounts(
        self, event: BillChanged, link: LinkRecord, client: BillClient
    ) -> AccountChoice:
        """The accounts of the chart as last read, or read again when they miss a line."""
        chart = await self._charts.read(link.target_connection_id, client.chart_of_accounts)
        accounts = AccountChoice.of(chart.value, link.options)
        if chart.kept:
            _, missing, tax_unmapped = bill_body(event, "", accounts)
            if missing or tax_unmapped:
                chart = await self._charts.read(
                    link.target_connection_id, client.chart_of_accounts, fresh=True
                )
                accounts = AccountChoice.of(chart.value, link.options)
        return accounts

    async def _vendor_or_park(self, event: BillChanged, link: LinkRecord) -> CrossReference | None:
        """The vendor's cross-reference; else the bill parked until the vendor arrives.

        Parked, then looked at once more: a vendor recorded while we parked may have looked
        for parked bills before ours was there. Then it is taken out again and written now.
        """
        kind, vendor_id = WAITING_PREFIX + event.vendor.vendor_id, event.vendor.vendor_id
        async with self._store.transaction() as repos:
            vendor = await repos.cross_references.get(link.id, vendor_id, VENDOR)
            if vendor is None:
                await repos.mappings.put(link.id, kind, event.entity_key, event.model_dump_json())
        if vendor is not None:
            return vendor
        async with self._store.transaction() as repos:
            vendor = await repos.cross_references.get(link.id, vendor_id, VENDOR)
            if vendor is not None:
                await repos.mappings.delete(link.id, kind, event.entity_key)
        return vendor

    async def _queue_for_review(self, event: BillChanged, link: LinkRecord, note: str) -> None:
        """One review item per (link, bill): a person reads the note, fixes, re-drives.

        Still open: it takes the newest note and event. Re-driven and failing again: it
        opens again with the new note (``ReviewQueue.raise_item``).
        """
        async with self._store.transaction() as repos:
            item = await repos.review_queue.raise_item(
                service=SERVICE,
                reason=REVIEW_REASON,
                link_id=link.id,
                entity_key=event.entity_key,
                note=note,
                event=orjson.loads(event.model_dump_json()),
            )
        _log.info("bill.review_queued", link=link.id, bill=event.entity_key, item=item.id)


class _Bill:
    """One attempt at one bill: the BILL half of the upsert."""

    lease_prefix = LEASE_PREFIX
    reference_kinds = (BILL,)

    def __init__(
        self,
        *,
        event: BillChanged,
        link: LinkRecord,
        client: BillClient,
        store: StateStore,
        vendor_id: str,
        accounts: AccountChoice,
    ) -> None:
        self._event = event
        self._link = link
        self._client = client
        self._store = store
        self._vendor_id = vendor_id
        self._accounts = accounts
        self._current: dict[str, Any] | None = None
        self._duplicate_of = ""
        self._adopted = False  # found by its natural key, not by our cross-reference

    @property
    def fingerprint(self) -> str:
        body, missing, tax = bill_body(self._event, self._vendor_id, self._accounts)
        said = {"body": body, "missing": [m.account_id for m in missing], "tax": tax,
                "status": self._event.status}  # fmt: skip
        return hashlib.sha256(orjson.dumps(said, option=orjson.OPT_SORT_KEYS)).hexdigest()

    async def find(self, known: Known) -> None:
        ref = known.references.get(BILL)
        current = await self._client.bill(ref.target_id) if ref else None
        if current is None:
            number = name_key(self._event.bill_number)
            same = [
                row
                for row in await self._client.bills_of_vendor(self._vendor_id)
                if not row.get("archived") and name_key(bill_number_of(row)) == number
            ]
            current = min(same, key=lambda r: str(r.get("createdTime")), default=None)
            if current is not None:
                async with self._store.transaction() as repos:
                    owner = await repos.cross_references.find_by_target(
                        self._link.id, BILL, str(current["id"])
                    )
                if owner is not None and owner.source_key != self._event.entity_key:
                    self._duplicate_of = owner.source_key
                self._adopted = True
        self._current = current

    async def plan(self) -> Written:
        return await self._make_true(None)

    async def write(self, announce_create: AnnounceCreate) -> Written:
        return await self._make_true(announce_create)

    async def _make_true(self, announce_create: AnnounceCreate | None) -> Written:
        """The write; without ``announce_create`` (a plan) the same decisions, no call made."""
        execute = announce_create is not None
        written = Written(unchanged_detail="BILL already matches")
        event, current = self._event, self._current
        if self._duplicate_of and current is not None:
            written.review = (
                f"bill {event.bill_number!r} of {event.vendor.name!r} is already in BILL "
                f"({current['id']}) as source bill {self._duplicate_of}: the same bill entered "
                "twice? Delete one in the source, or give it its own number"
            )
            return written
        if event.status == "void":
            return await self._archive(written, execute=execute)
        body, missing, tax_unmapped = bill_body(event, self._vendor_id, self._accounts)
        if missing or tax_unmapped:
            written.review = unmapped_note(missing, tax=tax_unmapped)
            return written
        if current is None:
            if not self._may_create(written):
                return written
            written.operations.append("create_bill")
            if announce_create is not None:  # else a plan: the bill has no id yet
                await announce_create()
                current = await self._client.create_bill(body)
        else:
            if self._adopted:
                written.operations.append("adopt_bill")
            current = await self._update(current, body, written, execute=execute)
            if written.review:
                return written
        if current is not None:
            written.target_ids[BILL] = str(current["id"])
        return written

    async def _update(
        self, current: dict[str, Any], body: dict[str, Any], written: Written, *, execute: bool
    ) -> dict[str, Any]:
        """Replace the bill if it differs and BILL has paid none of it; else say why not."""
        event = self._event
        if _differs(current, body):
            if _paid_or_scheduled(current):
                written.review = (
                    f"bill {event.bill_number!r} changed in the source, but BILL has paid or "
                    "scheduled part of it: not changed in BILL; a person decides"
                )
                written.target_ids[BILL] = str(current["id"])
                return current
            if execute:
                current = await self._client.replace_bill(str(current["id"]), body)
            written.operations.append("update_bill")
        return current

    def _may_create(self, written: Written) -> bool:
        """Whether BILL may get this bill to pay; if not, ``written`` says why."""
        event = self._event
        if event.status == "paid":
            written.unchanged_detail = "paid in the source already: not sent to BILL to pay again"
            return False
        if event.status == "partially_paid":
            written.review = (
                f"bill {event.bill_number!r} is partly paid outside BILL ({event.amount_due} of "
                f"{event.total} still owed): not sent to BILL, where its whole amount would be "
                "due; a person decides"
            )
            return False
        return True

    async def _archive(self, written: Written, *, execute: bool) -> Written:
        current = self._current
        if current is None:
            written.unchanged_detail = "no BILL bill to archive for a voided bill"
            return written
        written.target_ids[BILL] = str(current["id"])
        if current.get("archived"):
            written.unchanged_detail = "archived in BILL already"
        elif _paid_or_scheduled(current):
            written.review = (
                f"bill {self._event.bill_number!r} was deleted in the source, but BILL has paid "
                "or scheduled part of it: not archived; a person decides"
            )
        else:
            if execute:
                await self._client.set_bill_archived(str(current["id"]), archived=True)
            written.operations.append("archive_bill")
            written.action = "deactivate"
        return written

    async def record(self, repos: Repositories, written: Written) -> None:
        return None


def _paid_or_scheduled(bill: dict[str, Any]) -> bool:
    return float(bill.get("paidAmount") or 0) > 0 or float(bill.get("scheduledAmount") or 0) > 0


def _line_view(line: dict[str, Any]) -> tuple[float, str, str]:
    account = str((line.get("classifications") or {}).get("chartOfAccountId") or "")
    return round(float(line.get("amount") or 0), 2), str(line.get("description") or ""), account


def _differs(current: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether BILL's bill says something else than ``body`` in the fields we write."""
    if (
        str(current.get("vendorId")) != body["vendorId"]
        or str(current.get("dueDate")) != body["dueDate"]
        or (current.get("invoice") or {}) != body["invoice"]
        or str(current.get("description") or "") != str(body.get("description") or "")
    ):
        return True
    have = [_line_view(line) for line in current.get("billLineItems") or []]
    return have != [_line_view(line) for line in body["billLineItems"]]
