"""``mlc audit``: what happened to a record, or to one chain of events, read from the log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from mlc.exits import EXIT_FAILED, fail, kafka_unavailable
from mlc.settings import runtime_settings
from services.runtime.audit_trail import (
    EntityRef,
    entity_topics,
    format_chain,
    parse_entity_ref,
    read_chain,
    read_entity_chains,
)
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
    (its reason). With an event id: the chain of that correlation id.
    """
    settings = runtime_settings()
    entity = parse_entity_ref(target, VENDORS)
    if entity is not None:
        _audit_entity(settings, entity)
        return
    names = [t.name for t in TOPICS]
    try:
        chain = asyncio.run(read_chain(settings.kafka_bootstrap_servers, target, topics=names))
    except (KafkaError, OSError) as exc:
        raise kafka_unavailable(settings.kafka_bootstrap_servers, exc) from None
    if not chain:
        raise fail(f"no event with correlation id {target} on {len(names)} topics", EXIT_FAILED)
    typer.echo(format_chain(chain))


def _audit_entity(settings: RuntimeSettings, entity: EntityRef) -> None:
    url = make_url(settings.database_url)
    # No SQLite file here means no store: opening one would create it empty.
    no_store = url.get_backend_name() == "sqlite" and not Path(url.database or "").exists()
    connection_ids = (
        [] if no_store else asyncio.run(_vendor_connection_ids(settings, entity.vendor))
    )
    try:
        chains = asyncio.run(
            read_entity_chains(
                settings.kafka_bootstrap_servers,
                entity,
                topics=entity_topics(entity.vendor, TOPICS),
                connection_ids=connection_ids,
            )
        )
    except (KafkaError, OSError) as exc:
        raise kafka_unavailable(settings.kafka_bootstrap_servers, exc) from None
    if not chains:
        raise fail(
            f"no event about {entity} on {', '.join(entity_topics(entity.vendor, TOPICS))}",
            EXIT_FAILED,
        )
    for number, chain in enumerate(chains, start=1):
        root = chain[0].event
        typer.echo(f"chain {number} of {len(chains)} (correlation id {root.get('event_id')}):")
        typer.echo(format_chain(chain))


async def _vendor_connection_ids(settings: RuntimeSettings, vendor: str) -> list[str]:
    """The vendor's connections from the state store; none if it cannot be read.

    Without them the log still names the connections that delivered to raw.<vendor>.
    """
    try:
        store = await StateStore.open(settings.database_url, run_migrations=False)
    except (StoreError, SQLAlchemyError, OSError):
        return []
    try:
        async with store.transaction() as tx:
            return [c.id for c in await tx.connections.list(vendor=vendor)]
    except (StoreError, SQLAlchemyError):
        return []
    finally:
        await store.close()
