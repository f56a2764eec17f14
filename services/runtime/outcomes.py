"""What a sink's write attempt did, and its ``SyncOutcome`` on the bus.

Every sink publishes one outcome per write attempt, caused by the message that asked for
it, failed attempts included: the outcome is published and the error raised again, so
the bus retries the message and ``mlc audit`` shows every try. The bus edge is a small
:class:`OutcomePublisher` so a test can hold the outcomes in a list instead of Kafka.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from faststream.kafka import KafkaBroker

from schemas.envelope import Event
from schemas.outcomes import OutcomeStatus, SyncOutcome
from services.runtime.logging import get_logger
from services.runtime.metrics import OUTCOMES
from services.runtime.publishing import publish
from services.runtime.store.records import LinkRecord

__all__ = ["BusPublisher", "OutcomePublisher", "Outcomes", "WriteResult"]

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """``operation`` names the calls made, joined by ``+`` (``compare`` when none was)."""

    status: OutcomeStatus
    operation: str
    target_ids: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    action: str = ""
    """In a preview, what a person reads: ``create``, ``update``, ``deactivate``, ``review``
    (empty for an outcome that changed nothing)."""


class OutcomePublisher(Protocol):
    """The bus edge: put ``event`` on its topic, stamped as caused by ``cause``."""

    async def __call__(self, event: SyncOutcome, *, cause: Event) -> None: ...


class BusPublisher:
    """:class:`OutcomePublisher` over the service's Kafka broker (acknowledged writes)."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def __call__(self, event: SyncOutcome, *, cause: Event) -> None:
        await publish(self._broker, event, cause=cause)


class Outcomes:
    """Runs write attempts and publishes what each did, as service ``service``."""

    def __init__(self, publisher: OutcomePublisher, *, service: str) -> None:
        self._publisher = publisher
        self._service = service

    async def attempt(
        self,
        cause: Event,
        link: LinkRecord | None,
        entity_key: str,
        write: Callable[[], Awaitable[WriteResult]],
        *,
        quiet_unchanged: bool = False,
        written: str | None = None,
    ) -> WriteResult:
        """Run ``write`` and publish its outcome; an error is a ``failed`` outcome, then raised.

        ``quiet_unchanged``: a scan re-reads everything, so only its writes and failures
        are worth an outcome. ``written``: the connection written when it is not the link's
        target (a write back into the link's source, e.g. a reference list).
        """
        try:
            result = await write()
        except Exception as error:
            failed = WriteResult("failed", "write", detail=f"{type(error).__name__}: {error}")
            await self.publish(cause, link, entity_key, failed, written=written)
            raise
        if not (quiet_unchanged and result.status == "unchanged"):
            await self.publish(cause, link, entity_key, result, written=written)
        return result

    async def publish(
        self,
        cause: Event,
        link: LinkRecord | None,
        entity_key: str,
        result: WriteResult,
        *,
        written: str | None = None,
    ) -> None:
        if written is None and link is not None:
            written = link.target_connection_id
        outcome = SyncOutcome(
            connection_id=cause.connection_id,
            tenant_id=cause.tenant_id,
            entity_key=entity_key,
            occurred_at=cause.occurred_at,
            service=self._service,
            link_id=link.id if link else None,
            target_connection_id=written,
            status=result.status,
            operation=result.operation,
            target_ids=result.target_ids,
            detail=result.detail,
        )
        await self._publisher(outcome, cause=cause)
        OUTCOMES.labels(self._service, link.id if link else "", result.status).inc()
        # An unchanged outcome is the answer to a replay's every event: on the bus (the
        # audit trail) like every outcome, but not worth a log line each unless debugging.
        log = _log.debug if result.status == "unchanged" else _log.info
        log(
            "sink.outcome",
            service=self._service,
            status=result.status,
            operation=result.operation,
            entity=entity_key,
            link=link.id if link else None,
        )
