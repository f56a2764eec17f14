"""A people flow's backfill: N new BambooHR employees reach the target after a sync.

Flow 1 (FreshBooks) and flow 2 (Zoho Books) measure the same way; a :class:`BackfillCase`
names the rows and targets, and the target's own per-minute ceiling when it has one.

Once the stack's own first sync of the 40-person default company is over, ``employees``
new active people are added to the BambooHR sandbox (``POST /_sandbox/seed``, which
fires no webhooks), both request logs are cleared, and ``mlc connections sync``
(``POST /api/v1/connections/{id}/sync``) starts a reconcile: the 40 already synced are
read again and left alone (nothing changed), the N new ones go the whole way. Both
sandboxes keep their default limits (300 requests a minute each, refused with 503/429
and a Retry-After), as a real account would.

An employee is done when the ``freshbooks`` service published a SyncOutcome for it
(whatever its status: a terminated person with nobody to deactivate is an answer
too). The rate is done employees over the time from the sync request to the last
one, or to the end of the time budget when not everyone was done by then: a run that
cannot finish reports the rate it reached and how many it did, never a guess.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from benchmarks.flow_stack import FlowStack, LoggedRequest
from benchmarks.results import Measurement, Target

__all__ = ["FRESHBOOKS", "BackfillCase", "describe_calls", "hire_quietly", "measure_backfill"]

TARGETS = {
    "rate": Target(
        1.0,
        "at_least",
        "FreshBooks allows about 5 requests/s per connection [inferred] and the service keeps "
        "to that (MLC_FRESHBOOKS_REQUESTS_PER_SECOND); a new person costs its invitation, so "
        "the budget allows about 5 people/s; the floor of 1 person/s backfills 10,000 people in "
        "under three hours whatever else shares the budget (measured at 3 calls a person: "
        "about 1.3/s, the vendor's request budget, not our code, setting the pace)",
    ),
    "bamboohr_calls": Target(
        10,
        "at_most",
        "a reconcile reads the org lists and everyone in one custom report, plus a deletions "
        "check (here 3 for 10,000 people); a read per employee would show here as thousands",
    ),
    "ceiling_ratio": Target(
        0.95,
        "at_least",
        "issue 17, goal 2: a backfill uses at least 95 % of the vendor's budget per connection, "
        "with no 429 (counted in the throughput row's note). FreshBooks publishes no limit; "
        "about 5 a second is [inferred], and the service keeps to it "
        "(MLC_FRESHBOOKS_REQUESTS_PER_SECOND, 5: each call counted until a second after its "
        "answer, so no second at FreshBooks holds more; before, 4 made 0.8 the most)",
    ),
    "target_calls": Target(
        1.1,
        "at_most",
        "issue 17, goal 3: the minimum is one call a new person, its invitation (FreshBooks "
        "has no bulk create); matching by email is served from one listing of the staff and "
        "one of the team per process, kept current by our own writes. Before: a staff lookup "
        "by email and a read-back of each invitation made it 3.02; earlier still, a sink "
        "listing the whole team around each invitation made it grow with the team",
    ),
}


@dataclass(frozen=True, slots=True)
class BackfillCase:
    """What differs between flows: the row names, the targets, the target's ceiling."""

    label: str  # "flow 1"
    target: str  # "FreshBooks"
    targets: dict[str, Target]
    ceiling_per_minute: float | None = None  # the vendor's calls a minute, when it has one
    sign_in_path: str | None = None  # the vendor's sign-in call, when sessions are counted
    # Regex of the paths where the target keeps people: the writes a replay could make (the
    # target service's other work, FreshBooks' expense attribution say, writes elsewhere).
    people_path: str = ""


FRESHBOOKS_INFERRED_PER_MINUTE = 300.0
"""About 5 requests a second, as a third party reports it [inferred]; FreshBooks publishes none."""

FRESHBOOKS = BackfillCase(
    label="flow 1",
    target="FreshBooks",
    targets=TARGETS,
    ceiling_per_minute=FRESHBOOKS_INFERRED_PER_MINUTE,
    people_path=r"/users/(staffs|invitation)",
)

SEED_CHUNK = 2_000
ID = re.compile(r"/\d+(?=/|$)")
PROGRESS_EVERY_SECONDS = 2.0


def _new_people(template: dict[str, Any], *, first_id: int, count: int) -> list[dict[str, Any]]:
    """``count`` active employees shaped like ``template``, unique ids, names and emails."""
    changed = datetime.now(UTC).replace(microsecond=0).isoformat()
    people: list[dict[str, Any]] = []
    for number in range(first_id, first_id + count):
        first, last = "Bench", f"Person{number}"
        email = f"bench.person{number}@acmecreative.example"
        people.append(
            {
                **template,
                "id": str(number),
                "employeeNumber": str(number),
                "firstName": first,
                "lastName": last,
                "preferredName": None,
                "displayName": f"{first} {last}",
                "workEmail": email,
                "bestEmail": email,
                "homeEmail": f"bench.person{number}@home.example",
                "supervisorEId": None,
                "reportsTo": None,
                "status": "Active",
                "employmentHistoryStatus": "Full-Time",
                "terminationDate": None,
                "lastChanged": changed,
            }
        )
    return people


