"""``mlc store migrate``: the state store's schema (``MLC_DATABASE_URL``)."""

from __future__ import annotations

import asyncio

import typer

from mlc.exits import EXIT_FAILED, fail
from mlc.settings import runtime_settings
from services.runtime.store import StoreError, migrate

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
