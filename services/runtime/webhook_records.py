"""What the webhook edge and the control plane agree on in the store, and nothing else.

The edge (``services/ingest/webhooks.py``) and the registrations
(``services/control/webhook_registrations.py``) may run in different processes: the store is
what they share, and this module is the shape of what they share there: where the edge
receives a connection's webhooks (:data:`ROUTE_PATH`, :func:`intake_url`), the credential
fields of its secrets and pending verifiers, and the registration record in a connection's
settings (key :data:`REGISTRATION_KEY`), written by the registrations and read by the edge.

A vendor that confirms a registration with a handshake (FreshBooks) POSTs it unsigned to
our public URL, so anyone can send one. The intake acts on a handshake only when this
record says we are waiting for it:

- while a registration call is under way (``state: registering``, for at most
  :data:`REGISTERING_WINDOW`): the vendor may send the handshake before it has even answered
  the registration with the callback's id; the registrations confirm only the ids the
  vendor then names and drop the rest;
- for an id the vendor gave us (``ids``) that has no secret yet (not yet confirmed).

Anything else is refused and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

__all__ = [
    "FALLBACK_POLL",
    "REGISTERING",
    "REGISTERING_WINDOW",
    "REGISTRATION_KEY",
    "ROUTE_PATH",
    "SECRET_FIELD",
    "VERIFIER_FIELD_PREFIX",
    "awaits_handshake",
    "intake_url",
    "registering_since",
]

ROUTE_PATH: Final = "/webhooks/{vendor}/{connection_id}"
"""The edge's webhook route; the URL registered at the vendor is the public URL plus this."""
SECRET_FIELD: Final = "webhook_secret"  # noqa: S105 - a credential field name
"""Credential field (``webhook_secret:<webhook id>``) of a secret the edge verifies with."""
VERIFIER_FIELD_PREFIX: Final = "webhook_verifier:"
"""Credential field prefix of a handshake's verifier awaiting confirmation at the vendor."""

REGISTRATION_KEY: Final = "webhook_registration"
"""Connection settings key holding ``{"state", "ids", "url", "reason", "fallback_poll"}``."""
FALLBACK_POLL: Final = "fallback_poll"
"""Registration record key: the poll schedule registration added because webhooks are not on."""
REGISTERING: Final = "registering"
REGISTERING_WINDOW: Final = timedelta(minutes=5)
"""How long a registration call may keep the door open to handshakes of ids not known yet:
far longer than a vendor takes to answer, short enough that a crash mid-call closes it."""


def registering_since(record: Mapping[str, Any]) -> datetime | None:
    """When the registration under way started, or None when none is."""
    if record.get("state") != REGISTERING:
        return None
    try:
        return datetime.fromisoformat(str(record.get("since")))
    except ValueError:
        return None


def awaits_handshake(
    settings: Mapping[str, Any], callback_id: str, confirmed: Collection[str], now: datetime
) -> bool:
    """Whether a handshake for ``callback_id`` is one we are waiting for (see the docstring).

    ``confirmed`` are the callback ids that already have a secret.
    """
    record = settings.get(REGISTRATION_KEY)
    if not isinstance(record, Mapping):
        return False
    since = registering_since(record)
    if since is not None and now - since <= REGISTERING_WINDOW:
        return True
    ids = {str(i) for i in record.get("ids") or ()}
    return callback_id in ids and callback_id not in confirmed


def intake_url(public_url: str, vendor: str, connection_id: str) -> str:
    """Where the vendor sends this connection's webhooks."""
    path = ROUTE_PATH.format(vendor=vendor, connection_id=connection_id)
    return public_url.rstrip("/") + path
