"""A replay a sink has already applied: how fast one consumer process drains it (issue 17,
goal 4).

A replay (``mlc replay``) or a new link's backfill puts events back on ``people.employee``
that the target already shows; the sink must read each, find it applied and move on. Here
the stack's first sync has applied its company (40 people), and their EmployeeChanged
events are published again, ``events`` copies in turn, byte for byte as the source
published them (same headers, same key, so the same partitions). The rate is copies over
the time from the first copy sent to the last copy's ``unchanged`` outcome, as the target
service published it: its whole path per event (decode, links, the applied check, the
outcome, the offset commit), one process.

Every copy must be answered ``unchanged``, and the target's sandbox must see no write of
a person: a replay that wrote would be measuring something else. The target service's other
work writes elsewhere on its own clock (FreshBooks' expense attribution on its poll slot,
say), so only writes where the target keeps people count (each flow's
``BackfillCase.people_path``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from aiokafka import AIOKafkaProducer

from benchmarks.flow_stack import EMPLOYEE_TOPIC, FlowStack
from benchmarks.results import Measurement, Target

__all__ = ["REPLAY_TARGET", "applied_changes", "drain_copies", "measure_replay"]

REPLAY_TARGET: Final = Target(
    2_000,
    "at_least",
    "issue 17, goal 4: a replay or a new link's backfill that finds everything applied "
    "drains at this rate or more per consumer process (100,000 events in under a minute)",
)
_WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PROGRESS_EVERY_SECONDS: Final = 5.0
_QUIET_SECONDS: Final = 5.0
_QUIET_TIMEOUT_SECONDS: Final = 180.0


def applied_changes(stack: FlowStack) -> list[dict[str, Any]]:
    """The latest EmployeeChanged of each person, whose outcome says it is in the target."""
    done = {
        str(o.get("causation_id"))
        for o in stack.watch.outcomes
        if o.get("status") in ("applied", "unchanged")
    }
    latest: dict[str, dict[str, Any]] = {}
    for change in stack.watch.changes.values():
        if str(change["event_id"]) in done:
            latest[str(change["entity_key"])] = change  # the watch keeps them in log order
    return list(latest.values())


async def _publish_copies(bootstrap: str, changes: list[dict[str, Any]], count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = []
        for n in range(count):
            change = changes[n % len(changes)]
            sent.append(
                await producer.send(
                    EMPLOYEE_TOPIC,
                    orjson.dumps(change),
                    key=str(change["entity_key"]).encode(),
                    headers=[
                        ("content-type", b"application/json"),
                        ("event-type", str(change["type"]).encode()),
                    ],
                )
            )
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _target_quiet(stack: FlowStack) -> None:
    """Wait until the target has seen no write for :data:`_QUIET_SECONDS`: the stack's own
    first work (the other subscribers of the target service, say) is over, so a write seen
    during the replay is the replay's."""
    deadline = time.monotonic() + _QUIET_TIMEOUT_SECONDS
    seen = -1
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < _QUIET_SECONDS:
        if time.monotonic() > deadline:
            msg = f"the target kept being written to for {_QUIET_TIMEOUT_SECONDS:.0f} s"
            raise RuntimeError(msg)
        writes = sum(1 for r in await stack.requests(stack.target) if r.method in _WRITES)
        if writes != seen:
            seen, quiet_since = writes, time.monotonic()
        await asyncio.sleep(0.5)  # poll: the sandbox's request log is read again


async def drain_copies(
    stack: FlowStack,
    changes: list[dict[str, Any]],
    *,
    events: int,
    answers: int,
    timeout_seconds: float,
    people_path: str,
) -> tuple[list[dict[str, Any]], float]:
    """Once the target is quiet, ``events`` copies of ``changes``; the outcomes answering
    them once ``answers`` came (or the timeout passed), and the seconds that took.

    Raises when any answer was not ``unchanged`` or the target saw a write of a person (a
    path matching the regex ``people_path``): a replay that wrote would be measuring
    something else.
    """
    causes = {str(c["event_id"]) for c in changes}
    await _target_quiet(stack)
    await stack.forget_requests(stack.target)
    since = datetime.now(UTC)

    def answered() -> list[dict[str, Any]]:
        return [
            o for o in stack.watch.outcomes_after(since) if str(o.get("causation_id")) in causes
        ]

    started = time.perf_counter()
    await _publish_copies(stack.info.kafka, changes, events)
    deadline = started + timeout_seconds
    shown = started
    outcomes = answered()
    while len(outcomes) < answers and time.perf_counter() < deadline:
        if time.perf_counter() - shown >= _PROGRESS_EVERY_SECONDS:
            shown = time.perf_counter()
            print(f"    replay: {len(outcomes):,} of {answers:,} answered", flush=True)
        await asyncio.sleep(0.1)  # poll: the watch reads the outcomes in the background
        outcomes = answered()
    elapsed = time.perf_counter() - started
    statuses = Counter(str(o.get("status")) for o in outcomes)
    people = re.compile(people_path)
    writes = [
        r
        for r in await stack.requests(stack.target)
        if r.method in _WRITES and people.search(r.path)
    ]
    if statuses.get("unchanged", 0) != len(outcomes) or writes:
        first = ", ".join(f"{r.method} {r.path}" for r in writes[:3])
        msg = (
            f"a replay of applied events wrote: outcomes {dict(statuses)}, "
            f"{len(writes)} writes of people ({first})"
        )
        raise RuntimeError(msg)
    return outcomes, elapsed


async def measure_replay(
    stack: FlowStack, *, label: str, events: int, timeout_seconds: float, people_path: str
) -> list[Measurement]:
    """``events`` copies of applied changes through the target service; its drain rate."""
    await stack.settle()
    changes = applied_changes(stack)
    if not changes:
        msg = "the first sync applied nobody: there is nothing to replay"
        raise RuntimeError(msg)
    outcomes, elapsed = await drain_copies(
        stack,
        changes,
        events=events,
        answers=events,
        timeout_seconds=timeout_seconds,
        people_path=people_path,
    )
    finished = len(outcomes) >= events
    note = (
        f"{events:,} copies of the {len(changes)} people the first sync applied, one "
        f"{stack.flow.target} service process "
        f"({stack.consuming}); "
        f"{len(outcomes):,} answered unchanged in "
        f"{elapsed:.1f} s, 0 writes of people"
        + ("" if finished else f" (NOT all answered within {timeout_seconds:.0f} s)")
    )
    return [
        Measurement(
            f"{label}: replay of applied events, drained by one process",
            min(len(outcomes), events) / elapsed if elapsed > 0 else 0.0,
            "events/s",
            REPLAY_TARGET,
            note=note,
        )
    ]
