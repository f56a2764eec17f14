"""Settings fail with the name of the variable to fix, and never print a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.runtime.settings import RuntimeSettings, SettingsError, load_settings
from services.runtime.vault import Vault, VaultError, generate_key_ring_entry


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLC_MASTER_KEYS", "MLC_MASTER_KEYS_FILE", "MLC_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)


def test_settings_have_working_defaults_for_a_laptop() -> None:
    settings = load_settings()
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_an_invalid_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLC_LOG_LEVEL", "loud")
    with pytest.raises(SettingsError, match="MLC_LOG_LEVEL"):
        load_settings()


def test_kafka_servers_are_also_read_from_the_tests_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLC_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:19092")
    assert load_settings().kafka_bootstrap_servers == "broker:19092"


def test_a_missing_key_ring_names_both_variables_and_the_command_to_make_one() -> None:
    with pytest.raises(SettingsError) as refused:
        Vault.from_settings(RuntimeSettings())
    message = str(refused.value)
    assert "MLC_MASTER_KEYS" in message
    assert "MLC_MASTER_KEYS_FILE" in message
    assert "mlc vault new-key" in message


def test_an_unreadable_key_ring_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file"
    with pytest.raises(SettingsError, match="MLC_MASTER_KEYS_FILE"):
        RuntimeSettings(master_keys_file=missing).require_master_keys()


def test_the_key_ring_is_read_from_a_mounted_file(tmp_path: Path) -> None:
    ring = generate_key_ring_entry("k1")
    path = tmp_path / "ring"
    path.write_text(ring + "\n", encoding="utf-8")
    vault = Vault.from_settings(RuntimeSettings(master_keys_file=path))
    assert vault.active_key_id == "k1"


def test_a_wrong_master_key_says_the_vault_cannot_decrypt_without_printing_the_key() -> None:
    written = Vault.from_text(generate_key_ring_entry("k1"))
    token = written.encrypt("refresh-token-value", connection_id="c1", field="refresh_token")
    wrong_ring = generate_key_ring_entry("k1")
    with pytest.raises(VaultError) as refused:
        Vault.from_text(wrong_ring).decrypt(token, connection_id="c1", field="refresh_token")
    message = str(refused.value)
    assert "cannot decrypt" in message
    assert wrong_ring.split(":", 1)[1] not in message
    assert "refresh-token-value" not in message
