"""What every repository shares: the wrapped connection and the dialect's upsert.

PostgreSQL and SQLite spell ``INSERT ... ON CONFLICT`` the same way but
through different SQLAlchemy constructs; :func:`insert_on_conflict` is the
one place that picks between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.schema import Table

from services.runtime.store.errors import StoreError

__all__ = ["Repository", "in_chunks", "insert_on_conflict"]

# Values per IN list: well under SQLite's bound on a statement's variables (32,766).
_VALUES_PER_READ = 500


def in_chunks(values: Sequence[str]) -> list[list[str]]:
    """``values`` without repeats, in IN lists a statement can take."""
    unique = list(dict.fromkeys(values))
    return [unique[at : at + _VALUES_PER_READ] for at in range(0, len(unique), _VALUES_PER_READ)]


class Repository:
    """Operations on one table within the caller's transaction; never commits."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection


def insert_on_conflict(
    connection: AsyncConnection,
    table: Table,
    values: dict[str, Any] | list[dict[str, Any]],
    *,
    conflict: Sequence[str],
    update_columns: Sequence[str] = (),
    where: ColumnElement[bool] | None = None,
) -> Insert:
    """``INSERT ... ON CONFLICT (conflict) DO UPDATE/NOTHING`` in the connection's dialect.

    ``values`` is one row, or several for one multi-row statement.

    With ``update_columns`` the existing row takes those columns from the new
    values (only where ``where`` holds on the existing row); without, the
    insert is skipped. Either way ``RETURNING`` then yields a row only when
    something was written.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        pg_insert = postgresql.insert(table).values(values)
        if not update_columns:
            return pg_insert.on_conflict_do_nothing(index_elements=list(conflict))
        return pg_insert.on_conflict_do_update(
            index_elements=list(conflict),
            set_={name: pg_insert.excluded[name] for name in update_columns},
            where=where,
        )
    if dialect == "sqlite":
        lite_insert = sqlite.insert(table).values(values)
        if not update_columns:
            return lite_insert.on_conflict_do_nothing(index_elements=list(conflict))
        return lite_insert.on_conflict_do_update(
            index_elements=list(conflict),
            set_={name: lite_insert.excluded[name] for name in update_columns},
            where=where,
        )
    msg = f"the state store supports sqlite and postgresql, not {dialect}"
    raise StoreError(msg)
