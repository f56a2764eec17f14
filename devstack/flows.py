"""The flows the local stack runs, as data: ``make up`` links each, ``make demo`` plays them.

A flow here is built: both its vendors' services run. The stack starts the services of
every flow below (each vendor once), and links a source connection to a target
connection for each. Flows not built yet are left out until they are; README's table
names all five (``ap-bill`` and ``expenses`` join this list the day their services run;
``ap-bill`` goes both ways, so it will be two entries).

``CONSENT_OPTIONS`` is one other piece of vendor knowledge the stack needs and the vendor
registry has no port for: what an OAuth vendor's consent asks for before it starts
(``mlc connections add bamboohr --oauth --set subdomain=...``), read from the sandbox's
test-app credentials. ``PASSWORD_CONNECTED`` is the other: vendors that offer both OAuth
and a password, connected here with the password.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CONSENT_OPTIONS",
    "FLOWS",
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
)

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
