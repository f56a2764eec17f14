"""Webhook delivery: recorded attempts, drop, duplicate, reorder, delay and retries."""

from __future__ import annotations

import json
from typing import Any

import httpx

from sandboxes.kit import wait_until
from tests.sandboxes.kit.toy_sandbox import ToySandbox
from tests.sandboxes.sandbox_harness import Connector, WebhookReceiver


async def _deliveries(client: httpx.AsyncClient, minimum: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        answer = (await client.get("/_sandbox/webhooks")).json()
        records: list[dict[str, Any]] = answer["deliveries"]
        return records if len(records) >= minimum and answer["pending"] == 0 else None

    return await wait_until(enough, timeout_seconds=30, message=f"{minimum} deliveries")


async def test_a_state_change_is_delivered_and_recorded(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ToySandbox()) as client:
        await client.post("/hooks", json={"url": webhook_receiver.url})
        await client.post("/_sandbox/actions/rename", json={"id": 1, "name": "Gizmo"})
        [record] = await _deliveries(client, 1)
        assert record["status"] == 200
        assert record["outcome"] == "delivered"
        assert record["url"] == webhook_receiver.url
        assert json.loads(record["body"]) == {"event": "widget.updated", "id": 1}
        assert [json.loads(r.body) for r in webhook_receiver.received] == [
            {"event": "widget.updated", "id": 1}
        ]
        assert webhook_receiver.received[0].headers["content-type"] == "application/json"


async def test_dropped_deliveries_are_recorded_but_never_sent(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ToySandbox()) as client:
        await client.post("/hooks", json={"url": webhook_receiver.url})
        await client.post("/_sandbox/webhooks", json={"drop": 1})
        await client.post("/widgets", json={"name": "A"})
        await client.post("/widgets", json={"name": "B"})
        records = await _deliveries(client, 2)
        assert [r["outcome"] for r in records] == ["dropped", "delivered"]
        assert [json.loads(r.body)["id"] for r in webhook_receiver.received] == [3]


async def test_duplicated_deliveries_arrive_twice_with_identical_bytes(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ToySandbox()) as client:
        await client.post("/hooks", json={"url": webhook_receiver.url})
        await client.post("/_sandbox/webhooks", json={"duplicate": 1})
        await client.post("/widgets", json={"name": "A"})
        records = await _deliveries(client, 2)
        assert records[0]["delivery_id"] == records[1]["delivery_id"]
        assert len(webhook_receiver.received) == 2
        assert webhook_receiver.received[0].body == webhook_receiver.received[1].body


async def test_reordered_deliveries_arrive_newest_first(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ToySandbox()) as client:
        await client.post("/hooks", json={"url": webhook_receiver.url})
        await client.post("/_sandbox/webhooks", json={"reorder": 3})
        for name in ("A", "B", "C"):
            await client.post("/widgets", json={"name": name})
        await _deliveries(client, 3)
        assert [json.loads(r.body)["id"] for r in webhook_receiver.received] == [4, 3, 2]


async def test_a_delayed_delivery_waits_until_the_clock_reaches_it(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ToySandbox()) as client:
        await client.post("/hooks", json={"url": webhook_receiver.url})
        await client.post("/_sandbox/webhooks", json={"delay_ms": 600_000})
        await client.post("/widgets", json={"name": "A"})
        state = (await client.get("/_sandbox/webhooks")).json()
        assert (state["pending"], state["deliveries"]) == (1, [])
        await client.post("/_sandbox/clock", json={"advance_seconds": 600})
        await _deliveries(client, 1)
        assert len(webhook_receiver.received) == 1


async def test_a_failed_delivery_is_retried_after_the_vendor_delay_on_the_clock(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.answers = [503]
    async with connect(ToySandbox()) as client:
        await client.post("/hooks", json={"url": webhook_receiver.url})
        await client.post("/widgets", json={"name": "A"})
        first = await wait_until(
            lambda: webhook_receiver.received, timeout_seconds=30, message="first attempt"
        )
        assert len(first) == 1

        async def recorded() -> dict[str, Any] | None:
            # The receiver has the request before the sandbox has recorded its answer.
            state: dict[str, Any] = (await client.get("/_sandbox/webhooks")).json()
            return state if state["deliveries"] else None

        state = await wait_until(recorded, timeout_seconds=30, message="first attempt recorded")
        assert [r["status"] for r in state["deliveries"]] == [503]
        assert state["pending"] == 1
        await client.post("/_sandbox/clock", json={"advance_seconds": 60})
        records = await _deliveries(client, 2)
        assert [(r["attempt"], r["status"]) for r in records] == [(1, 503), (2, 200)]


async def test_retry_now_sends_a_waiting_retry_without_moving_the_clock(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.answers = [503]
    async with connect(ToySandbox()) as client:
        await client.post("/hooks", json={"url": webhook_receiver.url})
        await client.post("/widgets", json={"name": "A"})

        async def recorded() -> bool:
            state: dict[str, Any] = (await client.get("/_sandbox/webhooks")).json()
            return bool(state["deliveries"]) and state["pending"] == 1

        await wait_until(recorded, timeout_seconds=30, message="first attempt recorded")
        before = (await client.get("/_sandbox/clock")).json()["offset_seconds"]
        answer = await client.post("/_sandbox/webhooks/retry-now")
        records = await _deliveries(client, 2)

        assert answer.json() == {"due_now": 1}
        assert [(r["attempt"], r["status"]) for r in records] == [(1, 503), (2, 200)]
        assert (await client.get("/_sandbox/clock")).json()["offset_seconds"] == before
        # Nothing waits any more: a second call has nothing to bring forward.
        assert (await client.post("/_sandbox/webhooks/retry-now")).json() == {"due_now": 0}


async def test_the_url_override_sends_every_delivery_to_one_place(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ToySandbox()) as client:
        await client.post("/hooks", json={"url": "https://unreachable.example/hook"})
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        await client.post("/widgets", json={"name": "A"})
        [record] = await _deliveries(client, 1)
        assert record["url"] == webhook_receiver.url
        assert len(webhook_receiver.received) == 1


async def test_posting_one_setting_keeps_the_others_and_put_replaces_them_all(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(ToySandbox()) as client:
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        merged = (await client.post("/_sandbox/webhooks", json={"duplicate": 2})).json()
        assert merged["config"]["url"] == webhook_receiver.url  # the override survives
        assert merged["config"]["duplicate"] == 2
        replaced = (await client.put("/_sandbox/webhooks", json={"drop": 1})).json()
        assert replaced["config"] == {
            "url": None,
            "delay_ms": 0,
            "drop": 1,
            "duplicate": 0,
            "reorder": 0,
        }
        refused = await client.post("/_sandbox/webhooks", json=["not", "an", "object"])
        assert refused.status_code == 400
