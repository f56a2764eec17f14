"""Every row of the state store a preview must leave as it was."""

from __future__ import annotations

from sqlalchemy import select

from services.runtime.shared_budget import WINDOW_PREFIX
from services.runtime.store import StateStore, tables


async def rows_a_preview_keeps(store: StateStore) -> dict[str, list[str]]:
    """Every table's rows, but the credentials (a read may refresh a token or log in) and the
    request windows' places (a read spends the vendor's budget like any call)."""
    rows: dict[str, list[str]] = {}
    async with store.transaction() as repos:
        for table in tables.metadata.sorted_tables:
            if table.name == tables.connection_credentials.name:
                continue
            query = select(table)
            if table.name == tables.leases.name:
                query = query.where(~tables.leases.c.name.startswith(WINDOW_PREFIX))
            found = await repos.connection.execute(query)
            rows[table.name] = sorted(map(repr, found.all()))
    return rows
