"""The fault figures' traffic over every built flow, and the count of what it caused.

A run plays *events* at the source vendors' sandboxes, the way people would:

- a hire in BambooHR (flows people-freshbooks, people-zoho, people-acumatica: one event,
  an effect in each target the stack runs);
- a bill entered in FreshBooks (flow ap-bill: its copy in BILL);
- an expense report filed and approved in Expensify (flow expenses: a FreshBooks bill
  ``EXP-<report>`` to the employee, who becomes a bill vendor).

:func:`census` then reads every target sandbox and counts, per effect, the records that
carry the source's key (the hire's work email, the bill's number, the report's bill
number): one is landed, none is lost, two or more is a duplicated effect. Every input is
one the flows map without a person (seeded departments, job titles, mapped categories),
so an effect that did not land is lost, not waiting for a review.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from devstack.driving import DemoFailedError, request_reconcile
from devstack.stack import StackInfo

__all__ = [
    "Census",
    "Played",
    "Traffic",
    "census",
    "expected_effects",
    "nudge_sources",
]

# What a person enters; all of it is mapped by the sandboxes' seeds and the stack's links.
_DEPARTMENTS: Final = ("Engineering", "Creative", "Client Services")
_JOB_TITLE: Final = "Software Engineer"
_FRESHBOOKS_VENDOR: Final = 101  # a seeded vendor that is also in BILL
_OFFICE_SUPPLIES: Final = 3012  # matched to BILL's account by name
_REPORTER: Final = "priya.raman@acmecreative.example"  # an Expensify policy member


@dataclass
class Played:
    """The events a run played, by kind, each with the key its effects carry."""

    hires: list[str] = field(default_factory=list)  # work emails
    bills: list[str] = field(default_factory=list)  # FreshBooks bill numbers
    reports: list[str] = field(default_factory=list)  # Expensify report ids

    @property
    def events(self) -> int:
        return len(self.hires) + len(self.bills) + len(self.reports)


@dataclass(frozen=True)
class Census:
    """Per effect kind (``freshbooks team member``, ``BILL bill``, ...): how many landed
    once, were lost, were duplicated; and a few named examples of the last two."""

    landed: dict[str, int]
    lost: dict[str, int]
    duplicated: dict[str, int]
    examples: list[str]
    missing: dict[str, list[str]] = field(default_factory=dict)
    """Per effect kind, the keys of the events played (hire emails, bill numbers, report
    ids) whose effect is not there."""

    @property
    def effects(self) -> int:
        return sum(self.landed.values()) + self.total_lost + self.total_duplicated

    @property
    def total_lost(self) -> int:
        return sum(self.lost.values())

    @property
    def total_duplicated(self) -> int:
        return sum(self.duplicated.values())


class Traffic:
    """Plays events of the stack's built flows in a seeded mix, each with a key of its own."""

    def __init__(self, info: StackInfo, http: httpx.AsyncClient, *, seed: int, tag: str) -> None:
        self.info = info
        self.http = http
        self.random = random.Random(seed)
        self.tag = tag  # in every key: two runs on one stack never share one
        self.played = Played()
        flows = {link.get("flow") for link in info.links}
        self.kinds: list[Callable[[], Any]] = []
        if flows & {"people-freshbooks", "people-zoho", "people-acumatica"}:
            self.kinds += [self.hire, self.hire]  # hires are half the mix
        if "ap-bill" in flows:
            self.kinds.append(self.bill)
        if "expenses" in flows:
            self.kinds.append(self.report)
        if not self.kinds:
            raise ValueError("the stack runs no flow this traffic knows")

    async def play(self, events: int) -> None:
        """Play ``events`` more events, each of a kind drawn from the mix."""
        for _ in range(events):
            await self.random.choice(self.kinds)()

    async def hire(self) -> None:
        n = len(self.played.hires) + 1
        email = f"chaos.{self.tag}.{n}@acmecreative.example"
        await self._action(
            "bamboohr",
            "hire",
            {
                "firstName": "Chaos",
                "lastName": f"{self.tag.title()} {n}",
                "workEmail": email,
                "department": self.random.choice(_DEPARTMENTS),
                "jobTitle": _JOB_TITLE,
            },
        )
        self.played.hires.append(email)

    async def bill(self) -> None:
        number = f"CH-{self.tag}-{len(self.played.bills) + 1}"
        cents = self.random.randint(1_000, 99_999)
        await self._action(
            "freshbooks",
            "create_bill",
            {
                "vendorid": _FRESHBOOKS_VENDOR,
                "bill_number": number,
                "issue_date": "2026-11-20",
                "due_offset_days": 30,
                "currency_code": "USD",
                "lines": [
                    {
                        "categoryid": _OFFICE_SUPPLIES,
                        "description": f"Paper, {number}",
                        "quantity": 1,
                        "unit_cost": {"amount": f"{cents / 100:.2f}", "code": "USD"},
                    }
                ],
            },
        )
        self.played.bills.append(number)

    async def report(self) -> None:
        n = len(self.played.reports) + 1
        filed = await self._action(
            "expensify",
            "submit_report",
            {
                "employeeEmail": _REPORTER,
                "title": f"Chaos {self.tag} trip {n}",
                "expenses": [
                    {
                        "merchant": "United Airlines",
                        "amount": self.random.randint(5_000, 90_000),
                        "category": "Airfare",
                        "created": "2026-11-17",
                        "tag": "Client Services",
                    }
                ],
            },
        )
        report_id = str(filed["reportID"])
        await self._action("expensify", "approve_report", {"reportID": report_id})
        self.played.reports.append(report_id)

    async def _action(self, vendor: str, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = await self.http.post(
            f"{self.info.sandboxes[vendor]}/_sandbox/actions/{name}", json=payload
        )
        if not answer.is_success:
            msg = f"the {vendor} sandbox's {name} answered {answer.status_code}: {answer.text}"
            raise RuntimeError(msg)
        return dict(answer.json())


def expected_effects(info: StackInfo, played: Played) -> int:
    """How many records the played events should leave in the targets."""
    flows = {link.get("flow") for link in info.links}
    people = len(flows & {"people-freshbooks", "people-zoho", "people-acumatica"})
    return (
        len(played.hires) * people
        + len(played.bills) * ("ap-bill" in flows)
        + len(played.reports) * ("expenses" in flows)
    )


async def nudge_sources(info: StackInfo, http: httpx.AsyncClient) -> None:
    """What the minutes after an outage bring: the vendors send the webhooks they are
    retrying (brought forward, ``/_sandbox/webhooks/retry-now``: their clocks stay with
    ours, or the edge would refuse the retries' signatures as too new), and the next
    Expensify poll runs (``mlc connections sync``).

    Only once the edge says it is ready (``/healthz`` asks Kafka): a real vendor's retries
    are minutes apart, and bringing them forward while the edge is known to be down would
    spend a vendor's few retries (FreshBooks has two) in seconds.
    """
    try:
        ready = (await http.get(f"{info.ingest}/healthz")).status_code == 200
    except httpx.HTTPError:
        ready = False
    if not ready:
        return
    for base in info.sandboxes.values():
        answer = await http.post(f"{base}/_sandbox/webhooks/retry-now")
        answer.raise_for_status()
    if "expensify" in info.connections:
        # A sync the control plane cannot publish yet (503) is tried at the next nudge.
        with contextlib.suppress(DemoFailedError):
            await request_reconcile(info, info.connections["expensify"])


async def census(info: StackInfo, http: httpx.AsyncClient, played: Played) -> Census:
    """Count, per effect, the target records carrying its key."""
    flows = {link.get("flow") for link in info.links}
    counts: dict[str, tuple[Sequence[str], Counter[str]]] = {}

    async def state(vendor: str, collection: str) -> list[dict[str, Any]]:
        answer = await http.get(f"{info.sandboxes[vendor]}/_sandbox/state/{collection}")
        answer.raise_for_status()
        return list(answer.json())

    if "people-freshbooks" in flows:
        members = await state("freshbooks", "team_members")
        counts["FreshBooks team member"] = (played.hires, _keys(members, _email))
    if "people-zoho" in flows:
        contacts = await state("zoho", "contacts")
        # A contact is a person's once it has one of its people with that email.
        found: Counter[str] = Counter()
        for contact in contacts:
            people = [contact, *contact.get("contact_persons", [])]
            found.update({_email(person).lower() for person in people} - {""})
        counts["Zoho Books contact"] = (played.hires, found)
    if "people-acumatica" in flows:
        employees = await state("acumatica", "employees")
        counts["Acumatica employee"] = (
            played.hires,
            _keys(employees, lambda r: _email(r.get("ContactInfo") or {})),
        )
    if "ap-bill" in flows:
        copies = await state("bill", "bills")
        counts["BILL bill"] = (
            played.bills,
            _keys(copies, lambda b: str((b.get("invoice") or {}).get("invoiceNumber") or "")),
        )
    if "expenses" in flows:
        books = await state("freshbooks", "bills")
        numbers = [str(b.get("bill_number") or "") for b in books if b.get("vis_state") == 0]
        # A report's bill is numbered EXP-<report>; the report id is what was played.
        counts["FreshBooks bill of a report"] = (
            played.reports,
            Counter(n.removeprefix("EXP-").lower() for n in numbers if n.startswith("EXP-")),
        )
    landed: dict[str, int] = {}
    lost: dict[str, int] = {}
    duplicated: dict[str, int] = {}
    examples: list[str] = []
    missing_keys: dict[str, list[str]] = {}
    for kind, (keys, found) in counts.items():
        landed[kind] = sum(1 for key in keys if found[key.lower()] == 1)
        missing = [key for key in keys if found[key.lower()] == 0]
        doubled = [key for key in keys if found[key.lower()] > 1]
        lost[kind], duplicated[kind] = len(missing), len(doubled)
        missing_keys[kind] = missing
        examples += [f"{kind} for {key}: none" for key in missing[:3]]
        examples += [f"{kind} for {key}: {found[key.lower()]}" for key in doubled[:3]]
    return Census(landed, lost, duplicated, examples, missing_keys)


def _email(record: dict[str, Any]) -> str:
    return str(record.get("email") or record.get("Email") or "")


def _keys(records: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> Counter[str]:
    return Counter(key(record).lower() for record in records)
