"""R3: vendor storms, per vendor. 429, 503 and 5xx bursts; session expiry (BILL, Acumatica);
a revoked token; refresh-token rotation 1,000 times under two replicas. Every record lands
once, or waits with its cause.

Each storm is set up in the vendor's sandbox with what the sandbox already offers: fault
rules (``/_sandbox/faults``) for the bursts, its clock (``/_sandbox/clock``) for an idle
session or an access token that outlived its life, and the vendor's own revoke endpoint
(what "disconnect the app" in its UI does) for a revoked token. Records are then played
through the vendor (hires in BambooHR, bills in FreshBooks, Expensify reports:
:class:`chaos.workload.Traffic`) and the run settles (as :func:`chaos.kills.settle` does).

Then each effect is counted in its target sandbox by its source key
(:func:`chaos.workload.census`): one is landed once, two or more duplicated. An effect that
did not land *waits with its cause* when the record's newest outcome on ``sync.outcome`` is
``waiting``, ``needs_review`` or ``failed`` with a detail that says why; otherwise it is lost.

A revoked token cannot be mended by the connector: its connection is marked broken (the
figure reads its status and the outcomes' reason), then reconnected the way an operator
would: a new consent for the same connection (``mlc connections reconnect <id>``, its links
kept), then each dead letter the broken connection caused replayed (``mlc replay``), so
what waited lands.

The rotation runs a second process of the vendor's service beside the first (the same
command and environment, the same consumer groups and store): each round moves the
sandbox clock past the access token's life and plays hires, so whichever replica meets the
401 must refresh, and the refresh token is single-use. The sandbox's request log then says
how many refreshes there were and whether any was refused; the connection must stay active.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import httpx

from chaos.kills import NUDGE_EVERY_SECONDS
from chaos.workload import Census, Played, Traffic, census, nudge_sources
from devstack.consent import reconnect_with_consent
from devstack.consumer_lag import lag_of
from devstack.credentials import stack_credentials
from devstack.processes import ProcessTable
from devstack.service_processes import ServiceProcesses, log_size
from devstack.stack import StackInfo, StackPlan, running_ops_urls
from schemas.outcomes import DeadLetter
from services.runtime.audit_trail import read_events
from services.runtime.oauth_tokens import BROKEN_STATUS, TOKENS_FIELD, TokenSet, load_tokens
from services.runtime.replay import (
    FoundDeadLetter,
    dead_letter_topics,
    replay_once,
    replay_session,
)
from services.runtime.settings import RuntimeSettings
from services.vendors import TOPICS

__all__ = [
    "VENDORS",
    "RotationResult",
    "StormReport",
    "StormResult",
    "VendorStorms",
    "measure_vendor_storms",
    "storm_markdown",
    "storm_passed",
]

Say = Callable[[str], None]
RecordKind = Literal["hire", "bill", "report"]
BurstKind = Literal["429 burst", "503 burst", "5xx burst"]
StormKind = Literal[BurstKind, "session expiry", "revoked token"]


@dataclass(frozen=True, slots=True)
class VendorStorms:
    """What storms a vendor can have, and the vendor facts each one needs."""

    # The requests of its API the flows make (a regex searched in the request path): the
    # bursts hit these, never the token or login endpoints.
    api: str
    # flow -> the record whose handling calls this vendor in that flow.
    records: Mapping[str, RecordKind]
    # census's effect kinds this vendor writes (the rotation counts these).
    effects: tuple[str, ...] = ()
    # A session that ends after this many idle seconds on the sandbox clock (None: no session).
    session_idle_seconds: float | None = None
    # OAuth: its token endpoint (grants and refreshes); a revoke endpoint and how it takes
    # the token.
    grant_path: str | None = None
    revoke_path: str | None = None
    revoke_in: Literal["form", "query"] = "form"
    # Every refresh rotates the refresh token and the spent one is refused: the rotation
    # figure runs on it. The access token's life, to move the clock past it.
    rotates_refresh_token: bool = False
    access_ttl_seconds: float = 0.0


_PEOPLE: Final[Mapping[str, RecordKind]] = {
    "people-freshbooks": "hire",
    "people-zoho": "hire",
    "people-acumatica": "hire",
}

VENDORS: Final[Mapping[str, VendorStorms]] = {
    # OAuth without rotation (the sandbox's default), and no revoke endpoint: bursts only.
    # The bursts meet the bamboohr service's fetches of the hired employee.
    "bamboohr": VendorStorms(api=r"/employees", records=_PEOPLE, grant_path="/token.php"),
    # 12 h access tokens; every refresh rotates the refresh token and refuses the spent one;
    # POST /auth/oauth/revoke {token} ends the refresh token and the access token issued
    # with it. Its writes: team members (flow 1), bill reads (ap-bill), bills (expenses).
    "freshbooks": VendorStorms(
        api=r"^/(accounting/|auth/api/v1/(businesses|users/invitation))",
        records={"people-freshbooks": "hire", "ap-bill": "bill", "expenses": "report"},
        effects=("FreshBooks team member", "FreshBooks bill of a report"),
        grant_path="/auth/oauth/token",
        revoke_path="/auth/oauth/revoke",
        rotates_refresh_token=True,
        access_ttl_seconds=43_200.0,
    ),
    # 1 h access tokens, refresh tokens until revoked (not rotated); /oauth/v2/token/revoke
    # takes the token in the query.
    "zoho": VendorStorms(
        api=r"/contacts",
        records={"people-zoho": "hire"},
        effects=("Zoho Books contact",),
        grant_path="/oauth/v2/token",
        revoke_path="/oauth/v2/token/revoke",
        # Zoho documents the token in the query; its sandbox takes the form too, which keeps
        # the token out of its access log (R5 scans every log).
        revoke_in="form",
    ),
    # A password connection: an API session (cookie) closed after 10 idle minutes. Its API
    # lives under the instance's path (/AcumaticaERP/entity/...), so no anchor.
    "acumatica": VendorStorms(
        api=r"/entity/(?!auth/)",
        records={"people-acumatica": "hire"},
        effects=("Acumatica employee",),
        session_idle_seconds=600.0,
    ),
    # A developer key and a login: a session that dies after 35 idle minutes (401 BDC_1109).
    "bill": VendorStorms(
        api=r"/v3/(vendors|bills)",
        records={"ap-bill": "bill"},
        effects=("BILL bill",),
        session_idle_seconds=35 * 60.0,
    ),
    # Partner credentials on every request: no token, no session; polled, not called back.
    "expensify": VendorStorms(api=r"Integration-Server", records={"expenses": "report"}),
}
"""Vendor knowledge of R3, one row per vendor sandbox."""

_BURSTS: Final[Mapping[BurstKind, tuple[tuple[int, float | None], ...]]] = {
    # Retry-After 1: the clients obey it exactly, so the storm costs seconds, not minutes.
    "429 burst": ((429, 1.0),),
    "503 burst": ((503, 1.0),),
    # No Retry-After: only backoff (idempotent calls) or the handler's retry (writes).
    "5xx burst": ((500, None), (502, None), (504, None)),
}
# How many refusals a burst holds per record played: more than one record meets.
_FAULTS_PER_RECORD: Final = 2
# The most the run waits for a storm's records once nothing lands any more.
_QUIET_SECONDS: Final = 60.0
_DRAIN_SECONDS: Final = 1800.0
# services.runtime.consumer_lag samples every 15 s; reading faster shows the same sample.
_LAG_SAMPLE_SECONDS: Final = 15.0
_WAITING: Final = frozenset({"waiting", "needs_review", "failed"})
# Two hires a round: with two replicas both may meet the expired token at once.
_RECORDS_PER_ROTATION: Final = 2
_ROUND_TIMEOUT_SECONDS: Final = 90.0
_REVOKED_TIMEOUT_SECONDS: Final = 120.0
_REPLICA: Final = 2


@dataclass(frozen=True)
class StormResult:
    vendor: str
    kind: StormKind
    records: int  # played during the storm
    effects: int  # the records' effects in every target the stack runs
    landed_once: int
    duplicated: int
    lost: int
    waiting_with_cause: int
    fired: int  # the sandbox's refusals the storm caused (faults fired, 401s, refused refreshes)
    seconds: float
    examples: tuple[str, ...] = ()
    # A revoked token: the connection's status after, the cause an outcome gave, the dead
    # letters replayed once it was reconnected, and the effects landed once after that.
    connection_status: str = ""
    cause: str = ""
    replayed: int = 0
    landed_after_reconnect: int | None = None
    # Reads of the vendor as a source (its webhooks' records) the revoked token stopped:
    # dead-lettered with their cause, since no sink answered them with an outcome.
    dead_lettered: int = 0


@dataclass(frozen=True)
class RotationResult:
    vendor: str
    replicas: tuple[str, ...]
    rounds: int  # times the access token was made to expire
    rotations: int  # refreshes the sandbox answered 200 (each rotated the refresh token)
    refresh_refused: int  # refreshes it refused (a spent refresh token: the connection lost)
    connection_lost: bool
    records: int
    landed_once: int
    duplicated: int
    lost: int
    # Outcomes each replica logged during the rotation: both did work.
    writes_by_replica: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    broke_off: str = ""  # why the rotation stopped before its rounds ("" when it did not)


@dataclass(frozen=True)
class StormReport:
    storms: tuple[StormResult, ...]
    rotation: RotationResult | None
    rotations_asked: int
    skipped: tuple[str, ...]  # what could not run on this stack, and why


# -- the figure ----------------------------------------------------------------------


async def measure_vendor_storms(
    plan: StackPlan,
    info: StackInfo,
    *,
    say: Say,
    rotations: int = 1000,
    records_per_storm: int = 6,
) -> StormReport:
    """Every storm of every vendor the running stack links, then the rotation, then the
    revoked tokens (last: each needs a reconnect)."""
    flows = {link.get("flow", "") for link in info.links}
    storms: list[StormResult] = []
    skipped: list[str] = []
    rotation: RotationResult | None = None
    async with httpx.AsyncClient(timeout=60.0) as http:
        run = _Run(plan, info, http, say)
        for vendor, storms_of in VENDORS.items():
            kinds = _record_kinds(storms_of, flows)
            if vendor not in info.sandboxes or not kinds:
                continue
            for kind in _BURSTS:
                storms.append(
                    await _guarded(
                        vendor, kind, run.burst(vendor, kind, kinds, records_per_storm), say
                    )
                )
            if storms_of.session_idle_seconds is not None:
                storms.append(
                    await _guarded(
                        vendor,
                        "session expiry",
                        run.session_expiry(vendor, kinds, records_per_storm),
                        say,
                    )
                )
        rotating = [
            v for v, s in VENDORS.items() if s.rotates_refresh_token and v in info.sandboxes
        ]
        for vendor in rotating:
            if "people-freshbooks" not in flows or "bamboohr" not in info.sandboxes:
                skipped.append(f"{vendor} rotation: it is driven by hires (flow people-freshbooks)")
            elif rotation is None:
                try:
                    rotation = await run.rotation(vendor, rotations)
                except Exception as error:  # the figure's finding, as for a storm
                    why = f"{type(error).__name__}: {str(error)[:300]}"
                    say(f"  {vendor} rotation broke off: {why}")
                    rotation = RotationResult(
                        vendor, (), rotations, 0, 0, False, 0, 0, 0, 0, broke_off=why
                    )
        for vendor, storms_of in VENDORS.items():
            kinds = _record_kinds(storms_of, flows)
            if vendor not in info.sandboxes or not kinds or storms_of.revoke_path is None:
                continue
            # The rotation's hires, and the backfill of the last reconnect, still queue at
            # the slower vendors (Zoho's 100 calls a minute): a storm's few records would
            # wait behind them and read as lost.
            await run.drained()
            storms.append(
                await _guarded(
                    vendor, "revoked token", run.revoked(vendor, kinds, records_per_storm), say
                )
            )
    for vendor, storms_of in VENDORS.items():
        if vendor in info.sandboxes and not _record_kinds(storms_of, flows):
            skipped.append(f"{vendor}: no flow of this stack calls it")
    return StormReport(tuple(storms), rotation, rotations, tuple(skipped))


async def _guarded(
    vendor: str, kind: StormKind, storm: Awaitable[StormResult], say: Say
) -> StormResult:
    """The storm's result; one that broke off is a missed storm naming why, so the other
    vendors' storms still run and the page says what went wrong."""
    started = time.monotonic()
    try:
        return await storm
    except Exception as error:  # any failure is this storm's finding
        why = f"the storm broke off: {type(error).__name__}: {str(error)[:300]}"
        say(f"  {vendor} {kind}: {why}")
        return StormResult(
            vendor=vendor,
            kind=kind,
            records=0,
            effects=0,
            landed_once=0,
            duplicated=0,
            lost=0,
            waiting_with_cause=0,
            fired=0,
            seconds=time.monotonic() - started,
            examples=(why,),
        )


