"""The flows the local stack runs, as data: ``make up`` links each, ``make demo`` plays them.

A flow here is built: both its vendors' services run. The stack starts the services of
every flow below (each vendor once), and links a source connection to a target
connection for each: all five flows of README's table.

``CONSENT_OPTIONS`` is one other piece of vendor knowledge the stack needs and the vendor
registry has no port for: what an OAuth vendor's consent asks for before it starts
(``mlc connections add bamboohr --oauth --set subdomain=...``), read from the sandbox's
test-app credentials. ``PASSWORD_CONNECTED`` is another: vendors that offer both OAuth
and a password, connected here with the password. ``LINK_OPTIONS`` are the links' options
that fit the sandboxes' seeds (flow ap-bill's GL account map, flow expenses' vendors).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CONSENT_OPTIONS",
    "FLOWS",
    "LINK_OPTIONS",
    "PASSWORD_CONNECTED",
    "Flow",
    "UnknownFlowError",
    "flows_named",
    "services_of",
]


@dataclass(frozen=True, slots=True)
class Flow:
    """One flow: its name as the operator API's links know it, and its two vendors."""

    name: str
    source: str
    target: str


FLOWS: Final[tuple[Flow, ...]] = (
    Flow("people-freshbooks", source="bamboohr", target="freshbooks"),
    Flow("people-zoho", source="bamboohr", target="zoho"),
    Flow("people-acumatica", source="bamboohr", target="acumatica"),
    # One link carries both ways: bills and vendors to BILL, BILL's payments back.
    Flow("ap-bill", source="freshbooks", target="bill"),
    Flow("expenses", source="expensify", target="freshbooks"),
)

LINK_OPTIONS: Final[Mapping[str, Mapping[str, object]]] = {
    # The FreshBooks sandbox's expense categories -> the BILL sandbox's GL account numbers,
    # where their names differ (Office Supplies, Travel, Utilities, ... match by name).
    # The bills' tax has no account here on purpose: a taxed bill waits in the review queue.
    "ap-bill": {
        "account_map": {
            "3001": "6000",  # Advertising -> Advertising and Marketing
            "3003": "5000",  # Contractors -> Cost of Services: Freelancers
            "3011": "1500",  # Hardware -> Computer Equipment
            "3014": "6100",  # Software -> Software Subscriptions
            "3023": "6200",  # Equipment (rented) -> Rent
            "3024": "6200",  # Office Space -> Rent
            "3028": "6500",  # Taxi & Parking -> Travel
        }
    },
    # Employees owed money become FreshBooks bill vendors on their first report; Expensify
    # is read every minute, so an approval shows in the books within a minute or two.
    "expenses": {"create_bill_vendors": True, "poll_every_seconds": 60},
}
"""Link options the stack sets when it links a flow (``mlc links add ... --options``)."""

# vendor -> {consent option: field of the sandbox's `POST /_sandbox/credentials` answer}
CONSENT_OPTIONS: Final[Mapping[str, Mapping[str, str]]] = {
    "bamboohr": {"subdomain": "company_domain"},
}

PASSWORD_CONNECTED: Final[frozenset[str]] = frozenset({"acumatica"})
"""Acumatica: a password connection is what flow 3's story and seat counting use, and its
consent needs a Connected Application per instance (the OAuth tests cover it)."""


class UnknownFlowError(LookupError):
    """A flow name that is not a built flow; the message lists the known ones."""


def flows_named(names: Iterable[str] | None = None) -> tuple[Flow, ...]:
    """The built flows called ``names`` (every built flow for None), in ``FLOWS`` order."""
    if names is None:
        return FLOWS
    wanted = list(names)
    known = {flow.name: flow for flow in FLOWS}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        msg = f"unknown flow {', '.join(unknown)}; the built flows are: {', '.join(known)}"
        raise UnknownFlowError(msg)
    return tuple(flow for flow in FLOWS if flow.name in wanted)


def services_of(flows: Iterable[Flow]) -> tuple[str, ...]:
    """The vendor services the flows need, each once, sources before targets as listed."""
    services: dict[str, None] = {}
    for flow in flows:
        services.setdefault(flow.source)
        services.setdefault(flow.target)
    return tuple(services)
