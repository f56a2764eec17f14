"""The `/_sandbox/` control API, driven through a minimal vendor sandbox, both transports."""

from __future__ import annotations

from tests.sandboxes.kit.toy_sandbox import ToySandbox
from tests.sandboxes.sandbox_harness import Connector


async def test_reset_restores_the_default_seed_and_empty_reset_leaves_nothing(
    connect: Connector,
) -> None:
    async with connect(ToySandbox()) as client:
        await client.post("/widgets", json={"name": "Gear"})
        assert len((await client.get("/_sandbox/state/widgets")).json()) == 2
        assert (await client.post("/_sandbox/reset")).status_code == 200
        assert [w["name"] for w in (await client.get("/_sandbox/state/widgets")).json()] == [
            "Sprocket"
        ]
        await client.post("/_sandbox/reset", json={"empty": True})
        assert (await client.get("/_sandbox/state")).json() == {"widgets": [], "hooks": []}


async def test_seed_adds_records_by_collection_and_unknown_collections_are_404(
    connect: Connector,
) -> None:
    async with connect(ToySandbox(empty=True)) as client:
        answer = await client.post("/_sandbox/seed", json={"widgets": [{"id": 7, "name": "Cog"}]})
        assert answer.json() == {"widgets": 1}
        assert (await client.get("/widgets")).json() == {"widgets": [{"id": 7, "name": "Cog"}]}
        assert (await client.get("/_sandbox/state/nope")).status_code == 404
        assert (await client.post("/_sandbox/seed", json={"nope": []})).status_code == 404


async def test_credentials_are_the_vendors_own(connect: Connector) -> None:
    async with connect(ToySandbox()) as client:
        answer = await client.post("/_sandbox/credentials")
        assert answer.json() == {"client_id": "toy-client", "client_secret": "toy-secret"}


async def test_the_request_log_records_vendor_calls_but_not_control_calls(
    connect: Connector,
) -> None:
    async with connect(ToySandbox()) as client:
        await client.get("/widgets", params={"page": "2"})
        await client.get("/missing")
        await client.get("/_sandbox/state")
        log = (await client.get("/_sandbox/requests")).json()
        assert [(e["method"], e["path"], e["query"], e["status"]) for e in log] == [
            ("GET", "/widgets", "page=2", 200),
            ("GET", "/missing", "", 404),
        ]
        assert log[0]["time"]
        assert (await client.delete("/_sandbox/requests")).json() == []


async def test_an_action_changes_state_and_unknown_actions_are_404(connect: Connector) -> None:
    async with connect(ToySandbox()) as client:
        assert (await client.get("/_sandbox/actions")).json() == ["rename"]
        answer = await client.post("/_sandbox/actions/rename", json={"id": 1, "name": "Gizmo"})
        assert answer.json()["name"] == "Gizmo"
        assert (await client.get("/widgets")).json()["widgets"][0]["name"] == "Gizmo"
        missing = await client.post("/_sandbox/actions/rename", json={"id": 99, "name": "x"})
        assert missing.status_code == 404
        assert (await client.post("/_sandbox/actions/explode", json={})).status_code == 404


async def test_bad_control_input_is_a_400_with_a_message(connect: Connector) -> None:
    async with connect(ToySandbox()) as client:
        assert (
            await client.post("/_sandbox/clock", json={"advance_seconds": -5})
        ).status_code == 400
        broken = await client.post("/_sandbox/faults", content=b"{not json")
        assert broken.status_code == 400
        assert "JSON" in broken.json()["error"]
        unknown_key = await client.post("/_sandbox/faults", json={"status": 500, "colour": "red"})
        assert unknown_key.status_code == 400


async def test_the_clock_advances_on_command(connect: Connector) -> None:
    async with connect(ToySandbox()) as client:
        before = (await client.get("/_sandbox/clock")).json()
        after = (await client.post("/_sandbox/clock", json={"advance_seconds": 3600})).json()
        assert after["offset_seconds"] == before["offset_seconds"] + 3600
        assert after["now"] > before["now"]
