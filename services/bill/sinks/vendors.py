"""The vendors sink: one ``VendorChanged`` made true in one BILL organisation, once.

Exactly once in effect is the runtime's idempotent upsert (``services/runtime/upsert.py``).
What is BILL's is here and in ``mapping.py``:

- Find: the vendor's cross-reference, then BILL's vendors by name (a ``sw`` filter, then
  compared trimmed and in any case), then by email: never a second copy of a supplier.
- Write: a new vendor is created; an existing one gets a ``PATCH`` of the fields that
  differ. A vendor archived in the source is archived in BILL (never deleted), and
  restored when it comes back.
- Then, in :meth:`VendorsSink.apply` (so a replay does it too): the bills that waited for
  this vendor (``bills.py``) are written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any, Final

import orjson

from schemas.ap import VendorChanged
from services.bill.access import BillAccess
from services.bill.client import BillClient, BillRejectedError
from services.bill.mapping import same_vendor, vendor_body
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import Repositories, StateStore
from services.runtime.store.records import LinkRecord
from services.runtime.upsert import AnnounceCreate, IdempotentUpsert, Known, Written

__all__ = ["LEASE_PREFIX", "VENDOR", "VendorArrived", "VendorsSink", "changed_fields"]

VENDOR: Final = "vendor"  # cross-reference target kind: the BILL vendor id
LEASE_PREFIX: Final = "bill-vendor"

VendorArrived = Callable[[LinkRecord, str], Awaitable[None]]
"""(link, source vendor id) -> write what waited for that vendor (the bills sink)."""


def changed_fields(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The part of ``wanted`` whose values differ from ``current``'s (objects by their keys)."""
    changes: dict[str, Any] = {}
    for name, value in wanted.items():
        have = current.get(name)
        if isinstance(value, dict):
            have = have if isinstance(have, dict) else {}
            if any(have.get(k) != v for k, v in value.items()):
                changes[name] = value
        elif have != value:
            changes[name] = value
    return changes


class VendorsSink:
    """Applies vendor snapshots to every BILL organisation linked from their source."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: BillAccess,
        outcomes: Outcomes,
        holder: str,
        lease_ttl: timedelta,
        arrived: VendorArrived | None = None,
    ) -> None:
        self._access = access
        self._outcomes = outcomes
        self._arrived = arrived
        self._upsert = IdempotentUpsert(store=store, holder=holder, lease_ttl=lease_ttl)

    async def vendor_changed(self, event: VendorChanged) -> None:
        """One write per linked organisation, each published as an outcome."""
        for link in await self._access.links_from(event.connection_id):
            if self.accepts(event, link):
                await self._outcomes.attempt(
                    event, link, event.entity_key, partial(self.apply, event, link)
                )

    def accepts(self, event: VendorChanged, link: LinkRecord) -> bool:
        """Every vendor of the link's books (``links_from`` chose the links)."""
        return event.connection_id == link.source_connection_id

    async def apply(self, event: VendorChanged, link: LinkRecord) -> WriteResult:
        """Make ``event`` true in ``link``'s organisation, then write the bills that waited
        for it (a replay too: its bills may have been parked by the replay's bills part);
        the outcome is the caller's."""
        client = await self._access.client(link.target_connection_id)
        try:
            result = await self._upsert.apply(link, event, _Vendor(event, client))
        except BillRejectedError as error:
            return WriteResult("needs_review", "write_vendor", detail=str(error))
        if self._arrived is not None and result.target_ids.get(VENDOR):
            await self._arrived(link, event.vendor_id)
        return result

    async def preview(self, event: VendorChanged, link: LinkRecord) -> WriteResult:
        """What :meth:`apply` would do now, reading only."""
        client = await self._access.client(link.target_connection_id)
        return await self._upsert.preview(link, event, _Vendor(event, client))


class _Vendor:
    """One attempt at one vendor: the BILL half of the upsert."""

    lease_prefix = LEASE_PREFIX
    reference_kinds = (VENDOR,)

    def __init__(self, event: VendorChanged, client: BillClient) -> None:
        self._event = event
        self._client = client
        self._current: dict[str, Any] | None = None
        self._adopted = False

    @property
    def fingerprint(self) -> str:
        said = {"body": vendor_body(self._event), "active": self._event.active}
        return hashlib.sha256(orjson.dumps(said, option=orjson.OPT_SORT_KEYS)).hexdigest()

    async def find(self, known: Known) -> None:
        ref = known.references.get(VENDOR)
        current = await self._client.vendor(ref.target_id) if ref else None
        if current is None:
            found = await self._client.vendors_where("name", "sw", self._event.name.strip())
            if not found and self._event.email:
                found = await self._client.vendors_where("email", "eq", self._event.email.strip())
            same = [row for row in found if same_vendor(row, self._event)]
            # Several namesakes (made by hand): the oldest, an unarchived one first.
            current = min(
                same,
                key=lambda r: (bool(r.get("archived")), str(r.get("createdTime"))),
                default=None,
            )
            self._adopted = current is not None
        self._current = current

    async def plan(self) -> Written:
        return await self._make_true(None)

    async def write(self, announce_create: AnnounceCreate) -> Written:
        return await self._make_true(announce_create)

    async def _make_true(self, announce_create: AnnounceCreate | None) -> Written:
        """The write; without ``announce_create`` (a plan) the same decisions, no call made."""
        written = Written(unchanged_detail="BILL already matches")
        event, current = self._event, self._current
        if current is None:
            if not event.active:
                written.unchanged_detail = "no BILL vendor to archive for an archived vendor"
                return written
            written.operations.append("create_vendor")
            if announce_create is None:
                return written  # a plan: the vendor has no id yet
            await announce_create()
            current = await self._client.create_vendor(vendor_body(event))
        else:
            if self._adopted:
                written.operations.append("adopt_vendor")
            changes = changed_fields(current, vendor_body(event))
            if changes:
                written.operations.append("update_vendor")
                if announce_create is not None:
                    current = await self._client.update_vendor(str(current["id"]), changes)
            archived = bool(current.get("archived"))
            if archived == event.active:  # archived here, active there, or the other way
                written.operations.append("restore_vendor" if archived else "archive_vendor")
                written.action = "" if archived else "deactivate"
                if announce_create is not None:
                    await self._client.set_vendor_archived(
                        str(current["id"]), archived=not event.active
                    )
        written.target_ids[VENDOR] = str(current["id"])
        return written

    async def record(self, repos: Repositories, written: Written) -> None:
        return None
