"""Audit entries the webhook edge writes: refused input and handshakes (refused connections:
``services/runtime/public_server.py``).

Every refusal is written to the state store's audit log (actor ``ingest``), so an
operator can see who was turned away and why. The path's vendor and connection are
attacker-controlled text, so they are clipped before they are stored. Writing the entry
must never turn a refusal into a 5xx: if the store cannot take it, the failure is logged
and the vendor still gets its 4xx.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError

from services.runtime.logging import get_logger
from services.runtime.store import StateStore, StoreError

__all__ = [
    "ACTOR",
    "HANDSHAKE_ACTION",
    "REFUSED_ACTION",
    "record_handshake",
    "record_refusal",
]

ACTOR: Final = "ingest"
REFUSED_ACTION: Final = "webhook.refused"
HANDSHAKE_ACTION: Final = "webhook.handshake"
# Longest path segment kept in an audit entry; the rest is cut off.
_MAX_TEXT: Final = 200

_log = get_logger(__name__)


def clip(text: str) -> str:
    """``text`` cut to a length the audit log keeps."""
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "..."


def subject_of(vendor: str, connection_id: str) -> str:
    """The audit subject of a webhook URL: ``webhook:<vendor>/<connection>``."""
    return f"webhook:{clip(vendor)}/{clip(connection_id)}"


async def _append(store: StateStore, *, action: str, subject: str, detail: dict[str, Any]) -> bool:
    try:
        async with store.transaction() as tx:
            await tx.audit_log.append(actor=ACTOR, action=action, subject=subject, detail=detail)
    except (StoreError, SQLAlchemyError, OSError) as exc:
        _log.error("audit_write_failed", action=action, subject=subject, error=type(exc).__name__)
        return False
    return True


async def record_refusal(
    store: StateStore,
    *,
    vendor: str,
    connection_id: str,
    status: int,
    reason: str,
    detail: str,
    client: str | None,
) -> bool:
    """Write one ``webhook.refused`` entry; False if the store could not take it."""
    return await _append(
        store,
        action=REFUSED_ACTION,
        subject=subject_of(vendor, connection_id),
        detail={
            "vendor": clip(vendor),
            "connection_id": clip(connection_id),
            "status": status,
            "reason": reason,
            "detail": clip(detail),
            "client": client,
        },
    )


async def record_handshake(
    store: StateStore, *, vendor: str, connection_id: str, callback_id: str, client: str | None
) -> bool:
    """Write one ``webhook.handshake`` entry (the verifier itself is never written)."""
    return await _append(
        store,
        action=HANDSHAKE_ACTION,
        subject=subject_of(vendor, connection_id),
        detail={"vendor": vendor, "callback_id": callback_id, "client": client},
    )
