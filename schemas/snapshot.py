"""Events that carry a full copy of one source record, and how to order them.

The bus delivers at least once and a source can see a record's changes out of
order (a webhook overtaking a poll, a replay). A snapshot therefore says which
revision of the record it holds, and a sink that already applied a later
revision treats an earlier one as ``unchanged`` instead of writing stale data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, Field

from schemas.envelope import Event

__all__ = ["Snapshot"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Snapshot(Event):
    """A full copy of a source record at one revision; not an event type by itself.

    Subclasses name their natural-key fields in ``entity_key_fields``; the
    envelope's ``entity_key`` is then derived from them and may be left out.
    """

    entity_key: str = Field(
        default="",
        description="Derived from the record's id fields when left out; must agree with them.",
    )

    source_updated_at: AwareDatetime = Field(
        description="When the source last changed the record, as the source reports it."
    )
    source_version: int | None = Field(
        default=None,
        ge=0,
        description=(
            "The source's own monotonic revision counter for the record, where it has one; "
            "otherwise revisions are ordered by source_updated_at."
        ),
    )

    @property
    def revision(self) -> tuple[int, int]:
        """Sort key of the record's revisions: compare with ``>`` to skip stale snapshots.

        The source's counter when it has one, else the update time in microseconds;
        the second part breaks ties between equal counters by time. A source
        either always sends ``source_version`` or never does, so the two
        forms are never compared with each other.
        """
        micros = (self.source_updated_at - _EPOCH) // timedelta(microseconds=1)
        if self.source_version is not None:
            return (self.source_version, micros)
        return (micros, 0)
