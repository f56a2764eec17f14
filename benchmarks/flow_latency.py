"""A people flow, webhook to target write: how long a change in BambooHR takes to land.

At a steady rate, the benchmark renames (``lastName``) BambooHR employees the target
knows (FreshBooks staff for flow 1, Zoho contacts for flow 2: a :class:`LatencyCase`),
through BambooHR's own API (``POST /v1/employees/{id}``) on the sandbox, which fires the
signed ``employee.updated`` webhook at the ingest. The change then goes the whole way:
ingest verifies and publishes a RawDelivery, ``bamboohr`` reads the employee and
publishes EmployeeChanged, the target's service writes and publishes its SyncOutcome.

Each latency is from just before the rename was sent to BambooHR (wall clock) to the
SyncOutcome's ``recorded_at`` (wall clock of the same machine, stamped when the
outcome is published, after FreshBooks answered the PUT). The outcome, not the
sandbox's request log, marks the write: it is tied to this very change (its causation
is the EmployeeChanged carrying the new name), and it says the write succeeded. The
request log is used to check that every change did make one PUT to FreshBooks.

A person renamed again before the source read the first rename is read once, with the
later name, and written once: the first rename is then done when the later one landed
(the target holds a name at least as new), and the note says how many were.

The renames start once the stack's first sync is over and its calls have left the
target's request window (:meth:`~benchmarks.flow_stack.FlowStack.budget_at_rest`): Zoho's
100 calls a minute are spent by the first sync of 40 people, and a rename sent then
waited up to 42 s for the window, a figure of the first sync, not of a rename.

The rate is open loop: the n-th change is sent at start + n / rate whatever happened
to the earlier ones, so a slow flow shows as a queue, not as a slower sender.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from benchmarks.flow_stack import FlowStack, LoggedRequest
from benchmarks.results import Measurement, Target, percentile

__all__ = ["FRESHBOOKS", "LatencyCase", "measure_webhook_to_write"]

TARGETS = {
    "p50": Target(
        1000,
        "at_most",
        "a person renamed in BambooHR should show in FreshBooks within a second or two; "
        "about 0.1 s measured at 1 change/s (one BambooHR read and two FreshBooks calls, each "
        "under its per-connection budget, plus three Kafka hops with a commit each). The "
        "rate is 1 change/s because each change costs two FreshBooks calls and the service "
        "keeps to 5 requests/s per connection (FreshBooks' inferred figure), so about 2.5 "
        "changes/s is the ceiling: at 5 changes/s for 20 s (and a budget of 4) this stack "
        "measured p50 15 s and p99 31 s, a queue growing, not a latency",
    ),
    "p99": Target(
        3000,
        "at_most",
        "tail of the same on two shared cores running Kafka, two sandboxes, the ingest and "
        "two services (about 0.3 s measured); a FreshBooks 429 costs its Retry-After and would "
        "show here",
    ),
}

STAFF_PUT = re.compile(r"/users/staffs/\d+$")
WAIT_AFTER_LAST_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class _Sent:
    employee_id: str
    last_name: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class LatencyCase:
    """What differs between flows: the row names, who can be renamed, what a write is."""

    label: str  # "flow 1 webhook -> FreshBooks write"
    target_emails: Callable[[FlowStack], Awaitable[set[str]]]  # lower-cased, people it knows
    is_write: Callable[[LoggedRequest], bool]  # a request-log line the rename caused
    writes: str  # what those lines are, for the note: "staff PUTs"
    targets: dict[str, Target]


async def _staff_emails(stack: FlowStack) -> set[str]:
    staff = await stack.state(stack.target, "staff")
    return {str(s["email"]).lower() for s in staff if s.get("vis_state") == 0 and s.get("email")}


FRESHBOOKS = LatencyCase(
    label="flow 1 webhook -> FreshBooks write",
    target_emails=_staff_emails,
    is_write=lambda r: r.method == "PUT" and STAFF_PUT.search(r.path) is not None,
    writes="staff PUTs",
    targets=TARGETS,
)


async def _renamable(stack: FlowStack, case: LatencyCase) -> list[dict[str, Any]]:
    """Active BambooHR employees the target knows (matched by work email)."""
    emails = await case.target_emails(stack)
    employees = await stack.state(stack.bamboohr, "employees")
    found = [
        e
        for e in employees
        if e.get("status") == "Active" and str(e.get("workEmail") or "").lower() in emails
    ]
    if not found:
        msg = f"no active BambooHR employee is known to {stack.flow.target}: nothing to rename"
        raise RuntimeError(msg)
    return found


async def _rename(
    stack: FlowStack, credentials: dict[str, Any], employee: dict[str, Any], name: str
) -> None:
    answer = await stack.http.post(
        f"{stack.bamboohr}/api/gateway.php/{credentials['company_domain']}/v1/employees/"
        f"{employee['id']}",
        json={"lastName": name},
        headers={"Accept": "application/json"},
        auth=httpx.BasicAuth(str(credentials["api_key"]), "x"),
    )
    if answer.status_code != httpx.codes.OK:
        msg = f"BambooHR rename answered {answer.status_code}: {answer.text[:200]}"
        raise RuntimeError(msg)


def _written_at(
    stack: FlowStack, sent: _Sent, names: frozenset[str]
) -> tuple[datetime, dict[str, Any], bool] | None:
    """When the target was first written with this rename or a later one of the same
    person (``names``), the outcome saying so, and whether it was a later one."""
    found: tuple[datetime, dict[str, Any], bool] | None = None
    for event_id, change in list(stack.watch.changes.items()):
        if change.get("employee_id") != sent.employee_id or change.get("last_name") not in names:
            continue
        outcome = stack.watch.outcome_of(event_id)
        if outcome is None:
            continue
        at = datetime.fromisoformat(str(outcome["recorded_at"]))
        if found is None or at < found[0]:
            found = (at, outcome, change.get("last_name") != sent.last_name)
    return found


def _this_or_later(sent: list[_Sent]) -> list[frozenset[str]]:
    """For each rename, its name and the names the same person was given after it."""
    later: dict[str, set[str]] = {}
    names: list[frozenset[str]] = []
    for one in reversed(sent):
        mine = later.setdefault(one.employee_id, set())
        mine.add(one.last_name)
        names.append(frozenset(mine))
    return names[::-1]


async def measure_webhook_to_write(
    stack: FlowStack, case: LatencyCase, *, per_second: float, seconds: float
) -> list[Measurement]:
    """Rename ``per_second`` employees a second for ``seconds``; latency to each write."""
    count = max(1, round(per_second * seconds))
    await stack.settle()
    await stack.budget_at_rest()
    pool = await _renamable(stack, case)
    credentials = dict(
        (await stack.http.post(f"{stack.bamboohr}/_sandbox/credentials")).raise_for_status().json()
    )
    await stack.forget_requests(stack.target)
    run = f"{int(time.time()) % 100000:05d}"
    sent: list[_Sent] = []
    started = time.monotonic()
    for index in range(count):
        # Pacing, not synchronisation: the n-th change leaves at its slot.
        await asyncio.sleep(max(0.0, started + index / per_second - time.monotonic()))
        employee = pool[index % len(pool)]
        name = f"{str(employee['lastName']).split('-')[0]}-b{run}x{index}"
        sent.append(_Sent(str(employee["id"]), name, datetime.now(UTC)))
        await _rename(stack, credentials, employee, name)

    deadline = time.monotonic() + WAIT_AFTER_LAST_SECONDS
    names = _this_or_later(sent)
    written: dict[int, tuple[datetime, dict[str, Any], bool]] = {}
    while len(written) < count and time.monotonic() < deadline:
        for index, one in enumerate(sent):
            if index not in written and (found := _written_at(stack, one, names[index])):
                written[index] = found
        await asyncio.sleep(0.2)  # poll: the watch fills in the background
    if len(written) < count:
        msg = (
            f"{count - len(written)} of {count} renames reached no {stack.flow.target} outcome in "
            f"{WAIT_AFTER_LAST_SECONDS:.0f} s of the last"
        )
        raise TimeoutError(msg)

    latencies = [(written[i][0] - one.sent_at).total_seconds() * 1000 for i, one in enumerate(sent)]
    not_applied = [o for _, o, _ in written.values() if o.get("status") != "applied"]
    overtaken = sum(1 for _, _, later in written.values() if later)
    logged = await stack.requests(stack.target)
    writes = [r for r in logged if case.is_write(r)]
    throttled = [r for r in logged if r.status == 429]
    note = (
        f"{count} renames at {per_second:g}/s for {seconds:g} s over {len(pool)} linked "
        f"employees; from the BambooHR API call to the SyncOutcome's recorded_at; "
        f"{len(writes)} {case.writes}, {len(logged)} calls in all and {len(throttled)} 429s "
        f"in the {stack.flow.target} request log"
    )
    if overtaken:
        note += (
            f"; {overtaken} renames were overtaken by a later one of the same person before "
            "the source read them (one read, one write for both): each counts as landed "
            "when the later one did"
        )
    if not_applied:
        note += f"; {len(not_applied)} outcomes were not 'applied' (first: {not_applied[0]})"
    return [
        Measurement(
            f"{case.label} p50 ({per_second:g} changes/s)",
            percentile(latencies, 0.5),
            "ms",
            case.targets["p50"],
            note=note,
        ),
        Measurement(
            f"{case.label} p99 ({per_second:g} changes/s)",
            percentile(latencies, 0.99),
            "ms",
            case.targets["p99"],
        ),
    ]
