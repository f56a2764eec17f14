"""``mlc vault``: new key ring entries, and re-encrypting every credential under the active key.

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

from mlc.exits import EXIT_FAILED, EXIT_REFUSED, fail
from mlc.settings import runtime_settings
from schemas.envelope import utcnow
from services.runtime.settings import RuntimeSettings, SettingsError
from services.runtime.store import StateStore, StoredCredential, StoreError
from services.runtime.vault import Vault, VaultError, generate_key_ring_entry

__all__ = ["vault_app"]

# A credential rewritten by someone else between our read and our write is read again.
_ROTATE_ATTEMPTS = 3

vault_app = typer.Typer(help="Credential encryption keys.", no_args_is_help=True)


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
        raise fail(str(exc), EXIT_REFUSED) from None
    typer.echo(entry)


@dataclass(frozen=True, slots=True)
class _RotationResult:
    rotated: bool
    removed_meanwhile: bool = False


@vault_app.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored credential under the active key (the first in MLC_MASTER_KEYS)."""
    settings = runtime_settings()
    try:
        vault = Vault.from_settings(settings)
    except (SettingsError, VaultError) as exc:
        raise fail(str(exc), EXIT_REFUSED) from None
    asyncio.run(_rotate_all(settings, vault))


async def _rotate_all(settings: RuntimeSettings, vault: Vault) -> None:
    try:
        store = await StateStore.from_settings(settings)
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
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
            raise fail(
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
                raise fail(
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
    raise fail(msg, EXIT_FAILED)
