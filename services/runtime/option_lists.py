"""Reference lists kept aligned across a link: the rules, and the one place that applies them.

Both ends of a link that carries people may keep option lists (departments, divisions,
job titles). Each end's source publishes its lists as ``DepartmentChanged`` /
``JobTitleChanged`` on ``people.department``, under its own connection id and with its own
option ids. The sink of the *other* end hands each event to :class:`OptionListAlignment`
with an :class:`OptionListTarget` (its vendor's list calls), and the rules below decide
what, if anything, is written:

- **Same option = same name** after trim + casefold (:func:`name_key`). Option ids never
  cross sides; the two lists are matched by name every time.
- **New name on the source side -> added on the other side**, unless a same-named option is
  there already. "New" means never recorded from that source for that name.
- **Archive and restore travel as transitions only**: when the source's option of a name
  goes active -> archived relative to the state last recorded *from that source* for that
  name, the other side's option of that name is archived (if active); archived -> active
  restores it (or adds it, if the other side never had it). An option first seen already
  archived is not added. A name first seen active whose namesake is archived on the other
  side is not restored (that is no transition): the outcome is ``needs_review``.
- **Nothing is ever deleted.** A rename arrives as a new name and is added as one; the old
  name stays on the other side until someone archives it.

**No echo.** Every write is decided by a name and a recorded transition of the side that
sent the event, never by "the two sides differ". Our own write comes back as an event of the
other side: a name we added there is already on this side (nothing to add), an archive we
made arrives as a transition of a name whose option here is archived already (nothing to
archive). Nothing answers a write with a write, so there is no loop.

**Which direction, per link** (link options, e.g. ``mlc links add ... --options
'{"lists_to_source": "off"}'``):

- ``lists_to_source`` (default on): list changes of the link's *target* connection are
  applied to the link's *source* connection's lists;
- ``lists_to_target`` (default on): list changes of the link's *source* connection are
  applied to the link's *target* connection's lists.

Off is any of :data:`OFF_VALUES` (the words the control plane takes for "off").

**What is remembered.** Per (link, source connection, list kind, name key), the source's
options of that name and whether each is active (mapping kind :data:`LAST_SEEN`); a name's
state is "active" when any of them is. It is written after the target's writes, in one
transaction with the rest of the attempt's bookkeeping, so a crash between the write and
the record replays as "the option is there already". **Leases**: one per (link, list
kind), so replicas take turns reading, deciding and writing one list.

A sink's part is small::

    alignment = OptionListAlignment(store=store, holder=holder, lease_ttl=timedelta(seconds=30))
    for link in await links_to_align(store, event.connection_id, writes="target"):
        await outcomes.attempt(
            event,
            link,
            event.entity_key,
            partial(alignment.apply, link, event, MyVendorLists(client)),
            written=written_connection(link, writes="target"),
        )
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Final, Literal, Protocol

import orjson

from schemas import EventDecodeError, decode_event
from schemas.people import DepartmentChanged, JobTitleChanged
from schemas.upcasting import UpcastingError
from services.runtime.dead_letters import UndecodableMessageError
from services.runtime.leasing import held_lease
from services.runtime.outcomes import WriteResult
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

__all__ = [
    "LAST_SEEN",
    "LISTS_TO_SOURCE",
    "LISTS_TO_TARGET",
    "OFF_VALUES",
    "Action",
    "Decision",
    "ListKind",
    "ListOption",
    "OptionListAlignment",
    "OptionListEvent",
    "OptionListRefusedError",
    "OptionListTarget",
    "OtherSide",
    "Side",
    "Transition",
    "decide",
    "decode_option_list_event",
    "direction_enabled",
    "links_to_align",
    "list_kind",
    "matching_option",
    "name_key",
    "needs_target_options",
    "option_id",
    "other_side",
    "transition",
    "written_connection",
]

ListKind = Literal["department", "division", "job_title"]
OptionListEvent = DepartmentChanged | JobTitleChanged
Side = Literal["source", "target"]
"""An end of a link: the sink of that end writes to it."""

LISTS_TO_SOURCE: Final = "lists_to_source"
"""Link option: apply the target connection's list changes to the source connection."""
LISTS_TO_TARGET: Final = "lists_to_target"
"""Link option: apply the source connection's list changes to the target connection."""
OFF_VALUES: Final = frozenset({"off", "false", "0", "no", "disabled"})
"""What turns a link option off (the same words as the control plane's connection options)."""

