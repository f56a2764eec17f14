"""Registering our callbacks at FreshBooks (fact sheet section 8), for the control plane.

``POST /events/account/{account_id}/events/callbacks`` with ``{"callback": {"event", "uri"}}``
creates one callback per event; the answer carries ``callbackid`` and ``verified: false``.
FreshBooks then POSTs a form with ``verifier`` and ``object_id`` (= the callback id) to the
URI: the ingest intake stores it and calls :meth:`FreshBooksWebhookRegistrar.confirm`, which
sends it back with ``PUT .../callbacks/{id}`` ``{"callback": {"verifier": ...}}``. Only then
does the callback receive deliveries, each signed with that verifier, so the verifier is
kept as the callback's secret once FreshBooks accepted it. A forged handshake at our URL
gets nowhere: FreshBooks refuses a verifier that is not its own, and nothing is kept.
``DELETE .../callbacks/{id}`` removes one (404 = already gone).

The callback id of a handshake is whatever the unauthenticated form said, so it must be a
FreshBooks callback id (digits, ``"callbackid": 2001`` in section 8) before anything is
sent, and every value reaches the URL only as one encoded path segment: a ``../`` or ``?``
in it would otherwise aim the connection's bearer token at another FreshBooks path.

The events are ``MLC_FRESHBOOKS_WEBHOOK_EVENTS`` (``settings.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from services.freshbooks.client import api_path, numeric_id
from services.freshbooks.settings import FreshBooksSettings
from services.runtime.oauth_tokens import VendorCallError
from services.runtime.vendor_plugin import Registered, VendorAccess

__all__ = ["FreshBooksWebhookRegistrar"]

CALLBACKS = "/events/account/{account_id}/events/callbacks"
CALLBACK = "/events/account/{account_id}/events/callbacks/{callback_id}"


class FreshBooksWebhookRegistrar:
    """The FreshBooks knowledge behind ``WebhookRegistrar`` and ``HandshakeConfirmer``."""

    def __init__(self, settings: FreshBooksSettings) -> None:
        self._api = settings.api_base_url.rstrip("/")
        self._events = settings.webhook_events

    @staticmethod
    def _account_id(access: VendorAccess) -> str:
        account_id = str(access.settings.get("account_id", ""))
        if not account_id:
            msg = "the FreshBooks connection has no account_id (consent never completed)"
            raise VendorCallError(msg)
        return account_id

    def _callbacks_url(self, access: VendorAccess) -> str:
        return self._api + api_path(CALLBACKS, account_id=self._account_id(access))

    def _callback_url(self, access: VendorAccess, callback_id: str) -> str:
        # Callers pass callback_id through numeric_id first; account_id (from users/me) has no
        # documented shape, so it is only encoded.
        return self._api + api_path(
            CALLBACK, account_id=self._account_id(access), callback_id=callback_id
        )

    @staticmethod
    def _headers(access: VendorAccess) -> dict[str, str]:
        if access.tokens is None:
            msg = "FreshBooks connections need OAuth tokens"
            raise VendorCallError(msg, unauthorized=True)
        return {"Authorization": f"Bearer {access.tokens.access_token}"}

    async def register(self, http: httpx.AsyncClient, access: VendorAccess, url: str) -> Registered:
        endpoint, headers = self._callbacks_url(access), self._headers(access)
        ids: list[str] = []
        try:
            for event in self._events:
                answer = await http.post(
                    endpoint, json={"callback": {"event": event, "uri": url}}, headers=headers
                )
                _raise_for(answer, f"register callback {event}")
                created = answer.json()["response"]["result"]["callback"]["callbackid"]
                # Checked here too: these ids are stored and later put into DELETE paths.
                ids.append(numeric_id(created, "FreshBooks answered callback id"))
        except (VendorCallError, httpx.HTTPError):
            # Half a registration is none: remove what was created before reporting.
            await self.unregister(http, access, ids)
            raise
        # No secrets yet: each callback's verifier arrives by the handshake.
        return Registered(webhook_ids=tuple(ids))

    async def confirm(
        self, http: httpx.AsyncClient, access: VendorAccess, webhook_id: str, verifier: str
    ) -> None:
        callback_id = numeric_id(webhook_id, "callback id")
        answer = await http.put(
            self._callback_url(access, callback_id),
            json={"callback": {"verifier": verifier}},
            headers=self._headers(access),
        )
        _raise_for(answer, f"verify callback {callback_id}")

    async def unregister(
        self, http: httpx.AsyncClient, access: VendorAccess, webhook_ids: Sequence[str]
    ) -> None:
        # Every id checked before the first DELETE: a bad one sends none, not half of them.
        callback_ids = [numeric_id(webhook_id, "callback id") for webhook_id in webhook_ids]
        headers = self._headers(access)
        for webhook_id in callback_ids:
            answer = await http.delete(self._callback_url(access, webhook_id), headers=headers)
            if answer.status_code != 404:
                _raise_for(answer, f"delete callback {webhook_id}")


def _raise_for(answer: httpx.Response, what: str) -> None:
    if answer.is_success:
        return
    detail = ""
    try:
        body: Any = answer.json()
        detail = "; ".join([str(body.get("message", "")), *map(str, body.get("details") or [])])
    except (ValueError, AttributeError):
        detail = answer.text[:200]
    msg = f"FreshBooks refused to {what} (HTTP {answer.status_code}): {detail.strip('; ')}"
    raise VendorCallError(msg, unauthorized=answer.status_code == 401)
