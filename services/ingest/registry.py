"""The one list of vendors whose webhooks the ingest service accepts.

Each entry says how that vendor's deliveries are verified (its ``webhook.py``), which
content types it sends, which headers are secret (never forwarded), how a delivery names
itself, and, for FreshBooks, how its verification handshake is recognised. Adding a vendor
is one entry here plus its ``services/<vendor>/webhook.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from services.bamboohr import webhook as bamboohr
from services.bill import webhook as bill
from services.freshbooks import webhook as freshbooks
from services.zoho import webhook as zoho

__all__ = [
    "VENDORS",
    "DeliveryIdReader",
    "Handshake",
    "HandshakeReader",
    "Verifier",
    "WebhookScheme",
]


class Verifier(Protocol):
    """A vendor's ``verify``: returns if the request is genuine, else raises VerificationError."""

    def __call__(
        self,
        *,
        secret: str,
        body: bytes,
        headers: Mapping[str, str],
        query: Sequence[tuple[str, str]] = (),
        now: datetime,
        tolerance: timedelta,
    ) -> None: ...


class DeliveryIdReader(Protocol):
    """The vendor's own id of a delivery, or None when it sends none."""

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Handshake:
    """A vendor's request to confirm a webhook registration (not a delivery)."""

    verifier: str
    callback_id: str


class HandshakeReader(Protocol):
    """The handshake this request is, or None for an ordinary delivery."""

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> Handshake | None: ...


@dataclass(frozen=True, slots=True)
class WebhookScheme:
    """How one vendor's webhooks are checked."""

    vendor: str
    verify: Verifier
    delivery_id: DeliveryIdReader
    content_types: tuple[str, ...]
    secret_headers: tuple[str, ...]
    handshake: HandshakeReader | None = None


def _freshbooks_handshake(body: bytes, headers: Mapping[str, str]) -> Handshake | None:
    found = freshbooks.handshake(body, headers)
    return None if found is None else Handshake(found.verifier, found.callback_id)


VENDORS: Final[Mapping[str, WebhookScheme]] = {
    "bamboohr": WebhookScheme(
        vendor="bamboohr",
        verify=bamboohr.verify,
        delivery_id=bamboohr.delivery_id,
        content_types=bamboohr.CONTENT_TYPES,
        secret_headers=bamboohr.SECRET_HEADERS,
    ),
    "freshbooks": WebhookScheme(
        vendor="freshbooks",
        verify=freshbooks.verify,
        delivery_id=freshbooks.delivery_id,
        content_types=freshbooks.CONTENT_TYPES,
        secret_headers=freshbooks.SECRET_HEADERS,
        handshake=_freshbooks_handshake,
    ),
    "bill": WebhookScheme(
        vendor="bill",
        verify=bill.verify,
        delivery_id=bill.delivery_id,
        content_types=bill.CONTENT_TYPES,
        secret_headers=bill.SECRET_HEADERS,
    ),
    "zoho": WebhookScheme(
        vendor="zoho",
        verify=zoho.verify,
        delivery_id=zoho.delivery_id,
        content_types=zoho.CONTENT_TYPES,
        secret_headers=zoho.SECRET_HEADERS,
    ),
}
"""Vendor name (as in the URL, ``raw.<vendor>`` and ``connections.vendor``) -> scheme."""