def _record_kinds(storms_of: VendorStorms, flows: set[str]) -> list[RecordKind]:
    kinds: list[RecordKind] = []
    for flow, kind in storms_of.records.items():
        if flow in flows and kind not in kinds:
            kinds.append(kind)
    return kinds


class _Run:
    """The storms on one stack, with one HTTP client."""

    def __init__(self, plan: StackPlan, info: StackInfo, http: httpx.AsyncClient, say: Say) -> None:
        self.plan = plan
        self.info = info
        self.http = http
        self.say = say
        self.tags = 0

    def _traffic(self, vendor: str, what: str) -> Traffic:
        # A tag of its own per storm: no two storms (or runs) share a key.
        self.tags += 1
        stamp = f"{int(time.time()) % 100_000}"
        return Traffic(self.info, self.http, seed=self.tags, tag=f"r3{stamp}{vendor}{what}")

    # -- the sandboxes ---------------------------------------------------------------

    def _sandbox(self, vendor: str) -> str:
        return self.info.sandboxes[vendor]

    async def _post(self, vendor: str, path: str, payload: dict[str, Any]) -> None:
        answer = await self.http.post(f"{self._sandbox(vendor)}/_sandbox/{path}", json=payload)
        answer.raise_for_status()

    async def _now(self, vendor: str) -> datetime:
        answer = await self.http.get(f"{self._sandbox(vendor)}/_sandbox/clock")
        answer.raise_for_status()
        return datetime.fromisoformat(str(answer.json()["now"]))

    async def _requests_since(self, vendor: str, since: datetime) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{self._sandbox(vendor)}/_sandbox/requests")
        answer.raise_for_status()
        return [r for r in answer.json() if datetime.fromisoformat(str(r["time"])) >= since]

    async def _fired(self, vendor: str) -> int:
        answer = await self.http.get(f"{self._sandbox(vendor)}/_sandbox/faults")
        answer.raise_for_status()
        return sum(int(rule["fired"]) for rule in answer.json())

    async def _clear_faults(self, vendor: str) -> None:
        answer = await self.http.delete(f"{self._sandbox(vendor)}/_sandbox/faults")
        answer.raise_for_status()

    # -- playing and counting --------------------------------------------------------

    async def _play(self, traffic: Traffic, kinds: list[RecordKind], records: int) -> None:
        plays: Mapping[RecordKind, Callable[[], Awaitable[None]]] = {
            "hire": traffic.hire,
            "bill": traffic.bill,
            "report": traffic.report,
        }
        for n in range(records):
            await plays[kinds[n % len(kinds)]]()

    async def _count(self, traffic: Traffic, counted: Census) -> tuple[int, int, list[str]]:
        """(waiting with cause, lost, examples) among the effects that did not land."""
        waiting = lost = 0
        examples: list[str] = []
        if counted.total_lost == 0:
            return 0, 0, examples
        outcomes = await self._outcomes()
        # One census read for all: how many of each record's effects are missing.
        missing_of = Counter(key for keys in counted.missing.values() for key in keys)
        for played in _single_records(traffic.played):
            missing = missing_of[_key_of(played)]
            if not missing:
                continue
            cause = await self._cause(played, outcomes)
            if cause:
                waiting += missing
                if len(examples) < 3:
                    examples.append(f"{_key_of(played)} waits: {cause}")
            else:
                lost += missing
                if len(examples) < 6:
                    examples.append(f"{_key_of(played)}: {missing} effect(s) lost, no cause")
        return waiting, lost, examples

    async def _outcomes(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        """The newest outcome per (connection, entity key, service) on sync.outcome."""
        sources = set(self.info.connections.values())
        found = await read_events(
            self.info.kafka,
            topics=["sync.outcome"],
            keep=lambda e: e.event.get("connection_id") in sources,
        )
        newest: dict[tuple[str, str, str], dict[str, Any]] = {}
        for logged in sorted(found, key=lambda e: str(e.event.get("recorded_at"))):
            event = logged.event
            key = (
                str(event.get("connection_id")),
                str(event.get("entity_key")),
                str(event.get("service")),
            )
            newest[key] = event
        return newest

    async def _cause(
        self, played: Played, outcomes: Mapping[tuple[str, str, str], dict[str, Any]]
    ) -> str:
        """The detail of a waiting or failed newest outcome of the record, "" for none."""
        source, entity = await self._entity(played)
        if not source or not entity:
            return ""
        for (connection, key, service), event in outcomes.items():
            same = key == entity or key.endswith(f":{entity}")
            if connection == source and same and event.get("status") in _WAITING:
                detail = str(event.get("detail") or "")
                if detail:
                    return f"{service} {event['status']}: {detail[:160]}"
        return ""

    async def _entity(self, played: Played) -> tuple[str, str]:
        """The record's source connection and its id there (what outcomes are keyed by)."""
        connections = self.info.connections
        if played.hires:
            employees = await self._state("bamboohr", "employees")
            email = played.hires[0].lower()
            found = [e for e in employees if str(e.get("workEmail", "")).lower() == email]
            return connections.get("bamboohr", ""), str(found[0]["id"]) if found else ""
        if played.bills:
            bills = await self._state("freshbooks", "bills")
            number = played.bills[0]
            found = [b for b in bills if b.get("bill_number") == number]
            return connections.get("freshbooks", ""), str(found[0]["id"]) if found else ""
        return connections.get("expensify", ""), played.reports[0] if played.reports else ""

    async def _state(self, vendor: str, collection: str) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{self._sandbox(vendor)}/_sandbox/state/{collection}")
        answer.raise_for_status()
        return list(answer.json())

    async def _settled(
        self, traffic: Traffic, *, each_nudge: Callable[[], Awaitable[None]] | None = None
    ) -> Census:
        """Like :func:`chaos.kills.settle`, read more often: a storm's few records land
        within seconds, and the short run adds up every second of every storm.
        ``each_nudge`` runs with each nudge of the sources."""
        moved_at = nudged_at = time.monotonic()
        best = -1
        while True:
            counted = await census(self.info, self.http, traffic.played)
            landed = sum(counted.landed.values())
            now = time.monotonic()
            if landed > best:
                best, moved_at = landed, now
            if counted.total_lost == 0 or now - moved_at > _QUIET_SECONDS:
                return counted
            if now - nudged_at > NUDGE_EVERY_SECONDS:
                self.say(f"  {landed:,} landed, {counted.total_lost:,} not yet")
                await nudge_sources(self.info, self.http)
                if each_nudge is not None:
                    await each_nudge()
                nudged_at = now
            await asyncio.sleep(0.5)  # poll: the targets are read again

    def _result(
        self,
        vendor: str,
        kind: StormKind,
        traffic: Traffic,
        counted: Census,
        counts: tuple[int, int, list[str]],
        *,
        fired: int,
        started: float,
    ) -> StormResult:
        waiting, lost, examples = counts
        result = StormResult(
            vendor=vendor,
            kind=kind,
            records=traffic.played.events,
            effects=counted.effects,
            landed_once=sum(counted.landed.values()),
            duplicated=counted.total_duplicated,
            lost=lost,
            waiting_with_cause=waiting,
            fired=fired,
            seconds=time.monotonic() - started,
            examples=tuple(
                [*examples, *counted.examples[:3]] if counted.total_duplicated else examples
            ),
        )
        self.say(
            f"  {vendor} {kind}: {result.landed_once}/{result.effects} landed once, "
            f"{result.duplicated} twice+, {result.waiting_with_cause} waiting, {result.lost} lost "
            f"({result.fired} refusals, {result.seconds:.0f} s)"
        )
        return result

    # -- the storms ------------------------------------------------------------------

    async def burst(
        self, vendor: str, kind: BurstKind, kinds: list[RecordKind], records: int
    ) -> StormResult:
        self.say(f"R3: a {kind} at {vendor}, {records} records")
        started = time.monotonic()
        await self._clear_faults(vendor)
        rules = _BURSTS[kind]
        each = max(1, -(-records * _FAULTS_PER_RECORD // len(rules)))
        for status, retry_after in rules:
            await self._post(
                vendor,
                "faults",
                {
                    "path": VENDORS[vendor].api,
                    "status": status,
                    "count": each,
                    "retry_after": retry_after,
                    "body": {"error": f"chaos {kind}", "status": status},
                },
            )
        traffic = self._traffic(vendor, kind[:3])
        await self._play(traffic, kinds, records)
        counted = await self._settled(traffic)
        fired = await self._fired(vendor)
        await self._clear_faults(vendor)  # what the storm did not use must not hit the next
        counts = await self._count(traffic, counted)
        return self._result(vendor, kind, traffic, counted, counts, fired=fired, started=started)

    async def session_expiry(
        self, vendor: str, kinds: list[RecordKind], records: int
    ) -> StormResult:
        idle = VENDORS[vendor].session_idle_seconds or 0.0
        self.say(f"R3: {vendor}'s session left idle {idle / 60:.0f} min, then {records} records")
        started = time.monotonic()
        since = await self._now(vendor)
        # Past the idle limit: the session the service holds is dead at the vendor.
        await self._post(vendor, "clock", {"advance_seconds": idle + 60})
        traffic = self._traffic(vendor, "ses")
        await self._play(traffic, kinds, records)
        counted = await self._settled(traffic)
        refused = [r for r in await self._requests_since(vendor, since) if r["status"] == 401]
        counts = await self._count(traffic, counted)
        return self._result(
            vendor, "session expiry", traffic, counted, counts, fired=len(refused), started=started
        )

    async def drained(self) -> None:
        """Wait until no consumer of the stack is behind (every running process's
        ``mlc_consumer_lag_messages`` at 0 twice in a row), at most :data:`_DRAIN_SECONDS`.

        The processes and their ops ports are read afresh each time: a process restarted
        (the kills figure restarts every service) listens on a port of its own choosing.
        """
        deadline = time.monotonic() + _DRAIN_SECONDS
        quiet_reads = 0
        said_at = 0.0
        while quiet_reads < 2:
            behind = await _consumer_lag(running_ops_urls(self.plan.run_dir), self.http)
            quiet_reads = quiet_reads + 1 if behind == 0 else 0
            shown = "an unknown number of" if behind is None else f"{behind:,.0f}"
            now = time.monotonic()
            if now > deadline:
                self.say(f"  still {shown} messages behind after {_DRAIN_SECONDS:.0f} s")
                return
            if behind != 0 and now - said_at > NUDGE_EVERY_SECONDS:
                self.say(f"  waiting for the consumers to catch up: {shown} behind")
                said_at = now
            await asyncio.sleep(_LAG_SAMPLE_SECONDS)  # poll: lag is sampled this often

    async def revoked(self, vendor: str, kinds: list[RecordKind], records: int) -> StormResult:
        storms_of = VENDORS[vendor]
        connection_id = self.info.connections[vendor]
        self.say(
            f"R3: {vendor}'s refresh token revoked (connection {connection_id}), {records} records"
        )
        started, began = time.monotonic(), datetime.now(UTC)
        since = await self._now(vendor)
        tokens = await _stored_tokens(self.plan, connection_id)
        for token in (tokens.refresh_token, tokens.access_token):
            await self._revoke(vendor, storms_of, token)
        traffic = self._traffic(vendor, "rev")
        await self._play(traffic, kinds, records)

        async def every_record_answered() -> tuple[Census, tuple[int, int, list[str]]]:
            deadline = time.monotonic() + _REVOKED_TIMEOUT_SECONDS
            nudged_at = time.monotonic()
            while True:
                counted = await census(self.info, self.http, traffic.played)
                counts = await self._count(traffic, counted)
                if counts[1] == 0 or time.monotonic() > deadline:
                    return counted, counts
                if time.monotonic() - nudged_at > NUDGE_EVERY_SECONDS:
                    # Reports come by Expensify's poll, not a webhook: run it now, as the
                    # other storms' waits do, or they are read after the window closed.
                    await nudge_sources(self.info, self.http)
                    nudged_at = time.monotonic()
                await asyncio.sleep(1.0)  # poll: the sinks meet the revoked token in turn

        counted, counts = await every_record_answered()
        dead_lettered = await self._source_dead_letters(vendor, started_at=began)
        status = await self._connection_status(connection_id)
        grants = [
            r
            for r in await self._requests_since(vendor, since)
            if r["path"].endswith(str(storms_of.grant_path))
        ]
        # Zoho refuses a refresh with HTTP 200 and an error in the body: once the connection
        # is broken (only a refused refresh breaks it), each grant call since was refused.
        refused = grants if status == BROKEN_STATUS else [r for r in grants if r["status"] >= 400]
        cause = next((e.partition(" waits: ")[2] for e in counts[2] if " waits: " in e), "")
        result = self._result(
            vendor, "revoked token", traffic, counted, counts, fired=len(refused), started=started
        )
        self.say(f"  {vendor} connection {connection_id} is {status}; reconnecting it")
        await reconnect_with_consent(self.info.control, self.info.operator_token, connection_id)
        replayed: set[str] = set()

        async def replay_what_waits() -> None:
            # Again at each nudge: a retry that met the revoked token just before the
            # reconnect is dead-lettered after it.
            fresh = await self._replay_dead_letters(connection_id, since=began, done=replayed)
            if fresh:
                self.say(f"  {fresh} dead letters replayed")

        await replay_what_waits()
        after = await self._settled(traffic, each_nudge=replay_what_waits)
        return replace(
            result,
            connection_status=status,
            cause=cause,
            replayed=len(replayed),
            landed_after_reconnect=sum(after.landed.values()),
            dead_lettered=dead_lettered,
            seconds=time.monotonic() - started,
        )

    async def _source_dead_letters(self, vendor: str, *, started_at: datetime) -> int:
        """Dead letters of the vendor's raw deliveries since the storm began: each a source
        read the revoked token stopped, kept with its cause for a replay."""
        letters = await read_events(
            self.info.kafka,
            topics=[f"dlq.{vendor}"],
            keep=lambda e: (
                e.event.get("original_topic") == f"raw.{vendor}"
                and datetime.fromisoformat(str(e.event.get("recorded_at"))) >= started_at
            ),
        )
        return len(letters)

    async def _revoke(self, vendor: str, storms_of: VendorStorms, token: str) -> None:
        url = f"{self._sandbox(vendor)}{storms_of.revoke_path}"
        if storms_of.revoke_in == "query":
            answer = await self.http.post(url, params={"token": token})
        else:
            answer = await self.http.post(url, data={"token": token})
        answer.raise_for_status()

    def _api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"{self.info.control}/api/v1",
            headers={"Authorization": f"Bearer {self.info.operator_token}"},
            timeout=30.0,
        )

    async def _connection_status(self, connection_id: str) -> str:
        async with self._api() as api:
            answer = await api.get(f"/connections/{connection_id}")
        answer.raise_for_status()
        return str(answer.json().get("status", ""))

    async def _replay_dead_letters(
        self, connection_id: str, *, since: datetime, done: set[str]
    ) -> int:
        """``mlc replay`` for each dead letter since ``since`` that the broken connection
        caused (its cause names the connection) and is not in ``done``; how many were put
        back (their ids are added to ``done``)."""
        letters = await read_events(
            self.info.kafka,
            topics=dead_letter_topics(TOPICS),
            keep=lambda e: (
                e.event.get("type") == "DeadLetter"
                and str(e.event.get("event_id")) not in done
                and connection_id in str(e.event.get("error", ""))
                and datetime.fromisoformat(str(e.event.get("recorded_at"))) >= since
            ),
        )
        if not letters:
            return 0
        settings = RuntimeSettings(
            database_url=self.plan.database_url, kafka_bootstrap_servers=self.info.kafka
        )
        async with replay_session(settings, run_migrations=False) as (store, broker):
            for logged in letters:
                letter = DeadLetter.model_validate(logged.event)
                found = FoundDeadLetter(logged.topic, logged.partition, logged.offset, letter)
                await replay_once(store, broker, found, again=False, actor="chaos (mlc replay)")
                done.add(str(letter.event_id))
        return len(letters)

    async def rotation(self, vendor: str, rounds: int) -> RotationResult:
        storms_of = VENDORS[vendor]
        connection_id = self.info.connections[vendor]
        self.say(f"R3: {vendor} refresh-token rotation, {rounds} rounds under two replicas")
        started = time.monotonic()
        processes = ServiceProcesses(self.plan)
        table = ProcessTable(self.plan.run_dir)
        name = f"{vendor}-{_REPLICA}"
        logs = {vendor: table.logs / f"{vendor}.log", name: table.logs / f"{name}.log"}
        offsets = {n: log_size(path) for n, path in logs.items()}
        replica = await processes.start_replica(vendor, _REPLICA)
        traffic = self._traffic(vendor, "rot")
        lost_at: int | None = None
        try:
            since = await self._now(vendor)
            # A fault rule that only counts (no status, no delay): its fired count is the
            # number of token requests so far, cheaper to read than the request log.
            await self._post(
                vendor,
                "faults",
                {
                    "path": f"{re.escape(str(storms_of.grant_path))}$",
                    "method": "POST",
                    "count": 10**9,
                },
            )
            for n in range(rounds):
                before = await self._fired(vendor)
                await self._post(
                    vendor, "clock", {"advance_seconds": storms_of.access_ttl_seconds + 60}
                )
                first = len(traffic.played.hires)
                for _ in range(_RECORDS_PER_ROTATION):
                    await traffic.hire()
                # The round's hires landed before the clock moves again: a retry with the
                # new token must not meet the next expiry, which no real clock would cause.
                await self._round_done(vendor, traffic.played.hires[first:], before)
                if (n + 1) % 25 == 0 or n + 1 == rounds:
                    status = await self._connection_status(connection_id)
                    if status != "active" and lost_at is None:
                        lost_at = n + 1
                    self.say(f"  {n + 1}/{rounds} rounds, connection {status}")
            token_calls = [
                r
                for r in await self._requests_since(vendor, since)
                if r["path"].endswith(str(storms_of.grant_path)) and r["method"] == "POST"
            ]
            counted = await self._settled(traffic)
            final_status = await self._connection_status(connection_id)
        finally:
            table.stop(replica.name)
            await self._clear_faults(vendor)
        writes = {n: _count_in(path, offsets[n], b"sink.outcome") for n, path in logs.items()}
        kinds = [k for k in storms_of.effects if k in counted.landed]
        result = RotationResult(
            vendor=vendor,
            replicas=(vendor, replica.name),
            rounds=rounds,
            rotations=sum(1 for r in token_calls if r["status"] == 200),
            refresh_refused=sum(1 for r in token_calls if r["status"] != 200),
            connection_lost=lost_at is not None or final_status != "active",
            records=traffic.played.events,
            landed_once=sum(counted.landed[k] for k in kinds),
            duplicated=sum(counted.duplicated[k] for k in kinds),
            lost=sum(counted.lost[k] for k in kinds),
            writes_by_replica=writes,
            seconds=time.monotonic() - started,
        )
        self.say(
            f"  {result.rotations} rotations, {result.refresh_refused} refused, connection "
            f"{'lost' if result.connection_lost else 'kept'}; {result.landed_once}/"
            f"{result.records} landed once; writes {writes}"
        )
        return result

    async def _round_done(self, vendor: str, emails: list[str], fired_before: int) -> None:
        wanted = {email.lower() for email in emails}
        deadline = time.monotonic() + _ROUND_TIMEOUT_SECONDS
        while True:
            refreshed = await self._fired(vendor) > fired_before
            if refreshed:
                members = await self._state(vendor, "team_members")
                landed = {str(m.get("email", "")).lower() for m in members}
                if wanted <= landed:
                    return
            if time.monotonic() > deadline:
                return  # counted as lost (or refused) at the end, not raised
            await asyncio.sleep(0.2)  # poll: the round's refresh and writes


def _single_records(played: Played) -> list[Played]:
    return [
        *(Played(hires=[h]) for h in played.hires),
        *(Played(bills=[b]) for b in played.bills),
        *(Played(reports=[r]) for r in played.reports),
    ]


async def _consumer_lag(ops_urls: Iterable[str], http: httpx.AsyncClient) -> float | None:
    """Messages not yet handled, summed over the processes' ops ``/metrics``; None when one
    did not answer (restarting: its backlog is unknown, not nothing)."""
    behind = 0.0
    for url in ops_urls:
        samples = await lag_of(http, url)
        if samples is None:
            return None
        behind += sum(sample.messages for sample in samples)
    return behind


def _key_of(played: Played) -> str:
    return next(iter([*played.hires, *played.bills, *played.reports]), "")


async def _stored_tokens(plan: StackPlan, connection_id: str) -> TokenSet:
    """The connection's token pair as the store holds it, decrypted with the stack's keys:
    what the vendor issued to us, so its revoke endpoint can be told which to end."""
    async with stack_credentials(plan) as read:
        stored = await read(connection_id)
    if TOKENS_FIELD not in stored:
        raise RuntimeError(f"connection {connection_id} holds no OAuth tokens")
    return load_tokens(stored[TOKENS_FIELD])


def _count_in(path: Path, offset: int, marker: bytes) -> int:
    try:
        with path.open("rb") as log:
            log.seek(offset)
            return int(log.read().count(marker))
    except OSError:
        return 0


# -- verdict and page ----------------------------------------------------------------


def _storm_ok(storm: StormResult) -> bool:
    accounted = storm.landed_once + storm.waiting_with_cause == storm.effects
    ok = storm.fired > 0 and storm.lost == 0 and storm.duplicated == 0 and accounted
    if storm.kind != "revoked token":
        return ok
    # A source read the revoked token stopped has no outcome: its dead letter is its cause.
    waiting = storm.waiting_with_cause + min(storm.lost, storm.dead_lettered)
    return (
        storm.fired > 0
        and storm.duplicated == 0
        and storm.landed_once + waiting == storm.effects
        and storm.connection_status == "broken"
        and bool(storm.cause)
        and storm.landed_after_reconnect == storm.effects
    )


def _rotation_ok(rotation: RotationResult, asked: int) -> bool:
    return (
        not rotation.broke_off
        and rotation.rotations >= asked
        and rotation.refresh_refused == 0
        and not rotation.connection_lost
        and rotation.lost == 0
        and rotation.duplicated == 0
        and rotation.landed_once == rotation.records
    )


def storm_passed(report: StormReport) -> bool:
    """Every storm met (and the rotation, when the stack runs a rotating vendor)."""
    storms = bool(report.storms) and all(_storm_ok(storm) for storm in report.storms)
    rotation = report.rotation is None or _rotation_ok(report.rotation, report.rotations_asked)
    return storms and rotation


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def storm_markdown(report: StormReport) -> list[str]:
    """The section ``## R3: vendor storms`` of docs/reliability.md, as lines."""
    lines = [
        "## R3: vendor storms",
        "",
        "Per vendor, records played while its sandbox refused: 429 and 503 bursts (Retry-After",
        "1 s), 5xx bursts (500, 502, 504, no Retry-After), a session left idle past its life,",
        "and a refresh token revoked at the vendor. Effects are counted in the target sandboxes",
        "by their source keys; one that did not land waits with its cause when its record's",
        "newest outcome is waiting, needs_review or failed with a detail. Refusals: the faults",
        "the sandbox fired, its 401s, or its refused refreshes.",
        "",
        "| vendor | storm | records | effects | landed once | twice or more | waiting with "
        "cause | lost | refusals | seconds | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {s.vendor} | {s.kind} | {s.records} | {s.effects} | {s.landed_once} | "
        f"{s.duplicated} | {s.waiting_with_cause} | {s.lost} | {s.fired} | {s.seconds:.0f} | "
        f"{_met(_storm_ok(s))} |"
        for s in report.storms
    ]
    lines.append("")
    for s in report.storms:
        if s.kind == "revoked token":
            lines.append(
                f"- {s.vendor}, revoked: the connection became `{s.connection_status}`; the "
                f"waiting outcomes said: {s.cause or '(nothing)'}. Reconnected in place and "
                f"{s.replayed} dead letters replayed: {s.landed_after_reconnect} of {s.effects} "
                f"effects then landed once. Source reads it stopped, dead-lettered with their "
                f"cause (counted as lost above, no outcome names them): {s.dead_lettered}."
            )
        lines += [f"- {s.vendor} {s.kind}: {example}" for example in s.examples]
    rotation = report.rotation
    if rotation is not None:
        writes = ", ".join(f"{n} {w:,}" for n, w in sorted(rotation.writes_by_replica.items()))
        lines += [
            "",
            f"Refresh-token rotation at {rotation.vendor}: {rotation.rounds:,} rounds, each "
            "moving its sandbox clock past the access token's life and playing hires, with two",
            f"replicas of the service ({', '.join(rotation.replicas)}) consuming, in "
            f"{rotation.seconds:.0f} s.",
            "",
            "| rotations | refreshes refused | connection lost | records | landed once | twice "
            "or more | lost | outcomes by replica | verdict |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| {rotation.rotations:,} of {report.rotations_asked:,} | "
            f"{rotation.refresh_refused} | {'yes' if rotation.connection_lost else 'no'} | "
            f"{rotation.records:,} | {rotation.landed_once:,} | {rotation.duplicated} | "
            f"{rotation.lost} | {writes} | "
            f"{_met(_rotation_ok(rotation, report.rotations_asked))} |",
        ]
        if rotation.broke_off:
            lines.append(f"- the rotation broke off: {rotation.broke_off}")
    lines += [f"- not run: {why}" for why in report.skipped]
    total = sum(s.effects for s in report.storms)
    landed = sum(s.landed_once for s in report.storms)
    waiting = sum(s.waiting_with_cause for s in report.storms)
    lost = sum(s.lost for s in report.storms)
    doubled = sum(s.duplicated for s in report.storms)
    vendors = sorted({s.vendor for s in report.storms})
    revoked = [s for s in report.storms if s.kind == "revoked token"]
    after = sum(s.landed_after_reconnect or 0 for s in revoked)
    lines += [
        "",
        f"What it means: across {len(report.storms)} storms at "
        f"{', '.join(vendors) or 'no vendor'}, "
        f"{landed:,} of {total:,} effects landed once, {waiting:,} waited with their cause, "
        f"{lost:,} were lost and {doubled:,} written twice. A refusal the vendor explains",
        "(Retry-After) is waited out, one it does not is retried only where a retry cannot write",
        "twice, a dead session is replaced, and a revoked consent stops the writes with the",
        "reason on every outcome until someone reconnects"
        + (
            f" (after the reconnects, {after:,} of {sum(s.effects for s in revoked):,} of "
            "those effects landed once)."
            if revoked
            else "."
        ),
    ]
    if rotation is not None:
        lines.append(
            f"The refresh token was rotated {rotation.rotations:,} times while two replicas "
            f"wrote, refreshes refused: {rotation.refresh_refused}, the connection "
            f"{'was lost' if rotation.connection_lost else 'was never lost'}: one refresh "
            "at a time per connection across replicas, each with the newest refresh token."
        )
    lines.append("")
    return lines
