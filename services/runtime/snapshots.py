"""Publish only what differs: a source's memory of the snapshots it last published.

A source that re-reads a vendor (a reconcile, a poll with overlap, a duplicated webhook)
sees mostly records it already published. It publishes a record again only when its
payload (the snapshot without envelope and revision) differs from the last one
published, so a second reconcile publishes nothing and a lost webhook is made good by
the next reconcile.

Kept in the state store's ``watermarks`` table, one row per record, named
``published:<event type>:<entity key>`` under the service and the connection: that table
is already a source's per-connection memory of "how far we got", keyed exactly by
(service, connection, name), and a connection's rows go with it (ON DELETE CASCADE). The
value is the payload as JSON, not a hash: it lets a later read name the fields that
changed, and lets a source publish a deleted record's last known state.

A source handles several records at once (a batch's deliveries), and two of them may
name the same record (BambooHR sends ``employee.created`` and then ``employee.updated``
for one hire). The look, the publish and the remembering of one record are therefore
done one caller at a time in the process, so the second finds what the first published
instead of publishing it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

import orjson
from faststream.kafka import KafkaBroker

from schemas.envelope import Event
from schemas.snapshot import Snapshot
from services.runtime.keyed_locks import KeyedLocks
from services.runtime.logging import get_logger
from services.runtime.publishing import publish
from services.runtime.store import StateStore

__all__ = ["PublishedSnapshots", "differing_fields", "snapshot_payload"]

S = TypeVar("S", bound=Snapshot)

_PREFIX: Final = "published:"
# Envelope and revision: not part of what a record "is".
_ENVELOPE: Final = frozenset(Snapshot.model_fields)

_log = get_logger(__name__)


def snapshot_payload(snapshot: Snapshot, *, volatile: Iterable[str] = ()) -> dict[str, Any]:
    """What a record is, without envelope, revision or ``volatile`` fields (JSON values)."""
    return snapshot.model_dump(mode="json", exclude=set(_ENVELOPE | set(volatile)))


def differing_fields(previous: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[str, ...]:
    """Names of the payload fields whose values differ, sorted."""
    return tuple(
        sorted(
            name
            for name in current.keys() | previous.keys()
            if previous.get(name) != current.get(name)
        )
    )


Annotate = Callable[[S, Mapping[str, Any], tuple[str, ...]], S]
"""(snapshot, previous payload, changed field names) -> the snapshot to publish."""


class PublishedSnapshots:
    """A source's last published payload per (connection, event type, entity key)."""

    def __init__(
        self,
        *,
        store: StateStore,
        broker: KafkaBroker,
        service: str,
        volatile: Iterable[str] = (),
    ) -> None:
        self._store = store
        self._broker = broker
        self._service = service
        self._volatile = frozenset(volatile)
        # One lock per record while someone holds it (the weak map forgets idle ones).
        self._locks: KeyedLocks[tuple[str, str, str]] = KeyedLocks()

    def payload(self, snapshot: Snapshot) -> dict[str, Any]:
        return snapshot_payload(snapshot, volatile=self._volatile)

    async def last(
        self, connection_id: str, event_type: str, entity_key: str
    ) -> dict[str, Any] | None:
        """The payload last published for the record, or None if none was."""
        name = f"{_PREFIX}{event_type}:{entity_key}"
        async with self._store.reading() as repos:
            text = await repos.watermarks.get(self._service, connection_id, name)
        if text is None:
            return None
        value: dict[str, Any] = orjson.loads(text)
        return value

    async def _remember(self, snapshot: Snapshot, payload: Mapping[str, Any]) -> None:
        name = f"{_PREFIX}{snapshot.type}:{snapshot.entity_key}"
        async with self._store.transaction() as repos:
            await repos.watermarks.set(
                self._service,
                snapshot.connection_id,
                name,
                orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode(),
            )

    async def publish_if_changed(
        self,
        snapshot: S,
        *,
        topic: str,
        cause: Event,
        resend: bool = False,
        annotate: Annotate[S] | None = None,
    ) -> bool:
        """Publish ``snapshot`` unless it is what was last published (``resend``: anyway).

        ``annotate`` may fill in what only a comparison knows (the changed fields, a
        previous name) before it goes out. Published first, remembered after Kafka's
        acknowledgement: a crash in between publishes it once more, never loses it.
        """
        payload = self.payload(snapshot)
        record = (snapshot.connection_id, snapshot.type, snapshot.entity_key)
        async with self._locks.of(record):
            previous = await self.last(*record)
            if previous == payload and not resend:
                return False
            if previous is not None and annotate is not None:
                snapshot = annotate(snapshot, previous, differing_fields(previous, payload))
            await publish(self._broker, snapshot, cause=cause, topic=topic)
            await self._remember(snapshot, payload)
        _log.info("source.published", service=self._service, type=snapshot.type, key=snapshot.key)
        return True
