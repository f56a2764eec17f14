"""Create the catalog's topics on a Kafka cluster, idempotently.

The topic catalog (``schemas.topics.catalog``; the whole of it is
``services.vendors.TOPICS``) says what every topic looks like; this module makes
the cluster agree at start-up. Brokers run with
``auto.create.topics.enable=false``, so a topic exists only because it is in
the catalog. A topic that already exists is left as it is: changing the
partition count of a live topic would move keys between partitions and break
per-key order, so a mismatch is logged for an operator to decide, never
"fixed" here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

from schemas.topics import Topic

__all__ = [
    "PartitionMismatch",
    "TopicBootstrapError",
    "TopicsEnsured",
    "ensure_topics",
    "partition_counts",
]

log = structlog.get_logger(__name__)

# Kafka protocol error codes this module tells apart (Kafka's Errors.java).
_NO_ERROR = 0
_UNKNOWN_TOPIC_OR_PARTITION = 3
_TOPIC_ALREADY_EXISTS = 36
# A topic is copied to at most this many brokers when the caller does not say.
_DEFAULT_MAX_REPLICATION = 3
# Between metadata look-ups while new topics get their partition leaders.
_LEADER_POLL_INTERVAL_S = 0.05


class TopicBootstrapError(RuntimeError):
    """The cluster refused to create a topic, or its partitions got no leader in time."""


@dataclass(frozen=True, slots=True)
class PartitionMismatch:
    """An existing topic whose partition count differs from the catalog's."""

    topic: str
    catalog_partitions: int
    cluster_partitions: int


@dataclass(frozen=True, slots=True)
class TopicsEnsured:
    """What :func:`ensure_topics` found and did."""

    created: tuple[str, ...]
    existing: tuple[str, ...]
    mismatches: tuple[PartitionMismatch, ...]


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[Topic],
    *,
    replication_factor: int | None = None,
    timeout_s: float = 30.0,
) -> TopicsEnsured:
    """Create every topic of ``topics`` that the cluster lacks, with its catalog settings.

    ``replication_factor`` defaults to the number of brokers, at most three, so
    the same call serves a one-node laptop and a production cluster. Returns
    once each created topic has a leader for every partition, so a producer
    that starts right after does not meet "unknown topic".
    """
    wanted = {t.name: t for t in topics}
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="mlc-topic-bootstrap",
        request_timeout_ms=int(timeout_s * 1000),
    )
    await admin.start()
    try:
        found = await _partition_counts(admin, list(wanted))
        missing = [t for name, t in wanted.items() if name not in found]
        if missing:
            replicas = replication_factor or await _default_replication(admin)
            await _create(admin, missing, replicas, timeout_s=timeout_s)
            await _wait_for_leaders(admin, [t.name for t in missing], timeout_s=timeout_s)
    finally:
        await admin.close()

    mismatches = tuple(
        PartitionMismatch(name, wanted[name].partitions, count)
        for name, count in sorted(found.items())
        if count != wanted[name].partitions
    )
    for mismatch in mismatches:
        log.warning(
            "topic partition count differs from the catalog; left unchanged",
            topic=mismatch.topic,
            catalog_partitions=mismatch.catalog_partitions,
            cluster_partitions=mismatch.cluster_partitions,
        )
    result = TopicsEnsured(
        created=tuple(t.name for t in missing),
        existing=tuple(sorted(found)),
        mismatches=mismatches,
    )
    if result.created:
        log.info("topics created", topics=list(result.created))
    return result


async def partition_counts(bootstrap_servers: str, names: Iterable[str]) -> dict[str, int]:
    """Partition count of each of ``names`` that exists on the cluster (others are left out)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="mlc-topic-reader")
    await admin.start()
    try:
        return await _partition_counts(admin, list(names))
    finally:
        await admin.close()


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partition count of each of ``names`` that exists on the cluster."""
    counts: dict[str, int] = {}
    for described in await admin.describe_topics(names):
        code = described["error_code"]
        if code == _UNKNOWN_TOPIC_OR_PARTITION:
            continue
        if code != _NO_ERROR:
            error = for_code(code)
            msg = f"cannot describe topic {described['topic']!r}: {error.__name__}"
            raise TopicBootstrapError(msg)
        counts[described["topic"]] = len(described["partitions"])
    return counts


async def _default_replication(admin: AIOKafkaAdminClient) -> int:
    cluster = await admin.describe_cluster()
    return max(1, min(_DEFAULT_MAX_REPLICATION, len(cluster["brokers"])))


async def _create(
    admin: AIOKafkaAdminClient, topics: list[Topic], replicas: int, *, timeout_s: float
) -> None:
    response = await admin.create_topics(
        [NewTopic(t.name, t.partitions, replicas, topic_configs=t.config()) for t in topics],
        timeout_ms=int(timeout_s * 1000),
    )
    for name, code, message in response.topic_errors:
        # Another replica of a service may have created it a moment ago: that is success.
        if code in (_NO_ERROR, _TOPIC_ALREADY_EXISTS):
            continue
        error = for_code(code)
        msg = f"cannot create topic {name!r}: {error.__name__}: {message}"
        raise TopicBootstrapError(msg)


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], *, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        described = await admin.describe_topics(names)
        leaderless = [
            d["topic"]
            for d in described
            if d["error_code"] != _NO_ERROR
            or not d["partitions"]
            or any(p["leader"] < 0 for p in d["partitions"])
        ]
        if not leaderless:
            return
        if time.monotonic() >= deadline:
            msg = f"topics have partitions without a leader after {timeout_s}s: {leaderless}"
            raise TopicBootstrapError(msg)
        await asyncio.sleep(_LEADER_POLL_INTERVAL_S)  # poll: metadata has no change feed
