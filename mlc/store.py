"""``mlc store migrate`` and ``mlc store rebuild-read-model``: the state store
(``MLC_DATABASE_URL``)."""

from __future__ import annotations

import asyncio

import typer

from mlc.exits import EXIT_FAILED, fail
from mlc.settings import runtime_settings
from services.runtime.store import StateStore, StoreError, migrate

__all__ = ["store_app"]

store_app = typer.Typer(help="The state store (MLC_DATABASE_URL).", no_args_is_help=True)


@store_app.command("migrate")
def migrate_store() -> None:
    """Bring the state store's schema to the newest migration (safe to run again)."""
    settings = runtime_settings()
    try:
        asyncio.run(migrate(settings.database_url))
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    typer.echo("the state store's schema is up to date")


@store_app.command("rebuild-read-model")
def rebuild_read_model() -> None:
    """Forget the read model (status figures, dead letters, the log index); the control
    plane's folder reads the topics again from the beginning and rebuilds it."""
    settings = runtime_settings()
    try:
        asyncio.run(_clear_read_model(settings.database_url))
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    typer.echo(
        "read model cleared: the control plane folds the log into it again from the beginning "
        "(mlc status notes how far behind it is meanwhile)"
    )


async def _clear_read_model(database_url: str) -> None:
    store = await StateStore.open(database_url)
    try:
        async with store.transaction() as tx:
            await tx.read_model.clear()
            await tx.audit_log.append(
                actor="mlc", action="read_model.rebuild_requested", subject="read_model"
            )
    finally:
        await store.close()
