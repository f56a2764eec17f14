"""The FreshBooks sandbox: routes per API family, limits, control actions, credentials.

Read `docs/vendors/freshbooks-sandbox.md` for how to run it and which behaviours are
settings. Vendor facts come from `../shared/vendors/freshbooks.md`; nothing here imports
`services/`. One sandbox serves the auth host and the API host on one port (their paths
do not overlap), and one accounting account (`account_id`) of one business.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from sandboxes.freshbooks.actions import UIActions
from sandboxes.freshbooks.auth import Authenticator, Principal
from sandboxes.freshbooks.errors import (
    PARSE_ERROR,
    UNKNOWN_RESOURCE,
    AccountingError,
    EventsError,
    Family,
    FreshBooksError,
    LedgerError,
    accounting_error,
    render,
)
from sandboxes.freshbooks.ledger import Ledger
from sandboxes.freshbooks.query import Paged, parse_list_query
from sandboxes.freshbooks.resources import (
    COLLECTIONS,
    STAFF,
    Resource,
    by_path,
)
from sandboxes.freshbooks.seed import OAUTH_CLIENT, build_seed
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from sandboxes.freshbooks.state import Books, refuse
from sandboxes.freshbooks.team import Team
from sandboxes.freshbooks.webhooks import CallbackRegistry
from sandboxes.kit import (
    Action,
    LimitPolicy,
    LimitRefusal,
    Record,
    SandboxClock,
    Seed,
    VendorSandbox,
)

__all__ = ["FreshBooksSandbox", "build_sandbox"]

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Principal], Awaitable[Response]]


def _result(body: Mapping[str, Any]) -> JSONResponse:
    return JSONResponse({"response": {"result": dict(body)}})


def _list_result(plural: str, page: Paged) -> JSONResponse:
    return _result(
        {
            plural: page.items,
            "page": page.page,
            "pages": page.pages,
            "per_page": page.per_page,
            "total": page.total,
        }
    )


async def _wrapped_body(request: Request, key: str) -> dict[str, Any]:
    """`{"<singular>": {...}}` -> the inner object; anything else is errno 1005."""
    try:
        body = json.loads(await request.body() or b"null", parse_float=Decimal)
    except ValueError:
        body = None
    inner = body.get(key) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        raise accounting_error(400, PARSE_ERROR, f"Expected a JSON object under {key!r}.")
    return {str(k): _plain(v) for k, v in inner.items()}


def _plain(value: object) -> Any:  # noqa: ANN401 - any JSON value
    """JSON numbers with a fraction arrive as Decimals (no float rounding); keep them as text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class FreshBooksSandbox(VendorSandbox):
    name = "freshbooks"
    collections = COLLECTIONS

    def __init__(
        self,
        *,
        settings: FreshBooksSandboxSettings | None = None,
        clock: SandboxClock | None = None,
        limits: LimitPolicy | None = None,
        seed: Seed | None = None,
        empty: bool = False,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or FreshBooksSandboxSettings()
        super().__init__(
            clock=clock, limits=limits, seed=seed, empty=empty, webhook_transport=webhook_transport
        )

    # --- kit hooks ----------------------------------------------------------------------------

    def setup(self) -> None:
        self.auth = Authenticator(self.state, self.clock, self.settings)
        self.callbacks = CallbackRegistry(self.state, self.clock, self.settings, self.webhooks)
        self.books = Books(self.state, self.clock, self.settings, self._on_change)
        self.team = Team(self.state, self.clock, self.settings, self.books)
        self.ledger = Ledger(self.state, self.clock)

    def on_reset(self) -> None:
        self.auth.reset()

    def default_seed(self) -> Seed:
        return build_seed()

    def credentials(self) -> dict[str, Any]:
        clients = self.state.records("oauth_clients")
        client = clients[0] if clients else OAUTH_CLIENT
        business = self._business()
        return {
            "client_id": client["id"],
            "client_secret": client["client_secret"],
            "redirect_uri": client["redirect_uris"][0],
            "account_id": business.get("account_id"),
            "business_id": business.get("id"),
            "business_uuid": business.get("business_uuid"),
        }

    def default_limits(self) -> LimitPolicy:
        return LimitPolicy(
            enabled=self.settings.rate_limit_requests is not None,
            requests=self.settings.rate_limit_requests,
            window_seconds=self.settings.rate_limit_window_seconds,
        )

    def limit_key(self, request: Request) -> str | None:
        # Per connection = per authorised grant (client + user); token calls are not limited.
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        grant = self.auth.provider.authenticate(token.strip())
        return None if grant is None else f"{grant.client_id}:{grant.subject}"

    def limited_response(self, request: Request, refusal: LimitRefusal) -> Response:
        # Sheet section 9: 429 is verified, its body and Retry-After are not [inferred].
        headers = {}
        if self.settings.rate_limit_retry_after:
            headers["Retry-After"] = str(refusal.retry_after)
        return JSONResponse(
            {"errno": 429, "message": "Too Many Requests"}, status_code=429, headers=headers
        )

    def webhook_timeout_seconds(self) -> float:
        return self.settings.webhook_timeout_seconds

    def vendor_app(self) -> ASGIApp:
        async def not_found(request: Request, exc: Exception) -> Response:
            error = accounting_error(404, UNKNOWN_RESOURCE, "The requested resource was not found.")
            return render(error, "accounting")

        return Starlette(
            routes=list(self.routes()), exception_handlers={404: not_found, 405: not_found}
        )

    # --- routes ---------------------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        s = self.settings
        account = "/accounting/account/{account_id}/{group}/{name}"
        callbacks = "/events/account/{account_id}/events/callbacks"
        ledger = "/accounting/businesses/{business_uuid}/ledger_accounts/accounts"
        team = "/auth/api/v1/businesses/{business_id:int}/team_members"
        acc, ev, led, au = self._accounting, self._events, self._ledger, self._auth_api
        return [
            *(Route(p, self.auth.authorize, methods=["GET"]) for p in s.authorize_paths),
            *(Route(p, self.auth.token, methods=["POST"]) for p in s.token_paths),
            *(Route(p, self.auth.revoke, methods=["POST"]) for p in s.revoke_paths),
            Route("/auth/api/v1/users/me", au(self._me), methods=["GET"]),
            Route("/auth/api/v1/users/invitation", au(self._invite), methods=["POST"]),
            Route(team, au(self._team_list), methods=["GET"]),
            Route(team + "/{uuid}", au(self._team_get), methods=["GET"]),
            Route(account, acc(self._list), methods=["GET"]),
            Route(account, acc(self._create), methods=["POST"]),
            Route(account + "/{record_id}", acc(self._get), methods=["GET"]),
            Route(account + "/{record_id}", acc(self._update), methods=["PUT"]),
            Route(account + "/{record_id}", acc(self._delete), methods=["DELETE"]),
            Route(callbacks, ev(self._callback_list), methods=["GET"]),
            Route(callbacks, ev(self._callback_create), methods=["POST"]),
            Route(callbacks + "/{callback_id}", ev(self._callback_get), methods=["GET"]),
            Route(callbacks + "/{callback_id}", ev(self._callback_update), methods=["PUT"]),
            Route(callbacks + "/{callback_id}", ev(self._callback_delete), methods=["DELETE"]),
            Route(ledger, led(self._ledger_list), methods=["GET"]),
            Route(ledger, led(self._ledger_create), methods=["POST"]),
            Route(ledger + "/{uuid}", led(self._ledger_get), methods=["GET"]),
            Route(ledger + "/{uuid}", led(self._ledger_update), methods=["PUT"]),
            Route(ledger + "/{uuid}", led(self._ledger_delete), methods=["DELETE"]),
        ]

    def _guarded(self, family: Family, handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                principal = self.auth.authenticate(request)
                return await handler(request, principal)
            except FreshBooksError as exc:
                return render(exc, family)

        return endpoint

    def _auth_api(self, handler: Handler) -> Endpoint:
        return self._guarded("auth", handler)

    def _accounting(self, handler: Handler) -> Endpoint:
        async def scoped(request: Request, principal: Principal) -> Response:
            self._account_of(principal, request.path_params["account_id"], "accounting")
            return await handler(request, principal)

        return self._guarded("accounting", scoped)

    def _events(self, handler: Handler) -> Endpoint:
        async def scoped(request: Request, principal: Principal) -> Response:
            self._account_of(principal, request.path_params["account_id"], "events")
            return await handler(request, principal)

        return self._guarded("events", scoped)

    def _ledger(self, handler: Handler) -> Endpoint:
        async def scoped(request: Request, principal: Principal) -> Response:
            uuids = [b["business_uuid"] for _, b in self._memberships(principal)]
            wanted = request.path_params["business_uuid"]
            if wanted not in uuids or wanted != self._business().get("business_uuid"):
                raise LedgerError(404, [(None, "Not found.")])
            return await handler(request, principal)

        return self._guarded("ledger", scoped)

    # --- tenancy --------------------------------------------------------------------------------

    def _business(self) -> Record:
        businesses = [b for b in self.state.records("businesses") if b.get("account_id")]
        return businesses[0] if businesses else {}

    def _memberships(self, principal: Principal) -> list[tuple[Record, Record]]:
        return self.auth.businesses_of(principal.identity)

    def _account_of(self, principal: Principal, account_id: str, family: Family) -> None:
        """404 unless the token's user belongs to the business with this account (sheet 1)."""
        accounts = [b.get("account_id") for _, b in self._memberships(principal)]
        if account_id in accounts and account_id == self._business().get("account_id"):
            return
        if family == "events":
            raise EventsError(404, 404, "Requested resource could not be found.")
        raise accounting_error(
            404, UNKNOWN_RESOURCE, "Account not found.", field="accountid", object="account",
            value=account_id,
        )  # fmt: skip

    def _resource(self, request: Request) -> Resource:
        path = f"{request.path_params['group']}/{request.path_params['name']}"
        resource = by_path(path)
        if resource is None:
            raise accounting_error(404, UNKNOWN_RESOURCE, "The requested resource was not found.")
        return resource

    # --- auth family ----------------------------------------------------------------------------

    async def _me(self, request: Request, principal: Principal) -> Response:
        return JSONResponse({"response": self.auth.me(principal)})

    def _team_business(self, principal: Principal, business_id: int) -> int:
        for membership, business in self._memberships(principal):
            if business["id"] == business_id and membership["role"] != "client":
                return business_id
        raise accounting_error(404, UNKNOWN_RESOURCE, "Business not found.")

    async def _team_list(self, request: Request, principal: Principal) -> Response:
        principal.require("teams", write=False)
        business_id = self._team_business(principal, request.path_params["business_id"])
        return JSONResponse(self.team.list_members(business_id, request.query_params))

    async def _team_get(self, request: Request, principal: Principal) -> Response:
        principal.require("teams", write=False)
        business_id = self._team_business(principal, request.path_params["business_id"])
        return JSONResponse(self.team.get(business_id, request.path_params["uuid"]))

    async def _invite(self, request: Request, principal: Principal) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise accounting_error(400, PARSE_ERROR, "Expected a JSON object.")
        business_id = self._team_business(principal, int(body.get("invitable_id") or 0))
        return JSONResponse(self.team.invite(business_id, body))

    # --- accounting family ----------------------------------------------------------------------

    async def _list(self, request: Request, principal: Principal) -> Response:
        resource = self._resource(request)
        principal.require(resource.scope, write=False)
        query = parse_list_query(
            request.query_params, default_per_page=self.settings.default_per_page
        )
        return _list_result(resource.plural, self.books.list_records(resource, query))

    async def _get(self, request: Request, principal: Principal) -> Response:
        resource = self._resource(request)
        principal.require(resource.scope, write=False)
        includes = tuple(request.query_params.getlist("include[]"))
        record = self.books.get(resource, request.path_params["record_id"], includes)
        return _result({resource.single: record})

    async def _create(self, request: Request, principal: Principal) -> Response:
        resource = self._resource(request)
        allowed = resource.can_create or (resource is STAFF and self.settings.staff_create_allowed)
        if not allowed:
            raise refuse(resource, "create")
        principal.require(resource.scope, write=True)
        body = await _wrapped_body(request, resource.single)
        record = self.books.create(resource, body)
        includes = tuple(request.query_params.getlist("include[]"))
        return _result({resource.single: self.books.render(resource, record, includes)})

    async def _update(self, request: Request, principal: Principal) -> Response:
        resource = self._resource(request)
        if not resource.can_update:
            raise refuse(resource, "update")
        principal.require(resource.scope, write=True)
        body = await _wrapped_body(request, resource.single)
        record = self.books.update(resource, request.path_params["record_id"], body)
        includes = tuple(request.query_params.getlist("include[]"))
        return _result({resource.single: self.books.render(resource, record, includes)})

    async def _delete(self, request: Request, principal: Principal) -> Response:
        # These resources are deleted with PUT vis_state=1 (the SDK's delete_via_update).
        raise refuse(self._resource(request), "DELETE")

    # --- events family --------------------------------------------------------------------------

    async def _callback_list(self, request: Request, principal: Principal) -> Response:
        query = parse_list_query(
            request.query_params, default_per_page=self.settings.default_per_page
        )
        return _list_result("callbacks", self.callbacks.list_callbacks(query))

    async def _callback_get(self, request: Request, principal: Principal) -> Response:
        return _result({"callback": self.callbacks.get(request.path_params["callback_id"])})

    async def _callback_create(self, request: Request, principal: Principal) -> Response:
        body = await self._events_body(request)
        return _result({"callback": self.callbacks.create(body)})

    async def _callback_update(self, request: Request, principal: Principal) -> Response:
        body = await self._events_body(request)
        updated = self.callbacks.update(request.path_params["callback_id"], body)
        return _result({"callback": updated})

    async def _callback_delete(self, request: Request, principal: Principal) -> Response:
        self.callbacks.delete(request.path_params["callback_id"])
        return Response(status_code=204)

    @staticmethod
    async def _events_body(request: Request) -> dict[str, Any]:
        try:
            return await _wrapped_body(request, "callback")
        except AccountingError:
            message = (
                "The request was well-formed but was unable to be followed due to semantic errors."
            )
            raise EventsError(400, 422, message, ["callback: Field required"]) from None

    # --- ledger family --------------------------------------------------------------------------

    async def _ledger_list(self, request: Request, principal: Principal) -> Response:
        return JSONResponse(self.ledger.list_accounts())

    async def _ledger_get(self, request: Request, principal: Principal) -> Response:
        return JSONResponse(self.ledger.get(request.path_params["uuid"]))

    async def _ledger_body(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise LedgerError(400, [(None, "Invalid JSON body.")])
        return body

    async def _ledger_create(self, request: Request, principal: Principal) -> Response:
        created = self.ledger.create(await self._ledger_body(request))
        return JSONResponse(created, status_code=201)

    async def _ledger_update(self, request: Request, principal: Principal) -> Response:
        updated = self.ledger.update(request.path_params["uuid"], await self._ledger_body(request))
        return JSONResponse(updated)

    async def _ledger_delete(self, request: Request, principal: Principal) -> Response:
        raise LedgerError(405, [(None, "Method not allowed.")])

    # --- webhooks on every change ---------------------------------------------------------------

    def _on_change(self, noun: str, verb: str, record: Record) -> None:
        self.callbacks.fire(noun, verb, record["id"])

    # --- control actions (what a person does in FreshBooks' UI) ---------------------------------

    def actions(self) -> Mapping[str, Action]:
        return UIActions(
            state=self.state,
            clock=self.clock,
            books=self.books,
            team=self.team,
            business=self._business,
        ).table()


# What `python -m sandboxes freshbooks` calls: the class takes the kit's keyword options itself.
build_sandbox = FreshBooksSandbox
