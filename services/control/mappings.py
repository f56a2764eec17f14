"""A link's mapping tables as a person edits them: ``mlc mappings`` and the operator API.

A mapping translates one source value of one kind into the target's value on one link
(a category to a FreshBooks account, say); the flows read them on every write, so a
mapping set now is used by the next record and by every re-drive (``mlc review
redrive``). Kinds a person edits are ``[a-z0-9-]+``, such as :data:`KNOWN_KINDS`; a kind
with a dot (``bill.waiting_for_vendor:...``, ``zoho.contact_applied``) is a service's own
bookkeeping in the same table, neither listed nor editable here. Every change is audited
(``mapping.set``, ``mapping.removed``, subject the link).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from services.control.connections import ConnectionInputError, ConnectionNotFoundError
from services.control.operator_contract import MappingOut
from services.runtime.store import Repositories, StateStore
from services.runtime.store.records import Mapping

__all__ = [
    "KIND_PATTERN",
    "KNOWN_KINDS",
    "MappingChange",
    "MappingNotFoundError",
    "list_mappings",
    "mapping_out",
    "remove_mapping",
    "set_mapping",
]

KNOWN_KINDS: Final = ("category", "gl-account", "bill-vendor", "tag")
"""The kinds the flows look up today; any other ``[a-z0-9-]+`` kind may be kept too."""
KIND_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_MAX_SOURCE: Final = 512  # the mappings table's source_value column


class MappingNotFoundError(LookupError):
    """The link has no mapping of that kind for that source value."""


@dataclass(frozen=True, slots=True)
class MappingChange:
    """A mapping as set, the target it replaced, and the open items waiting for it."""

    mapping: Mapping
    previous: str | None
    waiting_items: list[int]


def mapping_out(mapping: Mapping) -> MappingOut:
    return MappingOut(
        link=mapping.link_id,
        kind=mapping.kind,
        source=mapping.source_value,
        target=mapping.target_value,
    )


def _check_kind(kind: str) -> str:
    if not KIND_PATTERN.fullmatch(kind):
        msg = (
            f"kind {kind!r} is not a mapping kind: lower-case letters, digits and '-' "
            f"(e.g. {', '.join(KNOWN_KINDS)})"
        )
        raise ConnectionInputError(msg)
    return kind


def _check_source(source_value: str) -> str:
    if not source_value:
        msg = "the source value is empty"
        raise ConnectionInputError(msg)
    if len(source_value) > _MAX_SOURCE:
        msg = f"the source value is longer than {_MAX_SOURCE} characters"
        raise ConnectionInputError(msg)
    return source_value


async def _link_exists(tx: Repositories, link_id: str) -> None:
    if await tx.links.get(link_id) is None:
        msg = f"no link {link_id!r}; see mlc links list"
        raise ConnectionNotFoundError(msg)


async def list_mappings(
    store: StateStore, link_id: str, *, kind: str | None = None
) -> list[Mapping]:
    """The link's mappings (of one kind), by kind then source value."""
    if kind is not None:
        _check_kind(kind)
    async with store.transaction() as tx:
        await _link_exists(tx, link_id)
        rows = await tx.mappings.list(link_id, kind=kind)
    return [row for row in rows if KIND_PATTERN.fullmatch(row.kind)]


async def set_mapping(
    store: StateStore,
    link_id: str,
    kind: str,
    source_value: str,
    target_value: str,
    *,
    by: str,
    via: str,
) -> MappingChange:
    """Map ``source_value`` to ``target_value`` (added, or replacing the old target)."""
    _check_kind(kind)
    _check_source(source_value)
    if not target_value.strip():
        msg = "the target value is empty: to stop mapping a value, remove the mapping"
        raise ConnectionInputError(msg)
    async with store.transaction() as tx:
        await _link_exists(tx, link_id)
        previous = await tx.mappings.get(link_id, kind, source_value)
        await tx.mappings.put(link_id, kind, source_value, target_value)
        await tx.audit_log.append(
            actor=by,
            action="mapping.set",
            subject=link_id,
            detail={
                "kind": kind,
                "source": source_value,
                "target": target_value,
                "previous": previous,
                "via": via,
            },
        )
        open_items = await tx.review_queue.list(status="open", link_id=link_id, limit=10_000)
    waiting = [
        item.id
        for item in open_items
        if any(
            isinstance(r, dict) and r.get("missing") == kind and r.get("value") == source_value
            for r in item.payload.get("reasons") or []
        )
    ]
    mapping = Mapping(
        link_id=link_id, kind=kind, source_value=source_value, target_value=target_value
    )
    return MappingChange(mapping=mapping, previous=previous, waiting_items=waiting)


async def remove_mapping(
    store: StateStore, link_id: str, kind: str, source_value: str, *, by: str, via: str
) -> Mapping:
    """Stop mapping ``source_value``; the flows then hand such records to review."""
    _check_kind(kind)
    async with store.transaction() as tx:
        await _link_exists(tx, link_id)
        target = await tx.mappings.get(link_id, kind, source_value)
        if target is None:
            msg = (
                f"link {link_id} has no {kind} mapping for {source_value!r}; "
                f"see mlc mappings list --link {link_id} --kind {kind}"
            )
            raise MappingNotFoundError(msg)
        await tx.mappings.delete(link_id, kind, source_value)
        await tx.audit_log.append(
            actor=by,
            action="mapping.removed",
            subject=link_id,
            detail={"kind": kind, "source": source_value, "target": target, "via": via},
        )
    return Mapping(link_id=link_id, kind=kind, source_value=source_value, target_value=target)
