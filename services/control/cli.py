"""``mlc``: the operator's command line.

It holds the vault's key management, the state store's schema step, the
topics, the operator API's commands (connections, links, status), and the
log's: ``mlc audit`` (a record's or a chain's history) and ``mlc replay`` (a
dead letter back onto its topic).

``mlc vault rotate`` re-encrypts every stored credential under the active key
(the first in ``MLC_MASTER_KEYS``). Before it changes anything it checks that
the key ring opens every credential, so a wrong or incomplete ring is refused
(exit 2) with nothing half-done. Each credential is then rewritten in its own
transaction, only if it still holds the token that was read (a service that
stored a fresh token meanwhile wins). Running it again rotates nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from schemas.envelope import utcnow
from schemas.topics import dlq_topic
from services.control.cli_connections import connections_app, links_app, status_command
from services.runtime.audit_trail import (
    EntityRef,
    entity_topics,
    format_chain,
    parse_entity_ref,
    read_chain,
    read_entity_chains,
)
from services.runtime.bus import create_broker
from services.runtime.replay import FoundDeadLetter, dead_letter_topics, find_dead_letter, replay
from services.runtime.settings import RuntimeSettings, SettingsError, load_settings
from services.runtime.store import StateStore, StoredCredential, StoreError, migrate
from services.runtime.topics_admin import TopicBootstrapError, ensure_topics
from services.runtime.vault import Vault, VaultError, generate_key_ring_entry
from services.vendors import TOPICS, VENDORS

__all__ = ["EXIT_REFUSED", "EXIT_STORE_UNAVAILABLE", "app", "main"]

# The configuration or the key ring cannot do what was asked; nothing was changed.
EXIT_REFUSED = 2
EXIT_STORE_UNAVAILABLE = 1
# A credential rewritten by someone else between our read and our write is read again.
_ROTATE_ATTEMPTS = 3

app = typer.Typer(name="mlc", help="ml-connector operator commands.", no_args_is_help=True)
vault_app = typer.Typer(help="Credential encryption keys.", no_args_is_help=True)
store_app = typer.Typer(help="The state store (MLC_DATABASE_URL).", no_args_is_help=True)
topics_app = typer.Typer(help="Kafka topics (MLC_KAFKA_BOOTSTRAP_SERVERS).", no_args_is_help=True)
app.add_typer(vault_app, name="vault")
app.add_typer(store_app, name="store")
app.add_typer(topics_app, name="topics")
app.add_typer(connections_app, name="connections")
app.add_typer(links_app, name="links")
app.command("status")(status_command)


def main() -> None:
    """Console entry point (``mlc``)."""
    app()


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"mlc: {message}", err=True)
    return typer.Exit(code)


def _settings() -> RuntimeSettings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise _fail(str(exc), EXIT_REFUSED) from None


@vault_app.command("new-key")
def new_key(
    kid: Annotated[
        str | None,
        typer.Option(
            help="Key id for the new key (letters, digits, '_', '.', '-').", show_default=False
        ),
    ] = None,
) -> None:
    """Print a new key ring entry 'kid:base64key' (default kid: k<YYYYMMDD>).

    Put it first in MLC_MASTER_KEYS, keep the old keys after it, then run `mlc vault rotate`.
    """
    try:
        entry = generate_key_ring_entry(kid or f"k{utcnow():%Y%m%d}")
    except VaultError as exc:
        raise _fail(str(exc), EXIT_REFUSED) from None
    typer.echo(entry)


@dataclass(frozen=True, slots=True)
class _RotationResult:
    rotated: bool
    removed_meanwhile: bool = False


@vault_app.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored credential under the active key (the first in MLC_MASTER_KEYS)."""
    settings = _settings()
    try:
        vault = Vault.from_settings(settings)
    except (SettingsError, VaultError) as exc:
        raise _fail(str(exc), EXIT_REFUSED) from None
    asyncio.run(_rotate_all(settings, vault))


