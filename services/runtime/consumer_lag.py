"""How far each consumer group of this process is behind, per partition it holds.

Each replica reports the partitions assigned to it, so the series of all replicas add up
to the group's lag without double counting; a partition handed to another replica
leaves this one's series at the next sample. Lag is the log end minus the committed
offset (the first offset still in the log when nothing was committed yet): what a
crash would make the group read again, and what KEDA's Kafka scaler scales on.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker

from services.runtime.health import Sampler
from services.runtime.metrics import CONSUMER_LAG

__all__ = ["consumer_lag", "consumer_lag_sampler"]


async def consumer_lag(broker: KafkaBroker) -> dict[tuple[str, ...], float]:
    """(group, topic, partition) -> messages not yet committed, for every partition held."""
    lags: dict[tuple[str, ...], float] = {}
    for sub in broker.subscribers:
        group = getattr(sub, "group_id", None)
        # A subscriber with workers has a consumer per worker, each holding its partitions.
        workers = getattr(sub, "consumer_subgroup", None) or [getattr(sub, "consumer", None)]
        for consumer in workers:
            if consumer is not None and group is not None:
                lags.update(await _held_lag(consumer, group))
    return lags


async def _held_lag(consumer: AIOKafkaConsumer, group: str) -> dict[tuple[str, ...], float]:
    held: list[TopicPartition] = sorted(consumer.assignment())
    if not held:
        return {}
    ends = await consumer.end_offsets(held)
    firsts = await consumer.beginning_offsets(held)
    lags: dict[tuple[str, ...], float] = {}
    for tp in held:
        committed = await consumer.committed(tp)
        done = committed if committed is not None else firsts[tp]
        lags[(group, tp.topic, str(tp.partition))] = float(max(0, ends[tp] - done))
    return lags


def consumer_lag_sampler(broker: KafkaBroker, *, every_seconds: float = 15.0) -> Sampler:
    """Keeps ``mlc_consumer_lag_messages`` current for ``broker``'s groups."""

    async def sample() -> None:
        CONSUMER_LAG.replace(await consumer_lag(broker))

    return Sampler("consumer_lag", sample, every_seconds)
