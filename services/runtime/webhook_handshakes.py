"""Confirming a vendor's webhook verification handshake (FreshBooks), wherever it arrives.

A vendor that confirms a registration with a handshake POSTs a verifier to our public URL;
the edge stores it (``webhook_verifier:<callback id>``, only for a callback we await: see
``webhook_records.py``) and hands it here, and the registrations hand here the verifiers
that arrived while their registration call ran. Either way :meth:`HandshakeConfirmations.confirm`
sends the verifier back to the vendor through the plugin's ``HandshakeConfirmer`` and keeps
it as the callback's secret once accepted.

This sits in the runtime so the edge can confirm on its own: it has the store, the vault and
the vendor's credentials, and needs nothing from the process that registered the callback.
The security property does not depend on who confirms: only a callback the stored
registration names, once its registration call has ended, and each verifier once, claimed
by deleting it in one transaction (two confirmers racing for the same verifier: one wins,
the other finds nothing to claim).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime

import httpx

from schemas.envelope import utcnow
from services.runtime.http import build_client
from services.runtime.oauth_tokens import (
    TOKENS_FIELD,
    OAuthRefusedError,
    TokenKeeper,
    TokenRefresher,
    VendorCallError,
)
from services.runtime.store import ConnectionRecord, Repositories, StateStore
from services.runtime.vault import Vault, VaultError
from services.runtime.vendor_plugin import HandshakeConfirmer, VendorAccess
from services.runtime.webhook_records import (
    REGISTRATION_KEY,
    SECRET_FIELD,
    VERIFIER_FIELD_PREFIX,
    registering_since,
)

__all__ = [
    "ACTOR",
    "VENDOR_TROUBLE",
    "HandshakeConfirmations",
    "VendorCredentials",
    "put_webhook_secret",
    "trouble_reason",
    "vendor_http",
]

ACTOR = "ingest"

# What a vendor call may end in besides success; KeyError/ValueError/TypeError are an
# answer of a shape we did not expect. None of them may cost the connection.
VENDOR_TROUBLE = (
    VendorCallError,
    OAuthRefusedError,
    VaultError,
    httpx.HTTPError,
    KeyError,
    ValueError,
    TypeError,
)


def vendor_http(connection_id: str) -> httpx.AsyncClient:
    """The runtime's client (retries, timeouts, request logs) for one connection's calls.

    No base URL: vendor hosts differ per call (Zoho's accounts server vs. its API domain).
    """
    return build_client(vendor="oauth", base_url="", connection_key=f"oauth:{connection_id}")


def trouble_reason(error: BaseException) -> str:
    """One of :data:`VENDOR_TROUBLE` in words an operator can act on (no secrets)."""
    if isinstance(error, httpx.HTTPError):
        return f"the vendor did not answer: {type(error).__name__}"
    if isinstance(error, VaultError):
        return "the connection's credentials cannot be decrypted"
    if isinstance(error, (KeyError, ValueError, TypeError)):
        return f"the vendor's answer was not what we expected ({type(error).__name__})"
    return str(error) or type(error).__name__


class VendorCredentials:
    """A connection's credentials for calling its vendor: a fresh token or its secrets."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        refreshers: Mapping[str, TokenRefresher] | None = None,
        http: Callable[[str], httpx.AsyncClient] = vendor_http,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._vault = vault
        self._keepers = {
            vendor: TokenKeeper(
                store=store, vault=vault, refresher=refresher, http=http, clock=clock
            )
            for vendor, refresher in (refreshers or {}).items()
        }

    async def access(self, record: ConnectionRecord) -> VendorAccess:
        """The connection's credentials: a fresh access token, or its decrypted secrets."""
        async with self._store.transaction() as tx:
            stored = await tx.credentials.list(connection_id=record.id)
        has_tokens = any(c.field == TOKENS_FIELD for c in stored)
        keeper = self._keepers.get(record.vendor)
        tokens = await keeper.access_token(record.id) if keeper and has_tokens else None
        secrets = {
            c.field: self._vault.decrypt(c.token, connection_id=record.id, field=c.field)
            for c in stored
            if c.field != TOKENS_FIELD
            and not c.field.startswith((SECRET_FIELD, VERIFIER_FIELD_PREFIX, "oauth_"))
        }
        return VendorAccess(
            connection_id=record.id, settings=record.settings, secrets=secrets, tokens=tokens
        )


class HandshakeConfirmations:
    """Confirms stored handshake verifiers at their vendor, each once."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        confirmers: Mapping[str, object],
        credentials: VendorCredentials,
        http: Callable[[str], httpx.AsyncClient] = vendor_http,
    ) -> None:
        """``confirmers``: vendor -> its registrar; only those that are a
        :class:`HandshakeConfirmer` confirm anything (the others have no handshake)."""
        self._store = store
        self._vault = vault
        self._confirmers = {
            vendor: confirmer
            for vendor, confirmer in confirmers.items()
            if isinstance(confirmer, HandshakeConfirmer)
        }
        self._credentials = credentials
        self._http = http
        self._confirming: set[asyncio.Task[bool]] = set()

    def received(self, vendor: str, connection_id: str, webhook_id: str, verifier: str) -> None:
        """Confirm in the background (the vendor's handshake request is answered first)."""
        if vendor not in self._confirmers:
            return
        task = asyncio.create_task(self.confirm(connection_id, webhook_id, verifier))
        self._confirming.add(task)
        task.add_done_callback(self._confirming.discard)

    async def confirm(self, connection_id: str, webhook_id: str, verifier: str) -> bool:
        """Send the stored verifier back to the vendor; keep it as the callback's secret if
        accepted. Only for a callback of ours, once registration has named it, and once."""
        async with self._store.transaction() as tx:
            record = await tx.connections.get(connection_id)
        confirmer = self._confirmers.get(record.vendor) if record else None
        if record is None or confirmer is None:
            return False
        registration = record.settings.get(REGISTRATION_KEY)
        if not isinstance(registration, Mapping) or registering_since(registration) is not None:
            return False  # still registering: the registration confirms it once ids are known
        if webhook_id not in {str(i) for i in registration.get("ids") or ()}:
            return False  # not a callback of ours: never sent to the vendor
        # The stored verifier is claimed by deleting it: a handshake seen both by the edge and
        # by the registration that was under way when it came is confirmed once.
        async with self._store.transaction() as tx:
            if not await tx.credentials.delete(connection_id, VERIFIER_FIELD_PREFIX + webhook_id):
                return False
        try:
            access = await self._credentials.access(record)
            async with self._http(connection_id) as http:
                await confirmer.confirm(http, access, webhook_id, verifier)
        except VENDOR_TROUBLE as error:
            async with self._store.transaction() as tx:
                await tx.audit_log.append(
                    actor=ACTOR,
                    action="webhook.confirm_failed",
                    subject=connection_id,
                    detail={
                        "vendor": record.vendor,
                        "id": webhook_id,
                        "reason": trouble_reason(error),
                    },
                )
            return False
        async with self._store.transaction() as tx:
            await put_webhook_secret(tx, self._vault, connection_id, webhook_id, verifier)
            await tx.audit_log.append(
                actor=ACTOR,
                action="webhook.confirmed",
                subject=connection_id,
                detail={"vendor": record.vendor, "id": webhook_id},
            )
        return True

    async def aclose(self) -> None:
        """Wait for confirmations still running (each is a couple of vendor calls)."""
        if self._confirming:
            await asyncio.gather(*self._confirming, return_exceptions=True)


async def put_webhook_secret(
    tx: Repositories, vault: Vault, connection_id: str, webhook_id: str, secret: str
) -> None:
    """Store a webhook's secret encrypted where the edge reads it."""
    name = f"{SECRET_FIELD}:{webhook_id}"
    token = vault.encrypt(secret, connection_id=connection_id, field=name)
    await tx.credentials.put(connection_id, name, token=token, key_id=Vault.key_id_of(token))