async def _rotate_all(settings: RuntimeSettings, vault: Vault) -> None:
    try:
        store = await StateStore.from_settings(settings)
    except StoreError as exc:
        raise _fail(str(exc), EXIT_STORE_UNAVAILABLE) from None
    try:
        async with store.transaction() as tx:
            credentials = await tx.credentials.list()
        _check_every_credential_opens(vault, credentials)
        total = len(credentials)
        rotated = 0
        for position, credential in enumerate(credentials, start=1):
            where = f"[{position}/{total}] {credential.connection_id}/{credential.field}"
            result = await _rotate_one(store, vault, credential)
            if result.rotated:
                rotated += 1
                typer.echo(f"{where}: re-encrypted {credential.key_id} -> {vault.active_key_id}")
            elif result.removed_meanwhile:
                typer.echo(f"{where}: removed meanwhile, skipped")
            else:
                typer.echo(f"{where}: already under {vault.active_key_id}")
        async with store.transaction() as tx:
            await tx.audit_log.append(
                actor="mlc vault rotate",
                action="vault.rotated",
                subject="vault",
                detail={"rotated": rotated, "total": total, "active_key_id": vault.active_key_id},
            )
        typer.echo(
            f"rotated {rotated} of {total} credentials; "
            f"all stored credentials are under key {vault.active_key_id}"
        )
    finally:
        await store.close()


def _check_every_credential_opens(vault: Vault, credentials: list[StoredCredential]) -> None:
    """Refuse before changing anything if the key ring cannot open a credential."""
    for credential in credentials:
        try:
            vault.decrypt(
                credential.token, connection_id=credential.connection_id, field=credential.field
            )
        except VaultError as exc:
            raise _fail(
                f"{exc}. Nothing was rotated: put the key this credential was encrypted "
                "under into MLC_MASTER_KEYS (after the active one) and run "
                "`mlc vault rotate` again",
                EXIT_REFUSED,
            ) from None


async def _rotate_one(
    store: StateStore, vault: Vault, credential: StoredCredential
) -> _RotationResult:
    for _ in range(_ROTATE_ATTEMPTS):
        async with store.transaction() as tx:
            current = await tx.credentials.get(credential.connection_id, credential.field)
            if current is None:
                return _RotationResult(rotated=False, removed_meanwhile=True)
            if not vault.needs_rotation(current.token):
                return _RotationResult(rotated=False)
            try:
                token = vault.reencrypt(
                    current.token, connection_id=current.connection_id, field=current.field
                )
            except VaultError as exc:
                raise _fail(
                    f"{exc}. Credentials listed above were rotated; fix MLC_MASTER_KEYS "
                    "and run `mlc vault rotate` again",
                    EXIT_REFUSED,
                ) from None
            if await tx.credentials.replace(
                current.connection_id,
                current.field,
                expected_token=current.token,
                token=token,
                key_id=vault.active_key_id,
            ):
                return _RotationResult(rotated=True)
    msg = (
        f"{credential.connection_id}/{credential.field} kept changing while being rotated; "
        "run `mlc vault rotate` again"
    )
    raise _fail(msg, EXIT_STORE_UNAVAILABLE)


@store_app.command("migrate")
def migrate_store() -> None:
    """Bring the state store's schema to the newest migration (safe to run again)."""
    settings = _settings()
    try:
        asyncio.run(migrate(settings.database_url))
    except StoreError as exc:
        raise _fail(str(exc), EXIT_STORE_UNAVAILABLE) from None
    typer.echo("the state store's schema is up to date")


def _kafka_unavailable(settings: RuntimeSettings, exc: Exception) -> typer.Exit:
    return _fail(
        f"cannot use Kafka at {settings.kafka_bootstrap_servers} "
        f"(MLC_KAFKA_BOOTSTRAP_SERVERS): {exc}",
        EXIT_STORE_UNAVAILABLE,
    )


@topics_app.command("ensure")
def ensure_catalog_topics() -> None:
    """Create the catalog's topics that the cluster lacks (existing ones are left alone)."""
    settings = _settings()
    try:
        result = asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, TOPICS))
    except (TopicBootstrapError, KafkaError, OSError) as exc:
        raise _kafka_unavailable(settings, exc) from None
    typer.echo(f"{len(result.created)} topics created, {len(result.existing)} already there")
    for mismatch in result.mismatches:
        typer.echo(
            f"warning: {mismatch.topic} has {mismatch.cluster_partitions} partitions, "
            f"the catalog says {mismatch.catalog_partitions}"
        )


