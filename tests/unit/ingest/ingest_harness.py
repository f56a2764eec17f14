"""Helpers shared by the ingest tests: a state store with connections, and signers.

Signatures are computed here with ``hmac`` straight from the fact sheets, never with
the code under test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from schemas.raw import RawDelivery
from services.ingest.settings import IngestSettings
from services.runtime.store import AuditRecord, StateStore
from services.runtime.vault import Vault, generate_key_ring_entry

__all__ = [
    "RecordingPublisher",
    "add_connection",
    "bamboohr_headers",
    "bill_signature",
    "freshbooks_signature",
    "new_vault",
    "open_store",
    "refusals",
    "test_settings",
    "zoho_signature",
]


def new_vault() -> Vault:
    return Vault.from_text(generate_key_ring_entry("k1"))


def test_settings(**overrides: object) -> IngestSettings:
    values: dict[str, object] = {
        "database_url": "sqlite+aiosqlite:///unused.db",
        "webhook_max_body_bytes": 4096,
        "webhook_publish_timeout_seconds": 2.0,
        **overrides,
    }
    return IngestSettings.model_validate(values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


async def open_store(directory: Path) -> StateStore:
    return await StateStore.open(f"sqlite+aiosqlite:///{directory / 'state.db'}")


async def add_connection(
    store: StateStore,
    vault: Vault,
    *,
    vendor: str,
    connection_id: str,
    secrets: dict[str, str] | None = None,
    tenant_id: str = "acme",
    settings: dict[str, object] | None = None,
) -> None:
    """A connection of ``vendor`` with the given credential fields, encrypted."""
    async with store.transaction() as tx:
        await tx.connections.create(
            vendor=vendor,
            tenant_id=tenant_id,
            display_name=f"{vendor} test",
            connection_id=connection_id,
            settings=settings or {},
        )
        for name, value in (secrets or {}).items():
            token = vault.encrypt(value, connection_id=connection_id, field=name)
            await tx.credentials.put(
                connection_id, name, token=token, key_id=Vault.key_id_of(token)
            )


async def refusals(store: StateStore) -> list[AuditRecord]:
    async with store.transaction() as tx:
        entries = await tx.audit_log.list(limit=1000)
    return [entry for entry in entries if entry.action == "webhook.refused"]


def bamboohr_headers(body: bytes, *, secret: str, timestamp: str) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "x-bamboohr-timestamp": timestamp,
        "x-bamboohr-signature": signature,
        "user-agent": "BambooHR-WebHooks/1.0 (+https://www.bamboohr.com)",
    }


def freshbooks_signature(verifier: str, fields: Sequence[tuple[str, str]]) -> str:
    message = json.dumps(dict(fields)).encode()
    digest = hmac.new(verifier.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def bill_signature(security_key: str, body: bytes) -> str:
    digest = hmac.new(security_key.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def zoho_signature(secret: str, query: Sequence[tuple[str, str]], body: bytes) -> str:
    prefix = "".join(f"{k}{v}" for k, v in sorted(query, key=lambda pair: pair[0]))
    return hmac.new(secret.encode(), prefix.encode() + body, hashlib.sha256).hexdigest()


@dataclass
class RecordingPublisher:
    """A stand-in for the Kafka publish (the unit tests' edge): records, fails or holds."""

    published: list[tuple[RawDelivery, str]] = field(default_factory=list)
    failure: Exception | None = None
    gate: asyncio.Event | None = None

    async def __call__(self, event: RawDelivery, topic: str) -> RawDelivery:
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        self.published.append((event, topic))
        return event
