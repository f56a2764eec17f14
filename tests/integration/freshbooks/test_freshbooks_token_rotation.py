"""Two replicas refreshing one FreshBooks connection at once: one refresh, the connection lives.

FreshBooks' refresh tokens are single-use (sheet 2): if both replicas refreshed with the
same token, the loser's refresh would be refused and, worse, a replica that stored the
loser's answer would kill the connection. The sandbox advances 13 hours so the access
token really is expired there; the keepers' clocks run 13 hours ahead to match.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from schemas.envelope import utcnow
from services.freshbooks.access import FreshBooksAccess
from services.freshbooks.auth import FreshBooksOAuth
from services.runtime.http import build_client
from services.runtime.oauth_tokens import TokenKeeper
from tests.integration.freshbooks.fb_sink_harness import SinkWorld, sink_world

TOKEN_PATH = "/auth/oauth/token"
AHEAD = timedelta(hours=13)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SinkWorld]:
    async with sink_world(tmp_path) as made:
        yield made


def replica(world: SinkWorld, ahead: timedelta) -> FreshBooksAccess:
    """One replica's connections, with its own keeper (its own in-process lock)."""

    def clock() -> datetime:
        return utcnow() + ahead

    keeper = TokenKeeper(
        store=world.store,
        vault=world.vault,
        refresher=FreshBooksOAuth(world.settings),
        http=lambda connection_id: build_client(
            vendor="test", base_url="", connection_key=f"test-oauth:{connection_id}"
        ),
        clock=clock,
    )
    return FreshBooksAccess(
        store=world.store, vault=world.vault, settings=world.settings, keeper=keeper
    )


async def test_two_concurrent_refreshes_spend_the_refresh_token_once_and_the_connection_survives(
    world: SinkWorld,
) -> None:
    answer = await world.sandbox.post(
        "/_sandbox/clock", json={"advance_seconds": AHEAD.total_seconds()}
    )
    assert answer.status_code == 200
    first, second = replica(world, AHEAD), replica(world, AHEAD)
    try:
        clients = [
            await first.client(world.freshbooks_connection_id),
            await second.client(world.freshbooks_connection_id),
        ]
        both = await asyncio.gather(*(client.team_members() for client in clients))
        assert all(members for members in both)
        token_calls = [r for r in await world.requests() if r["path"] == TOKEN_PATH]
        assert [r["status"] for r in token_calls] == [200]

        # The pair on file is the live one: a later refresh (12 h on) works too.
        await world.sandbox.post("/_sandbox/clock", json={"advance_seconds": AHEAD.total_seconds()})
        later = replica(world, AHEAD * 2)
        try:
            client = await later.client(world.freshbooks_connection_id)
            assert await client.team_members()
        finally:
            await later.aclose()
        token_calls = [r for r in await world.requests() if r["path"] == TOKEN_PATH]
        assert [r["status"] for r in token_calls] == [200, 200]
    finally:
        await first.aclose()
        await second.aclose()
