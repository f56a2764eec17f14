"""A vendor's sign-in session, one per connection, shared by every process that calls it.

Some vendors sign in with a password and hand back a session that is scarce: each of
Acumatica's open sessions holds one of the licence's API-user seats, and BILL allows 200
logins an hour per developer key. A session per process (per replica, per restart) spends
them; a process killed without a chance to sign out (SIGKILL, the OOM killer) leaves its
session to a timeout. So the session lives in the store, encrypted like a password
(credential field ``field`` of the connection), and:

- a process that needs one takes the stored session before it signs in, and signs in
  (then stores the new one) only when there is none;
- a call goes through :meth:`SharedSession.call`: when the vendor refuses the session
  (expired, ended by an administrator), a session another process stored meanwhile is
  taken, else one new sign-in, and the call is sent once more;
- one sign-in at a time per connection: an asyncio lock in the process and a state-store
  lease (``lease``) across replicas;
- a new session that cannot be stored is signed out at once (nobody could find it again);
- :meth:`SharedSession.close` forgets the stored session if it is still ours and signs it
  out; another process still at work signs in again on its next refusal.

What a session is (cookies, a session id) and how to sign in and out is the vendor's:
``sign_in`` returns the session as text, ``sign_out`` ends one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from services.runtime.leasing import held_lease
from services.runtime.logging import get_logger
from services.runtime.store import StateStore
from services.runtime.vault import Vault, VaultError

__all__ = ["SharedSession", "SignIn", "SignOut"]

SignIn = Callable[[], Awaitable[str]]
"""Sign in at the vendor; the session as text (raises when the vendor refuses)."""
SignOut = Callable[[str], Awaitable[None]]
"""End a session at the vendor; never raises (a failure is the vendor's timeout's)."""

_log = get_logger(__name__)

Answer = TypeVar("Answer")


class SharedSession:
    """The session of one connection, as this process sees it."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        connection_id: str,
        field: str,
        lease: str,
        holder: str,
        sign_in: SignIn,
        sign_out: SignOut,
        lease_ttl: timedelta = timedelta(seconds=30),
    ) -> None:
        self._store = store
        self._vault = vault
        self.connection_id = connection_id
        self._field = field
        self._lease = lease
        self._holder = holder
        self._sign_in = sign_in
        self._sign_out = sign_out
        self._lease_ttl = lease_ttl
        self._lock = asyncio.Lock()
        self._generation = 0  # sessions taken or signed in so far; 0 = none yet
        self._value = ""
        self._open = False
        self.logins = 0
        """Sign-ins this process made (a benchmark counts them)."""
        self.resumed = 0
        """Sessions taken from the store instead of signing in."""

    async def call(
        self,
        send: Callable[[int, str], Awaitable[Answer]],
        *,
        refused: Callable[[Answer], bool],
    ) -> Answer:
        """``send(generation, session)`` in the current session; if the vendor ``refused``
        that session, once more in another (taken or signed in)."""
        seen, value = await self._current()
        answer = await send(seen, value)
        if refused(answer):
            seen, value = await self._replaced(seen)
            answer = await send(seen, value)
        return answer

    async def _current(self) -> tuple[int, str]:
        """``(generation, session)``: the generation names it in :meth:`_replaced`."""
        if not self._open:
            async with self._lock:
                if not self._open:
                    await self._take_or_sign_in(spent="")
        return self._generation, self._value

    async def _replaced(self, seen: int) -> tuple[int, str]:
        """The vendor refused session ``seen``: another one, taken or signed in."""
        async with self._lock:
            if self._generation == seen:  # nobody replaced it since that call went out
                self._open = False
                await self._take_or_sign_in(spent=self._value)
            return self._generation, self._value

    async def _take_or_sign_in(self, *, spent: str) -> None:
        ttl = self._lease_ttl
        async with held_lease(self._store, self._lease, self._holder, ttl=ttl, wait=ttl):
            stored = await self._stored()
            if stored and stored != spent:
                self._use(stored)
                self.resumed += 1
                _log.info("session.taken", connection=self.connection_id, field=self._field)
                return
            value = await self._sign_in()
            try:
                await self._keep(value)
            except BaseException:
                await self._sign_out(value)
                raise
        self._use(value)
        self.logins += 1
        _log.info("session.signed_in", connection=self.connection_id, logins=self.logins)

    def _use(self, value: str) -> None:
        self._value = value
        self._generation += 1
        self._open = True

    async def _stored(self) -> str:
        async with self._store.reading() as repos:
            stored = await repos.credentials.get(self.connection_id, self._field)
        if stored is None:
            return ""
        try:
            return self._vault.decrypt(
                stored.token, connection_id=self.connection_id, field=self._field
            )
        except VaultError:
            return ""  # a key since removed from the ring: sign in afresh

    async def _keep(self, value: str) -> None:
        token = self._vault.encrypt(value, connection_id=self.connection_id, field=self._field)
        async with self._store.transaction() as repos:
            await repos.credentials.put(
                self.connection_id, self._field, token=token, key_id=self._vault.active_key_id
            )

    async def close(self) -> None:
        """Forget the stored session if it is still ours, then sign it out; never raises."""
        async with self._lock:
            if not self._open:
                return
            self._open = False
            # Whatever the store says, the session is still ended below; one left stored
            # costs the next process one refused call, then a sign-in.
            try:
                if await self._stored() == self._value:
                    async with self._store.transaction() as repos:
                        await repos.credentials.delete(self.connection_id, self._field)
            except Exception as error:
                _log.warning("session.forget_failed", connection=self.connection_id,
                             error=f"{type(error).__name__}: {error}")  # fmt: skip
            await self._sign_out(self._value)
