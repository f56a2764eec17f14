"""What happened to a message: write outcomes and dead letters."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from schemas.envelope import Event

__all__ = ["DeadLetter", "OutcomeStatus", "SyncOutcome"]

OutcomeStatus = Literal["applied", "unchanged", "failed", "needs_review", "waiting"]
"""``waiting``: nothing was written yet and the sink is waiting on purpose (a vendor's daily
quota is spent until its reset); the same message is tried again after the wait."""


class SyncOutcome(Event):
    """The result of one write attempt by a sink, keyed like the event it answers.

    ``causation_id`` is the event that asked for the write; ``target_ids`` are
    the ids of the records written in the target system (empty when nothing was).
    """

    topic_name: ClassVar[str] = "sync.outcome"

    type: Literal["SyncOutcome"] = "SyncOutcome"
    service: str = Field(min_length=1, description="The sink service that attempted the write.")
    link_id: str | None = None
    target_connection_id: str | None = None
    status: OutcomeStatus
    operation: str = Field(description="What was attempted, e.g. 'create_staff', 'soft_delete'.")
    target_ids: dict[str, str] = Field(default_factory=dict)
    detail: str = ""


class DeadLetter(Event):
    """A message a service gave up on after its retries, with the error.

    ``original`` holds the message bytes as text (UTF-8, or base64 when they
    were not text) so ``replay`` can put it back on ``original_topic`` unchanged.
    """

    # Set per service at publish time: dlq.<service>.
    topic_name: ClassVar[str] = ""

    type: Literal["DeadLetter"] = "DeadLetter"
    service: str = Field(min_length=1)
    original_topic: str = Field(min_length=1)
    original_partition: int
    original_offset: int
    original_key: str | None = None
    original: str
    original_encoding: Literal["utf-8", "base64"] = "utf-8"
    attempts: int = Field(ge=1)
    error_type: str
    error: str