@app.command("audit")
def audit_chain(
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
    settings = _settings()
    entity = parse_entity_ref(target, VENDORS)
    if entity is not None:
        _audit_entity(settings, entity)
        return
    names = [t.name for t in TOPICS]
    try:
        chain = asyncio.run(read_chain(settings.kafka_bootstrap_servers, target, topics=names))
    except (KafkaError, OSError) as exc:
        raise _kafka_unavailable(settings, exc) from None
    if not chain:
        raise _fail(f"no event with correlation id {target} on {len(names)} topics", 1)
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
        raise _kafka_unavailable(settings, exc) from None
    if not chains:
        raise _fail(
            f"no event about {entity} on {', '.join(entity_topics(entity.vendor, TOPICS))}", 1
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


# The ledger service under which replays are claimed: each dead letter is replayed once.
_REPLAY_LEDGER = "mlc-replay"
_NOT_PUBLISHED = "not_published"


@app.command("replay")
def replay_dead_letter(
    event_id: Annotated[
        str, typer.Argument(help="The dead-lettered event's id, or the dead letter's own id.")
    ],
    again: Annotated[
        bool, typer.Option("--again", help="Replay a dead letter that was replayed before.")
    ] = False,
) -> None:
    """Put a dead-lettered event back on its topic (same key) once its cause is fixed."""
    settings = _settings()
    try:
        found = asyncio.run(
            find_dead_letter(
                settings.kafka_bootstrap_servers, event_id, topics=dead_letter_topics(TOPICS)
            )
        )
    except (KafkaError, OSError) as exc:
        raise _kafka_unavailable(settings, exc) from None
    if found is None:
        raise _fail(
            f"no dead letter for event id {event_id} on {', '.join(dead_letter_topics(TOPICS))}",
            EXIT_REFUSED,
        )
    asyncio.run(_replay(settings, found, again=again))


async def _replay(settings: RuntimeSettings, found: FoundDeadLetter, *, again: bool) -> None:
    letter = found.letter
    try:
        store = await StateStore.from_settings(settings)
    except StoreError as exc:
        raise _fail(str(exc), EXIT_STORE_UNAVAILABLE) from None
    try:
        key = str(letter.event_id)
        async with store.transaction() as tx:
            claimed = await tx.ledger.claim(_REPLAY_LEDGER, key)
            earlier = None if claimed else await tx.ledger.get(_REPLAY_LEDGER, key)
        unpublished = earlier is not None and earlier.outcome == _NOT_PUBLISHED
        if not (claimed or unpublished or again):
            raise _fail(
                f"dead letter {key} was already replayed (see `mlc audit "
                f"{letter.correlation_id}`); pass --again to replay it once more",
                EXIT_REFUSED,
            )
        # mlc only produces: the dead-letter topic is never used, but must be a real one.
        broker = create_broker(settings, dead_letter_topic=dlq_topic("ingest"))
        try:
            await broker.connect()
            replayed = await replay(broker, found)
        except (KafkaError, OSError) as exc:
            # Nothing was put back: the dead letter stays replayable without --again.
            async with store.transaction() as tx:
                await tx.ledger.record_outcome(_REPLAY_LEDGER, key, _NOT_PUBLISHED)
            raise _kafka_unavailable(settings, exc) from None
        finally:
            await broker.stop()
        async with store.transaction() as tx:
            await tx.ledger.record_outcome(_REPLAY_LEDGER, key, "replayed")
        async with store.transaction() as tx:
            await tx.audit_log.append(
                actor="mlc replay",
                action="dead_letter.replayed",
                subject=f"{letter.connection_id}:{letter.entity_key}",
                detail={
                    "dead_letter_id": str(letter.event_id),
                    "dead_letter_topic": found.topic,
                    "topic": replayed.topic,
                    "event_id": replayed.event_id,
                    "error_type": letter.error_type,
                },
            )
    finally:
        await store.close()
    typer.echo(
        f"replayed dead letter {letter.event_id} ({found.topic}@{found.offset}, "
        f"{letter.error_type}) to {replayed.topic} key={replayed.key} as event "
        f"{replayed.event_id or '(not a JSON event: republished as it was)'}"
    )


if __name__ == "__main__":
    main()
