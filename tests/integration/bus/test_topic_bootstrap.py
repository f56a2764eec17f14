"""The catalog's topics are created with their settings, once; existing topics are left alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas.topics import DAY_MS, Topic
from services.runtime.topics_admin import PartitionMismatch, ensure_topics
from services.vendors import TOPICS

pytestmark = pytest.mark.kafka


async def _describe(bootstrap: str, name: str) -> tuple[int, dict[str, str]]:
    """Partition count and topic configs of ``name`` as the broker reports them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([name])
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    finally:
        await admin.close()
    [resource] = response.to_object()["resources"]
    configs = {entry["config_names"]: entry["config_value"] for entry in resource["config_entries"]}
    return len(described["partitions"]), configs


async def test_every_catalog_topic_exists_with_its_partitions_retention_and_cleanup_policy(
    kafka_bootstrap: str,
) -> None:
    for catalog_topic in (TOPICS[0], next(t for t in TOPICS if t.name.startswith("dlq."))):
        partitions, configs = await _describe(kafka_bootstrap, catalog_topic.name)

        assert partitions == catalog_topic.partitions
        assert configs["retention.ms"] == str(catalog_topic.retention_ms)
        assert configs["cleanup.policy"] == catalog_topic.cleanup_policy


async def test_a_new_topic_is_created_once_and_a_second_run_changes_nothing(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    compacted = Topic(
        name=unique_name("reference"),
        events=("DepartmentChanged",),
        description="a compacted test topic",
        partitions=2,
        retention_ms=3 * DAY_MS,
        cleanup_policy="compact",
    )

    first = await ensure_topics(kafka_bootstrap, [compacted])
    second = await ensure_topics(kafka_bootstrap, [compacted])

    assert (first.created, first.existing) == ((compacted.name,), ())
    assert (second.created, second.existing, second.mismatches) == ((), (compacted.name,), ())
    partitions, configs = await _describe(kafka_bootstrap, compacted.name)
    assert partitions == 2
    assert configs["retention.ms"] == str(3 * DAY_MS)
    assert configs["cleanup.policy"] == "compact"


async def test_an_existing_topic_with_other_partitions_is_reported_and_left_unchanged(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("events")
    await ensure_topics(
        kafka_bootstrap, [Topic(name=name, events=(), description="", partitions=1)]
    )

    result = await ensure_topics(
        kafka_bootstrap, [Topic(name=name, events=(), description="", partitions=6)]
    )

    assert result.created == ()
    assert result.mismatches == (
        PartitionMismatch(topic=name, catalog_partitions=6, cluster_partitions=1),
    )
    partitions, _ = await _describe(kafka_bootstrap, name)
    assert partitions == 1
