"""The topic catalog: every Kafka topic of ml-connector, as data.

This is the single place a topic's name, partitions, retention and cleanup
policy are written down (ARCHITECTURE.md, "Topics"). The broker bootstrap
creates topics from it, the AsyncAPI export documents them, and services name
topics through it rather than with string literals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DAY_MS",
    "FOREVER",
    "SHARED_TOPICS",
    "Topic",
    "catalog",
    "dead_letter_entry",
    "dlq_topic",
    "raw_entry",
    "raw_topic",
    "topic",
]

DAY_MS = 24 * 60 * 60 * 1000
FOREVER = -1

# Vendor and service names become topic names: lower-case words, nothing Kafka or a path
# could read as structure. Which vendors and services exist is not the catalog's to say:
# the vendor registry (services/vendors.py) passes them to catalog().
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")


@dataclass(frozen=True, slots=True)
class Topic:
    """One Kafka topic and the settings it is created with."""

    name: str
    events: tuple[str, ...]
    description: str
    partitions: int = 6
    retention_ms: int = FOREVER
    cleanup_policy: Literal["delete", "compact", "compact,delete"] = "delete"
    key_format: str = "{connection_id}:{entity_key}"

    def config(self) -> dict[str, str]:
        """Topic-level configs as Kafka expects them at creation."""
        return {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": self.cleanup_policy,
        }


def _checked(kind: str, name: str) -> str:
    if not _NAME.fullmatch(name):
        msg = f"{name!r} is not a {kind} name (lower-case letters, digits, '-' and '_')"
        raise KeyError(msg)
    return name


def raw_topic(vendor: str) -> str:
    """Name of the topic that holds a vendor's verified deliveries and ticks."""
    return f"raw.{_checked('vendor', vendor)}"


def dlq_topic(service: str) -> str:
    """Name of the dead-letter topic of a service."""
    return f"dlq.{_checked('service', service)}"


def raw_entry(vendor: str) -> Topic:
    """The catalog entry of a vendor's raw topic."""
    return Topic(
        name=raw_topic(vendor),
        events=("RawDelivery", "PollTick", "ReconcileTick"),
        description=f"Verified {vendor} webhook deliveries and poll/reconcile ticks.",
        retention_ms=7 * DAY_MS,
    )


def dead_letter_entry(service: str) -> Topic:
    """The catalog entry of a service's dead-letter topic."""
    return Topic(
        name=dlq_topic(service),
        events=("DeadLetter",),
        description=f"Messages the {service} service gave up on, with the error.",
        partitions=1,
    )


SHARED_TOPICS: tuple[Topic, ...] = (
    Topic(
        name="people.employee",
        events=("EmployeeChanged",),
        description="Full employee snapshots with changed fields and status.",
    ),
    Topic(
        name="people.department",
        events=("DepartmentChanged", "JobTitleChanged"),
        description="Reference data: departments, divisions and job titles.",
    ),
    Topic(name="ap.vendor", events=("VendorChanged",), description="Bill vendors."),
    Topic(name="ap.bill", events=("BillChanged",), description="Bills with their lines."),
    Topic(name="ap.payment", events=("BillPaid",), description="Cleared bill payments."),
    Topic(
        name="expense.report",
        events=("ExpenseReportApproved",),
        description="Approved expense reports with their expenses.",
    ),
    Topic(
        name="sync.outcome",
        events=("SyncOutcome",),
        description="Every write attempt's result: applied, unchanged, failed, needs_review.",
    ),
)
"""The topics every deployment has whatever its vendors: the canonical ones and outcomes."""


def catalog(*, vendors: Iterable[str], services: Iterable[str]) -> tuple[Topic, ...]:
    """Every topic of a deployment of ``vendors`` (a raw topic each) and ``services`` (a
    dead-letter topic each), in the order the bootstrap creates them."""
    return (
        *(raw_entry(vendor) for vendor in vendors),
        *SHARED_TOPICS,
        *(dead_letter_entry(service) for service in services),
    )


_SHARED_BY_NAME = {t.name: t for t in SHARED_TOPICS}


def topic(name: str) -> Topic:
    """Look a topic up by name; an unknown name is a programming error.

    ``raw.<vendor>`` and ``dlq.<service>`` are families: any well-formed name is answered
    with its family's entry.
    """
    if name in _SHARED_BY_NAME:
        return _SHARED_BY_NAME[name]
    family, _, member = name.partition(".")
    try:
        if family == "raw":
            return raw_entry(member)
        if family == "dlq":
            return dead_letter_entry(member)
    except KeyError:
        pass
    msg = f"topic {name!r} is not in the catalog (schemas/topics.py)"
    raise KeyError(msg) from None
