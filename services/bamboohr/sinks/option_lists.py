"""The option-list sink: **the one place the product writes to BambooHR.**

It consumes ``people.department`` (``DepartmentChanged``, ``JobTitleChanged``) and acts only
on events of a connection that is *not* a BambooHR connection: the other end of a link (an
accounting system's departments or tags). BambooHR's own list events, which this service's
source publishes on the same topic, are skipped here.

For each enabled link whose target is the event's connection, whose source is a BambooHR
connection and whose ``lists_to_source`` option is not off (default on), that BambooHR
company's list is aligned by the runtime's rules (``services/runtime/option_lists.py``:
same name = same option, new names added, archive/restore as transitions only, nothing
deleted, no echo): department -> list ``department``, division -> ``division``, job title
-> ``jobTitle`` (:data:`~services.bamboohr.mapping.LIST_ALIASES`).

What BambooHR receives: ``PUT /meta/lists/{fieldId}`` and nothing else, no employee and no
table row; the bodies are in ``mapping.py``. Calls: one ``GET /meta/lists`` for each event
that could lead to a write (a new name, an archive or restore), none for a repeat. A list
BambooHR will not let us edit (``manageable: no``, a 403) is ``needs_review``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import partial

from services.bamboohr.access import BambooHRAccess, UnknownConnectionError
from services.bamboohr.client import BambooHRClient
from services.bamboohr.mapping import (
    LIST_ALIASES,
    list_options,
    option_added,
    option_archived,
    option_restored,
)
from services.bamboohr.models import ListField
from services.runtime.option_lists import (
    LISTS_TO_SOURCE,
    ListKind,
    ListOption,
    OptionListAlignment,
    OptionListEvent,
    OptionListRefusedError,
    decode_option_list_event,
    direction_enabled,
    links_to_align,
)
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import StateStore
from services.runtime.store.records import ConnectionRecord, LinkRecord

__all__ = ["BambooHRLists", "OptionListSink"]


class BambooHRLists:
    """One BambooHR company's option lists as the alignment sees them (one per attempt)."""

    def __init__(self, client: BambooHRClient) -> None:
        self._client = client
        self._fields: dict[str, ListField] = {}

    async def _field(self, kind: ListKind) -> ListField:
        alias = LIST_ALIASES[kind]
        if alias not in self._fields:
            self._fields = {f.alias: f for f in await self._client.org_lists() if f.alias}
        field = self._fields.get(alias)
        if field is None:
            msg = f"BambooHR has no list field {alias!r} in this company"
            raise OptionListRefusedError(msg)
        return field

    async def _writable(self, kind: ListKind) -> ListField:
        field = await self._field(kind)
        if field.manageable.strip().lower() != "yes":
            msg = f"BambooHR's {field.alias} list is not editable through the API (manageable: no)"
            raise OptionListRefusedError(msg)
        return field

    async def options(self, kind: ListKind) -> Sequence[ListOption]:
        return list_options(await self._field(kind))

    async def ensure_writable(self, kind: ListKind) -> None:
        await self._writable(kind)

    async def add(self, kind: ListKind, name: str) -> str | None:
        field = await self._writable(kind)
        await self._client.update_list_options(field.fieldId, option_added(name), idempotent=False)
        return None  # the answer is the whole list as XML: the new id is not worth parsing

    async def archive(self, kind: ListKind, option: ListOption) -> None:
        field = await self._writable(kind)
        body = option_archived(option.id)
        await self._client.update_list_options(field.fieldId, body, idempotent=True)

    async def restore(self, kind: ListKind, option: ListOption) -> None:
        field = await self._writable(kind)
        body = option_restored(option.id)
        await self._client.update_list_options(field.fieldId, body, idempotent=True)


class OptionListSink:
    """Applies the other side's list events to the BambooHR companies linked to it."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: BambooHRAccess,
        outcomes: Outcomes,
        holder: str,
        lease_seconds: float,
        alignment: OptionListAlignment | None = None,
    ) -> None:
        """``holder`` names this replica in leases; ``alignment`` replaces the kit's default."""
        self._store = store
        self._access = access
        self._outcomes = outcomes
        self._alignment = alignment or OptionListAlignment(
            store=store, holder=holder, lease_ttl=timedelta(seconds=lease_seconds)
        )

    async def list_changed(self, message: object) -> None:
        """One ``people.department`` message: one outcome per linked BambooHR company."""
        event = decode_option_list_event(message)
        if await self._bamboohr(event.connection_id) is not None:
            return  # our own source's lists: the other side's sink takes them
        for link in await links_to_align(self._store, event.connection_id, writes="source"):
            if not self.accepts(event, link):
                continue
            if await self._bamboohr(link.source_connection_id) is None:
                continue  # a link from another kind of source: not ours to write
            await self._outcomes.attempt(
                event,
                link,
                event.entity_key,
                partial(self.apply, event, link),
                written=link.source_connection_id,
            )

    def accepts(self, event: OptionListEvent, link: LinkRecord) -> bool:
        """A list change of the link's target (never BambooHR's own lists: those come from
        the source), while the link's lists flow back to its source."""
        return (
            event.connection_id == link.target_connection_id
            and link.source_connection_id != link.target_connection_id
            and direction_enabled(link, LISTS_TO_SOURCE)
        )

    async def apply(self, event: OptionListEvent, link: LinkRecord) -> WriteResult:
        """Align the link's BambooHR list with ``event``; the outcome is the caller's."""
        return await self._align(event, link, preview=False)

    async def preview(self, event: OptionListEvent, link: LinkRecord) -> WriteResult:
        """What :meth:`apply` would do now, reading only."""
        return await self._align(event, link, preview=True)

    async def _align(
        self, event: OptionListEvent, link: LinkRecord, *, preview: bool
    ) -> WriteResult:
        record = await self._bamboohr(link.source_connection_id)
        if record is None:
            detail = "the link's source is no BambooHR company: nothing of BambooHR's to align"
            return WriteResult("unchanged", "compare", detail=detail)
        async with self._access.client(record) as client:
            lists = BambooHRLists(client)
            if preview:
                return await self._alignment.preview(link, event, lists)
            return await self._alignment.apply(link, event, lists)

    async def _bamboohr(self, connection_id: str) -> ConnectionRecord | None:
        try:
            return await self._access.connection(connection_id)
        except UnknownConnectionError:
            return None
