"""What the ingest service publishes to ``raw.<vendor>``: deliveries and ticks.

These records are vendor-neutral containers: the vendor's own payload travels
as text in ``body`` and only that vendor's service interprets it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.envelope import Event

__all__ = ["PollTick", "RawDelivery", "ReconcileTick"]


class RawDelivery(Event):
    """A webhook delivery whose signature the ingest service verified."""

    type: Literal["RawDelivery"] = "RawDelivery"
    vendor: str = Field(min_length=1)
    delivery_id: str = Field(
        min_length=1, description="Vendor delivery id, or a hash of the signed body."
    )
    content_type: str
    headers: dict[str, str] = Field(
        default_factory=dict, description="Non-secret headers kept for the vendor service."
    )
    body: str


class PollTick(Event):
    """Time to poll a connection for changes (where webhooks are off, or as a backup)."""

    type: Literal["PollTick"] = "PollTick"
    vendor: str = Field(min_length=1)
    schedule: str = Field(min_length=1, description="Name of the schedule that fired.")
    due_at: str = Field(
        description="ISO-8601 instant the tick was due; one tick per (schedule, due_at)."
    )


class ReconcileTick(Event):
    """Time to compare a whole connection with what we last published."""

    type: Literal["ReconcileTick"] = "ReconcileTick"
    vendor: str = Field(min_length=1)
    schedule: str = Field(min_length=1)
    due_at: str
    full: bool = Field(
        default=False,
        description=(
            "Publish every record, unchanged ones too: a new link (or an operator) needs the"
            " whole picture, not only what changed since the source last published."
        ),
    )
