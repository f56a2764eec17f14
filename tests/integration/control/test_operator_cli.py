"""``mlc connections|links|status`` against the operator API served on a real socket.

typer's CliRunner runs the command in a worker thread while uvicorn serves the
API (over a real SQLite store) on this test's event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from devstack.ports import free_port
from mlc.app import app
from sandboxes.kit.server import serve
from services.control.connections import OperatorConnections
from services.control.operator_api import operator_app
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry

TOKEN = "operator-token-cli"
API_KEY = "hidden-bamboo-key-5e6f"


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[str, StateStore, Vault]]:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    api = operator_app(store, OperatorConnections(store, vault), operator_token=TOKEN)
    try:
        async with serve(api) as running:
            yield running.base_url, store, vault
    finally:
        await store.close()


async def _mlc(url: str, *args: str, token: str = TOKEN, stdin: str | None = None) -> Result:
    env = {"MLC_OPERATOR_URL": url, "MLC_OPERATOR_TOKEN": token, "MLC_PUBLIC_URL": None}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), input=stdin, env=env)


async def test_adding_a_connection_prompts_for_the_secret_without_echoing_it(
    service: tuple[str, StateStore, Vault],
) -> None:
    url, store, vault = service
    added = await _mlc(
        url, "connections", "add", "bamboohr", "--name", "HR", "--json", stdin=f"{API_KEY}\nacme\n"
    )
    assert added.exit_code == 0, added.output
    assert API_KEY not in added.output
    created = json.loads(added.output[added.output.index("{") :])
    async with store.transaction() as tx:
        stored = await tx.credentials.get(created["id"], "api_key")
    assert stored is not None
    assert vault.decrypt(stored.token, connection_id=created["id"], field="api_key") == API_KEY
    shown = await _mlc(url, "connections", "show", created["id"])
    assert shown.exit_code == 0
    assert "api_key: ••••" in shown.output
    assert "company_domain: acme" in shown.output
    assert API_KEY not in shown.output


async def test_a_secret_passed_on_the_command_line_is_refused_before_any_request(
    service: tuple[str, StateStore, Vault],
) -> None:
    url, store, _ = service
    refused = await _mlc(url, "connections", "add", "bamboohr", "--set", f"api_key={API_KEY}")
    assert refused.exit_code == 2
    assert "type it at the prompt" in refused.output
    async with store.transaction() as tx:
        assert await tx.connections.list() == []


async def test_links_and_status_round_trip_through_the_service(
    service: tuple[str, StateStore, Vault],
) -> None:
    url, _, _ = service
    ids = []
    for vendor, stdin in (
        ("expensify", "partner-id\npartner-secret\npolicy-1\n"),
        ("bill", "dev-key\nap@acme.test\nbill-pass\norg-1\n"),
    ):
        added = await _mlc(url, "connections", "add", vendor, "--json", stdin=stdin)
        assert added.exit_code == 0, added.output
        ids.append(json.loads(added.output[added.output.index("{") :])["id"])
    linked = await _mlc(
        url, "links", "add", ids[0], ids[1], "--flow", "expenses", "--options", '{"x": 1}'
    )
    assert linked.exit_code == 0, linked.output
    listed = await _mlc(url, "links", "list", "--json")
    links = json.loads(listed.output)["links"]
    assert [(link["flow"], link["options"]) for link in links] == [("expenses", {"x": 1})]
    new_options = '{"account_map": {"5999": "6400"}}'
    changed = await _mlc(url, "links", "set-options", links[0]["id"], new_options)
    assert changed.exit_code == 0, changed.output
    assert '"account_map": {"5999": "6400"}' in changed.output
    not_json = await _mlc(url, "links", "set-options", links[0]["id"], "{oops")
    assert not_json.exit_code == 2
    unknown = await _mlc(url, "links", "set-options", "no-such-link", "{}")
    assert unknown.exit_code != 0
    assert "no link" in unknown.output
    table = await _mlc(url, "status")
    assert table.exit_code == 0
    assert links[0]["id"] in table.output
    assert "link.options_changed" in table.output  # the newest action on the link
    in_use = await _mlc(url, "connections", "remove", ids[0], "--yes")
    assert in_use.exit_code == 1
    assert "remove them first" in in_use.output
    assert (await _mlc(url, "links", "remove", links[0]["id"])).exit_code == 0
    assert (await _mlc(url, "connections", "remove", ids[0], "--yes")).exit_code == 0
    remaining = json.loads((await _mlc(url, "connections", "list", "--json")).output)
    assert [c["id"] for c in remaining["connections"]] == [ids[1]]


async def test_a_wrong_token_says_to_set_the_operator_token(
    service: tuple[str, StateStore, Vault],
) -> None:
    url, _, _ = service
    refused = await _mlc(url, "connections", "list", token="not-the-token")
    assert refused.exit_code == 2
    assert "MLC_OPERATOR_TOKEN" in refused.output


async def test_an_unreachable_service_says_how_to_start_it() -> None:
    port = free_port()
    # The port was free a moment ago and nothing listens on it now.
    answer = await _mlc(f"http://127.0.0.1:{port}", "links", "list")
    assert answer.exit_code == 1
    assert f"cannot reach the control plane at http://127.0.0.1:{port}" in answer.output
    assert "python -m services.control" in answer.output
