"""What the edge and the control plane need from a vendor, as ports a vendor folder fills.

Each ``services/<vendor>/plugin.py`` builds one :class:`VendorPlugin` from its own modules;
``services/vendors.py`` lists the plugins. The ingest edge reads a plugin's
:class:`WebhookScheme` and replay window, the control plane its OAuth knowledge, key-credential
fields and ping, and its webhook registrar; the local stack its sandbox settings. These
types live here, below all of them, so a vendor folder implements them without importing
the services that use them (STYLE.md rule 2: imports point down).

The parts that need the vendor's settings (read from ``MLC_<VENDOR>_*``) are factories:
building the registry reads no environment, so a process that never registers a webhook
never needs, say, an OAuth client secret to be valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import httpx

from services.runtime.credential_fields import CredentialSpec
from services.runtime.oauth_tokens import TokenSet

__all__ = [
    "DeliveryIdReader",
    "FlowSink",
    "Handshake",
    "HandshakeConfirmer",
    "HandshakeReader",
    "KeyVendor",
    "OAuthVendor",
    "Registered",
    "SandboxSettings",
    "VendorAccess",
    "VendorPlugin",
    "Verifier",
    "WebhookRegistrar",
    "WebhookScheme",
]


# --- webhook intake (the edge) ----------------------------------------------------------------


class Verifier(Protocol):
    """A vendor's ``verify``: returns if the request is genuine, else raises VerificationError."""

    def __call__(
        self,
        *,
        secret: str,
        body: bytes,
        headers: Mapping[str, str],
        query: Sequence[tuple[str, str]] = (),
        now: datetime,
        tolerance: timedelta,
    ) -> None: ...


class DeliveryIdReader(Protocol):
    """The vendor's own id of a delivery, or None when it sends none."""

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Handshake:
    """A vendor's request to confirm a webhook registration (not a delivery)."""

    verifier: str
    callback_id: str


class HandshakeReader(Protocol):
    """The handshake this request is, or None for an ordinary delivery."""

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> Handshake | None: ...


@dataclass(frozen=True, slots=True)
class WebhookScheme:
    """How one vendor's webhooks are checked."""

    vendor: str
    verify: Verifier
    delivery_id: DeliveryIdReader
    content_types: tuple[str, ...]
    secret_headers: tuple[str, ...]
    handshake: HandshakeReader | None = None


# --- connecting (the control plane) -----------------------------------------------------------


class OAuthVendor(Protocol):
    """One vendor's OAuth and identity knowledge; also the runtime's ``TokenRefresher``."""

    account_keys: tuple[str, ...]
    """The identity fields naming the account a connection's records live in (Zoho's
    organization): a reconnect must consent to the same one. Fields that come from the
    connection's own settings (BambooHR's subdomain) cannot differ and need not be named."""

    def authorize_url(self, state: str, options: Mapping[str, str]) -> str: ...

    async def exchange_code(
        self, http: httpx.AsyncClient, code: str, callback: Mapping[str, str]
    ) -> TokenSet: ...

    async def refresh(self, http: httpx.AsyncClient, tokens: TokenSet) -> TokenSet: ...

    async def read_identity(
        self, http: httpx.AsyncClient, tokens: TokenSet, callback: Mapping[str, str]
    ) -> dict[str, str]: ...

    async def ping(
        self, http: httpx.AsyncClient, tokens: TokenSet, identity: Mapping[str, Any]
    ) -> str: ...


class KeyVendor(Protocol):
    """A vendor whose connections hold keys/passwords (no consent): only ``ping`` is needed."""

    async def ping_with_credentials(
        self, http: httpx.AsyncClient, secrets: Mapping[str, str], settings: Mapping[str, Any]
    ) -> str: ...


# --- webhook registration at the vendor (the control plane) -----------------------------------


@dataclass(frozen=True, slots=True)
class VendorAccess:
    """What a registrar may use to call the vendor for one connection."""

    connection_id: str
    settings: Mapping[str, Any]
    secrets: Mapping[str, str]
    """Decrypted key/password credentials (empty for OAuth connections)."""
    tokens: TokenSet | None
    """A valid OAuth access token, or None for key/password connections."""


@dataclass(frozen=True, slots=True)
class Registered:
    """What the vendor answered: its webhook ids and, per id, the secret it handed back."""

    webhook_ids: tuple[str, ...]
    secrets: Mapping[str, str] = field(default_factory=dict)


class WebhookRegistrar(Protocol):
    """One vendor's registration knowledge (``services/<vendor>/webhook_registration.py``).

    Both calls raise ``VendorCallError`` when the vendor refuses, and let
    ``httpx.HTTPError`` through when it cannot be reached.
    """

    async def register(self, http: httpx.AsyncClient, access: VendorAccess, url: str) -> Registered:
        """Register ``url`` for the events the connection's flows need."""
        ...

    async def unregister(
        self, http: httpx.AsyncClient, access: VendorAccess, webhook_ids: Sequence[str]
    ) -> None:
        """Delete these registrations; one already gone is not an error."""
        ...


@runtime_checkable
class HandshakeConfirmer(Protocol):
    """A vendor that confirms a registration with a verifier it sends to the URL (FreshBooks)."""

    async def confirm(
        self, http: httpx.AsyncClient, access: VendorAccess, webhook_id: str, verifier: str
    ) -> None: ...


# --- the plugin -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlowSink:
    """A sink the vendor's service runs: it writes ``flow``'s links from ``topic``'s events.

    The control plane splits a link's replay (``mlc replay --link``) into one part per sink
    of the link's flow, run in the order the plugins list them; the service's wiring gives
    the same pairs their sinks (``services/runtime/link_replays.py``).
    """

    flow: str
    topic: str


SandboxSettings = Callable[[str, Mapping[str, Any]], dict[str, str]]
"""``(sandbox base URL, the sandbox's test-app credentials) -> MLC_* variables`` that point
the vendor's settings at its sandbox (the local stack and the demo)."""


@dataclass(frozen=True, slots=True)
class VendorPlugin:
    """Everything outside a vendor's own service needs to know about that vendor.

    ``name`` is the vendor as in URLs, ``raw.<vendor>`` and ``connections.vendor``. Every
    other part is optional: a vendor without webhooks has no ``webhook``, one without
    OAuth no ``oauth``. Factories read the vendor's settings when called.
    """

    name: str
    webhook: WebhookScheme | None = None
    """How the edge verifies its webhooks (``webhook.py``)."""
    replay_window_seconds: Callable[[], float] | None = None
    """Its own window for signed timestamps, when the edge's default does not fit."""
    oauth: Callable[[], OAuthVendor] | None = None
    """Its consent, code exchange, refresh, identity and ping (``auth.py``)."""
    credentials: CredentialSpec | None = None
    """The fields of a key/password connection (``connection.py``)."""
    key_ping: Callable[[], KeyVendor] | None = None
    """The ping of a key/password connection (``ping.py`` or ``auth.py``)."""
    registrar: Callable[[], WebhookRegistrar] | None = None
    """Registers our intake URL at the vendor (``webhook_registration.py``)."""
    sandbox_settings: SandboxSettings | None = None
    """Points its settings at ``sandboxes/<vendor>`` (the local stack)."""
    schedules: tuple[Mapping[str, Any], ...] = ()
    """Schedules each of its connections gets besides the control plane's defaults
    (``services/runtime/schedule_specs.py``); a stored schedule of the same name wins."""
    sinks: tuple[FlowSink, ...] = ()
    """The canonical events its service writes, per flow, in the order a replay runs them."""
