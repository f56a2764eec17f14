"""In-memory records of a sandbox: collections of JSON-able dicts, keyed by their id.

A seed (and `GET /_sandbox/state`) is `{collection: [record, ...]}`. Every record has an
`id` field; its type (int or digit string) is the vendor's choice, the key is `str(id)`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["Record", "Seed", "State", "UnknownCollectionError"]

Record = dict[str, Any]
Seed = Mapping[str, Sequence[Record]]


class UnknownCollectionError(KeyError):
    """A collection name the sandbox does not have."""


class State:
    """Collections of records. Collections are declared up front so typos fail loudly."""

    def __init__(self, collections: Iterable[str]) -> None:
        self._collections: dict[str, dict[str, Record]] = {name: {} for name in collections}
        self._counters: dict[str, int] = dict.fromkeys(self._collections, 0)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._collections)

    def _collection(self, name: str) -> dict[str, Record]:
        try:
            return self._collections[name]
        except KeyError:
            raise UnknownCollectionError(name) from None

    def next_id(self, collection: str) -> int:
        """A fresh integer id, above every numeric id the collection has seen."""
        self._collection(collection)
        self._counters[collection] += 1
        return self._counters[collection]

    def insert(self, collection: str, record: Record) -> Record:
        """Add (or replace) a record; one without an `id` gets the next integer id."""
        records = self._collection(collection)
        if "id" not in record:
            record["id"] = self.next_id(collection)
        key = str(record["id"])
        if key.isdigit():
            self._counters[collection] = max(self._counters[collection], int(key))
        records[key] = record
        return record

    def get(self, collection: str, record_id: object) -> Record | None:
        return self._collection(collection).get(str(record_id))

    def records(self, collection: str) -> list[Record]:
        return list(self._collection(collection).values())

    def update(self, collection: str, record_id: object, changes: Mapping[str, Any]) -> Record:
        """Merge `changes` into an existing record (KeyError if it does not exist)."""
        record = self._collection(collection)[str(record_id)]
        record.update(changes)
        return record

    def delete(self, collection: str, record_id: object) -> Record | None:
        return self._collection(collection).pop(str(record_id), None)

    def clear(self) -> None:
        for name in self._collections:
            self._collections[name] = {}
            self._counters[name] = 0

    def load(self, seed: Seed) -> None:
        """Insert every record of `seed` (deep-copied, so the seed stays untouched)."""
        for name, records in seed.items():
            self._collection(name)
            for record in records:
                self.insert(name, copy.deepcopy(dict(record)))

    def snapshot(self) -> dict[str, list[Record]]:
        """A deep copy of every collection as `{name: [records]}`."""
        collections = self._collections.items()
        return {name: copy.deepcopy(list(records.values())) for name, records in collections}

    def snapshot_of(self, collection: str) -> list[Record]:
        """A deep copy of one collection's records."""
        return copy.deepcopy(self.records(collection))
