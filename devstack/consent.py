"""Connect a vendor account through its real OAuth consent, with a scripted browser.

What a person does with ``mlc connections add <vendor> --oauth``, done by a
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

__all__ = ["ConsentError", "connect_with_consent"]


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
    api = httpx.AsyncClient(
        base_url=f"{ingest_url.rstrip('/')}/api/v1",
        headers={"Authorization": f"Bearer {operator_token}"},
        timeout=30.0,
    )
    async with api, httpx.AsyncClient(timeout=30.0) as browser:
        started = await api.post(
            f"/oauth/{vendor}/start",
            json={"display_name": display_name, "options": dict(options or {})},
        )
        if not started.is_success:
            msg = f"{vendor}: starting consent answered {started.status_code}: {started.text}"
            raise ConsentError(msg)
        connection_id = str(started.json()["connection_id"])
        if before_consent is not None:
            await before_consent(connection_id)
        consent = await browser.get(str(started.json()["consent_url"]))
        if consent.status_code not in (302, 303) or "location" not in consent.headers:
            msg = f"{vendor}: the consent page answered {consent.status_code}: {consent.text}"
            raise ConsentError(msg)
        redirect = urlsplit(consent.headers["location"])
        ingest = urlsplit(ingest_url)
        callback = await browser.get(urlunsplit(redirect._replace(netloc=ingest.netloc)))
        if callback.status_code != 200:
            msg = f"{vendor}: the callback answered {callback.status_code}: {callback.text}"
            raise ConsentError(msg)
        deadline = time.monotonic() + timeout_seconds
        while True:
            polled = await api.get(f"/oauth/connections/{connection_id}")
            if polled.status_code == 200 and polled.json().get("status") == "active":
                return connection_id
            if time.monotonic() > deadline:
                msg = f"{vendor}: connection {connection_id} not active: {polled.text}"
                raise ConsentError(msg)
            await asyncio.sleep(0.2)  # poll: the callback finishes the exchange in the ingest
