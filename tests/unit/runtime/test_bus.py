"""Every consumer built through services.runtime.bus commits only after its handler finished."""

from __future__ import annotations

import pytest
from faststream import AckPolicy
from faststream.kafka import KafkaRouter

from services.runtime.bus import ACK_POLICY, create_broker, subscriber
from services.runtime.dead_letters import DeadLetterMiddleware
from services.runtime.settings import RuntimeSettings
from services.vendors import SERVICES


def _dead_letter_middleware(settings: RuntimeSettings) -> DeadLetterMiddleware:
    broker = create_broker(settings)
    for middleware in broker.config.broker_middlewares:
        if isinstance(middleware, DeadLetterMiddleware):
            return middleware
    raise AssertionError("the broker has no DeadLetterMiddleware")


def test_the_policy_redelivers_a_failed_message_instead_of_committing_it() -> None:
    # ACK_FIRST auto-commits on receipt; for Kafka REJECT_ON_ERROR commits like ACK.
    assert ACK_POLICY is AckPolicy.NACK_ON_ERROR


@pytest.mark.parametrize("registrar", ["broker", "router"])
def test_a_subscriber_joins_the_services_group_from_the_earliest_offset_without_auto_commit(
    registrar: str,
) -> None:
    owner = (
        create_broker(RuntimeSettings(service_name="zoho"))
        if registrar == "broker"
        else KafkaRouter()
    )

    consumer = subscriber(owner, "people.employee", group_id="zoho")

    assert consumer.ack_policy is AckPolicy.NACK_ON_ERROR
    assert consumer.group_id == "zoho"
    assert consumer._connection_args["enable_auto_commit"] is False
    assert consumer._connection_args["auto_offset_reset"] == "earliest"


def test_dead_letters_go_to_the_services_own_topic_from_the_catalog() -> None:
    middleware = _dead_letter_middleware(RuntimeSettings(service_name="acumatica"))

    assert middleware.topic == "dlq.acumatica"
    assert middleware.service == "acumatica"


def test_the_attempt_limit_comes_from_the_settings() -> None:
    middleware = _dead_letter_middleware(
        RuntimeSettings(service_name="bill", handler_max_attempts=7)
    )

    assert middleware.retry.max_attempts == 7


def test_a_service_name_without_a_dead_letter_topic_in_the_catalog_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown service 'billing'"):
        create_broker(RuntimeSettings(service_name="billing"), services=SERVICES)
