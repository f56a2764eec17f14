"""The producer of every service waits for all in-sync replicas and is idempotent."""

from __future__ import annotations

import pytest
from faststream.kafka import KafkaBroker

from services.runtime.bus import create_broker
from services.runtime.settings import RuntimeSettings

pytestmark = pytest.mark.kafka

ALL_IN_SYNC_REPLICAS = -1  # how the Kafka protocol spells acks=all


async def test_a_started_brokers_producer_uses_acks_all_and_idempotence(
    kafka_bootstrap: str,
) -> None:
    broker: KafkaBroker = create_broker(
        RuntimeSettings(service_name="zoho", kafka_bootstrap_servers=kafka_bootstrap)
    )
    await broker.start()
    try:
        # aiokafka has no public accessor for these; the names are aiokafka's own.
        producer = broker.config.broker_config.producer._producer.producer  # type: ignore[attr-defined]
        assert producer._sender._acks == ALL_IN_SYNC_REPLICAS
        # aiokafka gives an idempotent producer a transaction manager for its sequence numbers.
        assert producer._txn_manager is not None
    finally:
        await broker.stop()
