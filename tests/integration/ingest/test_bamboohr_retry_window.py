"""BambooHR's own retries against our replay window, over the sandbox and the real intake.

BambooHR re-sends a delivery our intake did not answer 5, 10, 20, 40 and 80 minutes later,
and the sandbox (like BambooHR, as far as anyone can tell) re-sends the same bytes with the
ORIGINAL ``X-BambooHR-Timestamp``. The first attempt here is lost on the way (the sandbox's
delivery transport drops it); the sandbox clock and the intake's clock then move 6 minutes
on together and the retry arrives. With a 5-minute window that retry would be refused 401,
and BambooHR never retries a 4xx: the change would be lost. BambooHR's own window
(``MLC_BAMBOOHR_WEBHOOK_REPLAY_WINDOW_SECONDS``, 3 h) lets it in, once; the same request
replayed later is a duplicate in the ledger.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.bamboohr.seed import ADMIN_API_KEY
from sandboxes.kit import wait_until
from schemas.envelope import utcnow
from services.bamboohr.auth import BambooHRAuth
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.webhook_registration import BambooHRWebhookRegistrar
from services.ingest.audit import subject_of
from tests.integration.ingest.ingest_live import raw_deliveries
from tests.integration.ingest.registration_live import (
    Knowledge,
    RegistrationWorld,
    audit_actions,
    registration_world,
)

EMPLOYEE = "108"
LATER = 360.0  # past the first retry's 5 minutes


class FirstAttemptLost(httpx.AsyncHTTPTransport):
    """The network between BambooHR and us loses the next ``armed`` deliveries."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.armed:
            self.armed -= 1
            raise httpx.ConnectError("lost on the way", request=request)
        return await super().handle_async_request(request)


class SharedClock:
    """The intake's clock, moved together with the sandbox's."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


def bamboohr(base_url: str, _: Mapping[str, Any]) -> Knowledge:
    settings = BambooHRSettings(company_url_template=f"{base_url}/{{subdomain}}.bamboohr.com")
    return Knowledge(
        registrar=BambooHRWebhookRegistrar(settings), key_vendor=BambooHRAuth(settings)
    )


@pytest.fixture
def network() -> FirstAttemptLost:
    return FirstAttemptLost()


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock()


async def _world(
    tmp_path: Path,
    bootstrap: str,
    network: FirstAttemptLost,
    clock: SharedClock,
    windows: Mapping[str, float] | None,
) -> AsyncIterator[RegistrationWorld]:
    async with registration_world(
        tmp_path,
        vendor="bamboohr",
        sandbox_app=BambooHRSandbox(webhook_transport=network),
        knowledge=bamboohr,
        bootstrap=bootstrap,
        https_public_url=True,
        intake_clock=clock,
        replay_windows=windows,
    ) as made:
        yield made


@pytest.fixture
async def world(
    tmp_path: Path, kafka_bootstrap: str, network: FirstAttemptLost, clock: SharedClock
) -> AsyncIterator[RegistrationWorld]:
    # None: the windows python -m services.ingest uses (BambooHR's own setting).
    async for made in _world(tmp_path, kafka_bootstrap, network, clock, None):
        yield made


@pytest.fixture
async def five_minute_world(
    tmp_path: Path, kafka_bootstrap: str, network: FirstAttemptLost, clock: SharedClock
) -> AsyncIterator[RegistrationWorld]:
    async for made in _world(tmp_path, kafka_bootstrap, network, clock, {}):
        yield made


async def _retry_after_a_lost_attempt(
    world: RegistrationWorld, network: FirstAttemptLost, clock: SharedClock
) -> tuple[str, dict[str, Any]]:
    """Register, lose the first delivery, move both clocks on; the retry's record."""
    answer = await world.ingest.post(
        "/api/v1/connections",
        json={
            "vendor": "bamboohr",
            "display_name": "Acme HR",
            "credentials": {"api_key": ADMIN_API_KEY, "company_domain": "acme"},
        },
    )
    assert answer.status_code == 201, answer.text
    connection_id = str(answer.json()["id"])
    local = f"{world.ingest_url}/webhooks/bamboohr/{connection_id}"
    await world.sandbox.post("/_sandbox/webhooks", json={"url": local})
    network.armed = 1
    changed = await world.sandbox.post(
        "/_sandbox/actions/change_department",
        json={"employeeId": EMPLOYEE, "department": "Strategy"},
    )
    assert changed.status_code == 200, changed.text

    async def deliveries() -> list[dict[str, Any]]:
        return list((await world.sandbox.get("/_sandbox/webhooks")).json()["deliveries"])

    async def first_lost() -> list[dict[str, Any]] | None:
        return [d for d in await deliveries() if d["attempt"] == 1 and d["status"] is None] or None

    [lost] = await wait_until(first_lost, timeout_seconds=30, message="the first attempt")
    clock.offset = timedelta(seconds=LATER)
    moved = await world.sandbox.post("/_sandbox/clock", json={"advance_seconds": LATER})
    assert moved.status_code == 200, moved.text

    async def retried() -> list[dict[str, Any]] | None:
        return [
            d
            for d in await deliveries()
            if d["delivery_id"] == lost["delivery_id"] and d["attempt"] == 2 and d["status"]
        ] or None

    [retry] = await wait_until(retried, timeout_seconds=30, message="the retry answered")
    assert retry["headers"]["X-BambooHR-Timestamp"] == lost["headers"]["X-BambooHR-Timestamp"]
    return connection_id, retry


async def test_a_retry_carrying_the_original_timestamp_is_accepted_once(
    world: RegistrationWorld, network: FirstAttemptLost, clock: SharedClock, kafka_bootstrap: str
) -> None:
    connection_id, retry = await _retry_after_a_lost_attempt(world, network, clock)

    assert retry["status"] == 200, retry
    [event] = await raw_deliveries(kafka_bootstrap, "raw.bamboohr", connection_id)
    assert event["body"] == retry["body"]

    # The same signed request replayed (by the vendor or anyone who captured it) is a
    # duplicate, not a second event.
    replayed = await world.ingest.post(
        f"/webhooks/bamboohr/{connection_id}",
        content=retry["body"].encode(),
        headers={k: v for k, v in retry["headers"].items() if k.lower() != "content-length"},
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "duplicate"
    assert len(await raw_deliveries(kafka_bootstrap, "raw.bamboohr", connection_id)) == 1


async def test_with_a_five_minute_window_the_same_retry_would_be_refused(
    five_minute_world: RegistrationWorld, network: FirstAttemptLost, clock: SharedClock
) -> None:
    connection_id, retry = await _retry_after_a_lost_attempt(five_minute_world, network, clock)

    assert retry["status"] == 401, retry
    refused = [
        e
        for e in await audit_actions(five_minute_world.store, subject_of("bamboohr", connection_id))
        if e.action == "webhook.refused"
    ]
    assert [e.detail["reason"] for e in refused] == ["stale_timestamp"]
