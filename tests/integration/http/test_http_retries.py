"""Retries against a real server on a real socket: the server's clock is the judge."""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from devstack.ports import free_port
from services.runtime.http import DEFAULT_TIMEOUT, build_client
from services.runtime.ratelimit import BudgetRegistry
from services.runtime.retry import ATTEMPTS_EXTENSION, RetryPolicy
from tests.integration.http.scripted_server import Reply, ScriptedServer

FAST = RetryPolicy(max_attempts=3, base_backoff=0.01, max_backoff=0.05)


def client_for(
    server: ScriptedServer, retry: RetryPolicy = FAST, *, timeout: httpx.Timeout = DEFAULT_TIMEOUT
) -> httpx.AsyncClient:
    return build_client(
        vendor="test",
        base_url=server.base_url,
        connection_key=f"test:{uuid.uuid4().hex}",
        retry=retry,
        timeout=timeout,
        budgets=BudgetRegistry(),
    )


class CountingTransport(httpx.AsyncBaseTransport):
    """The real network transport, counting the sends that reach it."""

    def __init__(self) -> None:
        self.sends = 0
        self._inner = httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sends += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was just free)."""
    return f"http://127.0.0.1:{free_port()}"


async def test_a_429_with_retry_after_seconds_is_retried_no_sooner_than_asked(
    scripted_server: ScriptedServer,
) -> None:
    path = scripted_server.new_path(Reply(429, retry_after="2"))
    async with client_for(scripted_server) as client:
        response = await client.get(path)

    assert response.status_code == 200
    assert response.extensions[ATTEMPTS_EXTENSION] == 2
    first, second = scripted_server.records[path].arrivals
    assert 2.0 <= second - first < 2.5


async def test_a_429_with_retry_after_as_an_http_date_is_retried_at_that_date(
    scripted_server: ScriptedServer,
) -> None:
    def two_seconds_from_now() -> str:
        # An HTTP-date has whole seconds; rounding up keeps the wait at 2 s or more.
        return format_datetime(datetime.fromtimestamp(math.ceil(time.time()) + 2, UTC), usegmt=True)

    path = scripted_server.new_path(Reply(429, retry_after=two_seconds_from_now))
    async with client_for(scripted_server) as client:
        response = await client.get(path)

    assert response.status_code == 200
    first, second = scripted_server.records[path].arrivals
    assert 2.0 <= second - first < 3.5


async def test_a_retry_after_beyond_the_cap_is_handed_back_without_retrying(
    scripted_server: ScriptedServer,
) -> None:
    path = scripted_server.new_path(Reply(429, retry_after="3600"))
    policy = RetryPolicy(max_attempts=3, base_backoff=0.01, max_retry_after=60)
    async with client_for(scripted_server, policy) as client:
        response = await client.get(path)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3600"
    assert len(scripted_server.records[path].arrivals) == 1


async def test_a_503_on_get_is_retried_until_it_succeeds(scripted_server: ScriptedServer) -> None:
    path = scripted_server.new_path(Reply(503), Reply(503))
    async with client_for(scripted_server) as client:
        response = await client.get(path)

    assert response.status_code == 200
    assert response.extensions[ATTEMPTS_EXTENSION] == 3
    assert len(scripted_server.records[path].arrivals) == 3


async def test_a_get_that_keeps_failing_returns_the_last_answer_after_max_attempts(
    scripted_server: ScriptedServer,
) -> None:
    path = scripted_server.new_path(then=Reply(502))
    async with client_for(scripted_server) as client:
        response = await client.get(path)

    assert response.status_code == 502
    assert len(scripted_server.records[path].arrivals) == FAST.max_attempts


async def test_a_500_on_post_is_not_retried(scripted_server: ScriptedServer) -> None:
    path = scripted_server.new_path(Reply(500))
    async with client_for(scripted_server) as client:
        response = await client.post(path, json={"name": "Ada"})

    assert response.status_code == 500
    assert scripted_server.records[path].methods == ["POST"]


async def test_a_429_on_post_without_retry_after_is_not_retried(
    scripted_server: ScriptedServer,
) -> None:
    path = scripted_server.new_path(Reply(429))
    async with client_for(scripted_server) as client:
        response = await client.post(path, json={"name": "Ada"})

    assert response.status_code == 429
    assert len(scripted_server.records[path].arrivals) == 1


async def test_a_503_with_retry_after_on_post_is_retried(scripted_server: ScriptedServer) -> None:
    path = scripted_server.new_path(Reply(503, retry_after="0"))
    async with client_for(scripted_server) as client:
        response = await client.post(path, json={"name": "Ada"})

    assert response.status_code == 200
    assert scripted_server.records[path].methods == ["POST", "POST"]


async def test_a_post_with_an_idempotency_key_is_retried_on_500(
    scripted_server: ScriptedServer,
) -> None:
    path = scripted_server.new_path(Reply(500))
    async with client_for(scripted_server) as client:
        response = await client.post(
            path, json={"name": "Ada"}, headers={"Idempotency-Key": "bill-42"}
        )

    assert response.status_code == 200
    assert len(scripted_server.records[path].arrivals) == 2


async def test_a_post_marked_idempotent_by_extension_is_retried_on_500(
    scripted_server: ScriptedServer,
) -> None:
    path = scripted_server.new_path(Reply(500))
    async with client_for(scripted_server) as client:
        response = await client.post(path, json={"name": "Ada"}, extensions={"idempotent": True})

    assert response.status_code == 200
    assert len(scripted_server.records[path].arrivals) == 2


async def test_a_get_whose_answer_times_out_is_sent_again(scripted_server: ScriptedServer) -> None:
    path = scripted_server.new_path(Reply(200, hold_seconds=0.6))
    timeout = httpx.Timeout(5.0, read=0.2)
    async with client_for(scripted_server, timeout=timeout) as client:
        response = await client.get(path)

    assert response.status_code == 200
    assert len(scripted_server.records[path].arrivals) == 2


async def test_a_post_whose_answer_times_out_is_not_sent_again(
    scripted_server: ScriptedServer,
) -> None:
    path = scripted_server.new_path(Reply(200, hold_seconds=0.6))
    timeout = httpx.Timeout(5.0, read=0.2)
    async with client_for(scripted_server, timeout=timeout) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(path, json={"name": "Ada"})

    assert len(scripted_server.records[path].arrivals) == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_refused_connection_is_retried_then_raises_after_max_attempts(method: str) -> None:
    # Nothing reached the server when the connection was refused, so a POST may retry too.
    network = CountingTransport()
    client = build_client(
        vendor="test",
        base_url=refused_url(),
        connection_key=f"test:{uuid.uuid4().hex}",
        retry=FAST,
        transport=network,
        budgets=BudgetRegistry(),
    )
    async with client:
        with pytest.raises(httpx.ConnectError):
            await client.request(method, "/anything")

    assert network.sends == FAST.max_attempts
