"""Repositories of what operators configure: connections, credentials, links, mappings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, cast
from uuid import uuid4

from sqlalchemy import delete, or_, select, update

from schemas.envelope import utcnow
from services.runtime.store.errors import RecordNotFoundError
from services.runtime.store.records import ConnectionRecord, LinkRecord, Mapping, StoredCredential
from services.runtime.store.statements import Repository, in_chunks, insert_on_conflict
from services.runtime.store.tables import connection_credentials, connections, links, mappings

__all__ = ["Connections", "Credentials", "Links", "Mappings"]


class Connections(Repository):
    """Vendor accounts: who we talk to, for which tenant, with which settings."""

    async def create(
        self,
        *,
        vendor: str,
        tenant_id: str,
        display_name: str,
        settings: dict[str, Any] | None = None,
        status: str = "active",
        connection_id: str | None = None,
        now: datetime | None = None,
    ) -> ConnectionRecord:
        at = now or utcnow()
        record = ConnectionRecord(
            id=connection_id or uuid4().hex,
            vendor=vendor,
            tenant_id=tenant_id,
            display_name=display_name,
            settings=settings or {},
            status=status,
            created_at=at,
            updated_at=at,
        )
        await self._connection.execute(connections.insert().values(asdict(record)))
        return record

    async def get(self, connection_id: str) -> ConnectionRecord | None:
        row = (
            await self._connection.execute(
                select(connections).where(connections.c.id == connection_id)
            )
        ).one_or_none()
        return None if row is None else ConnectionRecord(**row._asdict())

    async def list(self, *, vendor: str | None = None) -> list[ConnectionRecord]:
        query = select(connections).order_by(connections.c.created_at, connections.c.id)
        if vendor is not None:
            query = query.where(connections.c.vendor == vendor)
        rows = await self._connection.execute(query)
        return [ConnectionRecord(**row._asdict()) for row in rows]

    async def update(
        self,
        connection_id: str,
        *,
        display_name: str | None = None,
        settings: dict[str, Any] | None = None,
        status: str | None = None,
        now: datetime | None = None,
    ) -> ConnectionRecord:
        changes: dict[str, Any] = {"updated_at": now or utcnow()}
        if display_name is not None:
            changes["display_name"] = display_name
        if settings is not None:
            changes["settings"] = settings
        if status is not None:
            changes["status"] = status
        row = (
            await self._connection.execute(
                update(connections)
                .where(connections.c.id == connection_id)
                .values(changes)
                .returning(*connections.c)
            )
        ).one_or_none()
        if row is None:
            msg = f"no connection {connection_id!r}"
            raise RecordNotFoundError(msg)
        return ConnectionRecord(**row._asdict())

    async def delete(self, connection_id: str) -> bool:
        """Remove a connection and its credentials and watermarks; False if it was absent."""
        result = await self._connection.execute(
            delete(connections).where(connections.c.id == connection_id)
        )
        return result.rowcount > 0


class Credentials(Repository):
    """Encrypted credential fields of connections, as vault tokens."""

    async def put(
        self,
        connection_id: str,
        field: str,
        *,
        token: str,
        key_id: str,
        now: datetime | None = None,
    ) -> None:
        values = {
            "connection_id": connection_id,
            "field": field,
            "token": token,
            "key_id": key_id,
            "updated_at": now or utcnow(),
        }
        await self._connection.execute(
            insert_on_conflict(
                self._connection,
                connection_credentials,
                values,
                conflict=("connection_id", "field"),
                update_columns=("token", "key_id", "updated_at"),
            )
        )

    async def get(self, connection_id: str, field: str) -> StoredCredential | None:
        row = (
            await self._connection.execute(
                select(connection_credentials).where(
                    connection_credentials.c.connection_id == connection_id,
                    connection_credentials.c.field == field,
                )
            )
        ).one_or_none()
        return None if row is None else StoredCredential(**row._asdict())

    async def list(self, *, connection_id: str | None = None) -> list[StoredCredential]:
        """Every stored credential (of one connection, if given), in a stable order."""
        query = select(connection_credentials).order_by(
            connection_credentials.c.connection_id, connection_credentials.c.field
        )
        if connection_id is not None:
            query = query.where(connection_credentials.c.connection_id == connection_id)
        return [StoredCredential(**row._asdict()) for row in await self._connection.execute(query)]

    async def replace(
        self,
        connection_id: str,
        field: str,
        *,
        expected_token: str,
        token: str,
        key_id: str,
        now: datetime | None = None,
    ) -> bool:
        """Swap the token only if it is still ``expected_token`` (compare-and-set).

        False means someone wrote a newer credential meanwhile, which must win.
        """
        result = await self._connection.execute(
            update(connection_credentials)
            .where(
                connection_credentials.c.connection_id == connection_id,
                connection_credentials.c.field == field,
                connection_credentials.c.token == expected_token,
            )
            .values(token=token, key_id=key_id, updated_at=now or utcnow())
        )
        return result.rowcount == 1

    async def delete(self, connection_id: str, field: str) -> bool:
        result = await self._connection.execute(
            delete(connection_credentials).where(
                connection_credentials.c.connection_id == connection_id,
                connection_credentials.c.field == field,
            )
        )
        return result.rowcount > 0


class Links(Repository):
    """Flows between connections, with their options."""

    async def create(
        self,
        *,
        source_connection_id: str,
        target_connection_id: str,
        flow: str,
        options: dict[str, Any] | None = None,
        enabled: bool = True,
        link_id: str | None = None,
        now: datetime | None = None,
    ) -> LinkRecord:
        at = now or utcnow()
        record = LinkRecord(
            id=link_id or uuid4().hex,
            source_connection_id=source_connection_id,
            target_connection_id=target_connection_id,
            flow=flow,
            options=options or {},
            enabled=enabled,
            created_at=at,
            updated_at=at,
        )
        await self._connection.execute(links.insert().values(asdict(record)))
        return record

    async def get(self, link_id: str) -> LinkRecord | None:
        row = (
            await self._connection.execute(select(links).where(links.c.id == link_id))
        ).one_or_none()
        return None if row is None else LinkRecord(**row._asdict())

    async def list(
        self, *, connection_id: str | None = None, enabled_only: bool = False
    ) -> list[LinkRecord]:
        """Links touching ``connection_id`` as source or target (all links if None)."""
        query = select(links).order_by(links.c.created_at, links.c.id)
        if connection_id is not None:
            query = query.where(
                or_(
                    links.c.source_connection_id == connection_id,
                    links.c.target_connection_id == connection_id,
                )
            )
        if enabled_only:
            query = query.where(links.c.enabled.is_(True))
        return [LinkRecord(**row._asdict()) for row in await self._connection.execute(query)]

    async def update(
        self,
        link_id: str,
        *,
        options: dict[str, Any] | None = None,
        enabled: bool | None = None,
        now: datetime | None = None,
    ) -> LinkRecord:
        changes: dict[str, Any] = {"updated_at": now or utcnow()}
        if options is not None:
            changes["options"] = options
        if enabled is not None:
            changes["enabled"] = enabled
        row = (
            await self._connection.execute(
                update(links).where(links.c.id == link_id).values(changes).returning(*links.c)
            )
        ).one_or_none()
        if row is None:
            msg = f"no link {link_id!r}"
            raise RecordNotFoundError(msg)
        return LinkRecord(**row._asdict())

    async def delete(self, link_id: str) -> bool:
        """Remove a link with its mappings, cross-references and review items."""
        result = await self._connection.execute(delete(links).where(links.c.id == link_id))
        return result.rowcount > 0


class Mappings(Repository):
    """Value translations per link and kind (category -> account, ...)."""

    async def put(
        self,
        link_id: str,
        kind: str,
        source_value: str,
        target_value: str,
        *,
        now: datetime | None = None,
    ) -> None:
        values = {
            "link_id": link_id,
            "kind": kind,
            "source_value": source_value,
            "target_value": target_value,
            "updated_at": now or utcnow(),
        }
        await self._connection.execute(
            insert_on_conflict(
                self._connection,
                mappings,
                values,
                conflict=("link_id", "kind", "source_value"),
                update_columns=("target_value", "updated_at"),
            )
        )

    async def get(self, link_id: str, kind: str, source_value: str) -> str | None:
        """The target value, or None when this source value is not mapped."""
        return cast(
            "str | None",
            await self._connection.scalar(
                select(mappings.c.target_value).where(
                    mappings.c.link_id == link_id,
                    mappings.c.kind == kind,
                    mappings.c.source_value == source_value,
                )
            ),
        )

    async def kinds_of(
        self, link_id: str, source_value: str, kinds: Sequence[str]
    ) -> dict[str, str]:
        """Kind -> target value for those of ``kinds`` this source value is mapped under
        (one read where a record's marks of several kinds are wanted together)."""
        rows = await self._connection.execute(
            select(mappings.c.kind, mappings.c.target_value).where(
                mappings.c.link_id == link_id,
                mappings.c.source_value == source_value,
                mappings.c.kind.in_(list(kinds)),
            )
        )
        return {row.kind: row.target_value for row in rows}

    async def of_sources(
        self, link_id: str, kind: str, source_values: Sequence[str]
    ) -> dict[str, str]:
        """Source value -> target value for those of ``source_values`` that are mapped (a
        batch's records in one read)."""
        found: dict[str, str] = {}
        for values in in_chunks(source_values):
            rows = await self._connection.execute(
                select(mappings.c.source_value, mappings.c.target_value).where(
                    mappings.c.link_id == link_id,
                    mappings.c.kind == kind,
                    mappings.c.source_value.in_(values),
                )
            )
            found.update({row.source_value: row.target_value for row in rows})
        return found

    async def list(self, link_id: str, *, kind: str | None = None) -> list[Mapping]:
        query = (
            select(
                mappings.c.link_id,
                mappings.c.kind,
                mappings.c.source_value,
                mappings.c.target_value,
            )
            .where(mappings.c.link_id == link_id)
            .order_by(mappings.c.kind, mappings.c.source_value)
        )
        if kind is not None:
            query = query.where(mappings.c.kind == kind)
        return [Mapping(**row._asdict()) for row in await self._connection.execute(query)]

    async def delete(self, link_id: str, kind: str, source_value: str) -> bool:
        result = await self._connection.execute(
            delete(mappings).where(
                mappings.c.link_id == link_id,
                mappings.c.kind == kind,
                mappings.c.source_value == source_value,
            )
        )
        return result.rowcount > 0
