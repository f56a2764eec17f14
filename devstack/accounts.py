"""Connect every sandbox account as a person would, and link the flows, through the operator API.

How a vendor is connected is its plugin's business (``services/vendors.py``): a vendor
whose plugin has ``oauth`` goes through its real consent (:mod:`devstack.consent`, with
the options of :data:`devstack.flows.CONSENT_OPTIONS`), unless it is one of
:data:`devstack.flows.PASSWORD_CONNECTED`; one with ``credentials`` gets the fields its
spec names, read from the sandbox's ``POST /_sandbox/credentials``
answer (what ``mlc connections add <vendor>`` sends). A vendor that cannot be connected
is recorded with the reason in ``StackInfo.unconnected``; the others go on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from devstack.consent import ConsentError, connect_with_consent
from devstack.flows import CONSENT_OPTIONS, LINK_OPTIONS, PASSWORD_CONNECTED, Flow
from services.runtime.credential_fields import CredentialSpec
from services.vendors import plugin

if TYPE_CHECKING:
    from devstack.stack import StackInfo

__all__ = ["AccountError", "connect_accounts", "key_credentials", "link_flows"]

Say = Callable[[str], None]


class AccountError(RuntimeError):
    """A sandbox account could not be connected; the message says why."""


def _api(info: StackInfo) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"{info.control}/api/v1",
        headers={"Authorization": f"Bearer {info.operator_token}"},
        timeout=30.0,
    )


def _connection_order(vendors: Iterable[str], flows: Iterable[Flow]) -> list[str]:
    """Flow sources last: a source's first reconcile may run as soon as it is connected,
    and a sink writes only for links that exist by then."""
    sources = {flow.source for flow in flows}
    listed = list(vendors)
    return [v for v in listed if v not in sources] + [v for v in listed if v in sources]


async def connect_accounts(
    info: StackInfo,
    flows: Iterable[Flow],
    credentials: Mapping[str, Mapping[str, Any]],
    *,
    earlier: Mapping[str, str],
    say: Say,
) -> None:
    """Connect the account of every sandbox in ``info.sandboxes`` (``earlier`` ones that
    the ingest still has active are kept) into ``info.connections``."""
    async with _api(info) as api:
        for vendor in _connection_order(info.sandboxes, list(flows)):
            kept = earlier.get(vendor)
            if kept is not None and await _active(api, kept):
                info.connections[vendor] = kept
                say(f"{vendor}: connected earlier as {kept}")
                continue
            try:
                info.connections[vendor] = await _connect(
                    info, api, vendor, credentials.get(vendor, {}), say
                )
            except (AccountError, ConsentError, httpx.HTTPError) as exc:
                info.unconnected[vendor] = str(exc) or type(exc).__name__
                say(f"{vendor}: NOT connected: {info.unconnected[vendor]}")
                continue
            say(f"{vendor}: connected as {info.connections[vendor]}")


async def _active(api: httpx.AsyncClient, connection_id: str) -> bool:
    answer = await api.get(f"/connections/{connection_id}")
    return answer.status_code == 200 and answer.json().get("status") == "active"


async def _connect(
    info: StackInfo,
    api: httpx.AsyncClient,
    vendor: str,
    credentials: Mapping[str, Any],
    say: Say,
) -> str:
    try:
        vendor_plugin = plugin(vendor)
    except KeyError:
        msg = "it has a sandbox but no plugin in services/vendors.py: nothing can connect it"
        raise AccountError(msg) from None
    webhooks = deliver_webhooks_to_ingest(info, vendor) if vendor_plugin.webhook else None
    if vendor_plugin.oauth is not None and vendor not in PASSWORD_CONNECTED:
        say(f"{vendor}: connecting through OAuth consent (scripted browser)")
        return await connect_with_consent(
            info.control,
            info.operator_token,
            vendor,
            display_name=f"{vendor} sandbox",
            options=_consent_options(vendor, credentials),
            before_consent=webhooks,
        )
    if vendor_plugin.credentials is not None:
        say(f"{vendor}: connecting with the sandbox's {vendor_plugin.credentials.style}")
        created = await api.post(
            "/connections",
            json={
                "vendor": vendor,
                "display_name": f"{vendor} sandbox",
                "credentials": key_credentials(vendor_plugin.credentials, credentials),
                "options": {},
            },
        )
        if created.status_code != 201:
            msg = f"the operator API answered {created.status_code}: {created.text}"
            raise AccountError(msg)
        connection_id = str(created.json()["id"])
        if webhooks is not None:
            # Registered as the connection became active; deliveries come only later.
            await webhooks(connection_id)
        return connection_id
    msg = (
        f"services/{vendor}/plugin.py offers neither oauth nor credentials: "
        "the stack knows no way to connect it"
    )
    raise AccountError(msg)


def _consent_options(vendor: str, credentials: Mapping[str, Any]) -> dict[str, str]:
    options: dict[str, str] = {}
    for option, source_field in CONSENT_OPTIONS.get(vendor, {}).items():
        value = credentials.get(source_field)
        if value in (None, ""):
            msg = (
                f"its consent needs {option!r}, read from {source_field!r} of the sandbox's "
                "POST /_sandbox/credentials, which has none"
            )
            raise AccountError(msg)
        options[option] = str(value)
    return options


def key_credentials(spec: CredentialSpec, credentials: Mapping[str, Any]) -> dict[str, str]:
    """The spec's fields, taken from the sandbox's credentials; a required one missing
    there is an AccountError naming it."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for spec_field in spec.fields:
        value = credentials.get(spec_field.name)
        if value in (None, ""):
            if spec_field.required:
                missing.append(spec_field.name)
            continue
        values[spec_field.name] = str(value)
    if missing:
        msg = (
            f"the sandbox's POST /_sandbox/credentials gives no {', '.join(missing)} "
            f"(fields of its {spec.style} connection)"
        )
        raise AccountError(msg)
    return values


