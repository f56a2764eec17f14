"""Connect a vendor account through its real OAuth consent, with a scripted browser.

What a person does with ``mlc connections add <vendor> --oauth`` (or ``mlc connections
reconnect <id>``), done by a
program: ask the ingest's operator API for a consent URL, open it (the vendor
sandbox auto-consents for its test user and redirects to the callback
registered for the app), follow that redirect to the ingest's callback, and
wait until the connection is active. The registered callback names
``localhost:8080``; the browser sends that hop to where the ingest really
listens, as a person's browser would if the ingest ran there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx

__all__ = ["ConsentError", "connect_with_consent", "reconnect_with_consent"]


class ConsentError(RuntimeError):
    """A step of the consent flow answered something else than the flow expects."""


async def connect_with_consent(
    ingest_url: str,
    operator_token: str,
    vendor: str,
    *,
    display_name: str,
    options: Mapping[str, str] | None = None,
    before_consent: Callable[[str], Awaitable[None]] | None = None,
    timeout_seconds: float = 30.0,
) -> str:
    """The id of the new, active connection.

    ``before_consent(connection_id)`` runs once the id is known and before the browser
    consents (the moment the ingest then registers its webhooks at the vendor).
    """
    async with _operator_api(ingest_url, operator_token) as api:
        started = await api.post(
            f"/oauth/{vendor}/start",
            json={"display_name": display_name, "options": dict(options or {})},
        )
        return await _consent(
            api, started, ingest_url, vendor, before_consent, timeout_seconds=timeout_seconds
        )


async def reconnect_with_consent(
    ingest_url: str, operator_token: str, connection_id: str, *, timeout_seconds: float = 30.0
) -> str:
    """What ``mlc connections reconnect <id>`` does: a new consent for the same connection,
    its links kept; returns once it is active again."""
    async with _operator_api(ingest_url, operator_token) as api:
        started = await api.post(f"/connections/{connection_id}/reconnect")
        return await _consent(
            api, started, ingest_url, connection_id, None, timeout_seconds=timeout_seconds
        )


def _operator_api(ingest_url: str, operator_token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"{ingest_url.rstrip('/')}/api/v1",
        headers={"Authorization": f"Bearer {operator_token}"},
        timeout=30.0,
    )


async def _consent(
    api: httpx.AsyncClient,
    started: httpx.Response,
    ingest_url: str,
    what: str,
    before_consent: Callable[[str], Awaitable[None]] | None,
    *,
    timeout_seconds: float,
) -> str:
    """The browser's part once a consent was ``started``: the consent page, the redirect to
    the ingest's callback, then waiting until the connection is active."""
    if not started.is_success:
        msg = f"{what}: starting consent answered {started.status_code}: {started.text}"
        raise ConsentError(msg)
    connection_id = str(started.json()["connection_id"])
    if before_consent is not None:
        await before_consent(connection_id)
    async with httpx.AsyncClient(timeout=30.0) as browser:
        consent = await browser.get(str(started.json()["consent_url"]))
        if consent.status_code not in (302, 303) or "location" not in consent.headers:
            msg = f"{what}: the consent page answered {consent.status_code}: {consent.text}"
            raise ConsentError(msg)
        redirect = urlsplit(consent.headers["location"])
        ingest = urlsplit(ingest_url)
        callback = await browser.get(urlunsplit(redirect._replace(netloc=ingest.netloc)))
    if callback.status_code != 200:
        msg = f"{what}: the callback answered {callback.status_code}: {callback.text}"
        raise ConsentError(msg)
    deadline = time.monotonic() + timeout_seconds
    while True:
        polled = await api.get(f"/oauth/connections/{connection_id}")
        if polled.status_code == 200 and polled.json().get("status") == "active":
            return connection_id
        if time.monotonic() > deadline:
            msg = f"{what}: connection {connection_id} not active: {polled.text}"
            raise ConsentError(msg)
        await asyncio.sleep(0.2)  # poll: the callback finishes the exchange in the ingest
