"""The topic catalog: every Kafka topic of ml-connector, as data.

This is the single place a topic's name, partitions, retention and cleanup
policy are written down (ARCHITECTURE.md, "Topics"). The broker bootstrap
creates topics from it, the AsyncAPI export documents them, and services name
topics through it rather than with string literals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DAY_MS",
    "FOREVER",
    "TOPICS",
    "VENDORS",
    "Topic",
    "dlq_topic",
    "raw_topic",
    "topic",
]

DAY_MS = 24 * 60 * 60 * 1000
FOREVER = -1

# The vendors ml-connector talks to. Schemas name vendors only as topic
# suffixes: the vendor knowledge itself lives under services/<vendor>/.
VENDORS: tuple[str, ...] = ("bamboohr", "freshbooks", "bill", "zoho", "acumatica", "expensify")

# Services that consume and may dead-letter messages (one dlq.<service> each).
SERVICES: tuple[str, ...] = ("ingest", *VENDORS)


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


def raw_topic(vendor: str) -> str:
    """Name of the topic that holds a vendor's verified deliveries and ticks."""
    if vendor not in VENDORS:
        msg = f"unknown vendor {vendor!r}; known: {', '.join(VENDORS)}"
        raise KeyError(msg)
    return f"raw.{vendor}"


def dlq_topic(service: str) -> str:
    """Name of the dead-letter topic of a service."""
    if service not in SERVICES:
        msg = f"unknown service {service!r}; known: {', '.join(SERVICES)}"
        raise KeyError(msg)
    return f"dlq.{service}"


TOPICS: tuple[Topic, ...] = (
    *(
        Topic(
            name=raw_topic(vendor),
            events=("RawDelivery", "PollTick", "ReconcileTick"),
            description=f"Verified {vendor} webhook deliveries and poll/reconcile ticks.",
            retention_ms=7 * DAY_MS,
        )
        for vendor in VENDORS
    ),
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
    *(
        Topic(
            name=dlq_topic(service),
            events=("DeadLetter",),
            description=f"Messages the {service} service gave up on, with the error.",
            partitions=1,
        )
        for service in SERVICES
    ),
)

_BY_NAME = {t.name: t for t in TOPICS}


def topic(name: str) -> Topic:
    """Look a topic up by name; an unknown name is a programming error."""
    try:
        return _BY_NAME[name]
    except KeyError:
        msg = f"topic {name!r} is not in the catalog (schemas/topics.py)"
        raise KeyError(msg) from None
