"""Credentials encrypted at rest: AES-256-GCM under a key ring with key ids.

A key ring is text, ``"kid:base64key[,kid:base64key...]"`` (``MLC_MASTER_KEYS`` or
the file ``MLC_MASTER_KEYS_FILE`` names). The first key is the active one and
encrypts; the others only decrypt, so keys rotate without downtime: put the new
key first, run ``mlc vault rotate`` (which calls :meth:`Vault.reencrypt` on every
token :meth:`Vault.needs_rotation` flags), then drop the old key.

A token says how to open it: ``"v1:<kid>:<base64url(nonce || ciphertext)>"``, with a
random 96-bit nonce. The associated data binds a ciphertext to its format version,
its key id, its connection and its field, so a token copied to another connection
or another field does not decrypt. No error message ever carries key material.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from typing import Final

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.runtime.settings import RuntimeSettings

__all__ = [
    "KeyRing",
    "Vault",
    "VaultError",
    "generate_key_ring_entry",
]

FORMAT_VERSION: Final = "v1"
KEY_BYTES: Final = 32  # AES-256
NONCE_BYTES: Final = 12  # the 96-bit nonce GCM is specified for (NIST SP 800-38D)
_TAG_BYTES: Final = 16
# A kid travels inside tokens and ring text, so it may not hold the separators ':' and ','.
_KID_PATTERN: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# urlsafe_b64decode silently skips characters outside its alphabet; a token is checked first.
_TOKEN_DATA_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]+={0,2}")


class VaultError(Exception):
    """A key ring or a token cannot be used; the message says why and never shows a key."""


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Encryption keys by id; ``active_key_id`` names the one that encrypts."""

    active_key_id: str
    # repr=False: a ring printed in a log or a traceback must not show its keys.
    keys: dict[str, bytes] = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Read ``"kid:base64key[,kid:base64key...]"``; the first entry is the active key."""
        entries = [entry.strip() for entry in text.split(",")]
        if not any(entries):
            raise VaultError("the key ring is empty: expected 'kid:base64key[,kid:base64key...]'")
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(entries, start=1):
            kid, separator, encoded = entry.partition(":")
            kid = kid.strip()
            if not separator:
                msg = f"key ring entry {position} has no 'kid:' prefix: expected 'kid:base64key'"
                raise VaultError(msg)
            if not _KID_PATTERN.fullmatch(kid):
                msg = (
                    f"key ring entry {position} has an invalid key id: use 1-64 characters "
                    "of letters, digits, '_', '.', '-'"
                )
                raise VaultError(msg)
            if kid in keys:
                raise VaultError(f"key ring entry {position} repeats the key id '{kid}'")
            keys[kid] = _decode_key(encoded.strip(), kid=kid)
        return cls(active_key_id=next(iter(keys)), keys=keys)

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The key ids, active key first."""
        return tuple(self.keys)


def _decode_key(encoded: str, *, kid: str) -> bytes:
    # Standard and URL-safe alphabets are both accepted; the exception text from
    # binascii is not echoed because it could quote part of the key.
    normalised = encoded.replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(normalised, validate=True)
    except (binascii.Error, ValueError):
        raise VaultError(f"key '{kid}' in the key ring is not valid base64") from None
    if len(key) != KEY_BYTES:
        msg = f"key '{kid}' in the key ring is {len(key)} bytes; AES-256 needs {KEY_BYTES}"
        raise VaultError(msg)
    return key


def generate_key_ring_entry(kid: str) -> str:
    """A new ``"kid:base64key"`` entry with a random 256-bit key (for ``mlc vault new-key``)."""
    if not _KID_PATTERN.fullmatch(kid):
        msg = "invalid key id: use 1-64 characters of letters, digits, '_', '.', '-'"
        raise VaultError(msg)
    return f"{kid}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode('ascii')}"


@dataclass(frozen=True, slots=True)
class _Token:
    version: str
    kid: str
    sealed: bytes  # nonce || ciphertext || tag


