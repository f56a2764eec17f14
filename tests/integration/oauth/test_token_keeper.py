"""TokenKeeper against the FreshBooks sandbox, whose refresh tokens are single use.

Two keepers with their own store engines over one database file stand in for two
replicas: if both spent the same refresh token, FreshBooks would refuse the second
and the connection would be dead until someone consented again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from sandboxes.freshbooks.app import FreshBooksSandbox
from schemas.envelope import utcnow
from services.freshbooks.auth import FreshBooksOAuth
from services.runtime.oauth_tokens import OAuthRefusedError, TokenKeeper, TokenSet
from services.runtime.store import StateStore
from tests.integration.oauth.oauth_harness import (
    World,
    connect_with_cli,
    consent_world,
    stored_tokens,
)
from tests.integration.oauth.test_freshbooks_consent import freshbooks

SANDBOX_ACCESS_LIFETIME = timedelta(hours=12)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with consent_world(tmp_path, "freshbooks", FreshBooksSandbox(), freshbooks) as made:
        yield made


def keeper(world: World, store: StateStore, refresher: FreshBooksOAuth) -> TokenKeeper:
    return TokenKeeper(
        store=store,
        vault=world.vault,
        refresher=refresher,
        http=lambda _: httpx.AsyncClient(),
        clock=lambda: utcnow() + world.clock_offset[0],
    )


async def refresher_of(world: World) -> FreshBooksOAuth:
    creds = (await world.sandbox.post("/_sandbox/credentials")).json()
    return freshbooks(str(world.sandbox.base_url).rstrip("/"), creds)


async def expire_access_token(world: World) -> None:
    """Move both clocks past the access token's life: the next use must refresh."""
    advance = SANDBOX_ACCESS_LIFETIME + timedelta(seconds=1)
    await world.sandbox.post("/_sandbox/clock", json={"advance_seconds": advance.total_seconds()})
    world.clock_offset[0] += advance


async def users_me_status(world: World, access_token: str) -> int:
    answer = await world.sandbox.get(
        "/auth/api/v1/users/me", headers={"Authorization": f"Bearer {access_token}"}
    )
    return answer.status_code


async def test_a_fresh_token_is_handed_out_without_a_refresh(world: World) -> None:
    connection_id = await connect_with_cli(world)
    stored = await stored_tokens(world, connection_id)

    got = await keeper(world, world.store, await refresher_of(world)).access_token(connection_id)

    assert got == stored


async def test_two_replicas_refreshing_at_once_spend_the_refresh_token_once(
    world: World, tmp_path: Path
) -> None:
    connection_id = await connect_with_cli(world)
    before = await stored_tokens(world, connection_id)
    await expire_access_token(world)
    refresher = await refresher_of(world)
    second_replica_store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    try:
        replicas = [
            keeper(world, world.store, refresher),
            keeper(world, second_replica_store, refresher),
        ]
        got = await asyncio.gather(
            *(replica.access_token(connection_id) for replica in replicas for _ in range(3))
        )
    finally:
        await second_replica_store.close()

    after = await stored_tokens(world, connection_id)
    assert after.refresh_token != before.refresh_token
    # Everyone holds the one pair that was stored, and it works.
    assert {token.access_token for token in got} == {after.access_token}
    assert await users_me_status(world, after.access_token) == 200
    async with world.store.transaction() as repos:
        refreshes = await repos.audit_log.list(subject=connection_id, limit=50)
    assert [entry.action for entry in refreshes].count("oauth.refreshed") == 1
    # The rotated refresh token is still good: the connection survived the race.
    await expire_access_token(world)
    again = await keeper(world, world.store, refresher).access_token(connection_id)
    assert again.refresh_token != after.refresh_token
    assert await users_me_status(world, again.access_token) == 200


class _CountingKeeper(TokenKeeper):
    """A keeper that counts its reads of the stored pair."""

    reads = 0

    async def stored(self, connection_id: str) -> TokenSet:
        self.reads += 1
        return await super().stored(connection_id)


async def test_a_pair_is_kept_between_calls_and_a_newer_one_taken_after_the_vendor_refuses_it(
    world: World, tmp_path: Path
) -> None:
    connection_id = await connect_with_cli(world)
    refresher = await refresher_of(world)
    busy = _CountingKeeper(
        store=world.store,
        vault=world.vault,
        refresher=refresher,
        http=lambda _: httpx.AsyncClient(),
        clock=lambda: utcnow() + world.clock_offset[0],
        keep=timedelta(minutes=5),
    )
    first = await busy.access_token(connection_id)
    again = [await busy.access_token(connection_id) for _ in range(5)]
    assert again == [first] * 5
    assert busy.reads == 1  # one read of the row for six tokens handed out

    # Another replica refreshes: FreshBooks rotates the pair (the old refresh token is spent).
    other_store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    try:
        newer = await keeper(world, other_store, refresher).after_unauthorized(connection_id, first)
    finally:
        await other_store.close()
    assert await busy.access_token(connection_id) == first  # still kept, not read again

    # A 401 on the kept access token (one the vendor ended early) sends the busy keeper
    # to the store under the lease: it takes the newer pair and spends no refresh token
    # of its own (the old one would be refused).
    taken = await busy.after_unauthorized(connection_id, first)
    assert taken == newer
    assert await busy.access_token(connection_id) == newer
    async with world.store.transaction() as repos:
        entries = await repos.audit_log.list(subject=connection_id, limit=50)
    assert [entry.action for entry in entries].count("oauth.refreshed") == 1


async def test_after_a_401_the_keeper_refreshes_once_even_if_asked_twice(world: World) -> None:
    connection_id = await connect_with_cli(world)
    refused = await stored_tokens(world, connection_id)
    refresher = await refresher_of(world)
    one = keeper(world, world.store, refresher)

    first, second = await asyncio.gather(
        one.after_unauthorized(connection_id, refused),
        one.after_unauthorized(connection_id, refused),
    )

    assert first == second
    assert first.refresh_token != refused.refresh_token


async def test_a_revoked_grant_is_an_oauth_refusal_saying_so(world: World) -> None:
    connection_id = await connect_with_cli(world)
    tokens = await stored_tokens(world, connection_id)
    revoked = await world.sandbox.post("/auth/oauth/revoke", data={"token": tokens.refresh_token})
    assert revoked.status_code == 200
    await expire_access_token(world)

    with pytest.raises(OAuthRefusedError):
        await keeper(world, world.store, await refresher_of(world)).access_token(connection_id)

    # Nothing was overwritten: the stored pair is still the one the vendor refused.
    assert (await stored_tokens(world, connection_id)).refresh_token == tokens.refresh_token