async def hire_quietly(stack: FlowStack, count: int) -> set[str]:
    """Add ``count`` people to the BambooHR company without webhooks; their ids."""
    employees = await stack.state(stack.bamboohr, "employees")
    template = next(e for e in employees if e.get("status") == "Active")
    first_id = max(int(e["id"]) for e in employees) + 100_000
    extra = _new_people(template, first_id=first_id, count=count)
    for start in range(0, len(extra), SEED_CHUNK):
        answer = await stack.http.post(
            f"{stack.bamboohr}/_sandbox/seed", json={"employees": extra[start : start + SEED_CHUNK]}
        )
        answer.raise_for_status()
    return {str(e["id"]) for e in extra}


def describe_calls(requests: list[LoggedRequest]) -> str:
    """The most frequent calls, ids folded: ``"9 GET .../staffs/{id}"``."""
    kinds = Counter(
        f"{r.method} .../{'/'.join(ID.sub('/{id}', r.path).split('/')[-2:])}" for r in requests
    )
    return ", ".join(f"{n:,} {kind}" for kind, n in kinds.most_common(5)) or "none"


def _per_minute(samples: list[tuple[float, int]]) -> list[int]:
    """Employees done in each minute of the run, from (seconds, done so far) samples."""
    counts: list[int] = []
    before = 0
    for minute in range(1, int(samples[-1][0] // 60) + 2 if samples else 1):
        so_far = max((n for t, n in samples if t <= minute * 60), default=0)
        counts.append(so_far - before)
        before = so_far
    return counts


async def measure_backfill(
    stack: FlowStack, case: BackfillCase, *, employees: int, budget_seconds: float
) -> list[Measurement]:
    """Backfill ``employees`` new people; employees/s and the vendor calls it took."""
    await stack.settle()
    wanted = await hire_quietly(stack, employees)
    for sandbox in (stack.bamboohr, stack.target):
        await stack.forget_requests(sandbox)
    requested_at = datetime.now(UTC)
    started = time.monotonic()
    await stack.request_sync()

    done: dict[str, dict[str, Any]] = {}
    published: set[str] = set()
    samples: list[tuple[float, int]] = []
    while len(done) < len(wanted) and time.monotonic() - started < budget_seconds:
        # Pacing the progress reading, not synchronisation: the watch fills in the background.
        await asyncio.sleep(PROGRESS_EVERY_SECONDS)
        for outcome in stack.watch.outcomes_after(requested_at):
            key = str(outcome.get("entity_key"))
            if key in wanted:
                done.setdefault(key, outcome)
        published = {str(c["employee_id"]) for c in stack.watch.changes.values()} & wanted
        samples.append((time.monotonic() - started, len(done)))
    elapsed = time.monotonic() - started
    finished = len(done) == len(wanted)
    if finished:
        last = max(datetime.fromisoformat(str(o["recorded_at"])) for o in done.values())
        elapsed = (last - requested_at).total_seconds()

    bamboohr_calls = await stack.requests(stack.bamboohr)
    target_calls = await stack.requests(stack.target)
    refused = sum(1 for r in [*bamboohr_calls, *target_calls] if r.status in {429, 503})
    statuses = Counter(str(o.get("status")) for o in done.values())
    rate = len(done) / elapsed if elapsed > 0 else 0.0
    note = (
        f"{len(done):,} of {len(wanted):,} employees answered by {case.target} in {elapsed:.0f} s"
        + ("" if finished else f" (time budget {budget_seconds:.0f} s; NOT all done)")
        + f"; outcomes {dict(statuses)}; done per minute {_per_minute(samples)}"
        + f"; bamboohr published {len(published):,} of them"
        + f"; {refused} 429/503 refusals; BambooHR calls: {describe_calls(bamboohr_calls)}; "
        + f"{case.target} calls: {describe_calls(target_calls)}"
    )
    size = f"{len(wanted):,} employees"
    rows = [
        Measurement(
            f"{case.label} backfill throughput, {size}",
            rate,
            "employees/s",
            case.targets["rate"],
            note=note,
        ),
        Measurement(
            f"{case.label} backfill BambooHR calls, {size}",
            float(len(bamboohr_calls)),
            "calls",
            case.targets["bamboohr_calls"],
        ),
        Measurement(
            f"{case.label} backfill {case.target} calls per employee answered, {size}",
            len(target_calls) / max(1, len(done)),
            "calls",
            case.targets["target_calls"],
        ),
    ]
    if case.ceiling_per_minute is not None and elapsed > 0:
        per_minute = len(target_calls) / (elapsed / 60)
        rows.append(
            Measurement(
                f"{case.label} backfill {case.target} calls a minute / its ceiling, {size}",
                per_minute / case.ceiling_per_minute,
                "of the ceiling",
                case.targets["ceiling_ratio"],
                note=(
                    f"{per_minute:.1f} calls a minute against {case.target}'s "
                    f"{case.ceiling_per_minute:g}; {len(done) / (elapsed / 60):.1f} people a minute"
                ),
            )
        )
    if case.sign_in_path is not None:
        sign_ins = [r for r in target_calls if r.path.endswith(case.sign_in_path)]
        rows.append(
            Measurement(
                f"{case.label} backfill {case.target} sign-ins, {size}",
                float(len(sign_ins)),
                "sign-ins",
                case.targets["sign_ins"],
            )
        )
    return rows