LAST_SEEN: Final = "option_lists.last_seen"
"""Mapping kind: ``<source connection>:<list kind>:<name key>`` -> JSON ``{option id: active}``."""

# mappings.source_value holds 512 characters; a longer name is remembered by its hash.
_MAX_READABLE_KEY: Final = 400


class OptionListRefusedError(Exception):
    """The target will never take this change as asked (the list is not editable, or the
    credentials may not edit it): a person must look, a retry cannot help."""


@dataclass(frozen=True, slots=True)
class ListOption:
    """One option of a target's list, as the target names it."""

    id: str
    name: str
    active: bool


class OptionListTarget(Protocol):
    """One vendor's option lists, as the alignment reads and writes them.

    One object per attempt is fine: the alignment calls :meth:`options` at most once per
    event, under the list's lease, then :meth:`ensure_writable` and the write after it. A
    refusal (OptionListRefusedError) from any of them is ``needs_review``.
    """

    async def options(self, kind: ListKind) -> Sequence[ListOption]:
        """Every option of the list, archived ones included."""

    async def ensure_writable(self, kind: ListKind) -> None:
        """OptionListRefusedError when the list will not take a write, known from reads
        alone (asked before every write, so a preview says the same "no" the write meets)."""

    async def add(self, kind: ListKind, name: str) -> str | None:
        """Add an active option named ``name``; its id when the vendor's answer says it."""

    async def archive(self, kind: ListKind, option: ListOption) -> None:
        """Archive (deactivate) ``option``; it stays for history."""

    async def restore(self, kind: ListKind, option: ListOption) -> None:
        """Make the archived ``option`` active again."""


def name_key(name: str) -> str:
    """What makes two option names the same option: trimmed, case folded."""
    return name.strip().casefold()


def list_kind(event: OptionListEvent) -> ListKind:
    if isinstance(event, JobTitleChanged):
        return "job_title"
    return event.kind


def option_id(event: OptionListEvent) -> str:
    """The option's id on the side that published it."""
    if isinstance(event, JobTitleChanged):
        return event.job_title_id
    return event.unit_id


def decode_option_list_event(message: object) -> OptionListEvent:
    """The list event in a ``people.department`` message; UndecodableMessageError if none.

    That topic carries two event types, so a subscriber takes the message as it is and
    decodes it here, through the one registry of event types.
    """
    if isinstance(message, DepartmentChanged | JobTitleChanged):
        return message
    if not isinstance(message, bytes | str | Mapping):
        msg = f"a list event is a JSON object, not {type(message).__name__}"
        raise UndecodableMessageError(msg)
    try:
        event = decode_event(message)
    except (EventDecodeError, UpcastingError) as error:
        msg = f"not a list event: {str(error)[:300]}"
        raise UndecodableMessageError(msg) from error
    if not isinstance(event, DepartmentChanged | JobTitleChanged):
        msg = f"{event.type} does not belong on the list topic"
        raise UndecodableMessageError(msg)
    return event


# --- which links, which direction --------------------------------------------------------


def direction_enabled(link: LinkRecord, option: str) -> bool:
    """Whether link option ``option`` (:data:`LISTS_TO_SOURCE` or ...TARGET) is on (default)."""
    return str(link.options.get(option, "on")).strip().lower() not in OFF_VALUES


async def links_to_align(
    store: StateStore, connection_id: str, *, writes: Side
) -> list[LinkRecord]:
    """Enabled links whose other end is ``connection_id`` and whose lists flow into ``writes``.

    ``writes="source"``: links whose target is the event's connection, ``lists_to_source``
    on; ``writes="target"``: links whose source is it, ``lists_to_target`` on. Which vendor
    the written end is, is the sink's to check.
    """
    async with store.transaction() as repos:
        links = await repos.links.list(connection_id=connection_id, enabled_only=True)
    if writes == "source":
        return [
            link
            for link in links
            if link.target_connection_id == connection_id
            and link.source_connection_id != connection_id
            and direction_enabled(link, LISTS_TO_SOURCE)
        ]
    return [
        link
        for link in links
        if link.source_connection_id == connection_id
        and link.target_connection_id != connection_id
        and direction_enabled(link, LISTS_TO_TARGET)
    ]


