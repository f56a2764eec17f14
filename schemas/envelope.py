"""The envelope every event on the bus carries (ARCHITECTURE.md, "Topics").

Events are immutable facts: frozen models, past-tense names, a
``schema_version``. A concrete event subclasses :class:`Event`, fixes its
``type`` with a ``Literal`` and adds its payload fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = ["Event", "utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Event(BaseModel):
    """Envelope fields shared by every event.

    ``correlation_id`` is the ``event_id`` of the first event of a chain and
    ``causation_id`` the ``event_id`` of the event that directly caused this
    one; together they make the audit trail of a record.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The topic a class belongs to, for publishers; not serialised.
    topic_name: ClassVar[str] = ""

    event_id: UUID = Field(default_factory=uuid4)
    type: str
    schema_version: int = 1
    connection_id: str = Field(min_length=1)
    tenant_id: str = Field(default="default", min_length=1)
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime = Field(default_factory=utcnow)
    causation_id: UUID | None = None
    correlation_id: UUID | None = None
    # The part of the Kafka key after "{connection_id}:", e.g. an employee id.
    entity_key: str = Field(min_length=1)

    @property
    def key(self) -> str:
        """Kafka message key: keeps one record's events in order on one partition."""
        return f"{self.connection_id}:{self.entity_key}"
