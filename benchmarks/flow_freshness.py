"""Flow 1's freshness with the vendors out of the way: how fast our own pipeline is.

The same renames as :mod:`benchmarks.flow_latency` (BambooHR API call -> signed webhook
-> ingest -> ``bamboohr`` reads and publishes -> ``freshbooks`` writes -> SyncOutcome),
but at 50 changes a second, on a stack whose vendors do not hold it back:

- both sandboxes' rate limits are switched off (``POST /_sandbox/limits {"enabled": false}``);
- the freshbooks service's own budget (``MLC_FRESHBOOKS_REQUESTS_PER_SECOND``, 5 by default,
  FreshBooks' inferred figure) is raised far above the rate.

What is left is the pipeline: ingest, three Kafka hops, the source's read and the sink's
calls to local sandboxes.

Each person is renamed at most once every :data:`SECONDS_BETWEEN_RENAMES` seconds. The
default company has 8 people who are FreshBooks staff (a rename is a staff PUT; the
others are invitations nobody accepted, which FreshBooks cannot rename), so the company
is first grown to that many seconds' worth of renames: new people in BambooHR (``POST
/_sandbox/seed``), a sync that invites them to FreshBooks, and each invitation accepted
in the FreshBooks sandbox (``accept_invitation``, which makes the staff record). BambooHR's
event-based bodies carry whole seconds and no delivery id, so two renames of one person
in one second are one delivery to the edge (``services/bamboohr/webhook.py``): a
benchmark renaming the 40 people over and over at 50 a second measured its own
duplicates (200 of 250 renames answered ``duplicate`` and never written).

A queue growing shows as a p99 near the run's length; a change that never lands fails
the row (measure_webhook_to_write waits 120 s after the last).
"""

from __future__ import annotations

from typing import Final

from benchmarks.flow_backfill import hire_quietly
from benchmarks.flow_latency import FRESHBOOKS, LatencyCase, measure_webhook_to_write
from benchmarks.flow_stack import WORKER_SETTINGS, FlowStack, flow_stack
from benchmarks.results import Measurement, Target

__all__ = ["UNLIMITED_SETTINGS", "measure_freshness"]

SECONDS_BETWEEN_RENAMES: Final = 3
UNLIMITED_SETTINGS: Final = {
    "MLC_FRESHBOOKS_REQUESTS_PER_SECOND": "100000",
    "MLC_SHARED_BUDGETS": "false",
    **WORKER_SETTINGS,
}
"""The freshbooks service's budget, raised out of the way (not the vendor's figure), and
kept in its one process: a window nobody reaches is not worth two store writes a call.
Each subscriber runs a worker per partition."""

FRESHNESS = LatencyCase(
    label="flow 1 freshness, vendor limits off: webhook -> FreshBooks write",
    target_emails=FRESHBOOKS.target_emails,
    is_write=FRESHBOOKS.is_write,
    writes=FRESHBOOKS.writes,
    targets={
        "p50": Target(
            150,
            "at_most",
            "issue 17, goal 1: with the vendors out of the way, a change lands in well under "
            "a second; what is left is ours (three Kafka hops, one BambooHR read, the "
            "FreshBooks calls, all on this machine)",
        ),
        "p99": Target(
            1000,
            "at_most",
            "issue 17, goal 1: the tail at 50 changes/s; a pipeline slower than the rate "
            "queues, and the tail grows toward the run's length",
        ),
    },
)


async def _grow_staff(stack: FlowStack, wanted: int) -> None:
    """Make ``wanted`` BambooHR people FreshBooks staff, over what the seed has."""
    await stack.settle()
    staff = len(await FRESHBOOKS.target_emails(stack))
    if staff >= wanted:
        return
    hired = await hire_quietly(stack, wanted - staff)
    await stack.request_sync()
    await stack.settle()
    employees = await stack.state(stack.bamboohr, "employees")
    for employee in employees:
        if str(employee["id"]) in hired:
            answer = await stack.http.post(
                f"{stack.target}/_sandbox/actions/accept_invitation",
                json={"email": employee["workEmail"]},
            )
            answer.raise_for_status()


async def measure_freshness(
    bootstrap: str, *, per_second: float, seconds: float
) -> list[Measurement]:
    """Flow 1's stack with limits off: ``per_second`` renames a second for ``seconds``."""
    async with flow_stack(bootstrap, settings=UNLIMITED_SETTINGS) as stack:
        for sandbox in (stack.bamboohr, stack.target):
            answer = await stack.http.post(f"{sandbox}/_sandbox/limits", json={"enabled": False})
            answer.raise_for_status()
        await _grow_staff(stack, round(per_second * SECONDS_BETWEEN_RENAMES))
        return await measure_webhook_to_write(
            stack, FRESHNESS, per_second=per_second, seconds=seconds
        )
