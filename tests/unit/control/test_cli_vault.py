"""`mlc vault`: new keys, and rotating every stored credential to the active key.

The CLI runs in-process (typer's CliRunner) against a real SQLite store file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mlc.app import app
from mlc.exits import EXIT_REFUSED
from services.runtime.store import (
    StateStore,
    StoredCredential,
    create_engine,
    head_revision,
    schema_revision,
)
from services.runtime.vault import Vault, generate_key_ring_entry

SECRETS = {
    ("conn-hr", "api_key"): "hr-api-key-value",
    ("conn-books", "refresh_token"): "books-refresh-value",
    ("conn-books", "access_token"): "books-access-value",
}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def k1() -> str:
    return generate_key_ring_entry("k1")


@pytest.fixture
def k2() -> str:
    return generate_key_ring_entry("k2")


def _mlc(*args: str, database_url: str, master_keys: str | None) -> Result:
    env = {
        "MLC_DATABASE_URL": database_url,
        "MLC_MASTER_KEYS": master_keys,
        "MLC_MASTER_KEYS_FILE": None,
    }
    return CliRunner().invoke(app, list(args), env=env)


def _seed(database_url: str, ring: str) -> None:
    vault = Vault.from_text(ring)

    async def seed() -> None:
        store = await StateStore.open(database_url)
        try:
            async with store.transaction() as tx:
                for connection_id in sorted({c for c, _ in SECRETS}):
                    await tx.connections.create(
                        vendor="vendor",
                        tenant_id="acme",
                        display_name=connection_id,
                        connection_id=connection_id,
                    )
                for (connection_id, field), secret in SECRETS.items():
                    token = vault.encrypt(secret, connection_id=connection_id, field=field)
                    await tx.credentials.put(
                        connection_id, field, token=token, key_id=vault.key_id_of(token)
                    )
        finally:
            await store.close()

    asyncio.run(seed())


def _stored(database_url: str) -> list[StoredCredential]:
    async def read() -> list[StoredCredential]:
        store = await StateStore.open(database_url)
        try:
            async with store.transaction() as tx:
                return await tx.credentials.list()
        finally:
            await store.close()

    return asyncio.run(read())


def _audit_details(database_url: str) -> list[dict[str, object]]:
    async def read() -> list[dict[str, object]]:
        store = await StateStore.open(database_url)
        try:
            async with store.transaction() as tx:
                entries = await tx.audit_log.list(subject="vault")
        finally:
            await store.close()
        return [entry.detail for entry in entries if entry.action == "vault.rotated"]

    return asyncio.run(read())


def _decrypted_with(ring: str, credentials: list[StoredCredential]) -> dict[tuple[str, str], str]:
    vault = Vault.from_text(ring)
    return {
        (c.connection_id, c.field): vault.decrypt(
            c.token, connection_id=c.connection_id, field=c.field
        )
        for c in credentials
    }


def _key_material(*entries: str) -> list[str]:
    return [entry.partition(":")[2] for entry in entries]


def test_new_key_prints_an_entry_the_vault_accepts() -> None:
    result = CliRunner().invoke(app, ["vault", "new-key", "--kid", "k-2026"])
    assert result.exit_code == 0, result.output
    entry = result.stdout.strip()
    assert entry.startswith("k-2026:")
    assert Vault.from_text(entry).active_key_id == "k-2026"


def test_two_new_keys_differ() -> None:
    first = CliRunner().invoke(app, ["vault", "new-key", "--kid", "k"]).stdout
    second = CliRunner().invoke(app, ["vault", "new-key", "--kid", "k"]).stdout
    assert first != second


def test_new_key_refuses_a_key_id_with_a_separator() -> None:
    result = CliRunner().invoke(app, ["vault", "new-key", "--kid", "bad,kid"])
    assert result.exit_code == EXIT_REFUSED
    assert "invalid key id" in result.stderr


def test_rotate_moves_every_credential_to_the_active_key(
    database_url: str, k1: str, k2: str
) -> None:
    _seed(database_url, k1)

    result = _mlc("vault", "rotate", database_url=database_url, master_keys=f"{k2},{k1}")

    assert result.exit_code == 0, result.output
    assert "[1/3]" in result.stdout
    assert "[3/3]" in result.stdout
    assert "re-encrypted k1 -> k2" in result.stdout
    assert "rotated 3 of 3 credentials" in result.stdout
    stored = _stored(database_url)
    assert {c.key_id for c in stored} == {"k2"}
    assert {Vault.key_id_of(c.token) for c in stored} == {"k2"}
    # With k1 gone from the ring, every credential still opens.
    assert _decrypted_with(k2, stored) == SECRETS
    assert _audit_details(database_url) == [{"rotated": 3, "total": 3, "active_key_id": "k2"}]


def test_rotating_again_changes_nothing(database_url: str, k1: str, k2: str) -> None:
    _seed(database_url, k1)
    first = _mlc("vault", "rotate", database_url=database_url, master_keys=f"{k2},{k1}")
    assert first.exit_code == 0, first.output
    after_first = _stored(database_url)

    second = _mlc("vault", "rotate", database_url=database_url, master_keys=k2)

    assert second.exit_code == 0, second.output
    assert "rotated 0 of 3 credentials" in second.stdout
    assert second.stdout.count("already under k2") == 3
    assert _stored(database_url) == after_first


def test_rotate_refuses_a_ring_without_the_old_key_and_changes_nothing(
    database_url: str, k1: str, k2: str
) -> None:
    _seed(database_url, k1)
    before = _stored(database_url)

    result = _mlc("vault", "rotate", database_url=database_url, master_keys=k2)

    assert result.exit_code == EXIT_REFUSED
    assert "the key ring has no key 'k1'" in result.stderr
    assert "Nothing was rotated" in result.stderr
    for material in _key_material(k1, k2):
        assert material not in result.output
    assert _stored(database_url) == before


def test_rotate_refuses_a_wrong_key_under_the_old_id_without_showing_keys(
    database_url: str, k1: str, k2: str
) -> None:
    _seed(database_url, k1)
    before = _stored(database_url)
    impostor = generate_key_ring_entry("k1")

    result = _mlc("vault", "rotate", database_url=database_url, master_keys=f"{k2},{impostor}")

    assert result.exit_code == EXIT_REFUSED
    assert "wrong key or tampered data" in result.stderr
    for material in _key_material(k1, k2, impostor):
        assert material not in result.output
    assert _stored(database_url) == before


def test_rotate_without_a_key_ring_names_the_variable_to_set(database_url: str) -> None:
    result = _mlc("vault", "rotate", database_url=database_url, master_keys=None)
    assert result.exit_code == EXIT_REFUSED
    assert "MLC_MASTER_KEYS is not set" in result.stderr


def test_store_migrate_brings_a_new_store_up_to_date(database_url: str) -> None:
    result = _mlc("store", "migrate", database_url=database_url, master_keys=None)
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    assert asyncio.run(_revision(database_url)) == head_revision()


async def _revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        return await schema_revision(engine)
    finally:
        await engine.dispose()
