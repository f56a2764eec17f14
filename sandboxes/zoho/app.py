"""The Zoho Books sandbox: DC routing, auth and organization checks, limits, actions.

Read `docs/vendors/zoho-sandbox.md` for how to run it and which behaviours are settings.
Vendor facts come from `../shared/vendors/zoho-books.md`; nothing here imports `services/`.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandboxes.kit import (
    Action,
    LimitPolicy,
    LimitRefusal,
    Record,
    SandboxClock,
    Seed,
    VendorSandbox,
)
from sandboxes.zoho.actions import UiActions
from sandboxes.zoho.auth import AccountsServer
from sandboxes.zoho.contacts import ContactBook
from sandboxes.zoho.endpoints import BooksApi, Call
from sandboxes.zoho.errors import (
    CONCURRENCY_CODE,
    CONCURRENCY_MESSAGE,
    DAILY_LIMIT_CODE,
    INVALID_URL_CODE,
    METHOD_NOT_ALLOWED_CODE,
    PER_MINUTE_CODE,
    PER_MINUTE_MESSAGE,
    ZohoError,
    zoho_json,
)
from sandboxes.zoho.regions import Resolved, region_by_code, resolve
from sandboxes.zoho.seed import OAUTH_CLIENT, build_account, build_seed
from sandboxes.zoho.settings import ZohoSandboxSettings
from sandboxes.zoho.webhooks import WebhookRegistry

__all__ = ["ZohoSandbox", "build_sandbox"]

SCOPE_KEY = "zoho"
Handler = Callable[[Request, Call], Awaitable[Response]]
DAY = 86400


class ZohoSandbox(VendorSandbox):
    name = "zoho"
    collections = ("organizations", "users", "oauth_clients", "contacts", "reporting_tags",
                   "webhooks")  # fmt: skip

    def __init__(
        self,
        *,
        settings: ZohoSandboxSettings | None = None,
        clock: SandboxClock | None = None,
        limits: LimitPolicy | None = None,
        seed: Seed | None = None,
        empty: bool = False,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or ZohoSandboxSettings()
        region_by_code(self.settings.region)  # an unknown region fails here, loudly
        super().__init__(
            clock=clock, limits=limits, seed=seed, empty=empty, webhook_transport=webhook_transport
        )

    # --- kit hooks -------------------------------------------------------------------------

    def setup(self) -> None:
        self.accounts = AccountsServer(self.state, self.clock, self.settings)
        self.registry = WebhookRegistry(self.state, self.settings, self.webhooks)
        self.contacts = ContactBook(self.state, self.clock, self.settings, self._on_change)
        self.api = BooksApi(self.state, self.settings, self.contacts, self.registry)
        self._daily: dict[str, tuple[int, int]] = {}

    def on_reset(self) -> None:
        self.accounts.reset()
        self._daily = {}
        # Like a fresh Zoho Books signup, an "empty" sandbox still has its user, OAuth
        # client and organizations; a seed with the same ids replaces them.
        self.state.load(build_account())

    def default_seed(self) -> Seed:
        return build_seed()

    def credentials(self) -> dict[str, Any]:
        clients = self.state.records("oauth_clients")
        client = clients[0] if clients else OAUTH_CLIENT
        return {
            "client_id": client["id"],
            "client_secret": client["client_secret"],
            "redirect_uri": client["redirect_uris"][0],
            "organization_id": self._default_org_id(),
            "region": self._default_user().get("region", self.settings.region),
        }

    def default_limits(self) -> LimitPolicy:
        # Concurrency here is the paid cap; Free orgs get their lower cap in `_guard`.
        return LimitPolicy(
            requests=self.settings.requests_per_minute,
            window_seconds=60.0,
            concurrent=self.settings.concurrency_paid,
        )

    def limit_key(self, request: Request) -> str | None:
        resolved = self._resolve_scope(request.scope)
        if resolved is None or resolved.kind != "api":
            return None
        return request.query_params.get("organization_id") or None

    def limited_response(self, request: Request, refusal: LimitRefusal) -> Response:
        if refusal.reason == "rate":
            body = {"code": PER_MINUTE_CODE, "message": PER_MINUTE_MESSAGE}
        else:
            body = {"code": CONCURRENCY_CODE, "message": CONCURRENCY_MESSAGE}
        headers = (
            {"Retry-After": str(refusal.retry_after)} if self.settings.send_retry_after else {}
        )
        return zoho_json(body, status=429, headers=headers)

    def webhook_timeout_seconds(self) -> float:
        return self.settings.webhook_timeout_seconds

    def webhook_retry_on(self, status: int | None) -> bool:
        if status is None or status >= 500:
            return True
        return self.settings.webhook_retry_on_4xx and 400 <= status < 500

    def actions(self) -> Mapping[str, Action]:
        return UiActions(self.contacts, self.api, self.state, self._default_org_id).table()

    # --- routing ---------------------------------------------------------------------------

    def _resolve_scope(self, scope: Scope) -> Resolved | None:
        cached = scope.get(SCOPE_KEY)
        if isinstance(cached, Resolved):
            return cached
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        return resolve(scope["path"], host, region_by_code(self._default_region()))

    def vendor_app(self) -> ASGIApp:
        async def not_found(request: Request, exc: Exception) -> Response:
            return zoho_json(
                {"code": INVALID_URL_CODE, "message": "Invalid URL Passed"}, status=404
            )

        async def not_allowed(request: Request, exc: Exception) -> Response:
            body = {"code": METHOD_NOT_ALLOWED_CODE, "message": "Method not allowed"}
            return zoho_json(body, status=405)

        handlers: dict[Any, Any] = {404: not_found, 405: not_allowed}
        books = Starlette(routes=list(self.routes()), exception_handlers=handlers)
        accounts = Starlette(routes=self._accounts_routes(), exception_handlers=handlers)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await books(scope, receive, send)
                return
            resolved = self._resolve_scope(scope)
            if resolved is None:
                response = await not_found(Request(scope), LookupError(scope["path"]))
                await response(scope, receive, send)
                return
            inner = {**scope, "path": resolved.path, "raw_path": resolved.path.encode(),
                     SCOPE_KEY: resolved}  # fmt: skip
            await (books if resolved.kind == "api" else accounts)(inner, receive, send)

        return app

    def _accounts_routes(self) -> list[BaseRoute]:
        a = self.accounts

        def on(
            handler: Callable[[Request, Resolved], Awaitable[Response]],
        ) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                return await handler(request, request.scope[SCOPE_KEY])

            return endpoint

        return [
            Route("/oauth/v2/auth", on(a.authorize), methods=["GET"]),
            Route("/oauth/v2/token", on(a.token), methods=["POST"]),
            Route("/oauth/v2/token/revoke", on(a.revoke), methods=["POST"]),
            Route("/oauth/serverinfo", on(a.serverinfo), methods=["GET"]),
        ]

    def routes(self) -> Sequence[BaseRoute]:
        b, api = self.api, self._api
        return [
            Route("/organizations", api(b.list_organizations, "settings", "READ", org=False),
                  methods=["GET"]),
            Route("/organizations/{organization_id}",
                  api(b.get_organization, "settings", "READ", org=False), methods=["GET"]),
            Route("/contacts", api(b.list_contacts, "contacts", "READ"), methods=["GET"]),
            Route("/contacts", api(b.create_contact, "contacts", "CREATE"), methods=["POST"]),
            Route("/contacts", api(b.update_by_unique_field, "contacts", "UPDATE"),
                  methods=["PUT"]),
            Route("/contacts/contactpersons", api(b.create_person, "contacts", "CREATE"),
                  methods=["POST"]),
            Route("/contacts/contactpersons/{contact_person_id}",
                  api(b.update_person, "contacts", "UPDATE"), methods=["PUT"]),
            Route("/contacts/contactpersons/{contact_person_id}",
                  api(b.delete_person, "contacts", "DELETE"), methods=["DELETE"]),
            Route("/contacts/contactpersons/{contact_person_id}/primary",
                  api(b.make_primary, "contacts", "UPDATE"), methods=["POST"]),
            Route("/contacts/{contact_id}", api(b.get_contact, "contacts", "READ"),
                  methods=["GET"]),
            Route("/contacts/{contact_id}", api(b.update_contact, "contacts", "UPDATE"),
                  methods=["PUT"]),
            Route("/contacts/{contact_id}", api(b.delete_contact, "contacts", "DELETE"),
                  methods=["DELETE"]),
            # [V] the docs list contacts.CREATE for mark active/inactive (open question 7).
            Route("/contacts/{contact_id}/active", api(b.mark_active, "contacts", "CREATE"),
                  methods=["POST"]),
            Route("/contacts/{contact_id}/inactive", api(b.mark_inactive, "contacts", "CREATE"),
                  methods=["POST"]),
            Route("/contacts/{contact_id}/contactpersons",
                  api(b.list_persons, "contacts", "READ"), methods=["GET"]),
            Route("/contacts/{contact_id}/contactpersons/{contact_person_id}",
                  api(b.get_person, "contacts", "READ"), methods=["GET"]),
            Route("/reportingtags", api(b.list_tags, "settings", "READ"), methods=["GET"]),
            Route("/reportingtags/{tag_id}", api(b.get_tag, "settings", "READ"),
                  methods=["GET"]),
            Route("/reportingtags/{tag_id}/options",
                  api(b.update_tag_options, "settings", "UPDATE"), methods=["PUT"]),
            Route("/settings/webhooks", api(b.list_webhooks, "settings", "READ"),
                  methods=["GET"]),
            Route("/settings/webhooks", api(b.create_webhook, "settings", "CREATE"),
                  methods=["POST"]),
            Route("/settings/webhooks/{webhook_id}", api(b.get_webhook, "settings", "READ"),
                  methods=["GET"]),
            Route("/settings/webhooks/{webhook_id}",
                  api(b.update_webhook, "settings", "UPDATE"), methods=["PUT"]),
            Route("/settings/webhooks/{webhook_id}",
                  api(b.delete_webhook, "settings", "DELETE"), methods=["DELETE"]),
        ]  # fmt: skip

    def _api(
        self, handler: Handler, module: str, operation: str, *, org: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            resolved: Resolved = request.scope[SCOPE_KEY]
            headers: dict[str, str] = {}
            try:
                grant = self.accounts.authenticate(request, resolved.region)
                if not grant.allows(module, operation):
                    raise self.accounts.unauthorized()
                organization = (
                    self._guard(request, grant.user_id, resolved, headers) if org else None
                )
                response = await handler(request, Call(grant=grant, org=organization))
            except ZohoError as exc:
                return exc.response(headers)
            response.headers.update(headers)
            return response

        return endpoint

    def _guard(
        self, request: Request, user_id: str, resolved: Resolved, headers: dict[str, str]
    ) -> Record:
        """The organization of an org-scoped call, after membership, DC and quota checks."""
        org_id = request.query_params.get("organization_id")
        s = self.settings
        if not org_id:
            raise ZohoError(s.missing_org_code, s.missing_org_message, status=s.missing_org_status)
        user = self.state.get("users", user_id) or {}
        org = self.state.get("organizations", org_id)
        if (
            org is None
            or org_id not in user.get("organization_ids", [])
            or org.get("region") != resolved.region.code
        ):
            # [V3p ELOG E35] a foreign (or other-DC) organization id.
            raise ZohoError(
                6041, f"This user is not associated with the CompanyID/CompanyName:{org_id}."
            )
        free = str(org.get("plan_name")) == "Free"
        if free and self.limiter.in_flight(org_id) > s.concurrency_free:
            raise ZohoError(CONCURRENCY_CODE, CONCURRENCY_MESSAGE, status=429)
        quota = s.daily_quota_by_plan.get(str(org.get("plan_name")), s.daily_quota_by_plan["Free"])
        now = self.clock.timestamp()
        day = int(now // DAY)
        current, used = self._daily.get(org_id, (day, 0))
        used = 0 if current != day else used
        reset = math.ceil((day + 1) * DAY - now)
        headers.update({"X-Rate-Limit-Limit": str(quota),
                        "X-Rate-Limit-Reset": str(reset)})  # fmt: skip
        if used >= quota:
            headers["X-Rate-Limit-Remaining"] = "0"
            if s.send_retry_after:
                headers["Retry-After"] = str(reset)
            raise ZohoError(
                DAILY_LIMIT_CODE,
                "The API call for this organization has exceeded the maximum call rate limit "
                f"of {quota}.",
                status=429,
            )
        self._daily[org_id] = (day, used + 1)
        headers["X-Rate-Limit-Remaining"] = str(quota - used - 1)
        return org

    # --- defaults --------------------------------------------------------------------------

    def _default_user(self) -> Record:
        users = self.state.records("users")
        return users[0] if users else {}

    def _default_region(self) -> str:
        return str(self._default_user().get("region", self.settings.region))

    def _default_org_id(self) -> str:
        orgs = self._default_user().get("organization_ids") or [""]
        return str(orgs[0])

    # --- webhooks on every change ----------------------------------------------------------

    def _on_change(self, kind: str, org: Record, record: Record) -> None:
        self.registry.fire(kind, org, record, self.contacts.render(org, record))


# What `python -m sandboxes zoho` calls: the class takes the kit's keyword options itself.
build_sandbox = ZohoSandbox
