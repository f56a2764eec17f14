"""The language of the bus: canonical events, the envelope and the topic catalog.

Imports pydantic and the standard library only, and names no vendor beyond
topic suffixes. Every event type that travels on the bus is listed once in
:data:`EVENT_TYPES`; :func:`decode_event` reads any of them back from the log,
migrating old schema versions first (:mod:`schemas.upcasting`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from schemas.ap import (
    BillChanged,
    BillLine,
    BillPaid,
    BillRef,
    BillStatus,
    PaymentMethod,
    VendorChanged,
    VendorRef,
)
from schemas.envelope import Event, utcnow
from schemas.expense import ExpenseLine, ExpenseReportApproved
from schemas.outcomes import DeadLetter, OutcomeStatus, SyncOutcome
from schemas.people import (
    DepartmentChanged,
    EmployeeChanged,
    EmployeeStatus,
    JobTitleChanged,
    OrgUnitKind,
)
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from schemas.snapshot import Snapshot
from schemas.topics import SHARED_TOPICS, Topic, catalog, dlq_topic, raw_topic, topic
from schemas.upcasting import UPCASTERS, UpcasterRegistry, UpcastingError
from schemas.values import AccountRef, CurrencyCode, Money, PostalAddress, Quantity

__all__ = [
    "EVENT_TYPES",
    "SHARED_TOPICS",
    "UPCASTERS",
    "AccountRef",
    "BillChanged",
    "BillLine",
    "BillPaid",
    "BillRef",
    "BillStatus",
    "CurrencyCode",
    "DeadLetter",
    "DepartmentChanged",
    "EmployeeChanged",
    "EmployeeStatus",
    "Event",
    "EventDecodeError",
    "ExpenseLine",
    "ExpenseReportApproved",
    "InvalidEvent",
    "JobTitleChanged",
    "Money",
    "OrgUnitKind",
    "OutcomeStatus",
    "PaymentMethod",
    "PollTick",
    "PostalAddress",
    "Quantity",
    "RawDelivery",
    "ReconcileTick",
    "Snapshot",
    "SyncOutcome",
    "Topic",
    "UnknownEventType",
    "UnsupportedSchemaVersion",
    "UpcasterRegistry",
    "UpcastingError",
    "VendorChanged",
    "VendorRef",
    "catalog",
    "current_schema_version",
    "decode_event",
    "dlq_topic",
    "raw_topic",
    "topic",
    "utcnow",
]

EVENT_TYPES: Mapping[str, type[Event]] = MappingProxyType(
    {
        cls.model_fields["type"].default: cls
        for cls in (
            # people.employee, people.department
            EmployeeChanged,
            DepartmentChanged,
            JobTitleChanged,
            # ap.vendor, ap.bill, ap.payment
            VendorChanged,
            BillChanged,
            BillPaid,
            # expense.report
            ExpenseReportApproved,
            # raw.<vendor>
            RawDelivery,
            PollTick,
            ReconcileTick,
            # sync.outcome, dlq.<service>
            SyncOutcome,
            DeadLetter,
        )
    }
)
"""Every event type on the bus by its ``type`` name: the one list decoding trusts."""


class EventDecodeError(Exception):
    """A message could not be read as an event. Messages never quote field values."""


class UnknownEventType(EventDecodeError):  # noqa: N818 - reads as the domain says it
    """The message's ``type`` is not in :data:`EVENT_TYPES`."""

    def __init__(self, event_type: str) -> None:
        self.event_type = event_type
        known = ", ".join(sorted(EVENT_TYPES))
        super().__init__(f"unknown event type {event_type!r}; known types: {known}")


class UnsupportedSchemaVersion(EventDecodeError):  # noqa: N818 - reads as the domain says it
    """The event's ``schema_version`` is newer than this code, or has no upcaster."""


class InvalidEvent(EventDecodeError):  # noqa: N818 - reads as the domain says it
    """The message is not JSON, not an object, or fails its event type's validation."""


def current_schema_version(event_class: type[Event]) -> int:
    """The schema version an event class writes (the default of its ``schema_version``)."""
    version = event_class.model_fields["schema_version"].default
    if not isinstance(version, int):
        msg = f"{event_class.__name__}.schema_version needs an int default"
        raise TypeError(msg)
    return version


def decode_event(
    data: bytes | str | Mapping[str, Any],
    *,
    upcasters: UpcasterRegistry = UPCASTERS,
) -> Event:
    """Read one event from its JSON (bytes, text or an already parsed object).

    Old schema versions are upcast to the current one first. Raises
    :class:`UnknownEventType`, :class:`UnsupportedSchemaVersion` or
    :class:`InvalidEvent` (all :class:`EventDecodeError`), or
    :class:`~schemas.upcasting.UpcastingError` when a migration step fails.
    """
    parsed = _parse_json(data) if isinstance(data, bytes | str) else data
    if not isinstance(parsed, Mapping):
        msg = f"an event is a JSON object, not {type(parsed).__name__}"
        raise InvalidEvent(msg)
    event_type = parsed.get("type")
    if not isinstance(event_type, str):
        msg = "the message has no 'type' string, so it is no event"
        raise InvalidEvent(msg)
    event_class = EVENT_TYPES.get(event_type)
    if event_class is None:
        raise UnknownEventType(event_type)

    upcast = upcasters.upcast(parsed)
    version = upcast.get("schema_version", 1)
    current = current_schema_version(event_class)
    if version != current:
        if isinstance(version, int) and version > current:
            msg = (
                f"{event_type} v{version} was written by a newer release "
                f"(this code reads up to v{current}); upgrade this service"
            )
        else:
            msg = (
                f"{event_type} schema_version {version!r} cannot be read: "
                f"no upcaster leads from it to v{current} (schemas/upcasting.py)"
            )
        raise UnsupportedSchemaVersion(msg)
    try:
        return event_class.model_validate(upcast)
    except ValidationError as exc:
        raise InvalidEvent(_describe(event_type, exc)) from None


def _parse_json(data: bytes | str) -> object:
    try:
        # Decimal keeps an amount sent as a JSON number exact.
        return json.loads(data, parse_float=Decimal)
    except UnicodeDecodeError as exc:
        msg = f"the message is not UTF-8 text (byte {exc.start})"
        raise InvalidEvent(msg) from None
    except json.JSONDecodeError as exc:
        msg = f"the message is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InvalidEvent(msg) from None


def _describe(event_type: str, exc: ValidationError) -> str:
    # Field values stay out of the message: a raw delivery's body or headers may hold secrets.
    problems = "; ".join(
        f"{'.'.join(map(str, error['loc'])) or '(event)'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    )
    return f"invalid {event_type}: {problems}"