class Vault:
    """Encrypts and decrypts credential fields of connections under a key ring."""

    __slots__ = ("_ciphers", "_ring")

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring
        self._ciphers = {kid: AESGCM(key) for kid, key in ring.keys.items()}

    @classmethod
    def from_text(cls, text: str) -> Vault:
        """A vault over the key ring written as ``"kid:base64key[,...]"``."""
        return cls(KeyRing.parse(text))

    @classmethod
    def from_settings(cls, settings: RuntimeSettings) -> Vault:
        """A vault over ``MLC_MASTER_KEYS`` or ``MLC_MASTER_KEYS_FILE`` (SettingsError if unset)."""
        return cls.from_text(settings.require_master_keys())

    def __repr__(self) -> str:
        return f"Vault(active_key_id={self.active_key_id!r}, key_ids={self._ring.key_ids!r})"

    @property
    def active_key_id(self) -> str:
        """The id of the key new tokens are encrypted under."""
        return self._ring.active_key_id

    def encrypt(self, plaintext: str, *, connection_id: str, field: str) -> str:
        """Seal ``plaintext`` as the credential ``field`` of ``connection_id``; returns a token."""
        kid = self.active_key_id
        nonce = os.urandom(NONCE_BYTES)
        aad = _associated_data(FORMAT_VERSION, kid, connection_id=connection_id, field=field)
        sealed = nonce + self._ciphers[kid].encrypt(nonce, plaintext.encode("utf-8"), aad)
        return f"{FORMAT_VERSION}:{kid}:{base64.urlsafe_b64encode(sealed).decode('ascii')}"

    def decrypt(self, token: str, *, connection_id: str, field: str) -> str:
        """Open a token made by :meth:`encrypt` for the same connection and field."""

        def failure(reason: str) -> VaultError:
            return VaultError(
                f"cannot decrypt credential {field} of connection {connection_id}: {reason}"
            )

        try:
            parsed = _parse_token(token)
        except VaultError as exc:
            raise failure(str(exc)) from None
        cipher = self._ciphers.get(parsed.kid)
        if cipher is None:
            raise failure(f"the key ring has no key '{parsed.kid}'")
        aad = _associated_data(parsed.version, parsed.kid, connection_id=connection_id, field=field)
        nonce, ciphertext = parsed.sealed[:NONCE_BYTES], parsed.sealed[NONCE_BYTES:]
        try:
            plaintext = cipher.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise failure("wrong key or tampered data") from None
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise failure("the decrypted value is not UTF-8 text") from None

    @staticmethod
    def key_id_of(token: str) -> str:
        """The id of the key a token was encrypted under."""
        return _parse_token(token).kid

    def needs_rotation(self, token: str) -> bool:
        """Whether a token is under a key other than the active one."""
        return self.key_id_of(token) != self.active_key_id

    def reencrypt(self, token: str, *, connection_id: str, field: str) -> str:
        """Decrypt with the token's own key and encrypt again under the active key."""
        plaintext = self.decrypt(token, connection_id=connection_id, field=field)
        return self.encrypt(plaintext, connection_id=connection_id, field=field)


def _parse_token(token: str) -> _Token:
    version, _, rest = token.partition(":")
    kid, separator, encoded = rest.partition(":")
    if not separator or not _KID_PATTERN.fullmatch(kid):
        raise VaultError(f"not a vault token: expected '{FORMAT_VERSION}:<kid>:<data>'")
    if version != FORMAT_VERSION:
        raise VaultError(f"unsupported token version {version[:16]!r}")
    if not _TOKEN_DATA_PATTERN.fullmatch(encoded):
        raise VaultError("the token's data is not base64url text")
    try:
        sealed = base64.urlsafe_b64decode(encoded)
    except (binascii.Error, ValueError):
        raise VaultError("the token's data is not valid base64url") from None
    if len(sealed) < NONCE_BYTES + _TAG_BYTES:
        raise VaultError("the token's data is too short to be a sealed value")
    return _Token(version=version, kid=kid, sealed=sealed)


def _associated_data(version: str, kid: str, *, connection_id: str, field: str) -> bytes:
    # A JSON array is an unambiguous encoding: ("a:b", "c") and ("a", "b:c") differ.
    return orjson.dumps(["mlc-vault", version, kid, connection_id, field])
