"""The freshbooks service's subscribers: people.employee (sink) and raw.freshbooks (expenses).

Each handler decodes, calls the sink or the attributor, and publishes one ``SyncOutcome``
per write attempt, stamped with the message that caused it. A failure is published as a
``failed`` outcome and raised again, so the bus retries the message and, after
``MLC_HANDLER_MAX_ATTEMPTS``, puts it on ``dlq.freshbooks`` for ``mlc replay``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final, Protocol
from uuid import uuid4

from faststream.kafka import KafkaBroker, KafkaRouter

from schemas import decode_event
from schemas.envelope import Event
from schemas.outcomes import SyncOutcome
from schemas.people import EmployeeChanged
from schemas.raw import PollTick, RawDelivery, ReconcileTick
from schemas.topics import raw_topic
from services.freshbooks.connections import VENDOR, FreshBooksConnections
from services.freshbooks.expenses import EXPENSE_EVENTS, ExpenseAttributor
from services.freshbooks.mapping import callback_event
from services.freshbooks.results import WriteResult
from services.freshbooks.settings import FreshBooksSettings
from services.freshbooks.sink import PeopleSink
from services.freshbooks.team_directory import TeamDirectory
from services.runtime.bus import subscriber
from services.runtime.logging import get_logger
from services.runtime.publishing import publish
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

__all__ = ["SERVICE", "FreshBooksHandlers", "Handlers", "build_router", "router"]

SERVICE: Final = "freshbooks"
EXPENSES_WATERMARK: Final = "expenses.updated"

_log = get_logger(__name__)


class FreshBooksHandlers:
    """What the subscribers call; holds the store, the broker and the connections."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        store: StateStore,
        connections: FreshBooksConnections,
        settings: FreshBooksSettings,
        service: str = SERVICE,
    ) -> None:
        self._broker = broker
        self._store = store
        self._connections = connections
        self._settings = settings
        self._service = service
        self._holder = f"{service}-{uuid4().hex}"
        self._directory = TeamDirectory(
            max_age=timedelta(seconds=settings.team_directory_max_age_seconds)
        )

    async def _outcome(
        self,
        cause: Event,
        link: LinkRecord | None,
        entity_key: str,
        attempt: Callable[[], Awaitable[WriteResult]],
        *,
        quiet_unchanged: bool = False,
    ) -> WriteResult:
        """Run one write attempt and publish its outcome, failed ones included."""
        try:
            result = await attempt()
        except Exception as error:
            await self._publish(cause, link, entity_key, WriteResult(
                "failed", "write", detail=f"{type(error).__name__}: {error}"
            ))  # fmt: skip
            raise
        if not (quiet_unchanged and result.status == "unchanged"):
            await self._publish(cause, link, entity_key, result)
        return result

    async def _publish(
        self, cause: Event, link: LinkRecord | None, entity_key: str, result: WriteResult
    ) -> None:
        outcome = SyncOutcome(
            connection_id=cause.connection_id,
            tenant_id=cause.tenant_id,
            entity_key=entity_key,
            occurred_at=cause.occurred_at,
            service=self._service,
            link_id=link.id if link else None,
            target_connection_id=link.target_connection_id if link else None,
            status=result.status,
            operation=result.operation,
            target_ids=result.target_ids,
            detail=result.detail,
        )
        await publish(self._broker, outcome, cause=cause)
        _log.info(
            "freshbooks.outcome",
            status=result.status,
            operation=result.operation,
            entity=entity_key,
            link=link.id if link else None,
        )

    async def employee_changed(self, event: EmployeeChanged) -> None:
        """Apply the snapshot to every FreshBooks connection linked from its source."""
        for link in await self._connections.links_from(event.connection_id):
            await self._outcome(event, link, event.entity_key, partial(self._apply, event, link))

    async def _apply(self, event: EmployeeChanged, link: LinkRecord) -> WriteResult:
        sink = PeopleSink(
            store=self._store,
            client=await self._connections.client(link.target_connection_id),
            link=link,
            settings=self._settings,
            holder=self._holder,
            directory=self._directory,
        )
        return await sink.apply(event)

    async def raw_message(self, data: dict[str, Any]) -> None:
        """A callback (expense.create/update) or a poll tick of a FreshBooks connection."""
        event = decode_event(data)
        if isinstance(event, RawDelivery):
            await self._delivery(event)
        elif isinstance(event, PollTick | ReconcileTick):
            await self._poll(event)

    async def _attributor(self, connection_id: str, links: list[LinkRecord]) -> ExpenseAttributor:
        return ExpenseAttributor(
            store=self._store,
            client=await self._connections.client(connection_id),
            links=links,
            settings=self._settings,
            holder=self._holder,
        )

    async def _attribute_one(
        self, connection_id: str, links: list[LinkRecord], expense_id: str
    ) -> WriteResult:
        attributor = await self._attributor(connection_id, links)
        return await attributor.attribute_by_id(expense_id)

    async def _delivery(self, delivery: RawDelivery) -> None:
        callback = callback_event(delivery.body)
        if callback is None or callback.name not in EXPENSE_EVENTS:
            return
        links = await self._connections.links_into(delivery.connection_id)
        if not links:
            return
        await self._outcome(
            delivery,
            links[0],
            f"expense:{callback.object_id}",
            partial(self._attribute_one, delivery.connection_id, links, callback.object_id),
        )

    async def _poll(self, tick: PollTick | ReconcileTick) -> None:
        """The backup poll: every expense changed since the last tick (a day of overlap).

        A reconciliation (``mlc connections sync``) looks at every expense instead.
        """
        done_key = f"{tick.type}:{tick.connection_id}:{tick.schedule}:{tick.due_at}"
        async with self._store.transaction() as repos:
            if await repos.ledger.get(self._service, done_key) is not None:
                return
            mark = await repos.watermarks.get(self._service, tick.connection_id, EXPENSES_WATERMARK)
        links = await self._connections.links_into(tick.connection_id)
        if not links:
            return
        link = links[0]
        attributor = await self._attributor(tick.connection_id, links)
        # FreshBooks filters updated_min by day, in US/Eastern: a day of overlap covers both.
        since = (datetime.fromisoformat(mark) - timedelta(days=1)).date() if mark else None
        if isinstance(tick, ReconcileTick):
            since = None
        for expense in await attributor.changed_since(since):
            # A poll re-reads every expense: only writes (and failures) are worth an outcome.
            await self._outcome(
                tick,
                link,
                f"expense:{expense.id}",
                partial(attributor.attribute, expense),
                quiet_unchanged=True,
            )
        async with self._store.transaction() as repos:
            await repos.watermarks.set(
                self._service, tick.connection_id, EXPENSES_WATERMARK, tick.due_at
            )
            if await repos.ledger.claim(self._service, done_key):
                await repos.ledger.record_outcome(self._service, done_key, "polled")