def written_connection(link: LinkRecord, writes: Side) -> str:
    """The id of the connection a sink writing ``writes`` of ``link`` writes to."""
    return link.source_connection_id if writes == "source" else link.target_connection_id


# --- the rules -----------------------------------------------------------------------------

Transition = Literal["new", "new_archived", "archived", "restored", "same"]
Action = Literal["add", "archive", "restore", "none", "review"]


def transition(last_seen: bool | None, active: bool) -> Transition:
    """How a name's state on the source side moved, from what we last recorded of it.

    ``last_seen``: None when never recorded from that source, else whether it was active;
    ``active``: whether it is now.
    """
    if last_seen is None:
        return "new" if active else "new_archived"
    if last_seen == active:
        return "same"
    return "restored" if active else "archived"


def needs_target_options(moved: Transition) -> bool:
    """Whether the decision depends on the other side's list (else it is "nothing")."""
    return moved in ("new", "archived", "restored")


@dataclass(frozen=True, slots=True)
class Decision:
    """What to write on the other side (``none``: nothing; ``review``: a person decides)."""

    action: Action
    detail: str


OtherSide = Literal["missing", "active", "archived"]
"""The other side's option of the name: none, an active one, or only an archived one."""

_RULES: Final[Mapping[tuple[Transition, OtherSide], Decision]] = {
    ("new", "missing"): Decision("add", "a new option on the source side"),
    ("new", "active"): Decision("none", "the other side has this option already"),
    ("new", "archived"): Decision(
        "review",
        "the other side has this option archived; it is restored only when the source side "
        "restores its own",
    ),
    **{
        ("new_archived", other): Decision(
            "none", "first seen archived: not added to the other side"
        )
        for other in ("missing", "active", "archived")
    },
    ("archived", "missing"): Decision("none", "the other side has no option of this name"),
    ("archived", "active"): Decision("archive", "archived on the source side"),
    ("archived", "archived"): Decision("none", "the other side has it archived already"),
    ("restored", "missing"): Decision(
        "add", "restored on the source side; the other side had none"
    ),
    ("restored", "active"): Decision("none", "the other side has this option active already"),
    ("restored", "archived"): Decision("restore", "restored on the source side"),
    **{
        ("same", other): Decision("none", "no change since this name was last seen")
        for other in ("missing", "active", "archived")
    },
}
"""Every case, in one table: (how the source side moved, the other side's option) -> write."""


def other_side(existing: ListOption | None) -> OtherSide:
    if existing is None:
        return "missing"
    return "active" if existing.active else "archived"


def decide(moved: Transition, existing: ListOption | None) -> Decision:
    """What to write on the other side, given the transition and its option of that name."""
    return _RULES[(moved, other_side(existing))]


def matching_option(options: Sequence[ListOption], key: str) -> ListOption | None:
    """The other side's option of a name: an active one first (a list may repeat a name)."""
    same = [option for option in options if name_key(option.name) == key]
    return next((o for o in same if o.active), same[0] if same else None)


# --- the bookkeeping ------------------------------------------------------------------------


def seen_key(source_connection_id: str, kind: ListKind, key: str) -> str:
    """The ``source_value`` of a name's :data:`LAST_SEEN` row."""
    if len(key) > _MAX_READABLE_KEY:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"{source_connection_id}:{kind}:{key}"


