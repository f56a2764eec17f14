"""The OpenAPI document against the app ``python -m services.control`` really serves.

The app is built the way :func:`services.control.app.serve` builds it (``build_app`` with
``control_routes``), over a real SQLite store, so a route added anywhere (the operator
API, the OAuth routes, the app itself) without being documented fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from services.control.operator_contract import OPENAPI_PATH
from services.runtime.store import StateStore
from tests.unit.control.control_harness import served_control_app

TOKEN = "openapi-test-token"
# Called by browsers, not operators: never behind the operator token.
NOT_OPERATOR_ROUTES = {"/oauth/{vendor}/callback"}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    yield opened
    await opened.close()


def served_app(store: StateStore, *, token: str | None = TOKEN) -> Starlette:
    return served_control_app(store, token=token)


def served_operations(app: Starlette) -> set[tuple[str, str]]:
    return {
        (method.lower(), route.path_format)  # a {value:path} route is documented as {value}
        for route in app.routes
        if isinstance(route, Route)
        and route.path not in NOT_OPERATOR_ROUTES
        # The console's pages are HTML for people, not operations of the API document.
        and not route.path.startswith("/console")
        for method in route.methods or ()
        if method != "HEAD"
    }


async def document(app: Starlette) -> dict[str, dict[str, dict[str, object]]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://control.test") as client:
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
    async with httpx.AsyncClient(transport=transport, base_url="http://control.test") as client:
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
    async with httpx.AsyncClient(transport=transport, base_url="http://control.test") as client:
        for method, path in served_operations(app) - {("get", "/healthz")}:
            answer = await client.request(
                method.upper(), concrete(path), headers={"Authorization": "Bearer x"}
            )
            assert answer.status_code == 503, (method, path)


async def test_no_interactive_docs_are_served_and_the_document_wants_the_token(
    store: StateStore,
) -> None:
    transport = httpx.ASGITransport(app=served_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://control.test") as client:
        answers = {
            path: (await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})).status_code
            for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")
        }
        unauthenticated = await client.get(OPENAPI_PATH)

    assert answers == dict.fromkeys(answers, 404)
    assert unauthenticated.status_code == 401


async def test_a_body_fastapi_refuses_is_a_422_naming_the_field_in_the_error_body(
    store: StateStore,
) -> None:
    transport = httpx.ASGITransport(app=served_app(store))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://control.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        missing = await client.post("/api/v1/links", json={"flow": "ap-bill"})
        wrong_type = await client.post(
            "/api/v1/connections", json={"vendor": "bill", "display_name": "x", "credentials": 3}
        )

    assert missing.status_code == 422
    assert "source_connection_id: Field required" in missing.json()["error"]
    assert wrong_type.status_code == 422
    assert wrong_type.json()["error"].startswith("credentials:")


async def test_a_request_without_the_token_is_401_before_its_body_is_read(
    store: StateStore,
) -> None:
    transport = httpx.ASGITransport(app=served_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://control.test") as client:
        answer = await client.post("/api/v1/connections", content=b"{not json")

    assert answer.status_code == 401
