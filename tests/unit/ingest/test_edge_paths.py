"""The served edge and control apps never redirect: a path with a slash too many is a 404.

Starlette's default answers ``/webhooks/x/y/`` with a 307 whose Location is built from the
request's Host header, which made the edge an open redirect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.ingest.app import IngestParts, build_app
from services.runtime.bus import create_broker
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from tests.unit.control.control_harness import served_control_app
from tests.unit.ingest.ingest_harness import test_settings

TOKEN = "edge-test-token"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    settings = test_settings(operator_token=TOKEN, kafka_bootstrap_servers="127.0.0.1:1")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    parts = IngestParts(settings=settings, store=store, vault=vault, broker=create_broker(settings))
    app = build_app(parts)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as http:
        yield http
    await store.close()


@pytest.fixture
async def control(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    transport = httpx.ASGITransport(app=served_control_app(store, token=TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://control.test") as http:
        yield http
    await store.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/webhooks/bamboohr/c1/"),
        ("POST", "/webhooks/freshbooks/c1//"),
        ("GET", "/healthz/"),
    ],
)
async def test_a_trailing_slash_is_a_404_without_a_location(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    answer = await client.request(
        method,
        path,
        headers={"Host": "evil.example", "Authorization": f"Bearer {TOKEN}"},
        content=b"{}",
    )
    assert answer.status_code == 404
    assert "location" not in answer.headers


async def test_healthz_is_503_when_kafka_does_not_answer(client: httpx.AsyncClient) -> None:
    # The broker points at a closed port and was never started: not ready.
    answer = await client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["error"] == "Kafka does not answer"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/oauth/freshbooks/callback/"),
        ("GET", "/api/v1/connections/"),
        ("GET", "/healthz/"),
    ],
)
async def test_a_trailing_slash_on_the_control_plane_is_a_404_without_a_location(
    control: httpx.AsyncClient, method: str, path: str
) -> None:
    answer = await control.request(
        method,
        path,
        headers={"Host": "evil.example", "Authorization": f"Bearer {TOKEN}"},
        content=b"{}",
    )
    assert answer.status_code == 404
    assert "location" not in answer.headers


async def test_the_control_planes_healthz_is_503_when_kafka_does_not_answer(
    control: httpx.AsyncClient,
) -> None:
    answer = await control.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["error"] == "Kafka does not answer"
