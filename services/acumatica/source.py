"""The Acumatica source: ``raw.acumatica`` in; each link's drift read run.

Acumatica sends us no webhooks; the control plane gives every Acumatica connection a poll
schedule (every ``MLC_POLL_EVERY_SECONDS``, 300 by default) and a daily reconcile. Each
tick of either, and ``mlc connections sync <acumatica connection>``, runs the drift read
(``reconcile.py``) of every ``people-acumatica`` link into the connection. A tick of a
connection that is gone (or another vendor's) is audited and skipped.
"""

from __future__ import annotations

from schemas.envelope import Event
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from services.acumatica.access import FLOW, VENDOR, AcumaticaAccess
from services.acumatica.reconcile import DriftRead
from services.runtime.flow_links import flow_links
from services.runtime.logging import get_logger
from services.runtime.raw_dispatch import decode_raw, dispatch_raw
from services.runtime.store import StateStore

__all__ = ["AcumaticaSource"]

_log = get_logger(__name__)


class AcumaticaSource:
    """Handles one raw event at a time; stateless between events apart from the store."""

    def __init__(
        self, *, store: StateStore, access: AcumaticaAccess, drift: DriftRead, service: str
    ) -> None:
        self._store = store
        self._access = access
        self._drift = drift
        self._service = service

    async def handle(self, message: object) -> None:
        """One message of ``raw.acumatica`` (JSON already parsed by the broker)."""
        await dispatch_raw(decode_raw(message), self)

    async def on_delivery(self, delivery: RawDelivery) -> None:
        await self._read(delivery)  # none are registered; one that comes means "look"

    async def on_poll(self, tick: PollTick) -> None:
        await self._read(tick)

    async def on_reconcile(self, tick: ReconcileTick) -> None:
        await self._read(tick)

    async def _read(self, cause: Event) -> None:
        async with self._store.transaction() as repos:
            record = await repos.connections.get(cause.connection_id)
            if record is None or record.vendor != VENDOR:
                detail = {
                    "event_id": str(cause.event_id),
                    "event_type": cause.type,
                    "reason": "not an Acumatica connection (gone, or another vendor's)",
                }
                await repos.audit_log.append(
                    actor=self._service,
                    action="acumatica.event_skipped",
                    subject=cause.connection_id,
                    detail=detail,
                )
                _log.warning("acumatica.event_skipped", subject=cause.connection_id, **detail)
                return
        links = await flow_links(self._store, record.id, FLOW, end="target")
        if not links:
            return
        client = await self._access.client(record.id)
        for link in links:
            await self._drift.run(link, client, cause=cause)
