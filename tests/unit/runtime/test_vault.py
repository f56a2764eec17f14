"""The vault: AES-256-GCM tokens bound to (connection, field), key rings and rotation."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.settings import RuntimeSettings, SettingsError
from services.runtime.vault import KeyRing, Vault, VaultError, generate_key_ring_entry

KEY_1 = base64.b64encode(b"\x01" * 32).decode()
KEY_2 = base64.b64encode(b"\x02" * 32).decode()
RING_K1 = f"k1:{KEY_1}"
RING_K2_THEN_K1 = f"k2:{KEY_2},k1:{KEY_1}"

# Written once by an independent route (cryptography's AESGCM called directly with
# key bytes(range(32)), nonce bytes(range(100, 112)) and the associated data
# '["mlc-vault","v1","k2024","conn-42","refresh_token"]'); tokens already stored in
# databases must keep decrypting, so this format may not drift.
FIXED_RING = "k2024:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
FIXED_TOKEN = "v1:k2024:ZGVmZ2hpamtsbW5vOm_zVkjbZaoLVGjQ4_br_GpogJe9OTuJy5bbmcs="


def test_a_credential_round_trips_through_encrypt_and_decrypt() -> None:
    vault = Vault.from_text(RING_K1)

    token = vault.encrypt("s3cr3t-refresh", connection_id="conn-1", field="refresh_token")

    assert vault.decrypt(token, connection_id="conn-1", field="refresh_token") == "s3cr3t-refresh"


def test_a_token_names_its_format_and_key_and_does_not_contain_the_plaintext() -> None:
    vault = Vault.from_text(RING_K1)

    token = vault.encrypt("s3cr3t-refresh", connection_id="conn-1", field="refresh_token")

    assert re.fullmatch(r"v1:k1:[A-Za-z0-9_-]+=*", token)
    assert "s3cr3t" not in token
    sealed = base64.urlsafe_b64decode(token.split(":")[2])
    assert len(sealed) == 12 + len("s3cr3t-refresh") + 16  # nonce, ciphertext, tag


def test_the_same_plaintext_encrypts_to_different_tokens_each_time() -> None:
    vault = Vault.from_text(RING_K1)

    first = vault.encrypt("same", connection_id="conn-1", field="api_key")
    second = vault.encrypt("same", connection_id="conn-1", field="api_key")

    assert first != second


def test_unicode_and_empty_credentials_round_trip() -> None:
    vault = Vault.from_text(RING_K1)

    for plaintext in ["", "pässwörd ✓ 密码"]:
        token = vault.encrypt(plaintext, connection_id="c", field="password")
        assert vault.decrypt(token, connection_id="c", field="password") == plaintext


def test_a_token_written_by_an_independent_aes_gcm_encoder_decrypts() -> None:
    vault = Vault.from_text(FIXED_RING)

    plaintext = vault.decrypt(FIXED_TOKEN, connection_id="conn-42", field="refresh_token")

    assert plaintext == "rt-0123456789"


def test_a_flipped_byte_anywhere_in_the_sealed_data_is_refused_as_tampering() -> None:
    vault = Vault.from_text(RING_K1)
    token = vault.encrypt("s3cr3t", connection_id="conn-1", field="password")
    prefix, encoded = token.rsplit(":", 1)
    sealed = bytearray(base64.urlsafe_b64decode(encoded))

    for index in (0, 12, len(sealed) - 1):  # nonce, ciphertext, tag
        tampered = bytearray(sealed)
        tampered[index] ^= 0x01
        forged = f"{prefix}:{base64.urlsafe_b64encode(bytes(tampered)).decode()}"
        with pytest.raises(VaultError) as caught:
            vault.decrypt(forged, connection_id="conn-1", field="password")
        assert str(caught.value) == (
            "cannot decrypt credential password of connection conn-1: wrong key or tampered data"
        )


def test_a_token_moved_to_another_connection_does_not_decrypt() -> None:
    vault = Vault.from_text(RING_K1)
    token = vault.encrypt("s3cr3t", connection_id="conn-1", field="password")

    with pytest.raises(VaultError, match="connection conn-2: wrong key or tampered data"):
        vault.decrypt(token, connection_id="conn-2", field="password")


def test_a_token_moved_to_another_field_does_not_decrypt() -> None:
    vault = Vault.from_text(RING_K1)
    token = vault.encrypt("s3cr3t", connection_id="conn-1", field="password")

    with pytest.raises(VaultError, match="credential api_key of connection conn-1: wrong key"):
        vault.decrypt(token, connection_id="conn-1", field="api_key")


def test_connection_and_field_cannot_be_shifted_across_their_boundary() -> None:
    vault = Vault.from_text(RING_K1)
    token = vault.encrypt("s3cr3t", connection_id="a:b", field="c")

    with pytest.raises(VaultError, match="wrong key or tampered data"):
        vault.decrypt(token, connection_id="a", field="b:c")


def test_a_token_relabelled_with_another_key_id_does_not_decrypt() -> None:
    vault = Vault.from_text(f"k1:{KEY_1},k9:{KEY_1}")  # the same key under two ids
    token = vault.encrypt("s3cr3t", connection_id="conn-1", field="password")

    relabelled = token.replace("v1:k1:", "v1:k9:", 1)

    with pytest.raises(VaultError, match="wrong key or tampered data"):
        vault.decrypt(relabelled, connection_id="conn-1", field="password")


def test_a_token_under_a_key_the_ring_lacks_names_the_missing_key_id() -> None:
    token = Vault.from_text(f"k2:{KEY_2}").encrypt("s3cr3t", connection_id="conn-1", field="pw")

    with pytest.raises(VaultError) as caught:
        Vault.from_text(RING_K1).decrypt(token, connection_id="conn-1", field="pw")

    assert str(caught.value) == (
        "cannot decrypt credential pw of connection conn-1: the key ring has no key 'k2'"
    )


def test_a_string_that_is_not_a_token_is_refused_with_the_expected_shape() -> None:
    vault = Vault.from_text(RING_K1)

    for bad in ["", "plain text", "v1:k1", "v2:k1:AAAA", "v1:k1:not base64!", "v1:k1:AAAA"]:
        with pytest.raises(VaultError, match="cannot decrypt credential pw of connection c: "):
            vault.decrypt(bad, connection_id="c", field="pw")


@given(st.text(max_size=200))
def test_decrypting_any_text_raises_nothing_but_vault_error(text: str) -> None:
    vault = Vault.from_text(RING_K1)

    with pytest.raises(VaultError):
        vault.decrypt(text, connection_id="c", field="f")


def test_rotation_reencrypts_under_the_new_key_and_survives_removing_the_old_one() -> None:
    before = Vault.from_text(RING_K1)
    old_token = before.encrypt("s3cr3t", connection_id="conn-1", field="refresh_token")
    during = Vault.from_text(RING_K2_THEN_K1)

    assert during.active_key_id == "k2"
    assert during.needs_rotation(old_token)
    new_token = during.reencrypt(old_token, connection_id="conn-1", field="refresh_token")

    assert Vault.key_id_of(new_token) == "k2"
    assert not during.needs_rotation(new_token)
    after = Vault.from_text(f"k2:{KEY_2}")
    assert after.decrypt(new_token, connection_id="conn-1", field="refresh_token") == "s3cr3t"
    with pytest.raises(VaultError, match="the key ring has no key 'k1'"):
        after.decrypt(old_token, connection_id="conn-1", field="refresh_token")


def test_older_keys_in_the_ring_still_decrypt_but_never_encrypt() -> None:
    old_token = Vault.from_text(RING_K1).encrypt("s3cr3t", connection_id="c", field="f")
    vault = Vault.from_text(RING_K2_THEN_K1)

    assert vault.decrypt(old_token, connection_id="c", field="f") == "s3cr3t"
    assert vault.key_id_of(vault.encrypt("x", connection_id="c", field="f")) == "k2"


def test_key_id_of_refuses_a_malformed_token() -> None:
    with pytest.raises(VaultError, match="not a vault token"):
        Vault.key_id_of("garbage")


@pytest.mark.parametrize(
    ("ring", "message"),
    [
        ("", "the key ring is empty"),
        (" , ", "the key ring is empty"),
        (KEY_1, "key ring entry 1 has no 'kid:' prefix"),
        (f"k1:{KEY_1},k1:{KEY_2}", "key ring entry 2 repeats the key id 'k1'"),
        (f"k1:{KEY_1[:-1]}", "key 'k1' in the key ring is not valid base64"),
        (f"k1:{KEY_1[:-4]}", "key 'k1' in the key ring is 30 bytes; AES-256 needs 32"),
        (f"k1:{KEY_1}!", "key 'k1' in the key ring is not valid base64"),
        (f"k1:{base64.b64encode(b'x' * 16).decode()}", "is 16 bytes; AES-256 needs 32"),
        (f"bad kid:{KEY_1}", "key ring entry 1 has an invalid key id"),
        (f"k1:{KEY_1},k2:{KEY_2},:{KEY_2}", "key ring entry 3 has an invalid key id"),
    ],
)
def test_a_bad_key_ring_is_refused_with_a_message_that_shows_no_key_material(
    ring: str, message: str
) -> None:
    with pytest.raises(VaultError) as caught:
        KeyRing.parse(ring)

    text = str(caught.value)
    assert message in text
    for key in (KEY_1, KEY_2, KEY_1[:-4], KEY_1[:8], KEY_2[:8], "AQEBAQ", "AgICAg"):
        assert key not in text
    assert caught.value.__cause__ is None


def test_a_vault_and_its_key_ring_print_key_ids_but_no_keys() -> None:
    vault = Vault.from_text(RING_K2_THEN_K1)

    shown = repr(vault) + repr(KeyRing.parse(RING_K2_THEN_K1))

    assert "k2" in shown
    assert "k1" in shown
    assert KEY_1[:8] not in shown
    assert KEY_2[:8] not in shown
    assert "\\x01" not in shown


def test_url_safe_base64_keys_are_accepted() -> None:
    raw = bytes([0xFB, 0xFF] * 16)  # encodes to '+' and '/' in standard base64
    url_safe = base64.urlsafe_b64encode(raw).decode()
    assert "-" in url_safe or "_" in url_safe

    ring = KeyRing.parse(f"k1:{url_safe}")

    assert ring.keys["k1"] == raw


def test_a_generated_key_ring_entry_parses_and_each_key_is_new() -> None:
    first = generate_key_ring_entry("k2026")
    second = generate_key_ring_entry("k2026")

    ring = KeyRing.parse(f"{first},k1:{KEY_1}")

    assert ring.active_key_id == "k2026"
    assert ring.key_ids == ("k2026", "k1")
    assert len(ring.keys["k2026"]) == 32
    assert first != second


def test_a_generated_entry_refuses_a_key_id_that_would_break_the_ring_text() -> None:
    for kid in ["", "a,b", "a:b", "x" * 65]:
        with pytest.raises(VaultError, match="invalid key id"):
            generate_key_ring_entry(kid)


def test_the_vault_reads_its_key_ring_from_settings_or_a_mounted_file(tmp_path: Path) -> None:
    from_env = Vault.from_settings(RuntimeSettings(master_keys=RING_K2_THEN_K1))
    secret_file = tmp_path / "master-keys"
    secret_file.write_text(f"{RING_K1}\n", encoding="utf-8")
    from_file = Vault.from_settings(RuntimeSettings(master_keys_file=secret_file))

    token = from_file.encrypt("s3cr3t", connection_id="c", field="f")

    assert from_env.active_key_id == "k2"
    assert from_env.decrypt(token, connection_id="c", field="f") == "s3cr3t"


def test_without_a_key_ring_in_settings_the_error_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("MLC_MASTER_KEYS"):
            monkeypatch.delenv(name)

    with pytest.raises(SettingsError, match="MLC_MASTER_KEYS"):
        Vault.from_settings(RuntimeSettings())
