"""The BambooHR source: ``raw.bamboohr`` in, ``people.employee`` and ``people.department`` out.

- A webhook delivery names employees (and the fields that changed, never values): each is
  re-read with every field named and published as a full snapshot. An employee named many
  times in one delivery is read once (first-named order kept). A delivery naming more than
  ``MLC_BAMBOOHR_DELIVERY_MAX_EMPLOYEES`` distinct employees is not read one by one: it is
  logged and audited (``bamboohr.delivery_over_cap``) and handled by one reconcile instead.
- A poll tick reads ``/employees/changed`` from the stored watermark (minus an overlap),
  then the changed people in one filtered report, and moves the watermark to ``latest``.
- A reconcile tick, or a poll tick with no watermark yet (the first sync), reads the
  department, division and job-title lists and everyone in one report each; a later
  reconcile also asks ``/employees/changed?type=deleted`` since the previous one.
- The lists (``DepartmentChanged`` per department and division option, ``JobTitleChanged``
  per job title, archived ones inactive) go out on every full read, and at once when a
  delivery's employee has a department, division or job title whose name the last list read
  did not have (HR added the option while editing the person), or when no list was read
  yet: one ``GET /meta/lists`` per delivery then, none otherwise. The names of the last read
  are kept per connection (watermark :data:`LIST_NAMES_WATERMARK`). A new option nobody has
  used yet has no webhook: it arrives with the next reconcile.

Whatever the path, a record is published only when it differs from what this source last
published for it (the runtime's ``services/runtime/snapshots.py``), so a second reconcile publishes
nothing and a lost webhook is made good by the next reconcile. An employee BambooHR no
longer has (deleted) is published once more, as terminated, from its last known record.

Reads of everyone (reconciles, the first poll, an over-cap delivery) are bulk work for the
connection's request budget: they leave ``MLC_BAMBOOHR_WEBHOOK_BUDGET_SHARE`` of it to a
webhook's single reads (``services.runtime.ratelimit``).

Nothing is written to BambooHR here (the list sink, ``sinks/option_lists.py``, is the one
writer). Every event is stamped with the raw event as its cause.
A message that cannot be decoded (no raw event, a body that is no BambooHR delivery) is
dead-lettered at once with its cause by the runtime's raw dispatch
(``services/runtime/raw_dispatch.py``, the same policy in every service); a tick or
delivery of a connection that is gone is audited and skipped; a vendor or network
failure raises, so the runtime retries and then dead-letters it. A delivery BambooHR will
not let us read because the connection's consent is gone is, by the same raw dispatch, a
``failed`` outcome on each employee it sent us to read (their ``EmployeeChanged`` entity
key), then raised; an over-cap delivery names nobody (it became a read of everyone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from faststream.kafka import KafkaBroker

from schemas.envelope import Event, utcnow
from schemas.people import DepartmentChanged, EmployeeChanged, JobTitleChanged
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from schemas.topics import raw_topic
from services.bamboohr.access import BambooHRAccess, UnknownConnectionError
from services.bamboohr.client import BambooHRClient
from services.bamboohr.mapping import (
    EMPLOYEE_FIELDS,
    VOLATILE_FIELDS,
    MalformedDeliveryError,
    NamedEmployee,
    UnmappableEmployeeError,
    canonical_changed_fields,
    employee_changed,
    employees_named,
    known_names,
    list_events,
    list_values,
    parse_bamboo_time,
    webhook_events,
)
from services.bamboohr.models import Employee
from services.bamboohr.settings import BambooHRSettings
from services.runtime.logging import get_logger
from services.runtime.option_lists import name_key
from services.runtime.outcomes import Outcomes
from services.runtime.raw_dispatch import RefusedReads, decode_raw, dispatch_raw
from services.runtime.snapshots import PublishedSnapshots
from services.runtime.store import StateStore
from services.runtime.store.records import ConnectionRecord

__all__ = [
    "CHANGED_SINCE_WATERMARK",
    "LIST_NAMES_WATERMARK",
    "RECONCILED_WATERMARK",
    "BambooHRSource",
    "SourceTopics",
]

CHANGED_SINCE_WATERMARK: Final = "employees.changed_since"
RECONCILED_WATERMARK: Final = "employees.reconciled_at"
LIST_NAMES_WATERMARK: Final = "lists.option_names"
"""JSON ``{list kind: [name keys]}``: every option name of the last list read."""

ListEvent = DepartmentChanged | JobTitleChanged
PublishedEvent = EmployeeChanged | DepartmentChanged | JobTitleChanged

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SourceTopics:
    """Where the source reads and writes; tests give each run its own."""

    raw: str = field(default_factory=lambda: raw_topic("bamboohr"))
    employees: str = EmployeeChanged.topic_name
    departments: str = DepartmentChanged.topic_name


class BambooHRSource:
    """Handles one raw event at a time; stateless between events apart from the store."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        store: StateStore,
        access: BambooHRAccess,
        settings: BambooHRSettings,
        outcomes: Outcomes,
        service: str,
        topics: SourceTopics | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._broker = broker
        self._store = store
        self._access = access
        self._settings = settings
        self._service = service
        self._topics = topics or SourceTopics()
        self._clock = clock
        self._published = PublishedSnapshots(
            store=store, broker=broker, service=service, volatile=VOLATILE_FIELDS
        )
        self._refused = RefusedReads(
            outcomes=outcomes, vendor="BambooHR", record_keys=self._employees_to_read
        )

    # --- entry point ---------------------------------------------------------------------

    async def handle(self, message: object) -> None:
        """One message of ``raw.bamboohr`` (JSON already parsed by the broker)."""
        event = decode_raw(message)
        try:
            await dispatch_raw(
                event, self, undecodable=(MalformedDeliveryError,), refused=self._refused
            )
        except UnknownConnectionError as error:
            # Decodable, and about a connection that is gone: nothing to do, ever.
            await self._skip(event, type(error).__name__, str(error))

    async def _skip(self, event: Event | None, reason: str, detail: str) -> None:
        """Audit a message (or one record of it) that can never be handled, and move on."""
        subject = event.connection_id if event is not None else "unknown"
        _log.warning("bamboohr.event_skipped", reason=reason, detail=detail, subject=subject)
        async with self._store.transaction() as repos:
            await repos.audit_log.append(
                actor=self._service,
                action="bamboohr.event_skipped",
                subject=subject,
                detail={
                    "reason": reason,
                    "detail": detail,
                    "event_id": str(event.event_id) if event is not None else None,
                    "event_type": event.type if event is not None else None,
                },
            )

    # --- webhook deliveries ----------------------------------------------------------------

    async def on_delivery(self, delivery: RawDelivery) -> None:
        named = employees_named(webhook_events(delivery.content_type, delivery.body))
        record = await self._access.connection(delivery.connection_id)
        if len(named) > self._settings.delivery_max_employees:
            await self._reconcile_for(record, delivery, named)
            return
        lists_read = False
        async with self._access.client(record) as client:
            for person in named:
                employee_id = person.employee_id
                happened = person.happened or delivery.occurred_at
                if person.deleted_only:
                    await self._publish_deleted(record, employee_id, happened, cause=delivery)
                    continue
                employee = await client.get_employee(employee_id, EMPLOYEE_FIELDS)
                if employee is None:  # deleted since the event was sent
                    await self._publish_deleted(record, employee_id, happened, cause=delivery)
                    continue
                if not lists_read and await self._names_unknown_option(
                    record.id, employee, person.changed_aliases
                ):
                    # Before the employee: sinks may need the option first.
                    await self._publish_lists(record, client, cause=delivery)
                    lists_read = True
                # The record we read is at least as new as the event that sent us to read it.
                changed_at = max(parse_bamboo_time(employee.lastChanged) or happened, happened)
                await self._publish_employee(
                    record,
                    employee,
                    cause=delivery,
                    source_updated_at=changed_at,
                    changed_fields=canonical_changed_fields(person.changed_aliases),
                )

    def _employees_to_read(self, delivery: RawDelivery) -> list[str]:
        """The employees ``on_delivery`` reads one by one (not those only deleted: nothing
        is read for them), or nobody when the delivery is over the cap."""
        named = employees_named(webhook_events(delivery.content_type, delivery.body))
        if len(named) > self._settings.delivery_max_employees:
            return []
        return [person.employee_id for person in named if not person.deleted_only]

    async def _reconcile_for(
        self, record: ConnectionRecord, delivery: RawDelivery, named: list[NamedEmployee]
    ) -> None:
        """Too many people for single reads: read everyone once, as a reconcile tick does."""
        cap = self._settings.delivery_max_employees
        detail = {
            "event_id": str(delivery.event_id),
            "delivery_id": delivery.delivery_id,
            "employees": len(named),
            "cap": cap,
        }
        _log.warning("bamboohr.delivery_over_cap", subject=record.id, **detail)
        async with self._store.transaction() as repos:
            await repos.audit_log.append(
                actor=self._service,
                action="bamboohr.delivery_over_cap",
                subject=record.id,
                detail=detail,
            )
        async with self._access.client(record, bulk=True) as client:
            listed = await self._read_everything(record, client, cause=delivery)
        # The report cannot say who was deleted (it only leaves them out, as it does people
        # outside an API key's access), so only a deletion the delivery itself announced is
        # published; people we never published are not worth an audit row each here.
        for person in named:
            if person.deleted_only and person.employee_id not in listed:
                await self._publish_deleted(
                    record,
                    person.employee_id,
                    person.happened or delivery.occurred_at,
                    cause=delivery,
                    audit_unknown=False,
                )

    # --- poll ticks --------------------------------------------------------------------------

    async def on_poll(self, tick: PollTick) -> None:
        record = await self._access.connection(tick.connection_id)
        marked = await self._mark(record.id, CHANGED_SINCE_WATERMARK)
        async with self._access.client(record, bulk=marked is None) as client:
            if marked is None:  # first sync: everyone, then changes from here on
                await self._read_everything(record, client, cause=tick)
                return
            since = marked - timedelta(seconds=self._settings.changed_since_overlap_seconds)
            changed = await client.changed_since(since)
            present = [c for c in changed.employees.values() if c.action != "Deleted"]
            if present:
                rows = {
                    e.id: e for e in await client.everyone(EMPLOYEE_FIELDS, changed_since=since)
                }
                for change in present:
                    employee = rows.get(change.id) or await client.get_employee(
                        change.id, EMPLOYEE_FIELDS
                    )
                    if employee is None:
                        await self._publish_deleted(
                            record, change.id, parse_bamboo_time(change.lastChanged), cause=tick
                        )
                        continue
                    await self._publish_employee(record, employee, cause=tick)
            for change in changed.employees.values():
                if change.action == "Deleted":
                    await self._publish_deleted(
                        record, change.id, parse_bamboo_time(change.lastChanged), cause=tick
                    )
        latest = parse_bamboo_time(changed.latest)
        if latest is not None and latest > marked:
            await self._set_mark(record.id, CHANGED_SINCE_WATERMARK, latest)

    # --- reconcile ticks ---------------------------------------------------------------------

    async def on_reconcile(self, tick: ReconcileTick) -> None:
        record = await self._access.connection(tick.connection_id)
        async with self._access.client(record, bulk=True) as client:
            await self._read_everything(record, client, cause=tick, resend=tick.full)

    async def _read_everything(
        self,
        record: ConnectionRecord,
        client: BambooHRClient,
        *,
        cause: Event,
        resend: bool = False,
    ) -> set[str]:
        """Departments and divisions first (sinks may need them), then everyone.

        ``resend`` publishes unchanged records too (a full tick: a new link needs them).
        Returns the ids the report listed.
        """
        read_at = self._clock()
        await self._publish_lists(record, client, cause=cause, resend=resend, read_at=read_at)
        employees = await client.everyone(EMPLOYEE_FIELDS)
        for employee in employees:
            await self._publish_employee(
                record, employee, cause=cause, read_at=read_at, resend=resend
            )
        listed = {e.id for e in employees}
        reconciled = await self._mark(record.id, RECONCILED_WATERMARK)
        if reconciled is not None:
            # A deletion whose webhook was lost: the report simply no longer lists the person.
            since = reconciled - timedelta(seconds=self._settings.changed_since_overlap_seconds)
            gone = await client.changed_since(since, kind="deleted")
            for change in gone.employees.values():
                if change.action == "Deleted" and change.id not in listed:
                    happened = parse_bamboo_time(change.lastChanged)
                    await self._publish_deleted(record, change.id, happened, cause=cause)
        await self._set_mark(record.id, RECONCILED_WATERMARK, read_at)
        if await self._mark(record.id, CHANGED_SINCE_WATERMARK) is None:
            # Anything changed after this read has a lastChanged later than every row in it.
            newest = max(
                (t for t in (parse_bamboo_time(e.lastChanged) for e in employees) if t),
                default=read_at,
            )
            await self._set_mark(record.id, CHANGED_SINCE_WATERMARK, newest)
        return listed

    # --- option lists ---------------------------------------------------------------------

    async def _publish_lists(
        self,
        record: ConnectionRecord,
        client: BambooHRClient,
        *,
        cause: Event,
        resend: bool = False,
        read_at: datetime | None = None,
    ) -> None:
        """Every department, division and job-title option that changed (all: ``resend``)."""
        events = list_events(
            await client.org_lists(),
            connection_id=record.id,
            tenant_id=record.tenant_id,
            read_at=read_at or self._clock(),
        )
        for event in events:
            await self._publish_if_changed(
                event, self._topics.departments, cause=cause, resend=resend
            )
        await self._remember_names(record.id, events)

    async def _remember_names(self, connection_id: str, events: Sequence[ListEvent]) -> None:
        text = orjson.dumps(known_names(events), option=orjson.OPT_SORT_KEYS).decode()
        async with self._store.transaction() as repos:
            await repos.watermarks.set(self._service, connection_id, LIST_NAMES_WATERMARK, text)

    async def _names_unknown_option(
        self, connection_id: str, employee: Employee, changed_aliases: Iterable[str]
    ) -> bool:
        """Whether a list value the delivery names is missing from the last list read."""
        values = list_values(employee, changed_aliases)
        if not values:
            return False
        async with self._store.reading() as repos:
            text = await repos.watermarks.get(self._service, connection_id, LIST_NAMES_WATERMARK)
        known: dict[str, list[str]] = orjson.loads(text) if text else {}
        return any(
            name_key(value) not in set(known.get(kind, ())) for kind, value in values.items()
        )

    async def _mark(self, connection_id: str, name: str) -> datetime | None:
        async with self._store.reading() as repos:
            text = await repos.watermarks.get(self._service, connection_id, name)
        return parse_bamboo_time(text)

    async def _set_mark(self, connection_id: str, name: str, moment: datetime) -> None:
        async with self._store.transaction() as repos:
            await repos.watermarks.set(self._service, connection_id, name, moment.isoformat())

    # --- publishing ----------------------------------------------------------------------------

    async def _publish_employee(
        self,
        record: ConnectionRecord,
        employee: Employee,
        *,
        cause: Event,
        source_updated_at: datetime | None = None,
        changed_fields: Iterable[str] = (),
        read_at: datetime | None = None,
        resend: bool = False,
    ) -> None:
        now = read_at or self._clock()
        try:
            event = employee_changed(
                employee,
                connection_id=record.id,
                tenant_id=record.tenant_id,
                occurred_at=now,
                # Without lastChanged, the read time: a later read never shows an older record.
                source_updated_at=source_updated_at
                or parse_bamboo_time(employee.lastChanged)
                or now,
                changed_fields=tuple(changed_fields),
                terminated_statuses=self._settings.terminated_statuses,
            )
        except UnmappableEmployeeError as error:
            # One unreadable person must not hold back everyone else in the report.
            await self._skip(cause, "unmappable_employee", str(error))
            return
        await self._publish_if_changed(event, self._topics.employees, cause=cause, resend=resend)

    async def _publish_deleted(
        self,
        record: ConnectionRecord,
        employee_id: str,
        happened: datetime | None,
        *,
        cause: Event,
        audit_unknown: bool = True,
    ) -> None:
        """A deleted employee: their last published record, once more, as terminated."""
        previous = await self._published.last(record.id, "EmployeeChanged", employee_id)
        if previous is None:
            if audit_unknown:
                await self._skip(cause, "deleted_unknown_employee", f"employee {employee_id}")
            return
        now = self._clock()
        event = EmployeeChanged.model_validate(
            {
                **previous,
                "status": "terminated",
                "connection_id": record.id,
                "tenant_id": record.tenant_id,
                "occurred_at": now,
                "source_updated_at": happened or now,
                "changed_fields": ("status",),
            }
        )
        await self._publish_if_changed(event, self._topics.employees, cause=cause)

    async def _publish_if_changed(
        self,
        event: PublishedEvent,
        topic: str,
        *,
        cause: Event,
        resend: bool = False,
    ) -> bool:
        """Publish ``event`` unless it is what was last published (or ``resend`` says to)."""
        return await self._published.publish_if_changed(
            event, topic=topic, cause=cause, resend=resend, annotate=_with_changes
        )


def _with_changes(
    event: PublishedEvent,
    previous: Mapping[str, Any],
    changed: tuple[str, ...],
) -> PublishedEvent:
    """What only a comparison with the last published record knows."""
    if isinstance(event, EmployeeChanged):
        if not event.changed_fields:
            return event.model_copy(update={"changed_fields": changed})
        return event
    if "name" in changed:  # a list option renamed
        return event.model_copy(update={"previous_name": previous.get("name")})
    return event
