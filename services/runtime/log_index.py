"""Where a record's or a chain's events are in the log, from the read model's index.

The read model's folder (``services/control/projection.py``) files every event under the
refs below; :class:`StoreLogIndex` answers from the store which places named a ref, and up
to where the folder has read, so ``mlc audit`` and the console read those places and only
the log's unfolded tail instead of every topic from the beginning.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.runtime.store import StateStore
from services.runtime.store.read_model import LogPlace

__all__ = ["LogPlace", "StoreLogIndex", "chain_ref", "email_ref", "record_ref"]


def record_ref(connection_id: str, entity_key: str) -> str:
    """A record's events: those keyed ``<connection>:<entity key>``."""
    return f"record:{connection_id}:{entity_key}"


def chain_ref(correlation_id: str) -> str:
    """One chain's events: those of this correlation id (the root's own id)."""
    return f"chain:{correlation_id}"


def email_ref(address: str) -> str:
    """Events that carry this email address in a top-level ``email`` / ``*_email`` field."""
    return f"email:{address.strip().lower()}"


class StoreLogIndex:
    """The index in ``store``'s read model."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def folded(self) -> dict[tuple[str, int], int]:
        """(topic, partition) -> the next offset the index has not seen."""
        async with self._store.transaction() as tx:
            return await tx.read_model.positions()

    async def places(self, refs: Iterable[str]) -> list[LogPlace]:
        async with self._store.transaction() as tx:
            return await tx.read_model.places(refs)