async def link_flows(info: StackInfo, flows: Iterable[Flow], *, say: Say) -> None:
    """Link source to target for every flow (an existing link is kept) into ``info.links``."""
    async with _api(info) as api:
        existing = (await api.get("/links")).json()["links"]
        for flow in flows:
            if flow.source not in info.connections or flow.target not in info.connections:
                unconnected = [v for v in (flow.source, flow.target) if v in info.unconnected]
                say(f"{flow.name}: not linked ({', '.join(unconnected)} not connected)")
                continue
            source, target = info.connections[flow.source], info.connections[flow.target]
            link = next(
                (
                    known
                    for known in existing
                    if known["flow"] == flow.name
                    and known["source_connection_id"] == source
                    and known["target_connection_id"] == target
                ),
                None,
            )
            if link is None:
                created = await api.post(
                    "/links",
                    json={
                        "source_connection_id": source,
                        "target_connection_id": target,
                        "flow": flow.name,
                        "options": dict(LINK_OPTIONS.get(flow.name, {})),
                    },
                )
                if created.status_code != 201:
                    msg = f"linking {flow.name} answered {created.status_code}: {created.text}"
                    raise AccountError(msg)
                link = created.json()
            say(f"linked {source} -> {target} for {flow.name} ({link['id']})")
            info.links.append(
                {"id": str(link["id"]), "flow": flow.name, "source": source, "target": target}
            )


def deliver_webhooks_to_ingest(info: StackInfo, vendor: str) -> Callable[[str], Awaitable[None]]:
    """Point the vendor sandbox's webhook deliveries at the ingest's plain-HTTP listener.

    The ingest registers ``$MLC_PUBLIC_URL/webhooks/<vendor>/<connection id>`` at the
    vendor, and vendors want ``https://`` there. In a deployment a TLS-terminating proxy
    stands at that address; here the sandbox's delivery override plays that proxy, so
    the registration is the real one and deliveries reach the ingest unchanged.
    """

    async def configure(connection_id: str) -> None:
        async with httpx.AsyncClient(timeout=10.0) as client:
            # POST changes only the url: a test's fault settings stay.
            answer = await client.post(
                f"{info.sandboxes[vendor]}/_sandbox/webhooks",
                json={"url": f"{info.ingest}/webhooks/{vendor}/{connection_id}"},
            )
        answer.raise_for_status()

    return configure
