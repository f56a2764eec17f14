"""The operator API in-process (httpx.ASGITransport) over a real SQLite store and vault."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Route

from services.control.connections import MASK, OperatorConnections
from services.control.operator_api import operator_app
from services.runtime.store import StateStore
from services.runtime.vault import Vault, VaultError, generate_key_ring_entry

TOKEN = "operator-token-for-tests"
API_KEY = "bamboo-api-key-9f8e7d"
BAMBOOHR = {"api_key": API_KEY, "company_domain": "acme"}
BILL = {
    "dev_key": "bill-dev-key-1",
    "username": "ap@acme.test",
    "password": "bill-password-2",
    "organization_id": "org-1",
}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def vault() -> Vault:
    return Vault.from_text(generate_key_ring_entry("k1"))


def _app(store: StateStore, vault: Vault, token: str | None = TOKEN) -> FastAPI:
    operations = OperatorConnections(store, vault)
    return operator_app(store, operations, operator_token=token)


@pytest.fixture
async def api(store: StateStore, vault: Vault) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(store, vault))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://ingest.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


def _operations(store: StateStore, vault: Vault) -> list[tuple[str, str]]:
    """The documented operations the operator API serves (the rest: test_operator_openapi)."""
    spec = _app(store, vault).openapi()
    return [
        (method.upper(), path.replace("{connection_id}", "c1").replace("{link_id}", "l1"))
        for path, methods in spec["paths"].items()
        for method in methods
    ]


async def test_every_route_refuses_a_request_without_or_with_a_wrong_token(
    store: StateStore, vault: Vault
) -> None:
    transport = httpx.ASGITransport(app=_app(store, vault))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as client:
        for method, path in _operations(store, vault):
            missing = await client.request(method, path, json={})
            wrong = await client.request(
                method, path, json={}, headers={"Authorization": f"Bearer {TOKEN}x"}
            )
            assert (missing.status_code, wrong.status_code) == (401, 401), (method, path)
            assert wrong.headers["www-authenticate"] == "Bearer"


async def test_every_route_is_503_with_a_hint_when_no_operator_token_is_configured(
    store: StateStore, vault: Vault
) -> None:
    transport = httpx.ASGITransport(app=_app(store, vault, token=None))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as client:
        for method, path in _operations(store, vault):
            answer = await client.request(method, path, headers={"Authorization": "Bearer "})
            assert answer.status_code == 503, (method, path)
            assert "MLC_OPERATOR_TOKEN" in answer.json()["error"]


async def test_every_served_route_and_method_is_in_the_openapi_document(
    store: StateStore, vault: Vault, api: httpx.AsyncClient
) -> None:
    served = {
        (method.lower(), route.path_format)  # a {value:path} route is documented as {value}
        for route in _app(store, vault).routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    document = (await api.get("/api/v1/openapi.json")).json()
    documented = {(m, p) for p, methods in document["paths"].items() for m in methods}
    assert served <= documented
    assert ("post", "/api/v1/connections/{connection_id}/webhooks") in served
    assert document["openapi"].startswith("3.")
    assert "ConnectionCreate" in document["components"]["schemas"]


async def test_adding_a_connection_encrypts_secrets_with_the_connection_and_field_as_aad(
    api: httpx.AsyncClient, store: StateStore, vault: Vault
) -> None:
    answer = await api.post(
        "/api/v1/connections",
        json={"vendor": "bamboohr", "display_name": "HR", "credentials": BAMBOOHR},
    )
    assert answer.status_code == 201
    created = answer.json()
    assert created["credentials"] == {"api_key": MASK, "company_domain": "acme"}
    assert API_KEY not in answer.text
    async with store.transaction() as tx:
        stored = await tx.credentials.list(connection_id=created["id"])
        record = await tx.connections.get(created["id"])
    assert [c.field for c in stored] == ["api_key"]
    assert API_KEY not in stored[0].token
    assert vault.decrypt(stored[0].token, connection_id=created["id"], field="api_key") == API_KEY
    with pytest.raises(VaultError):
        vault.decrypt(stored[0].token, connection_id=created["id"], field="company_domain")
    assert record is not None
    assert API_KEY not in str(record.settings)


async def test_listing_and_showing_connections_never_returns_a_secret(
    api: httpx.AsyncClient,
) -> None:
    created = (
        await api.post(
            "/api/v1/connections",
            json={"vendor": "bill", "display_name": "AP", "credentials": BILL},
        )
    ).json()
    listed = await api.get("/api/v1/connections")
    shown = await api.get(f"/api/v1/connections/{created['id']}")
    for text in (listed.text, shown.text):
        assert "bill-dev-key-1" not in text
        assert "bill-password-2" not in text
    assert shown.json()["credentials"] == {
        "dev_key": MASK,
        "organization_id": "org-1",
        "password": MASK,
        "username": "ap@acme.test",
    }
    assert [c["id"] for c in listed.json()["connections"]] == [created["id"]]


async def test_a_connection_missing_a_field_is_refused_with_the_field_named(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.post(
        "/api/v1/connections",
        json={"vendor": "bamboohr", "display_name": "HR", "credentials": {"api_key": "x"}},
    )
    assert answer.status_code == 422
    assert "missing: company_domain" in answer.json()["error"]


async def test_an_unknown_vendor_or_a_malformed_body_is_refused(api: httpx.AsyncClient) -> None:
    unknown = await api.post(
        "/api/v1/connections",
        json={"vendor": "freshbooks", "display_name": "x", "credentials": {}},
    )
    malformed = await api.post("/api/v1/connections", content=b"{not json")
    assert unknown.status_code == 422
    assert "--oauth" in unknown.json()["error"]
    assert malformed.status_code == 422


async def test_links_join_two_connections_for_one_of_the_five_flows(
    api: httpx.AsyncClient,
) -> None:
    hr = (
        await api.post(
            "/api/v1/connections",
            json={"vendor": "bamboohr", "display_name": "HR", "credentials": BAMBOOHR},
        )
    ).json()
    ap = (
        await api.post(
            "/api/v1/connections",
            json={"vendor": "bill", "display_name": "AP", "credentials": BILL},
        )
    ).json()
    wrong_flow = await api.post(
        "/api/v1/links",
        json={"source_connection_id": hr["id"], "target_connection_id": ap["id"], "flow": "x"},
    )
    missing = await api.post(
        "/api/v1/links",
        json={"source_connection_id": hr["id"], "target_connection_id": "nope", "flow": "ap-bill"},
    )
    created = await api.post(
        "/api/v1/links",
        json={
            "source_connection_id": hr["id"],
            "target_connection_id": ap["id"],
            "flow": "people-acumatica",
            "options": {"dry_run": True},
        },
    )
    assert (wrong_flow.status_code, missing.status_code, created.status_code) == (422, 404, 201)
    listed = (await api.get("/api/v1/links")).json()["links"]
    assert [(link["flow"], link["options"]) for link in listed] == [
        ("people-acumatica", {"dry_run": True})
    ]


async def test_a_connection_in_use_by_a_link_cannot_be_removed_until_the_link_is(
    api: httpx.AsyncClient, store: StateStore
) -> None:
    hr = (
        await api.post(
            "/api/v1/connections",
            json={"vendor": "bamboohr", "display_name": "HR", "credentials": BAMBOOHR},
        )
    ).json()
    ap = (
        await api.post(
            "/api/v1/connections",
            json={"vendor": "bill", "display_name": "AP", "credentials": BILL},
        )
    ).json()
    link = (
        await api.post(
            "/api/v1/links",
            json={
                "source_connection_id": hr["id"],
                "target_connection_id": ap["id"],
                "flow": "ap-bill",
            },
        )
    ).json()
    refused = await api.delete(f"/api/v1/connections/{hr['id']}")
    assert refused.status_code == 409
    assert link["id"] in refused.json()["error"]
    assert (await api.delete(f"/api/v1/links/{link['id']}")).status_code == 204
    assert (await api.delete(f"/api/v1/connections/{hr['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/connections/{hr['id']}")).status_code == 404
    assert (await api.delete(f"/api/v1/links/{link['id']}")).status_code == 404
    async with store.transaction() as tx:
        assert await tx.credentials.list(connection_id=hr["id"]) == []


async def test_every_change_is_an_operator_audit_entry_without_secrets(
    api: httpx.AsyncClient,
) -> None:
    hr = (
        await api.post(
            "/api/v1/connections",
            json={"vendor": "bamboohr", "display_name": "HR", "credentials": BAMBOOHR},
        )
    ).json()
    ap = (
        await api.post(
            "/api/v1/connections",
            json={"vendor": "bill", "display_name": "AP", "credentials": BILL},
        )
    ).json()
    link = (
        await api.post(
            "/api/v1/links",
            json={
                "source_connection_id": ap["id"],
                "target_connection_id": hr["id"],
                "flow": "ap-bill",
            },
        )
    ).json()
    await api.delete(f"/api/v1/links/{link['id']}")
    await api.delete(f"/api/v1/connections/{ap['id']}")
    audit = await api.get("/api/v1/audit")
    entries = audit.json()["entries"]
    assert [(e["action"], e["subject"]) for e in reversed(entries)] == [
        ("connection.created", hr["id"]),
        ("connection.created", ap["id"]),
        ("link.created", link["id"]),
        ("link.removed", link["id"]),
        ("connection.removed", ap["id"]),
    ]
    assert {e["actor"] for e in entries} == {"operator"}
    assert API_KEY not in audit.text
    assert "bill-password-2" not in audit.text


async def test_status_reports_each_link_with_its_newest_audit_entry_and_failures(
    api: httpx.AsyncClient, store: StateStore
) -> None:
    hr = (
        await api.post(
            "/api/v1/connections",
            json={"vendor": "bamboohr", "display_name": "HR", "credentials": BAMBOOHR},
        )
    ).json()
    ap = (
        await api.post(
            "/api/v1/connections",
            json={"vendor": "bill", "display_name": "AP", "credentials": BILL},
        )
    ).json()
    link = (
        await api.post(
            "/api/v1/links",
            json={
                "source_connection_id": hr["id"],
                "target_connection_id": ap["id"],
                "flow": "ap-bill",
            },
        )
    ).json()
    async with store.transaction() as tx:
        await tx.audit_log.append(actor="ingest", action="webhook.refused", subject=hr["id"])
    status = (await api.get("/api/v1/status")).json()["links"]
    assert len(status) == 1
    assert status[0]["link"]["id"] == link["id"]
    assert status[0]["last_action"] == "webhook.refused"
    assert status[0]["failures"] == 1


@pytest.mark.parametrize("limit", ["²", "abc", "-1", "0", "1.5", "١٢", "9" * 30])
async def test_a_bad_audit_limit_is_named_as_the_problem(
    api: httpx.AsyncClient, limit: str
) -> None:
    answer = await api.get("/api/v1/audit", params={"limit": limit})
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("limit must be a whole number from 1 to 1000")


async def test_a_large_audit_limit_is_capped_not_refused(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/v1/audit", params={"limit": "5000"})
    assert answer.status_code == 200
    assert answer.json() == {"entries": []}
