"""A Kafka producer that can no longer send, replaced by a new one.

Our producers are idempotent (:mod:`services.runtime.bus`): the broker numbers each
producer's batches per partition. When the broker is restarted while batches are in
flight, it may meet a number out of the order it kept (``OutOfOrderSequenceNumber``), and
aiokafka treats that as the end of the producer: its sender stops and every later send
fails with the same error, for as long as the process lives (Kafka's Java client bumps
its producer epoch instead, KIP-360). Measured by ``make chaos``: after a minute without
the broker, the edge refused every webhook with 503 until it was restarted.

:func:`publish_renewing` sends; on such an error it replaces the broker's producer with a
new one (a new producer id, so new numbers) once, however many sends met the error at
the same time, and sends again. The failed send was refused, not written, so sending it
again does not write it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import aiokafka
from aiokafka.errors import OutOfOrderSequenceNumber, ProducerFenced
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.state import RealProducer

from services.runtime.logging import get_logger

__all__ = ["DEAD_PRODUCER_ERRORS", "ProducerRenewal", "publish_renewing"]

DEAD_PRODUCER_ERRORS: Final = (OutOfOrderSequenceNumber, ProducerFenced)

_log = get_logger(__name__)
T = TypeVar("T")


class ProducerRenewal:
    """Replaces one broker's producer; ``generation`` counts the replacements."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = weakref.ref(broker)
        self._lock = asyncio.Lock()
        self.generation = 0

    async def renew(self, seen: int) -> None:
        """Replace the producer, unless it was replaced since generation ``seen``."""
        async with self._lock:
            if self.generation != seen:
                return  # another send met the error first and renewed it
            broker = self._broker()
            if broker is None:
                return
            config: Any = broker.config
            # FastStream keeps the producer's options only as the broker's connection
            # arguments; a new aiokafka producer from them is what `broker.start` makes. It
            # is started before it replaces the dead one, so no send ever finds none.
            options: dict[str, Any] = dict(broker._connection_kwargs)
            fresh = aiokafka.AIOKafkaProducer(**options)
            await fresh.start()
            holder = config.producer
            dead = holder._producer
            holder._producer = RealProducer(fresh)
            with contextlib.suppress(Exception):  # it is dead: its stop may raise the same
                await dead.stop()
            self.generation += 1
            _log.warning("kafka.producer_renewed", generation=self.generation)


_RENEWALS: weakref.WeakKeyDictionary[KafkaBroker, ProducerRenewal] = weakref.WeakKeyDictionary()


def renewal_of(broker: KafkaBroker) -> ProducerRenewal:
    renewal = _RENEWALS.get(broker)
    if renewal is None:
        renewal = _RENEWALS[broker] = ProducerRenewal(broker)
    return renewal


async def publish_renewing(broker: KafkaBroker, send: Callable[[], Awaitable[T]]) -> T:
    """``send()`` (a publish on ``broker``); a producer that died on the way is replaced
    and the send made once more (a second failure is raised)."""
    renewal = renewal_of(broker)
    seen = renewal.generation
    try:
        return await send()
    except DEAD_PRODUCER_ERRORS as dead:
        _log.warning("kafka.producer_dead", error=type(dead).__name__)
        await renewal.renew(seen)
    return await send()
