"""Employee drift: what someone changed by hand in Acumatica, found and put back.

HR is the system of record for the fields we own (``mapping.py``). The employees sink keeps
what it last made true of each employee (mapping kind
:data:`~services.acumatica.sinks.employees.APPLIED`). One run, per link:

1. the Employees changed since the link's watermark are read in one call
   (``$filter=LastModifiedDateTime ge ...``, §5; the first run reads everyone);
2. each of them that is ours is compared, as listed, with what we applied. One that
   agrees costs nothing more: our own writes come back this way, so a run after a
   backfill would otherwise spend a GET per person, enough to push the licence's minute
   past its 50 % mark and hold every other call back. One that differs is read again and
   put back (``PUT`` with ``If-Match: *``, only those fields) under the employee's lease,
   so it never races the sink: an ``applied`` outcome ``repair_employee``; a refusal is
   ``needs_review``;
3. one summary outcome, entity ``reconcile:<link id>``: "12 checked, 1 repaired, 0 failed";
4. the watermark moves to the newest ``LastModifiedDateTime`` seen. The next run reads from
   a little before it (records can share a timestamp), so nothing between is missed;
   our own writes come back once and are found in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import orjson

from schemas.envelope import Event
from schemas.outcomes import OutcomeStatus
from services.acumatica.client import AcumaticaClient, AcumaticaRejectedError
from services.acumatica.mapping import unwrap, wrap
from services.acumatica.sinks.employees import APPLIED, LEASE_PREFIX, changed_fields
from services.runtime.leasing import held_lease
from services.runtime.logging import get_logger
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.store import StateStore
from services.runtime.store.records import LinkRecord

__all__ = ["CHANGED_SINCE", "DriftRead", "RunSummary", "summary_key"]

CHANGED_SINCE: Final = "employees.changed_since"
"""Watermark (per link, under this service and the Acumatica connection)."""
_OVERLAP: Final = timedelta(seconds=2)

_log = get_logger(__name__)


def summary_key(link_id: str) -> str:
    return f"reconcile:{link_id}"


def _watermark_name(link_id: str) -> str:
    return f"link:{link_id}:{CHANGED_SINCE}"


def _modified(record: dict[str, Any]) -> datetime | None:
    value = unwrap(record.get("LastModifiedDateTime"))
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@dataclass(slots=True)
class RunSummary:
    checked: int = 0
    repaired: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.checked} checked, {self.repaired} repaired, {self.failed} failed"


class DriftRead:
    """Reads a link's changed Employees and puts back our fields someone changed."""

    def __init__(
        self,
        *,
        store: StateStore,
        outcomes: Outcomes,
        service: str,
        holder: str,
        lease_ttl: timedelta,
    ) -> None:
        self._store = store
        self._outcomes = outcomes
        self._service = service
        self._holder = holder
        self._lease_ttl = lease_ttl

    async def run(self, link: LinkRecord, client: AcumaticaClient, *, cause: Event) -> RunSummary:
        """One run over ``link``; its summary is also published as an outcome."""
        summary = RunSummary()
        try:
            newest = await self._run(link, client, cause, summary)
        except Exception as error:
            detail = f"{summary} before it stopped: {type(error).__name__}: {error}"
            await self._publish(
                cause, link, summary_key(link.id), WriteResult("failed", "reconcile", {}, detail)
            )
            raise
        if newest is not None:
            async with self._store.transaction() as repos:
                await repos.watermarks.set(
                    self._service,
                    link.target_connection_id,
                    _watermark_name(link.id),
                    newest.isoformat(),
                )
        status: OutcomeStatus = "applied" if summary.failed == 0 else "failed"
        await self._publish(
            cause, link, summary_key(link.id), WriteResult(status, "reconcile", {}, str(summary))
        )
        _log.info("acumatica.reconciled", link=link.id, summary=str(summary))
        return summary

    async def _run(
        self, link: LinkRecord, client: AcumaticaClient, cause: Event, summary: RunSummary
    ) -> datetime | None:
        async with self._store.transaction() as repos:
            mark = await repos.watermarks.get(
                self._service, link.target_connection_id, _watermark_name(link.id)
            )
            stored = await repos.mappings.list(link.id, kind=APPLIED)
        since = datetime.fromisoformat(mark) - _OVERLAP if mark else None
        ours: dict[str, tuple[str, dict[str, Any]]] = {}  # EmployeeID -> (key, wanted)
        for mapping in stored:
            try:
                applied = orjson.loads(mapping.target_value)
                ours[str(applied["employee_id"])] = (mapping.source_value, applied["wanted"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
        newest = datetime.fromisoformat(mark) if mark else None
        for record in await client.employees_changed_since(since):
            modified = _modified(record)
            if modified is not None and (newest is None or modified > newest):
                newest = modified
            known = ours.get(str(unwrap(record.get("EmployeeID"))))
            if known is None:
                continue  # not one of ours: never touched
            summary.checked += 1
            key, wanted = known
            if not changed_fields(record, wanted):
                continue  # as we left it (or as the sink is just making it)
            lease = f"{LEASE_PREFIX}:{link.id}:{key}"
            ttl = self._lease_ttl
            async with held_lease(self._store, lease, self._holder, ttl=ttl, wait=ttl):
                if not await self._repair(link, client, cause, key, summary):
                    summary.failed += 1
        return newest

    async def _repair(
        self,
        link: LinkRecord,
        client: AcumaticaClient,
        cause: Event,
        key: str,
        summary: RunSummary,
    ) -> bool:
        """Put back what differs (read again under the lease); False when refused."""
        async with self._store.transaction() as repos:
            text = await repos.mappings.get(link.id, APPLIED, key)
        if text is None:
            return True
        applied = orjson.loads(text)
        current = await client.employee(str(applied["employee_id"]))
        if current is None:
            detail = f"Employee {applied['employee_id']} is no longer in Acumatica"
            await self._publish(
                cause, link, key, WriteResult("needs_review", "compare", {}, detail)
            )
            return False
        changes = changed_fields(current, applied["wanted"])
        if not changes:
            return True
        changes["EmployeeID"] = wrap(applied["employee_id"])
        try:
            await client.put_employee(changes, create=False)
        except AcumaticaRejectedError as error:
            await self._publish(
                cause, link, key, WriteResult("needs_review", "repair_employee", {}, str(error))
            )
            return False
        summary.repaired += 1
        fields = ", ".join(sorted(name for name in changes if name != "EmployeeID"))
        detail = f"edited in Acumatica by hand ({fields}): BambooHR's values put back"
        await self._publish(cause, link, key, WriteResult("applied", "repair_employee", {}, detail))
        return True

    async def _publish(
        self, cause: Event, link: LinkRecord, entity_key: str, result: WriteResult
    ) -> None:
        await self._outcomes.publish(cause, link, entity_key, result)
