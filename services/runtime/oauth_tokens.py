"""OAuth tokens kept per connection: stored encrypted, refreshed once, rotated safely.

Every service that calls an OAuth vendor gets its access token from a
:class:`TokenKeeper`. The keeper refreshes ahead of expiry (and after a 401), and
guarantees one refresh in flight per connection across every replica: an in-process
lock plus a state-store lease named ``oauth-refresh:<connection id>``. That matters
because some vendors (FreshBooks) rotate the refresh token on every refresh and refuse
the old one: two replicas refreshing with the same token would kill the connection.
The new pair is saved (committed) before the access token is handed out, so a crash
right after a refresh never loses the only valid refresh token.

A pair read from the store is kept in the process for :data:`TOKENS_KEEP` (a few
seconds): a busy sink calls the vendor many times a second, and each call had read and
decrypted the same row. A pair kept while another replica refreshed is safe: the vendor
refuses an access token that is no longer good (a 401), and the refresh that follows reads
the store under the lease and takes the newer pair instead of spending the old refresh
token. A refresh, a reconnect seen through such a 401, and a broken connection replace or
drop the kept pair at once.

Vendor knowledge stays out: the vendor's refresh call arrives as a
:class:`TokenRefresher`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol, TypeVar
from uuid import uuid4

import httpx
import orjson

from schemas.envelope import utcnow
from services.runtime.leasing import held_lease
from services.runtime.logging import get_logger
from services.runtime.metrics import OTHER, TOKEN_REFRESHES
from services.runtime.store import Repositories, StateStore
from services.runtime.vault import Vault

__all__ = [
    "BROKEN_STATUS",
    "TOKENS_FIELD",
    "OAuthRefusedError",
    "TokenKeeper",
    "TokenRefresher",
    "TokenSet",
    "VendorCallError",
    "dump_tokens",
    "load_tokens",
    "reconnect_action",
    "save_tokens",
]

TOKENS_FIELD = "oauth_tokens"  # vault field (and credentials row) holding the token pair
TOKENS_KEEP: Final = timedelta(seconds=5)
"""How long a pair read from the store is used without reading it again."""

_log = get_logger(__name__)

Answer = TypeVar("Answer")


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What a token endpoint answered; ``expires_at`` as the vendor computes it."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    extra: Mapping[str, str]  # vendor facts the token answer carries (e.g. Zoho's api_domain)


BROKEN_STATUS: Final = "broken"
"""A connection whose refresh token the vendor refused: only a new consent mends it."""


def reconnect_action(connection_id: str) -> str:
    """What a person does for a connection whose consent is gone: a new consent in place
    (the same connection, its links kept)."""
    return f"reconnect: mlc connections reconnect {connection_id}"


class OAuthRefusedError(Exception):
    """The vendor refused a grant (spent/revoked refresh token, bad code): reconnect."""


class VendorCallError(Exception):
    """A vendor call failed; ``unauthorized`` when the access token was refused."""

    def __init__(self, message: str, *, unauthorized: bool = False) -> None:
        super().__init__(message)
        self.unauthorized = unauthorized


class TokenRefresher(Protocol):
    """The vendor's refresh-token grant (implemented in the vendor's folder)."""

    async def refresh(self, http: httpx.AsyncClient, tokens: TokenSet) -> TokenSet: ...


def dump_tokens(tokens: TokenSet) -> str:
    return orjson.dumps(
        {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at.isoformat(),
            "extra": dict(tokens.extra),
        }
    ).decode()


def load_tokens(text: str) -> TokenSet:
    data = orjson.loads(text)
    return TokenSet(
        access_token=data["access_token"],
        refresh_token=data["refresh_token"],
        expires_at=datetime.fromisoformat(data["expires_at"]),
        extra=data.get("extra", {}),
    )


async def save_tokens(
    repos: Repositories, vault: Vault, connection_id: str, tokens: TokenSet
) -> None:
    """Store ``tokens`` encrypted, bound to the connection and :data:`TOKENS_FIELD`."""
    await repos.credentials.put(
        connection_id,
        TOKENS_FIELD,
        token=vault.encrypt(dump_tokens(tokens), connection_id=connection_id, field=TOKENS_FIELD),
        key_id=vault.active_key_id,
    )


class TokenKeeper:
    """Hands out a valid access token per connection, refreshing at most once at a time."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        refresher: TokenRefresher,
        http: Callable[[str], httpx.AsyncClient],
        refresh_ahead: timedelta = timedelta(minutes=5),
        lease_ttl: timedelta = timedelta(seconds=30),
        lease_wait: timedelta = timedelta(seconds=45),
        clock: Callable[[], datetime] = utcnow,
        keep: timedelta = TOKENS_KEEP,
    ) -> None:
        self._store = store
        self._vault = vault
        self._refresher = refresher
        self._http = http  # builds the client for one connection's token calls
        self._refresh_ahead = refresh_ahead
        self._lease_ttl = lease_ttl
        self._lease_wait = lease_wait
        self._clock = clock
        self._holder = f"token-keeper-{uuid4().hex}"
        self._locks: dict[str, asyncio.Lock] = {}
        self._keep_seconds = keep.total_seconds()
        # connection id -> (monotonic time the pair stops being used unread, the pair)
        self._kept: dict[str, tuple[float, TokenSet]] = {}

    async def _broken(self, connection_id: str, error: OAuthRefusedError) -> OAuthRefusedError:
        """The vendor refused our refresh token: the consent is gone until someone reconnects.

        The connection is marked :data:`BROKEN_STATUS` (``mlc connections list`` and ``mlc
        status`` show it; the scheduler stops ticking it) with an audit entry naming the
        command; the error returned says the same, so every outcome and dead letter the
        refusal causes carries it.
        """
        async with self._store.transaction() as repos:
            record = await repos.connections.get(connection_id)
            action = reconnect_action(connection_id)
            if record is not None and record.status != BROKEN_STATUS:
                await repos.connections.update(connection_id, status=BROKEN_STATUS)
                await repos.audit_log.append(
                    actor=self._holder,
                    action="oauth.refresh_refused",
                    subject=connection_id,
                    detail={"reason": str(error)[:300], "action": action},
                )
        _log.warning("oauth.refresh_refused", subject=connection_id, action=action)
        return OAuthRefusedError(f"{error}; connection {connection_id} is broken, {action}")

    async def _count_refresh(self, connection_id: str, result: str) -> None:
        """One refresh in ``mlc_token_refreshes_total``, under the connection's vendor."""
        try:
            async with self._store.reading() as repos:
                record = await repos.connections.get(connection_id)
        except Exception:  # the count must never turn a refresh into a failure
            record = None
        TOKEN_REFRESHES.labels(record.vendor if record else OTHER, result).inc()

    async def stored(self, connection_id: str) -> TokenSet:
        """The pair on file; :class:`OAuthRefusedError` when the connection has none."""
        async with self._store.reading() as repos:
            row = await repos.credentials.get(connection_id, TOKENS_FIELD)
        if row is None:
            msg = f"connection {connection_id} has no OAuth tokens (consent never completed)"
            raise OAuthRefusedError(msg)
        return load_tokens(
            self._vault.decrypt(row.token, connection_id=connection_id, field=TOKENS_FIELD)
        )

    async def access_token(self, connection_id: str) -> TokenSet:
        """A pair whose access token is valid for at least ``refresh_ahead`` more."""
        tokens = await self._kept_or_stored(connection_id)
        if tokens.expires_at - self._refresh_ahead > self._clock():
            return tokens
        return await self._refresh(connection_id, tokens)

    async def _kept_or_stored(self, connection_id: str) -> TokenSet:
        kept = self._kept.get(connection_id)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        tokens = await self.stored(connection_id)
        self._remember(connection_id, tokens)
        return tokens

    def _remember(self, connection_id: str, tokens: TokenSet) -> None:
        self._kept[connection_id] = (time.monotonic() + self._keep_seconds, tokens)

    async def call(
        self,
        connection_id: str,
        send: Callable[[str], Awaitable[Answer]],
        *,
        refused: Callable[[Answer], bool],
    ) -> Answer:
        """``send(access_token)`` with a valid token; if the vendor ``refused`` it (a 401 before
        our own expiry: it ended the token early), once more after one refresh."""
        tokens = await self.access_token(connection_id)
        answer = await send(tokens.access_token)
        if refused(answer):
            tokens = await self.after_unauthorized(connection_id, tokens)
            answer = await send(tokens.access_token)
        return answer

    async def after_unauthorized(self, connection_id: str, refused: TokenSet) -> TokenSet:
        """A fresh pair after the vendor refused ``refused`` early (HTTP 401)."""
        return await self._refresh(connection_id, refused)

    async def _refresh(self, connection_id: str, seen: TokenSet) -> TokenSet:
        lock = self._locks.setdefault(connection_id, asyncio.Lock())
        lease = held_lease(
            self._store,
            f"oauth-refresh:{connection_id}",
            self._holder,
            ttl=self._lease_ttl,
            wait=self._lease_wait,
        )
        async with lock, lease:
            self._kept.pop(connection_id, None)
            current = await self.stored(connection_id)
            # Someone (this process or another replica) refreshed while we waited.
            if current.refresh_token != seen.refresh_token:
                self._remember(connection_id, current)
                return current
            try:
                async with self._http(connection_id) as http:
                    fresh = await self._refresher.refresh(http, current)
            except OAuthRefusedError as error:
                await self._count_refresh(connection_id, "refused")
                raise await self._broken(connection_id, error) from error
            except Exception:
                await self._count_refresh(connection_id, "failed")
                raise
            await self._count_refresh(connection_id, "ok")
            async with self._store.transaction() as repos:
                await save_tokens(repos, self._vault, connection_id, fresh)
                await repos.audit_log.append(
                    actor=self._holder,
                    action="oauth.refreshed",
                    subject=connection_id,
                    detail={"expires_at": fresh.expires_at.isoformat()},
                )
            self._remember(connection_id, fresh)
            return fresh
