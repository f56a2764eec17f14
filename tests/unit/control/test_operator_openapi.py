"""The OpenAPI document against the app ``python -m services.ingest`` really serves.

The app is built the way :func:`services.ingest.app.serve` builds it (``build_app`` with
``operator_facing_routes``), over a real SQLite store, so a route added anywhere (the
operator API, the OAuth routes, the app itself) without being documented fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from services.ingest.app import IngestParts, build_app, operator_facing_routes
from services.ingest.operator_contract import OPENAPI_PATH
from services.ingest.webhooks import ROUTE_PATH
from services.runtime.bus import create_broker
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from tests.unit.ingest.ingest_harness import test_settings

TOKEN = "openapi-test-token"
# Called by vendors and browsers, not operators: never behind the operator token.
NOT_OPERATOR_ROUTES = {ROUTE_PATH, "/oauth/{vendor}/callback"}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    yield opened
    await opened.close()


def served_app(store: StateStore, *, token: str | None = TOKEN) -> Starlette:
    settings = test_settings(operator_token=token, kafka_bootstrap_servers="127.0.0.1:1")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    parts = IngestParts(settings=settings, store=store, vault=vault, broker=create_broker(settings))
    # No lifespan runs under ASGITransport, so the broker is never started.
    return build_app(parts, routes=operator_facing_routes(settings, store, vault))


def served_operations(app: Starlette) -> set[tuple[str, str]]:
    return {
        (method.lower(), route.path)
        for route in app.routes
        if isinstance(route, Route) and route.path not in NOT_OPERATOR_ROUTES
        for method in route.methods or ()
        if method != "HEAD"
    }


async def document(app: Starlette) -> dict[str, dict[str, dict[str, object]]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as client:
        answer = await client.get(OPENAPI_PATH, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    paths: dict[str, dict[str, dict[str, object]]] = answer.json()["paths"]
    return paths


def concrete(path: str) -> str:
    return (
        path.replace("{connection_id}", "c1")
        .replace("{link_id}", "l1")
        .replace("{vendor}", "bamboohr")
    )


async def test_every_served_route_is_documented_and_every_documented_route_is_served(
    store: StateStore,
) -> None:
    app = served_app(store)
    paths = await document(app)
    documented = {(method, path) for path, methods in paths.items() for method in methods}

    served = served_operations(app)

    assert served - documented == set(), "served but not in the OpenAPI document"
    assert documented - served == set(), "documented but not served"
    for expected in (
        ("post", "/api/v1/oauth/{vendor}/start"),
        ("get", "/api/v1/oauth/connections/{connection_id}"),
        ("post", "/api/v1/connections/{connection_id}/ping"),
        ("post", "/api/v1/connections/{connection_id}/sync"),
        ("post", "/api/v1/connections/{connection_id}/webhooks"),
    ):
        assert expected in documented


async def test_every_documented_operator_route_refuses_a_missing_or_wrong_token(
    store: StateStore,
) -> None:
    app = served_app(store)
    paths = await document(app)
    transport = httpx.ASGITransport(app=app)
    checked = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as client:
        for path, methods in paths.items():
            for method, operation in methods.items():
                if operation.get("security") == []:
                    continue  # documented as open (the readiness probe)
                missing = await client.request(method.upper(), concrete(path), json={})
                wrong = await client.request(
                    method.upper(),
                    concrete(path),
                    json={},
                    headers={"Authorization": f"Bearer {TOKEN}x"},
                )
                assert (missing.status_code, wrong.status_code) == (401, 401), (method, path)
                assert "401" in operation["responses"]  # type: ignore[operator]
                checked += 1
    assert checked == sum(len(methods) for methods in paths.values()) - 1


async def test_the_only_open_route_is_the_readiness_probe(store: StateStore) -> None:
    paths = await document(served_app(store))

    open_routes = [
        (method, path)
        for path, methods in paths.items()
        for method, operation in methods.items()
        if operation.get("security") == []
    ]

    assert open_routes == [("get", "/healthz")]


async def test_without_an_operator_token_every_operator_route_is_503(store: StateStore) -> None:
    app = served_app(store, token=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as client:
        for method, path in served_operations(app) - {("get", "/healthz")}:
            answer = await client.request(
                method.upper(), concrete(path), headers={"Authorization": "Bearer x"}
            )
            assert answer.status_code == 503, (method, path)
