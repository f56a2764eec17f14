"""``mlc``: the operator's command line.

For now it holds the vault's key management and the state store's schema
step; the operator API's commands join it as they are built.

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
from typing import Annotated

import typer
from aiokafka.errors import KafkaError

from schemas.envelope import utcnow
from schemas.topics import TOPICS
from services.ingest.cli_connections import connections_app, links_app, status_command
from services.runtime.audit_trail import format_chain, read_chain
from services.runtime.settings import RuntimeSettings, SettingsError, load_settings
from services.runtime.store import StateStore, StoredCredential, StoreError, migrate
from services.runtime.topics_admin import TopicBootstrapError, ensure_topics
from services.runtime.vault import Vault, VaultError, generate_key_ring_entry

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
        result = asyncio.run(ensure_topics(settings.kafka_bootstrap_servers))
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
    correlation_id: Annotated[str, typer.Argument(help="The event id that started the chain.")],
) -> None:
    """Print the chain of events and outcomes that share a correlation id, read from the log."""
    settings = _settings()
    names = [t.name for t in TOPICS]
    try:
        chain = asyncio.run(
            read_chain(settings.kafka_bootstrap_servers, correlation_id, topics=names)
        )
    except (KafkaError, OSError) as exc:
        raise _kafka_unavailable(settings, exc) from None
    if not chain:
        raise _fail(f"no event with correlation id {correlation_id} on {len(names)} topics", 1)
    typer.echo(format_chain(chain))


if __name__ == "__main__":
    main()
