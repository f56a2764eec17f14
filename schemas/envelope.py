"""The envelope every event on the bus carries (ARCHITECTURE.md, "Topics").

Events are immutable facts: frozen models, past-tense names, a
``schema_version``. A concrete event subclasses :class:`Event`, fixes its
``type`` with a ``Literal`` and adds its payload fields.

However an event is validated (``schemas.decode_event``, or a FastStream
handler whose signature names the class), an older ``schema_version`` is
first migrated by the registered upcasters (``schemas/upcasting.py``), and a
version this code does not know is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar, Self
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.upcasting import UPCASTERS

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
    # Payload fields whose values, joined by ":", are the entity key. When set,
    # ``entity_key`` may be left out (it is derived) and may not disagree, so
    # no publisher can scatter one record's events over two partitions.
    entity_key_fields: ClassVar[tuple[str, ...]] = ()
    # Written before the joined values, for record kinds that share a topic.
    entity_key_prefix: ClassVar[str] = ""

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

    @model_validator(mode="before")
    @classmethod
    def _upcast_and_derive_entity_key(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        own_type = cls.model_fields["type"].default
        # Only what names its version is old: an event built here without one is current.
        if (
            isinstance(own_type, str)
            and data.get("type", own_type) == own_type
            and "schema_version" in data
        ):
            data = UPCASTERS.upcast({**data, "type": own_type})
        if (
            cls.entity_key_fields
            and "entity_key" not in data
            and all(data.get(name) is not None for name in cls.entity_key_fields)
        ):
            values = (data[name] for name in cls.entity_key_fields)
            return {**data, "entity_key": cls.entity_key_prefix + ":".join(map(str, values))}
        return data

    @model_validator(mode="after")
    def _check_schema_version(self) -> Self:
        current = type(self).model_fields["schema_version"].default
        if self.schema_version != current:
            msg = (
                f"{self.type} schema_version {self.schema_version} is not the current "
                f"v{current}, and no upcaster leads there (schemas/upcasting.py)"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _check_entity_key(self) -> Self:
        if not self.entity_key:
            msg = "entity_key is required: the record's key within its connection"
            raise ValueError(msg)
        if self.entity_key_fields:
            values = (getattr(self, name) for name in self.entity_key_fields)
            expected = self.entity_key_prefix + ":".join(map(str, values))
            if self.entity_key != expected:
                fields = " + ".join(self.entity_key_fields)
                msg = f"entity_key must be {expected!r} (from {fields}), not {self.entity_key!r}"
                raise ValueError(msg)
        return self

    @property
    def key(self) -> str:
        """Kafka message key: keeps one record's events in order on one partition."""
        return f"{self.connection_id}:{self.entity_key}"