def _seen_ids(text: str | None) -> dict[str, bool]:
    if not text:
        return {}
    loaded = orjson.loads(text)
    return {str(k): bool(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _state(ids: Mapping[str, bool]) -> bool | None:
    return any(ids.values()) if ids else None


_OPERATIONS: Final[Mapping[Action, str]] = {
    "add": "add_option",
    "archive": "archive_option",
    "restore": "restore_option",
}


class OptionListAlignment:
    """Applies one list event of one side to the other side's list, for one link.

    ``holder`` names this replica in leases; ``lease_ttl`` bounds a list's lease (and how
    long another replica waits for it).
    """

    def __init__(self, *, store: StateStore, holder: str, lease_ttl: timedelta) -> None:
        self._store = store
        self._holder = holder
        self._lease_ttl = lease_ttl

    async def apply(
        self, link: LinkRecord, event: OptionListEvent, target: OptionListTarget
    ) -> WriteResult:
        """Make ``event`` true on ``target`` by the rules above; the outcome is the caller's."""
        kind = list_kind(event)
        lease = f"option-list:{link.id}:{kind}"
        ttl = self._lease_ttl
        async with held_lease(self._store, lease, self._holder, ttl=ttl, wait=ttl):
            return await self._align(link, event, kind, target, execute=True)

    async def preview(
        self, link: LinkRecord, event: OptionListEvent, target: OptionListTarget
    ) -> WriteResult:
        """What :meth:`apply` would do now: the same rules, the target's options read, nothing
        written (no lease: it changes nothing)."""
        result = await self._align(link, event, list_kind(event), target, execute=False)
        if result.status == "needs_review":
            return replace(result, action="review")
        if result.status == "applied":
            action = {_OPERATIONS["add"]: "create", _OPERATIONS["archive"]: "deactivate"}
            return replace(result, action=action.get(result.operation, "update"))
        return result

    async def _align(
        self,
        link: LinkRecord,
        event: OptionListEvent,
        kind: ListKind,
        target: OptionListTarget,
        *,
        execute: bool,
    ) -> WriteResult:
        source = event.connection_id
        key = name_key(event.name)
        row = seen_key(source, kind, key)
        renamed_from = name_key(event.previous_name or "")
        async with self._store.transaction() as repos:
            before = _seen_ids(await repos.mappings.get(link.id, LAST_SEEN, row))
        after = {**before, option_id(event): event.active}
        # A name may have several options on the source side: it is active while any is.
        moved = transition(_state(before), bool(_state(after)))

        # A refusal is not recorded: once a person fixed the cause, the next event tries again.
        try:
            existing = (
                matching_option(await target.options(kind), key)
                if needs_target_options(moved)
                else None
            )
        except OptionListRefusedError as error:
            return WriteResult("needs_review", "compare", detail=str(error))
        decision = decide(moved, existing)
        new_id: str | None = None
        if decision.action in _OPERATIONS:
            try:
                await target.ensure_writable(kind)
                if execute:
                    new_id = await self._write(
                        kind, decision.action, event.name.strip(), existing, target
                    )
            except OptionListRefusedError as error:
                operation = _OPERATIONS[decision.action]
                return WriteResult("needs_review", operation, detail=str(error))
        target_ids: dict[str, str] = {}
        if new_id:
            target_ids["option"] = new_id
        elif existing is not None:
            target_ids["option"] = existing.id
        if not execute:
            return _result(decision, target_ids)

        async with self._store.transaction() as repos:
            await repos.mappings.put(
                link.id, LAST_SEEN, row, orjson.dumps(after, option=orjson.OPT_SORT_KEYS).decode()
            )
            if renamed_from and renamed_from != key:
                # The option left its old name: that name's state no longer counts it.
                old_row = seen_key(source, kind, renamed_from)
                old = _seen_ids(await repos.mappings.get(link.id, LAST_SEEN, old_row))
                if old.pop(option_id(event), None) is not None:
                    await repos.mappings.put(
                        link.id,
                        LAST_SEEN,
                        old_row,
                        orjson.dumps(old, option=orjson.OPT_SORT_KEYS).decode(),
                    )

        return _result(decision, target_ids)

    @staticmethod
    async def _write(
        kind: ListKind,
        action: Action,
        name: str,
        existing: ListOption | None,
        target: OptionListTarget,
    ) -> str | None:
        if action == "add":
            return await target.add(kind, name)
        if action in ("archive", "restore") and existing is not None:
            if action == "archive":
                await target.archive(kind, existing)
            else:
                await target.restore(kind, existing)
        return None


def _result(decision: Decision, target_ids: dict[str, str]) -> WriteResult:
    if decision.action == "review":
        return WriteResult("needs_review", "compare", target_ids, decision.detail)
    if decision.action == "none":
        return WriteResult("unchanged", "compare", target_ids, decision.detail)
    return WriteResult("applied", _OPERATIONS[decision.action], target_ids, decision.detail)
