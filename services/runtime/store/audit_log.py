"""The audit log: an append-only record of operator-visible actions.

The bus is the audit trail of records (``services.runtime.audit_trail``); this
table records what happened to the deployment itself: connection changes,
refused input, review decisions, key rotations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.sql.elements import ColumnElement

from schemas.envelope import utcnow
from services.runtime.store.records import AuditRecord
from services.runtime.store.statements import Repository
from services.runtime.store.tables import audit_log

__all__ = ["AuditLog"]


class AuditLog(Repository):
    """Append-only record of operator-visible actions (connection changes, refusals)."""

    async def append(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        detail: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> AuditRecord:
        values: dict[str, Any] = {
            "at": now or utcnow(),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail or {},
        }
        row = (
            await self._connection.execute(
                audit_log.insert().values(values).returning(*audit_log.c)
            )
        ).one()
        return AuditRecord(**row._asdict())

    async def list(
        self, *, subject: str | None = None, before_id: int | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        """Newest first; pass the last id seen as ``before_id`` for the next page."""
        conditions: list[ColumnElement[bool]] = []
        if subject is not None:
            conditions.append(audit_log.c.subject == subject)
        if before_id is not None:
            conditions.append(audit_log.c.id < before_id)
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if conditions:
            query = query.where(and_(*conditions))
        return [AuditRecord(**row._asdict()) for row in await self._connection.execute(query)]
