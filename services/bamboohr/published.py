"""What the source last published per record, so a re-read publishes only what differs.

Kept in the state store's ``watermarks`` table, one row per record, named
``published:<entity_key>`` under the service and the connection: that table is already
the source's own per-connection memory of "how far we got" (the changed-since watermark
lives beside it), it is keyed exactly by (service, connection, name), and a connection's
rows go with it (ON DELETE CASCADE). The value is the record's payload (the event without
envelope and revision) as JSON, not a hash: the payload lets a later read name the fields
that changed, carry a department's previous name, and publish a deleted employee's last
known record as terminated.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from services.runtime.store import StateStore

__all__ = ["PublishedRecords"]

_PREFIX: Final = "published:"


class PublishedRecords:
    def __init__(self, store: StateStore, service: str) -> None:
        self._store = store
        self._service = service

    async def get(self, connection_id: str, entity_key: str) -> dict[str, Any] | None:
        async with self._store.transaction() as repos:
            text = await repos.watermarks.get(self._service, connection_id, _PREFIX + entity_key)
        if text is None:
            return None
        value: dict[str, Any] = orjson.loads(text)
        return value

    async def put(self, connection_id: str, entity_key: str, payload: dict[str, Any]) -> None:
        async with self._store.transaction() as repos:
            await repos.watermarks.set(
                self._service,
                connection_id,
                _PREFIX + entity_key,
                orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode(),
            )