class Handlers(Protocol):
    """What the subscribers call."""

    async def employee_changed(self, event: EmployeeChanged) -> None: ...

    async def raw_message(self, data: dict[str, Any]) -> None: ...


class _NotWired:
    """Behind the module-level ``router``, which exists to be described (``make docs``)."""

    async def employee_changed(self, event: EmployeeChanged) -> None:
        raise RuntimeError(_NOT_WIRED)

    async def raw_message(self, data: dict[str, Any]) -> None:
        raise RuntimeError(_NOT_WIRED)


_NOT_WIRED = (
    "services.freshbooks.handlers.router is for documentation; app.wire builds the live one"
)


def build_router(
    handlers: Handlers,
    *,
    group_id: str = SERVICE,
    employee_topic: str = EmployeeChanged.topic_name,
    callback_topic: str = raw_topic(VENDOR),
) -> KafkaRouter:
    """The service's subscribers; each body is one call into the handlers.

    The topics are parameters only so tests can run on topics of their own.
    """
    router = KafkaRouter()

    @subscriber(router, employee_topic, group_id=group_id)
    async def sync_employee_to_freshbooks(event: EmployeeChanged) -> None:
        await handlers.employee_changed(event)

    @subscriber(router, callback_topic, group_id=group_id)
    async def attribute_expense_departments(data: dict[str, Any]) -> None:
        await handlers.raw_message(data)

    router.publisher(
        SyncOutcome.topic_name,
        title=f"{SyncOutcome.topic_name}:SyncOutcome",
        description="Every FreshBooks write attempt of flow 1 and of expense departments.",
        schema=SyncOutcome,
    )
    return router


router = build_router(_NotWired())
"""The service's subscribers and publishers as ``make docs`` describes them."""
