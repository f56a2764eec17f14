"""Is the process alive, is it ready, and the samplers that keep its gauges current.

Liveness asks one thing: does the event loop still run? A task beats every
``beat_seconds``; the process is live while the last beat is younger than
``stall_seconds``. The answer is read from the ops server's own thread
(:mod:`services.runtime.ops_server`), so a loop wedged by a blocking call is reported
as such instead of leaving the probe unanswered.

Readiness is a list of checks run in the loop every ``check_seconds``, each saying why it
is not ready or None: the broker answers, the consumers hold partitions
(:func:`broker_reachable`, :func:`partitions_assigned`). Their last verdict is what a
probe reads, so a flood of probes costs the broker nothing; a process that is not live is
not ready either.

Samplers refresh the gauges that are states, not events (budget use, lag, review queue),
each on its own period; one that fails is logged and tried again next period.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Final

from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker

from services.runtime.logging import get_logger
from services.runtime.readiness import BrokerReadiness

__all__ = [
    "Health",
    "ReadinessCheck",
    "Sampler",
    "broker_reachable",
    "group_consumers",
    "health_running",
    "partitions_assigned",
]

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""None when this part is ready, else why not (shown in ``/readyz``'s answer)."""

_log = get_logger(__name__)
_STARTING: Final = "starting: the readiness checks have not run yet"


@dataclass(frozen=True, slots=True)
class Sampler:
    """``sample()`` every ``every_seconds`` while the process runs (named in logs)."""

    name: str
    sample: Callable[[], Awaitable[None]]
    every_seconds: float


class Health:
    """The process's verdicts; the loop writes them, any thread reads them."""

    def __init__(
        self, *, stall_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stall_seconds = stall_seconds
        self._clock = clock
        self._beat = clock()
        self._verdict: str | None = _STARTING

    def beat(self) -> None:
        """The event loop ran (called from the loop)."""
        self._beat = self._clock()

    def judged(self, why_not: str | None) -> None:
        """The readiness checks' latest verdict (None: ready)."""
        self._verdict = why_not

    def live(self) -> tuple[bool, str]:
        """(live?, a sentence for the probe's log)."""
        age = self._clock() - self._beat
        if age > self.stall_seconds:
            return False, f"the event loop has not run for {age:.1f} s"
        return True, f"the event loop ran {age:.1f} s ago"

    def ready(self) -> tuple[bool, str]:
        """(ready?, a sentence): not live is not ready."""
        live, why = self.live()
        if not live:
            return False, why
        verdict = self._verdict
        return (True, "ready") if verdict is None else (False, verdict)


def broker_reachable(broker: KafkaBroker, *, timeout: float) -> ReadinessCheck:
    """Kafka answers a metadata request within ``timeout`` seconds (the same check, and
    cache, as the public servers' ``/healthz``: :class:`BrokerReadiness`)."""
    readiness = BrokerReadiness(broker.ping, timeout=timeout)

    async def check() -> str | None:
        return None if await readiness.ready() else f"Kafka did not answer within {timeout:g} s"

    return check


def partitions_assigned(broker: KafkaBroker) -> ReadinessCheck:
    """At least one of the broker's group consumers holds a partition.

    A replica beyond the partition count of what its group reads holds none, and does no
    work: that is not ready. (The ScaledObjects' ``maxReplicaCount`` keeps this from
    happening in a deployment.)
    """

    async def check() -> str | None:
        started = [consumer for consumer in group_consumers(broker) if consumer is not None]
        if not started:
            return "no consumer has started"
        if not any(consumer.assignment() for consumer in started):
            return "no partition is assigned to this replica's consumers yet"
        return None

    return check


def group_consumers(broker: KafkaBroker) -> list[AIOKafkaConsumer | None]:
    """The aiokafka consumers of the broker's subscribers (None for one not started yet):
    one each, or each of a subscriber's workers (``bus.subscriber(workers=...)``)."""
    found: list[AIOKafkaConsumer | None] = []
    for sub in broker.subscribers:
        workers = getattr(sub, "consumer_subgroup", None)
        found.extend(workers or [getattr(sub, "consumer", None)])
    return found


@asynccontextmanager
async def health_running(
    health: Health,
    checks: Sequence[ReadinessCheck] = (),
    samplers: Sequence[Sampler] = (),
    *,
    beat_seconds: float = 0.5,
    check_seconds: float = 2.0,
) -> AsyncIterator[Health]:
    """Beat, judge readiness and run ``samplers`` in the background until the block ends."""

    async def beating() -> None:
        while True:
            health.beat()
            await asyncio.sleep(beat_seconds)

    async def judging() -> None:
        while True:
            health.judged(await _first_reason(checks))
            await asyncio.sleep(check_seconds)

    async def sampling(sampler: Sampler) -> None:
        while True:
            try:
                await sampler.sample()
            except Exception as error:  # a gauge goes stale; the service runs on
                _log.warning("metrics.sample_failed", sampler=sampler.name, error=repr(error))
            await asyncio.sleep(sampler.every_seconds)

    tasks = [asyncio.create_task(beating()), asyncio.create_task(judging())]
    tasks += [asyncio.create_task(sampling(sampler)) for sampler in samplers]
    try:
        yield health
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task


async def _first_reason(checks: Sequence[ReadinessCheck]) -> str | None:
    for check in checks:
        try:
            reason = await check()
        except Exception as error:  # a check that breaks says "not ready", never crashes
            reason = f"readiness check failed: {error!r}"
        if reason is not None:
            return reason
    return None
