"""``mlc audit``: what happened to a record, or to one chain of events, read from the log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from mlc.exits import EXIT_FAILED, fail, kafka_unavailable
from mlc.settings import runtime_settings
from services.runtime.audit_trail import (
    AuditEntry,
    EntityRef,
    entity_topics,
    format_chain,
    parse_entity_ref,
    read_chain,
    read_entity_chains,
)
from services.runtime.log_index import StoreLogIndex
from services.runtime.settings import RuntimeSettings
from services.runtime.store import StateStore, StoreError
from services.vendors import TOPICS, VENDORS

__all__ = ["audit_command"]


def audit_command(
    target: Annotated[
        str,
        typer.Argument(
            help="<vendor>:<entity id> (e.g. bamboohr:4711), or the event id that started a chain."
        ),
    ],
) -> None:
    """Print what happened to a record (or to one chain of events), read from the log.

    With <vendor>:<entity id>: every chain that touched the record, from the webhook
    or tick that started it to the write in the target system (its id) or the failure
    (its reason). With an event id: the chain of that correlation id. The read model's
    index says where the events are; only the part of the log it has not indexed yet is
    scanned (all of it when there is no store).
    """
    settings = runtime_settings()
    entity = parse_entity_ref(target, VENDORS)
    try:
        if entity is not None:
            _audit_entity(entity, asyncio.run(_read_entity(settings, entity)))
            return
        chain = asyncio.run(_read_chain(settings, target))
    except (KafkaError, OSError) as exc:
        raise kafka_unavailable(settings.kafka_bootstrap_servers, exc) from None
    if not chain:
        names = [t.name for t in TOPICS]
        raise fail(f"no event with correlation id {target} on {len(names)} topics", EXIT_FAILED)
    typer.echo(format_chain(chain))


def _audit_entity(entity: EntityRef, chains: list[list[AuditEntry]]) -> None:
    if not chains:
        raise fail(
            f"no event about {entity} on {', '.join(entity_topics(entity.vendor, TOPICS))}",
            EXIT_FAILED,
        )
    for number, chain in enumerate(chains, start=1):
        root = chain[0].event
        typer.echo(f"chain {number} of {len(chains)} (correlation id {root.get('event_id')}):")
        typer.echo(format_chain(chain))


async def _read_chain(settings: RuntimeSettings, correlation_id: str) -> list[AuditEntry]:
    async with _indexed_store(settings) as store:
        return await read_chain(
            settings.kafka_bootstrap_servers,
            correlation_id,
            topics=[t.name for t in TOPICS],
            index=None if store is None else StoreLogIndex(store),
        )


async def _read_entity(settings: RuntimeSettings, entity: EntityRef) -> list[list[AuditEntry]]:
    async with _indexed_store(settings) as store:
        # Without the vendor's connections the log still names those that delivered to
        # raw.<vendor> (the whole log is read then).
        connection_ids = [] if store is None else await _vendor_connection_ids(store, entity)
        return await read_entity_chains(
            settings.kafka_bootstrap_servers,
            entity,
            topics=entity_topics(entity.vendor, TOPICS),
            connection_ids=connection_ids,
            index=None if store is None else StoreLogIndex(store),
        )


@asynccontextmanager
async def _indexed_store(settings: RuntimeSettings) -> AsyncIterator[StateStore | None]:
    """The state store when there is one that can be read, else None."""
    if not await asyncio.to_thread(_store_exists, settings):
        yield None
        return
    try:
        store = await StateStore.open(settings.database_url, run_migrations=False)
        async with store.transaction() as tx:
            await tx.read_model.positions()
    except (StoreError, SQLAlchemyError, OSError):
        yield None
        return
    try:
        yield store
    finally:
        await store.close()


def _store_exists(settings: RuntimeSettings) -> bool:
    url = make_url(settings.database_url)
    # No SQLite file here means no store: opening one would create it empty.
    return url.get_backend_name() != "sqlite" or Path(url.database or "").exists()


async def _vendor_connection_ids(store: StateStore, entity: EntityRef) -> list[str]:
    try:
        async with store.transaction() as tx:
            return [c.id for c in await tx.connections.list(vendor=entity.vendor)]
    except (StoreError, SQLAlchemyError):
        return []
