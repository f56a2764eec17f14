"""Shared helpers for the BILL sandbox contract tests (values from the default seed)."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx

API = "/connect/v3"
EVENTS = "/connect-events/v3"
ADOBE_BILL = "00n01ADOBE0000001XXX"  # Adobe Inc., one line of 659.88 on GL 6100
WEWORK_BILL = "00n01WEWORK000002XXX"  # WeWork, two lines, 8,750.00
ADOBE_VENDOR = "00901ADOBEINC00001XX"
SOFTWARE_GL = "0ca01GL6100XXXXXXXXX"
OTHER_ORG_VENDOR = "00901OTHERORGVENDORX"


async def login(client: httpx.AsyncClient, *, trusted: bool = False) -> dict[str, str]:
    """Log in with the sandbox's credentials; answers the `devKey` + `sessionId` headers."""
    creds = (await client.post("/_sandbox/credentials")).json()
    body = {
        "username": creds["username"],
        "password": creds["password"],
        "organizationId": creds["organization_id"],
        "devKey": creds["dev_key"],
    }
    if trusted:
        body |= {"rememberMeId": "remember-1", "device": "ml-connector-tests"}
    answer = await client.post(f"{API}/login", json=body)
    assert answer.status_code == 200, answer.text
    return {"devKey": creds["dev_key"], "sessionId": answer.json()["sessionId"]}


def idempotent(headers: dict[str, str]) -> dict[str, str]:
    """The headers plus a fresh `X-Idempotent-Key` UUID4."""
    return {**headers, "X-Idempotent-Key": str(uuid.uuid4())}


def single_error(answer: httpx.Response) -> dict[str, str]:
    """BILL's error body is a JSON array; these tests expect exactly one error in it."""
    body = answer.json()
    assert isinstance(body, list)
    assert len(body) == 1
    assert set(body[0]) >= {"timestamp", "code", "severity", "category", "message"}
    error: dict[str, str] = body[0]
    return error


async def start_of_next_hour(client: httpx.AsyncClient) -> None:
    """Move the sandbox clock just past the next full hour (hourly quotas are per hour)."""
    now = datetime.fromisoformat((await client.get("/_sandbox/clock")).json()["now"])
    into_hour = now.minute * 60 + now.second + now.microsecond / 1_000_000
    await client.post("/_sandbox/clock", json={"advance_seconds": 3600 - into_hour + 1})
