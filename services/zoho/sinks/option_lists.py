"""The option-list sink: the other side's department and job-title options into Zoho's tags.

It consumes ``people.department`` (``DepartmentChanged``, ``JobTitleChanged``) and acts only
on events of a connection that is *not* a Zoho connection (the link's source, BambooHR);
the Zoho source (``services/zoho/source.py``) publishes the tags' own options on the same
topic, and those are the other side's sink's to take.

For each enabled ``people-zoho`` link whose source is the event's connection and whose
``lists_to_target`` option is not off (default on), the Zoho organisation's tag of that
list (``MLC_ZOHO_DEPARTMENT_TAG_NAME``, ``MLC_ZOHO_JOB_TITLE_TAG_NAME``) is aligned by the
runtime's rules (``services/runtime/option_lists.py``: same name = same option, new names
added, archive/restore as transitions only, nothing deleted, no echo). Divisions have no
tag: their events are not Zoho's and get no outcome.

What Zoho receives: ``PUT {reporting_tags_path}/{tag_id}/options`` with every option of the
tag and the one change (``mapping.py``), after one fresh read of that tag. Deciding reads
the client's copy of the tags (``MLC_ZOHO_REPORTING_TAGS_MAX_AGE_SECONDS``), so an event
that changes nothing costs no call, and a first sync of a 30-option list is not 30 reads
within Zoho's 100 calls a minute. A tag the
organisation does not have is ``needs_review`` (someone must create it, or name another).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Final

from services.runtime.option_lists import (
    LISTS_TO_TARGET,
    ListKind,
    ListOption,
    OptionListAlignment,
    OptionListEvent,
    OptionListRefusedError,
    decode_option_list_event,
    direction_enabled,
    links_to_align,
    list_kind,
)
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord
from services.zoho.access import FLOW, VENDOR, ZohoAccess
from services.zoho.client import ZohoBooksClient
from services.zoho.mapping import list_options, options_with_active, options_with_added, tag_named
from services.zoho.models import ReportingTag
from services.zoho.settings import ZohoSettings

__all__ = ["OptionListSink", "ZohoLists", "tag_names"]

CARRIED: Final[tuple[ListKind, ...]] = ("department", "job_title")


def tag_names(settings: ZohoSettings) -> dict[ListKind, str]:
    """List kind -> the reporting tag that holds it in Zoho Books."""
    return {
        "department": settings.department_tag_name,
        "job_title": settings.job_title_tag_name,
    }


class ZohoLists:
    """One organisation's department and job-title tags as the alignment sees them."""

    def __init__(self, client: ZohoBooksClient, names: dict[ListKind, str]) -> None:
        self._client = client
        self._names = names

    async def _tag(self, kind: ListKind, *, fresh: bool) -> ReportingTag:
        """The list's tag: from the client's copy to decide, read again to write.

        A decision may use a copy minutes old (options are never deleted, so a name seen
        stays); a write replaces the option list whole, so it starts from a fresh read of
        that one tag (one call).
        """
        name = self._names.get(kind, "")
        tag = tag_named(await self._client.reporting_tags(), name) if name else None
        if tag is not None and fresh:
            tag = await self._client.reporting_tag(tag.tag_id)
        if tag is None:
            msg = f"Zoho Books has no reporting tag named {name!r} for the {kind} list"
            raise OptionListRefusedError(msg)
        return tag

    async def options(self, kind: ListKind) -> Sequence[ListOption]:
        return list_options(await self._tag(kind, fresh=False))

    async def ensure_writable(self, kind: ListKind) -> None:
        await self._tag(kind, fresh=False)  # any tag of ours takes options

    async def add(self, kind: ListKind, name: str) -> str | None:
        tag = await self._tag(kind, fresh=True)
        updated = await self._client.replace_tag_options(tag.tag_id, options_with_added(tag, name))
        wanted = name.strip().casefold()
        added = (o for o in updated.tag_options if o.tag_option_name.casefold() == wanted)
        return next((o.tag_option_id for o in added), None)

    async def archive(self, kind: ListKind, option: ListOption) -> None:
        tag = await self._tag(kind, fresh=True)
        await self._client.replace_tag_options(
            tag.tag_id, options_with_active(tag, option.id, active=False)
        )

    async def restore(self, kind: ListKind, option: ListOption) -> None:
        tag = await self._tag(kind, fresh=True)
        await self._client.replace_tag_options(
            tag.tag_id, options_with_active(tag, option.id, active=True)
        )


class OptionListSink:
    """Applies the source side's list events to the Zoho organisations linked to it."""

    def __init__(
        self,
        *,
        store: StateStore,
        access: ZohoAccess,
        settings: ZohoSettings,
        outcomes: Outcomes,
        holder: str,
        alignment: OptionListAlignment | None = None,
    ) -> None:
        """``holder`` names this replica in leases; ``alignment`` replaces the kit's default."""
        self._store = store
        self._access = access
        self._names = tag_names(settings)
        self._outcomes = outcomes
        self._alignment = alignment or OptionListAlignment(
            store=store,
            holder=holder,
            lease_ttl=timedelta(seconds=settings.option_list_lease_seconds),
        )

    async def list_changed(self, message: object) -> None:
        """One ``people.department`` message: one outcome per linked Zoho organisation."""
        event = decode_option_list_event(message)
        if list_kind(event) not in CARRIED:
            return  # divisions: Zoho Books keeps no list of them
        async with self._store.transaction() as repos:
            published_by = await repos.connections.get(event.connection_id)
        if published_by is None or published_by.vendor == VENDOR:
            return  # gone, or our own tags: the other side's sink takes them
        for link in await links_to_align(self._store, event.connection_id, writes="target"):
            if self.accepts(event, link):
                await self._outcomes.attempt(
                    event, link, event.entity_key, partial(self.apply, event, link)
                )

    def accepts(self, event: OptionListEvent, link: LinkRecord) -> bool:
        """A department or job title of the link's source, while its lists flow to Zoho."""
        return (
            link.flow == FLOW
            and list_kind(event) in CARRIED
            and event.connection_id == link.source_connection_id
            and link.target_connection_id != link.source_connection_id
            and direction_enabled(link, LISTS_TO_TARGET)
        )

    async def apply(self, event: OptionListEvent, link: LinkRecord) -> WriteResult:
        """Align the link's Zoho tag with ``event``; the outcome is the caller's."""
        client = await self._access.client(link.target_connection_id)
        return await self._alignment.apply(link, event, ZohoLists(client, self._names))

    async def preview(self, event: OptionListEvent, link: LinkRecord) -> WriteResult:
        """What :meth:`apply` would do now, reading only."""
        client = await self._access.client(link.target_connection_id)
        return await self._alignment.preview(link, event, ZohoLists(client, self._names))
