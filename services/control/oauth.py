"""OAuth consent for vendors that use the authorization-code grant, vendor-neutral.

``start`` creates a pending connection and a consent URL whose ``state`` is
``"{connection_id}.{random}"``; the random part is kept encrypted (vault field
``oauth_state``) with its expiry, so the callback finds the connection from the state
alone and checks it single-use and unexpired. The callback exchanges the code,
reads the identity (which account/organization/subdomain the token speaks for),
stores the tokens encrypted (field ``oauth_tokens``) and the identity in the
connection's settings, and marks the connection active. ``ping`` makes one real read
call through the vendor's client, refreshing once on a 401; a refresh the vendor
refuses means the consent is gone, and the verdict says to reconnect.

``reconnect`` asks for a new consent on an existing connection (a revoked or broken one,
or one that needs more scopes): the same connection id, settings and links, so nothing
is re-linked or backfilled; the callback then replaces its tokens. The consent must be for
the same account (the vendor's :attr:`OAuthVendor.account_keys`), since the connection's
links and cross-references name records in that account.

Vendor knowledge lives behind :class:`OAuthVendor`, implemented in each vendor folder.
"""

from __future__ import annotations

import hmac
import html
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import uuid4

import httpx
import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from schemas.envelope import utcnow
from services.control.operator_auth import OperatorAuth, operator_route_class
from services.control.operator_contract import (
    PREFIX,
    OAuthStart,
    OAuthStarted,
    OAuthStatusOut,
    PingOut,
    error_responses,
)
from services.runtime.oauth_tokens import (
    TOKENS_FIELD,
    OAuthRefusedError,
    TokenKeeper,
    VendorCallError,
    reconnect_action,
    save_tokens,
)
from services.runtime.store import ConnectionRecord, Repositories, StateStore
from services.runtime.vault import Vault, VaultError
from services.runtime.vendor_plugin import KeyVendor, OAuthVendor
from services.runtime.webhook_handshakes import vendor_http

__all__ = [
    "ConsentProgress",
    "OAuthFlow",
    "PingVerdict",
    "oauth_callback_route",
    "oauth_router",
    "vendor_http",
]

STATE_FIELD = "oauth_state"
STATE_TTL = timedelta(minutes=10)  # consent is interactive; a code itself lives 5 min
PENDING = "pending_consent"
ACTIVE = "active"


class _CallbackRefusedError(Exception):
    """A callback we turn away with 400; ``subject`` is the connection or the vendor."""

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(reason)
        self.subject = subject
        self.reason = reason


CALLBACK_RECEIVED: Final = "oauth.callback_received"
# The audit entries a consent writes, the newest of which says where it stands.
_CONSENT_ACTIONS: Final = frozenset(
    {
        "oauth.started",
        "oauth.reconnect_started",
        CALLBACK_RECEIVED,
        "oauth.connected",
        "oauth.reconnected",
        "oauth.callback_refused",
    }
)


@dataclass(frozen=True, slots=True)
class ConsentProgress:
    """The answer to ``GET /oauth/connections/{id}``."""

    status: str
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class PingVerdict:
    """The answer to ``mlc connections ping``: ok, or why not and what to do."""

    ok: bool
    detail: str
    action: str = ""


