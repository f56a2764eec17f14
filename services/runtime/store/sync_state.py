"""Repositories of what sinks and sources remember between messages.

Cross-references (which target record a source record became), polling
watermarks, and the idempotency ledger. The writes that decide between two
concurrent writers are single statements, so the database decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, delete, select, update

from schemas.envelope import utcnow
from services.runtime.store.errors import RecordNotFoundError, StaleRevisionError
from services.runtime.store.records import CrossReference, LedgerEntry
from services.runtime.store.statements import Repository, in_chunks, insert_on_conflict
from services.runtime.store.tables import cross_references, idempotency_ledger, watermarks

__all__ = ["CrossReferences", "IdempotencyLedger", "Watermarks"]


class CrossReferences(Repository):
    """Source record key -> target record id, per link, written by compare-and-set."""

    async def get(self, link_id: str, source_key: str, target_kind: str) -> CrossReference | None:
        row = (
            await self._connection.execute(
                select(cross_references).where(
                    cross_references.c.link_id == link_id,
                    cross_references.c.source_key == source_key,
                    cross_references.c.target_kind == target_kind,
                )
            )
        ).one_or_none()
        return None if row is None else _cross_reference(row)

    async def of_records(
        self, link_id: str, source_keys: Sequence[str], target_kinds: Sequence[str]
    ) -> dict[str, dict[str, CrossReference]]:
        """Every reference of ``source_keys`` of those kinds: by source key, then by kind
        (a batch's records in one read instead of one per record and kind)."""
        found: dict[str, dict[str, CrossReference]] = {}
        for keys in in_chunks(source_keys):
            rows = await self._connection.execute(
                select(cross_references).where(
                    cross_references.c.link_id == link_id,
                    cross_references.c.source_key.in_(keys),
                    cross_references.c.target_kind.in_(list(target_kinds)),
                )
            )
            for row in rows:
                reference = _cross_reference(row)
                found.setdefault(reference.source_key, {})[reference.target_kind] = reference
        return found

    async def find_by_target(
        self, link_id: str, target_kind: str, target_id: str
    ) -> CrossReference | None:
        """The reference pointing at a target record (for events coming back from it)."""
        row = (
            await self._connection.execute(
                select(cross_references)
                .where(
                    cross_references.c.link_id == link_id,
                    cross_references.c.target_kind == target_kind,
                    cross_references.c.target_id == target_id,
                )
                .order_by(cross_references.c.id)
                .limit(1)
            )
        ).one_or_none()
        return None if row is None else _cross_reference(row)

    async def put(
        self,
        link_id: str,
        source_key: str,
        target_kind: str,
        *,
        target_id: str,
        expected_revision: int | None,
        fingerprint: str | None = None,
        source_version: str | None = None,
        source_updated_at: datetime | None = None,
        now: datetime | None = None,
    ) -> CrossReference:
        """Write a reference if it is still at ``expected_revision`` (None: must not exist yet).

        Returns the stored reference with its new revision; raises
        StaleRevisionError when another writer got there first, so the caller
        re-reads and decides again instead of overwriting a newer state.
        """
        values: dict[str, Any] = {
            "target_id": target_id,
            "fingerprint": fingerprint,
            "source_version": source_version,
            "source_updated_at": source_updated_at,
            "updated_at": now or utcnow(),
        }
        returned = (*cross_references.c,)
        if expected_revision is None:
            inserted = insert_on_conflict(
                self._connection,
                cross_references,
                {
                    "link_id": link_id,
                    "source_key": source_key,
                    "target_kind": target_kind,
                    "revision": 1,
                    **values,
                },
                conflict=("link_id", "source_key", "target_kind"),
            ).returning(*returned)
            result = await self._connection.execute(inserted)
        else:
            updated = (
                update(cross_references)
                .where(
                    cross_references.c.link_id == link_id,
                    cross_references.c.source_key == source_key,
                    cross_references.c.target_kind == target_kind,
                    cross_references.c.revision == expected_revision,
                )
                .values(revision=cross_references.c.revision + 1, **values)
                .returning(*returned)
            )
            result = await self._connection.execute(updated)
        row = result.one_or_none()
        if row is None:
            msg = (
                f"cross-reference ({link_id}, {source_key}, {target_kind}) is not at revision "
                f"{expected_revision}: another writer changed it; read it again"
            )
            raise StaleRevisionError(msg)
        return _cross_reference(row)

    async def delete(self, link_id: str, source_key: str, target_kind: str) -> bool:
        result = await self._connection.execute(
            delete(cross_references).where(
                cross_references.c.link_id == link_id,
                cross_references.c.source_key == source_key,
                cross_references.c.target_kind == target_kind,
            )
        )
        return result.rowcount > 0


def _cross_reference(row: Row[Any]) -> CrossReference:
    fields = row._asdict()
    del fields["id"]
    return CrossReference(**fields)


class Watermarks(Repository):
    """How far a service's polling of one connection has got, per named stream."""

    async def get(self, service: str, connection_id: str, name: str) -> str | None:
        return cast(
            "str | None",
            await self._connection.scalar(
                select(watermarks.c.value).where(
                    watermarks.c.service == service,
                    watermarks.c.connection_id == connection_id,
                    watermarks.c.name == name,
                )
            ),
        )

    async def set(
        self,
        service: str,
        connection_id: str,
        name: str,
        value: str,
        *,
        now: datetime | None = None,
    ) -> None:
        values = {
            "service": service,
            "connection_id": connection_id,
            "name": name,
            "value": value,
            "updated_at": now or utcnow(),
        }
        await self._connection.execute(
            insert_on_conflict(
                self._connection,
                watermarks,
                values,
                conflict=("service", "connection_id", "name"),
                update_columns=("value", "updated_at"),
            )
        )


class IdempotencyLedger(Repository):
    """Message keys a service has already handled: a key is claimed once, ever."""

    async def claim(self, service: str, key: str, *, now: datetime | None = None) -> bool:
        """True for exactly one caller per (service, key), even across processes."""
        statement = insert_on_conflict(
            self._connection,
            idempotency_ledger,
            {"service": service, "key": key, "outcome": None, "created_at": now or utcnow()},
            conflict=("service", "key"),
        ).returning(idempotency_ledger.c.id)
        return (await self._connection.execute(statement)).one_or_none() is not None

    async def claim_many(
        self, service: str, keys: Sequence[str], *, outcome: str, now: datetime | None = None
    ) -> set[str]:
        """Claim every key of ``keys`` already done with ``outcome``, in one statement; the
        keys this call claimed (the others had been claimed before)."""
        if not keys:
            return set()
        at = now or utcnow()
        rows = [
            {"service": service, "key": key, "outcome": outcome, "created_at": at}
            for key in dict.fromkeys(keys)
        ]
        statement = insert_on_conflict(
            self._connection, idempotency_ledger, rows, conflict=("service", "key")
        ).returning(idempotency_ledger.c.key)
        return set((await self._connection.execute(statement)).scalars())

    async def record_outcome(self, service: str, key: str, outcome: str) -> None:
        result = await self._connection.execute(
            update(idempotency_ledger)
            .where(idempotency_ledger.c.service == service, idempotency_ledger.c.key == key)
            .values(outcome=outcome)
        )
        if result.rowcount != 1:
            msg = f"{service} has not claimed {key!r}; claim it before recording its outcome"
            raise RecordNotFoundError(msg)

    async def get(self, service: str, key: str) -> LedgerEntry | None:
        row = (
            await self._connection.execute(
                select(
                    idempotency_ledger.c.service,
                    idempotency_ledger.c.key,
                    idempotency_ledger.c.outcome,
                    idempotency_ledger.c.created_at,
                ).where(idempotency_ledger.c.service == service, idempotency_ledger.c.key == key)
            )
        ).one_or_none()
        return None if row is None else LedgerEntry(**row._asdict())

    async def prune(self, service: str, *, older_than: datetime) -> int:
        """Forget claims older than ``older_than`` (past the bus's retention); returns how many."""
        result = await self._connection.execute(
            delete(idempotency_ledger).where(
                idempotency_ledger.c.service == service,
                idempotency_ledger.c.created_at < older_than,
            )
        )
        return result.rowcount
