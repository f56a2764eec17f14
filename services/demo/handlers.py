"""The demo service: records each employee revision once in the idempotency ledger.

It is a real consumer built like every sink will be (runtime broker, the
commit-after-handling subscriber, the state store, outcomes with causation),
with the simplest honest effect: a ledger row per (record, revision). A second
copy of a revision it already recorded, such as a duplicated webhook, is
answered ``unchanged`` instead of being applied twice.
"""

from __future__ import annotations

from faststream.kafka import KafkaBroker, KafkaRouter

from schemas import EmployeeChanged, SyncOutcome
from services.runtime import StateStore, publish, subscriber
from services.runtime.settings import RuntimeSettings

__all__ = ["DEMO_DLQ_TOPIC", "SERVICE", "build_router"]

SERVICE = "demo-ledger"
DEMO_DLQ_TOPIC = "dlq.demo-ledger"


def build_router(*, broker: KafkaBroker, store: StateStore) -> KafkaRouter:
    """The demo's subscribers, bound to its broker (for outcomes) and store."""
    router = KafkaRouter()

    @subscriber(router, EmployeeChanged.topic_name, group_id=SERVICE)
    async def record_employee_revision(event: EmployeeChanged) -> None:
        async with store.transaction() as repos:
            first_time = await repos.ledger.claim(SERVICE, f"{event.key}@{event.revision}")
        outcome = SyncOutcome(
            connection_id=event.connection_id,
            tenant_id=event.tenant_id,
            entity_key=event.entity_key,
            occurred_at=event.occurred_at,
            service=SERVICE,
            status="applied" if first_time else "unchanged",
            operation="record_revision",
            target_ids={"ledger": f"{event.key}@{event.revision}"},
            detail="" if first_time else "this revision was already recorded",
        )
        await publish(broker, outcome, cause=event)

    return router


def settings_for_demo(settings: RuntimeSettings) -> RuntimeSettings:
    """The runtime settings with the demo's service name."""
    return settings.model_copy(update={"service_name": SERVICE})
