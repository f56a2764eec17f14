"""A stack's stored credentials, decrypted with the stack's own keys, for its tools.

The fault suite tells a sandbox which token to revoke and the edge benchmark signs with a
registered webhook's secret: both need what the store holds for a connection, in clear,
as the services read it (the run directory's key ring, the stack's store).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from devstack.stack import StackPlan
from services.runtime.settings import RuntimeSettings
from services.runtime.store import StateStore
from services.runtime.vault import Vault

__all__ = ["CredentialReader", "stack_credentials"]

CredentialReader = Callable[[str], Awaitable[dict[str, str]]]
"""A connection id -> its credential fields and their values, as stored now."""


@asynccontextmanager
async def stack_credentials(plan: StackPlan) -> AsyncIterator[CredentialReader]:
    """A reader of the stack's credentials, over the store opened for the block."""
    settings = RuntimeSettings(
        database_url=plan.database_url, master_keys_file=plan.run_dir / "master_keys"
    )
    vault = Vault.from_settings(settings)
    store = await StateStore.from_settings(settings, run_migrations=False)

    async def read(connection_id: str) -> dict[str, str]:
        async with store.reading() as repos:
            stored = await repos.credentials.list(connection_id=connection_id)
        return {
            row.field: vault.decrypt(row.token, connection_id=connection_id, field=row.field)
            for row in stored
        }

    try:
        yield read
    finally:
        await store.close()