class OAuthFlow:
    """Start, callback and ping over one store, vault and set of OAuth vendors."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        vendors: Mapping[str, OAuthVendor],
        http: Callable[[str], httpx.AsyncClient] = vendor_http,
        key_vendors: Mapping[str, KeyVendor] | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_active: Callable[[str], Awaitable[object]] | None = None,
        on_reconnected: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        self._store = store
        self._on_active = on_active  # webhook registration and default schedules
        # A renewed consent keeps the vendor's registration; only a failed one is redone.
        self._on_reconnected = on_reconnected
        self._vault = vault
        self._vendors = vendors
        self._key_vendors = dict(key_vendors or {})
        self._http = http  # builds a client for a connection key (tests pass sandbox transports)
        self._clock = clock
        # Nothing kept: the control plane reads a connection's tokens right after a consent
        # replaced them (a reconnect's identity check must see the new pair), and seldom.
        self._keepers = {
            name: TokenKeeper(
                store=store,
                vault=vault,
                refresher=knowledge,
                http=http,
                clock=clock,
                keep=timedelta(0),
            )
            for name, knowledge in vendors.items()
        }

    def _vendor(self, name: str) -> OAuthVendor:
        if name not in self._vendors:
            msg = (
                f"{name!r} is not an OAuth vendor here (known: {', '.join(sorted(self._vendors))})"
            )
            raise KeyError(msg)
        return self._vendors[name]

    async def start(
        self,
        vendor: str,
        *,
        tenant_id: str,
        display_name: str,
        options: Mapping[str, str] | None = None,
    ) -> tuple[str, str]:
        """A pending connection and its consent URL: ``(connection_id, url)``.

        ``options`` are what the vendor needs before consent (BambooHR's subdomain); they
        become the connection's first settings and reach every later vendor call.
        """
        knowledge = self._vendor(vendor)
        options = dict(options or {})
        connection_id = uuid4().hex
        # Built before any write: options the vendor rejects (ValueError) leave nothing behind.
        nonce = secrets.token_urlsafe(32)
        consent_url = knowledge.authorize_url(f"{connection_id}.{nonce}", options)
        async with self._store.transaction() as repos:
            record = await repos.connections.create(
                vendor=vendor,
                tenant_id=tenant_id,
                display_name=display_name,
                settings=options,
                status=PENDING,
                connection_id=connection_id,
            )
            await self._put_state(repos, record.id, nonce)
            await repos.audit_log.append(
                actor="operator",
                action="oauth.started",
                subject=record.id,
                detail={"vendor": vendor},
            )
        return record.id, consent_url

    async def reconnect(self, connection_id: str) -> str:
        """A consent URL that renews ``connection_id``'s tokens in place.

        Raises :class:`LookupError` for no such connection and :class:`KeyError` for one
        whose vendor does not connect by OAuth here.
        """
        async with self._store.reading() as repos:
            record = await repos.connections.get(connection_id)
        if record is None:
            msg = f"no connection {connection_id}"
            raise LookupError(msg)
        knowledge = self._vendor(record.vendor)
        nonce = secrets.token_urlsafe(32)
        # The consent goes to the same place as the first one (BambooHR's subdomain,
        # Acumatica's instance): the settings are the options it started from.
        options = {k: str(v) for k, v in record.settings.items()}
        consent_url = knowledge.authorize_url(f"{connection_id}.{nonce}", options)
        async with self._store.transaction() as repos:
            await self._put_state(repos, connection_id, nonce)
            await repos.audit_log.append(
                actor="operator",
                action="oauth.reconnect_started",
                subject=connection_id,
                detail={"vendor": record.vendor, "status": record.status},
            )
        return consent_url

    async def _put_state(self, repos: Repositories, connection_id: str, nonce: str) -> None:
        expires_at = self._clock() + STATE_TTL
        secret = orjson.dumps({"nonce": nonce, "expires_at": expires_at.isoformat()}).decode()
        await repos.credentials.put(
            connection_id,
            STATE_FIELD,
            token=self._vault.encrypt(secret, connection_id=connection_id, field=STATE_FIELD),
            key_id=self._vault.active_key_id,
        )

    async def _claim_state(self, vendor: str, state: str) -> str | None:
        """The connection id if ``state`` is valid, ``"expired"``, or None.

        Only the genuine state is spent: a callback with a real connection id and a wrong
        nonce (anyone can see a pending connection's id in a consent URL) changes nothing,
        so a third party cannot cancel someone's consent. The compare and the delete run in
        one transaction and the delete must remove the row, so two genuine callbacks racing
        each other complete the connection once.
        """
        connection_id, _, nonce = state.partition(".")
        if not connection_id or not nonce:
            return None
        async with self._store.transaction() as repos:
            record = await repos.connections.get(connection_id)
            stored = await repos.credentials.get(connection_id, STATE_FIELD) if record else None
            if record is None or record.vendor != vendor or stored is None:
                return None
            kept = self._kept_state(connection_id, stored.token)
            if kept is None or not hmac.compare_digest(kept[0].encode(), nonce.encode()):
                return None
            if not await repos.credentials.delete(connection_id, STATE_FIELD):
                return None  # another callback spent it first
            if kept[1] <= self._clock():
                return "expired"
            # Until its outcome is written the consent still counts as pending (status).
            await repos.audit_log.append(
                actor="oauth-callback",
                action=CALLBACK_RECEIVED,
                subject=connection_id,
                detail={"vendor": vendor},
            )
        return connection_id

    def _kept_state(self, connection_id: str, token: str) -> tuple[str, datetime] | None:
        """The stored ``(nonce, expires_at)``, or None when it cannot be read."""
        try:
            kept = orjson.loads(
                self._vault.decrypt(token, connection_id=connection_id, field=STATE_FIELD)
            )
            return str(kept["nonce"]), datetime.fromisoformat(kept["expires_at"])
        except (VaultError, ValueError, KeyError, TypeError):
            return None

    async def _accepted_connection(self, vendor: str, query: Mapping[str, str]) -> str:
        """The connection a callback completes; raises :class:`_CallbackRefusedError` if none."""
        if query.get("error"):
            raise _CallbackRefusedError(vendor, f"the vendor refused consent: {query['error']}")
        state = query.get("state", "")
        claimed = await self._claim_state(vendor, state) if state else None
        if claimed is None:
            raise _CallbackRefusedError(
                vendor, "unknown or already used state; start again with mlc connections add"
            )
        if claimed == "expired":
            raise _CallbackRefusedError(
                vendor, "the consent took too long (state expired); start again"
            )
        if not query.get("code"):
            raise _CallbackRefusedError(claimed, "the callback carried no code")
        return claimed

    async def callback(self, vendor: str, query: Mapping[str, str]) -> tuple[int, str]:
        """Handle the vendor's redirect; ``(http status, message for the browser)``."""
        if vendor not in self._vendors:
            return 404, f"no OAuth vendor {vendor!r}"
        knowledge = self._vendors[vendor]
        try:
            connection_id = await self._accepted_connection(vendor, query)
            async with self._store.transaction() as repos:
                record = await repos.connections.get(connection_id)
            options = {} if record is None else {k: str(v) for k, v in record.settings.items()}
            # Start options win over the query: the redirect may not choose our hosts.
            context = {**query, **options}
            async with self._http(connection_id) as http:
                try:
                    tokens = await knowledge.exchange_code(http, query["code"], context)
                    identity = await knowledge.read_identity(http, tokens, context)
                except (OAuthRefusedError, VendorCallError) as error:
                    raise _CallbackRefusedError(
                        connection_id, f"code exchange failed: {error}"
                    ) from None
            renewed = None if record is None or record.status == PENDING else record.status
            other = _other_account(knowledge.account_keys, options, identity)
            if other:
                raise _CallbackRefusedError(
                    connection_id,
                    f"this consent is for another account ({other}) than the connection's; "
                    "sign in to the same account, or add a new connection for this one",
                )
        except _CallbackRefusedError as refused:
            async with self._store.transaction() as repos:
                await repos.audit_log.append(
                    actor="oauth-callback",
                    action="oauth.callback_refused",
                    subject=refused.subject,
                    detail={"reason": refused.reason},
                )
            return 400, refused.reason
        async with self._store.transaction() as repos:
            await save_tokens(repos, self._vault, connection_id, tokens)
            # Read again: the settings hold more than strings (the webhook's registration),
            # and may have changed during the exchange.
            current = await repos.connections.get(connection_id)
            settings = {} if current is None else current.settings
            await repos.connections.update(
                connection_id, settings={**settings, **identity}, status=ACTIVE
            )
            await repos.audit_log.append(
                actor="oauth-callback",
                action="oauth.connected" if renewed is None else "oauth.reconnected",
                subject=connection_id,
                detail={"vendor": vendor, **identity},
            )
        then = self._on_active if renewed is None else self._on_reconnected
        if then is not None:
            await then(connection_id)
        return 200, "Connected. You can close this window."

    async def status(self, connection_id: str) -> ConsentProgress | None:
        """Where the connection's consent stands; None for no such connection.

        While a consent asked for it is outstanding, or its callback is still exchanging the
        code, the status is :data:`PENDING`, also for a reconnect of a connection that is
        still active; once the callback turned it away, ``refused`` says why, so whoever
        waits stops waiting.
        """
        async with self._store.reading() as repos:
            record = await repos.connections.get(connection_id)
            if record is None:
                return None
            stored = await repos.credentials.get(connection_id, STATE_FIELD)
            history = await repos.audit_log.list(subject=connection_id, limit=20)
        kept = None if stored is None else self._kept_state(connection_id, stored.token)
        if kept is not None and kept[1] > self._clock():
            return ConsentProgress(PENDING)
        last = next((e for e in history if e.action in _CONSENT_ACTIONS), None)
        if (
            last is not None
            and last.action == CALLBACK_RECEIVED
            and last.at + STATE_TTL > self._clock()
        ):
            return ConsentProgress(PENDING)  # the callback is exchanging the code
        if last is not None and last.action == "oauth.callback_refused":
            return ConsentProgress(record.status, refused=str(last.detail.get("reason", "")))
        return ConsentProgress(record.status)

    async def ping(self, connection_id: str) -> PingVerdict:
        """One real read call; refresh once on a 401 and save the new pair before using it."""
        async with self._store.transaction() as repos:
            record = await repos.connections.get(connection_id)
            stored = await repos.credentials.get(connection_id, TOKENS_FIELD) if record else None
        if record is None or stored is None or record.vendor not in self._vendors:
            return await self._ping_without_tokens(connection_id, record)
        reconnect = reconnect_action(connection_id)
        try:
            detail = await self._read_once(record.vendor, connection_id, record.settings)
        except OAuthRefusedError as error:
            return PingVerdict(False, f"the vendor refused our refresh token ({error})", reconnect)
        except (VendorCallError, httpx.HTTPError) as error:
            return _failed_call_verdict(error, unauthorized_action=reconnect)
        return PingVerdict(True, detail)

    async def _ping_without_tokens(
        self, connection_id: str, record: ConnectionRecord | None
    ) -> PingVerdict:
        """No connection, a key/password connection, or consent that never completed."""
        if record is None:
            return PingVerdict(
                False, f"no connection {connection_id}", "check mlc connections list"
            )
        if record.vendor in self._key_vendors and record.status != PENDING:
            return await self._ping_with_credentials(record.vendor, connection_id, record.settings)
        if record.vendor in self._vendors:
            return PingVerdict(
                False,
                "the connection has no OAuth tokens (consent never completed)",
                reconnect_action(connection_id),
            )
        return PingVerdict(False, f"ping is not available for {record.vendor} connections")

    async def _ping_with_credentials(
        self, vendor: str, connection_id: str, settings: Mapping[str, Any]
    ) -> PingVerdict:
        async with self._store.transaction() as repos:
            stored = await repos.credentials.list(connection_id=connection_id)
        secrets_by_field = {
            c.field: self._vault.decrypt(c.token, connection_id=connection_id, field=c.field)
            for c in stored
        }
        fix = "replace the credentials: mlc connections remove, then mlc connections add"
        try:
            async with self._http(connection_id) as http:
                detail = await self._key_vendors[vendor].ping_with_credentials(
                    http, secrets_by_field, settings
                )
        except (VendorCallError, httpx.HTTPError) as error:
            return _failed_call_verdict(error, unauthorized_action=fix)
        return PingVerdict(True, detail)

    async def _read_once(self, vendor: str, connection_id: str, identity: Mapping[str, Any]) -> str:
        knowledge, keeper = self._vendors[vendor], self._keepers[vendor]
        tokens = await keeper.access_token(connection_id)
        async with self._http(connection_id) as http:
            try:
                return await knowledge.ping(http, tokens, identity)
            except VendorCallError as error:
                # A 401 before our own expiry: the vendor ended the token early; refresh once.
                if not error.unauthorized:
                    raise
            tokens = await keeper.after_unauthorized(connection_id, tokens)
            return await knowledge.ping(http, tokens, identity)


def _other_account(
    keys: tuple[str, ...], settings: Mapping[str, str], identity: Mapping[str, str]
) -> str:
    """How ``identity`` names another account than the connection's ``settings`` do
    (``"organization_id 2 (was 1)"``), or ``""``: a first consent has none to differ from."""
    return ", ".join(
        f"{key} {identity[key]} (was {settings[key]})"
        for key in keys
        if settings.get(key) and key in identity and identity[key] != settings[key]
    )


def _failed_call_verdict(
    error: VendorCallError | httpx.HTTPError, *, unauthorized_action: str
) -> PingVerdict:
    """The verdict on a read call that failed: refused credentials, a vendor error, silence."""
    if isinstance(error, VendorCallError):
        retry = "check the vendor's status and retry"
        return PingVerdict(False, str(error), unauthorized_action if error.unauthorized else retry)
    return PingVerdict(
        False,
        f"the vendor did not answer: {type(error).__name__}",
        "check the network and the vendor's base URL settings",
    )


def oauth_callback_route(flow: OAuthFlow) -> Route:
    """The public ``GET /oauth/{vendor}/callback`` the vendor redirects the browser to (no
    operator token: the single-use state is its check; not an operator route)."""

    async def callback(request: Request) -> Response:
        status, message = await flow.callback(
            request.path_params["vendor"], dict(request.query_params)
        )
        # A page a person reads in the browser the vendor sent back: its tab says the result.
        title = "connected" if status < 400 else "not connected"
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>ml-connector: {title}</title></head>"
            f"<body><p>{html.escape(message)}</p></body></html>"
        )
        return HTMLResponse(page, status_code=status)

    return Route("/oauth/{vendor}/callback", callback, methods=["GET"])


def oauth_router(flow: OAuthFlow, *, auth: OperatorAuth, tenant_id: str = "default") -> APIRouter:
    """Behind the operator token: ``POST /api/v1/oauth/{vendor}/start``,
    ``POST /api/v1/connections/{id}/reconnect``, ``GET /api/v1/oauth/connections/{id}`` and
    ``POST /api/v1/connections/{id}/ping``."""
    router = APIRouter(
        prefix=PREFIX,
        route_class=operator_route_class(auth),
        responses=error_responses(401, 422, 503),
    )

    @router.post(
        "/oauth/{vendor}/start",
        status_code=201,
        response_model=OAuthStarted,
        summary="Start OAuth consent: a pending connection and its consent URL",
        responses=error_responses(400, 404),
    )
    async def start(vendor: str, body: OAuthStart | None = None) -> OAuthStarted | JSONResponse:
        wanted = body or OAuthStart()
        try:
            connection_id, url = await flow.start(
                vendor,
                tenant_id=wanted.tenant_id or tenant_id,
                display_name=wanted.display_name or vendor,
                options=wanted.options,
            )
        except KeyError as error:
            return JSONResponse({"error": str(error.args[0])}, status_code=404)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return OAuthStarted(connection_id=connection_id, consent_url=url)

    @router.post(
        "/connections/{connection_id}/reconnect",
        status_code=201,
        response_model=OAuthStarted,
        summary="A new consent for an existing connection: its tokens renewed, its links kept",
        responses=error_responses(400, 404),
    )
    async def reconnect(connection_id: str) -> OAuthStarted | JSONResponse:
        try:
            url = await flow.reconnect(connection_id)
        except KeyError as error:
            return JSONResponse({"error": str(error.args[0])}, status_code=400)
        except LookupError as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return OAuthStarted(connection_id=connection_id, consent_url=url)

    @router.get(
        "/oauth/connections/{connection_id}",
        response_model=OAuthStatusOut,
        summary="A consent's progress",
        responses=error_responses(404),
    )
    async def status(connection_id: str) -> OAuthStatusOut | JSONResponse:
        found = await flow.status(connection_id)
        if found is None:
            return JSONResponse({"error": "no such connection"}, status_code=404)
        return OAuthStatusOut(status=found.status, refused=found.refused)

    @router.post(
        "/connections/{connection_id}/ping", summary="One real read call against the vendor"
    )
    async def ping(connection_id: str) -> PingOut:
        verdict = await flow.ping(connection_id)
        return PingOut(ok=verdict.ok, detail=verdict.detail, action=verdict.action)

    return router
