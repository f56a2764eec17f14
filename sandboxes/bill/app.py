"""The BILL sandbox: routes, sessions, limits, control actions and credentials.

Paths are BILL's own under two bases, as in production: the API at `/connect/v3/...` and the
webhook API at `/connect-events/v3/...` (`https://gateway.stage.bill.com` becomes this
server). Read `docs/vendors/bill-sandbox.md` for how to run it and which behaviours are
settings. Vendor facts come from `../shared/vendors/bill.md`; nothing here imports `services/`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from sandboxes.bill.auth import Session, Sessions
from sandboxes.bill.errors import BillError, error_response
from sandboxes.bill.ledger import CLASSIFICATIONS, Ledger, view
from sandboxes.bill.listing import ListSpec, list_page
from sandboxes.bill.seed import DEV_KEY, ORGANIZATION_ID, PASSWORD, USERNAME, build_seed
from sandboxes.bill.settings import BillSandboxSettings
from sandboxes.bill.webhooks import EVENT_TYPES, Subscriptions
from sandboxes.kit import (
    Action,
    ActionError,
    LimitPolicy,
    LimitRefusal,
    Record,
    SandboxClock,
    Seed,
    VendorSandbox,
)

__all__ = ["BillSandbox", "build_sandbox"]

Handler = Callable[[Request, Session], Awaitable[Response]]

COLLECTIONS = (
    "organizations",
    "users",
    "dev_keys",
    "vendors",
    "bills",
    "payments",
    "chart_of_accounts",
    "accounting_classes",
    "departments",
    "locations",
    "subscriptions",
    "events",
)

# Sheet section 6 (third-party list, matching the doc examples); payments' sort fields [I].
VENDOR_LIST = ListSpec(
    (
        "id",
        "archived",
        "name",
        "shortName",
        "accountNumber",
        "accountType",
        "email",
        "createdTime",
        "updatedTime",
    ),
    ("name", "createdTime", "updatedTime"),
)
BILL_LIST = ListSpec(
    (
        "id",
        "archived",
        "vendorId",
        "amount",
        "dueDate",
        "paymentStatus",
        "approvalStatus",
        "createdTime",
        "updatedTime",
    ),
    ("dueDate", "amount", "createdTime", "updatedTime"),
)
PAYMENT_LIST = ListSpec(
    (
        "id",
        "vendorId",
        "status",
        "disbursementType",
        "processDate",
        "amount",
        "createdTime",
        "updatedTime",
    ),
    ("processDate", "amount", "createdTime", "updatedTime"),
)
CLASSIFICATION_LIST = ListSpec(
    ("id", "archived", "name", "parentId", "createdTime", "updatedTime"),
    ("name", "createdTime", "updatedTime"),
)
NO_FILTERS = ListSpec((), ())


async def _json(request: Request) -> object:
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise BillError(400, "BDC_1001", "Request body is not valid JSON.") from None


class BillSandbox(VendorSandbox):
    name = "bill"
    collections = COLLECTIONS

    def __init__(
        self,
        *,
        settings: BillSandboxSettings | None = None,
        clock: SandboxClock | None = None,
        limits: LimitPolicy | None = None,
        seed: Seed | None = None,
        empty: bool = False,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or BillSandboxSettings()
        super().__init__(
            clock=clock, limits=limits, seed=seed, empty=empty, webhook_transport=webhook_transport
        )

    # --- kit hooks -----------------------------------------------------------------------

    def setup(self) -> None:
        self.sessions = Sessions(self.state, self.clock, self.settings)
        self.subscriptions = Subscriptions(self.state, self.clock, self.settings, self.webhooks)
        self.ledger = Ledger(self.state, self.clock, self.settings, self.subscriptions.notify)

    def on_reset(self) -> None:
        self.sessions.reset()
        self.subscriptions.reset()

    def default_seed(self) -> Seed:
        return build_seed()

    def credentials(self) -> dict[str, Any]:
        users = [u for u in self.state.records("users") if u["organizationId"] == ORGANIZATION_ID]
        keys = self.state.records("dev_keys")
        user = users[0] if users else {"username": USERNAME, "password": PASSWORD}
        return {
            "dev_key": keys[0]["id"] if keys else DEV_KEY,
            "username": user["username"],
            "password": user["password"],
            "organization_id": ORGANIZATION_ID,
        }

    def default_limits(self) -> LimitPolicy:
        # One tenant = one (developer key, organization): the concurrency gate's unit (sheet 5).
        return LimitPolicy(
            requests=self.settings.hourly_requests,
            window_seconds=3600,
            concurrent=self.settings.concurrent_requests,
        )

    def limit_key(self, request: Request) -> str | None:
        session = self.sessions.peek(request)
        return None if session is None else f"{session.dev_key}:{session.organization_id}"

    def limited_response(self, request: Request, refusal: LimitRefusal) -> Response:
        if refusal.reason == "concurrency":
            error = BillError(
                self.settings.limit_status,
                "BDC_1322",
                "Max number of concurrent requests per organization reached.",
            )
        else:
            error = BillError(
                self.settings.limit_status,
                "BDC_1144",
                f"Max number of allowed requests per hour reached: {refusal.limit}.",
            )
        return error_response(error, self.clock.now())

    def webhook_timeout_seconds(self) -> float:
        return self.settings.webhook_timeout_seconds

    def webhook_retry_on(self, status: int | None) -> bool:
        # [V] anything but 200, or no answer in time, is a failed delivery.
        return status != 200

    def actions(self) -> Mapping[str, Action]:
        return {
            "pay_bill": self._pay_bill,
            "create_bill": self._create_bill,
            "settle_payments": self._settle_payments,
            "void_payment": self._void_payment_action,
        }

    def vendor_app(self) -> ASGIApp:
        async def unsupported(request: Request, exc: Exception) -> Response:
            # [V] a wrong path or casing answers 404 BDC_1121 "API not supported".
            return error_response(
                BillError(404, "BDC_1121", "API not supported."), self.clock.now()
            )

        return Starlette(
            routes=list(self.routes()), exception_handlers={404: unsupported, 405: unsupported}
        )

    # --- plumbing --------------------------------------------------------------------------

    def _open(self, handler: Callable[[Request], Awaitable[Response]]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except BillError as error:
                return error_response(error, self.clock.now())

        return endpoint

    def _authed(self, handler: Handler) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            try:
                # Payments clear on the sandbox clock; settle whatever is due before answering.
                self.ledger.settle_due_payments()
                session = self.sessions.authenticate(request)
                return await handler(request, session)
            except BillError as error:
                return error_response(error, self.clock.now())

        return endpoint

    def routes(self) -> Sequence[BaseRoute]:
        a = self._authed
        core = [
            Route("/v3/login", self._open(self._login), methods=["POST"]),
            Route("/v3/login/session", a(self._session_info), methods=["GET"]),
            Route("/v3/logout", a(self._logout), methods=["POST"]),
            Route("/v3/vendors", a(self._list_vendors), methods=["GET"]),
            Route("/v3/vendors", a(self._create_vendor), methods=["POST"]),
            Route("/v3/vendors/{id}", a(self._get_vendor), methods=["GET"]),
            Route("/v3/vendors/{id}", a(self._update_vendor), methods=["PATCH"]),
            Route("/v3/vendors/{id}/{verb:str}", a(self._archive_vendor), methods=["POST"]),
            Route("/v3/bills", a(self._list_bills), methods=["GET"]),
            Route("/v3/bills", a(self._create_bill_api), methods=["POST"]),
            Route("/v3/bills/{id}", a(self._get_bill), methods=["GET"]),
            Route("/v3/bills/{id}", a(self._replace_bill), methods=["PUT", "PATCH"]),
            Route("/v3/bills/{id}/{verb:str}", a(self._archive_bill), methods=["POST"]),
            Route("/v3/payments", a(self._list_payments), methods=["GET"]),
            Route("/v3/payments", a(self._create_payment), methods=["POST"]),
            Route("/v3/payments/{id}", a(self._get_payment), methods=["GET"]),
            Route("/v3/payments/{id}/void", a(self._void_payment), methods=["POST"]),
            Route("/v3/classifications/{kind}", a(self._list_classes), methods=["GET"]),
            Route("/v3/classifications/{kind}", a(self._create_class), methods=["POST"]),
            Route("/v3/classifications/{kind}/{id}", a(self._get_class), methods=["GET"]),
            Route("/v3/classifications/{kind}/{id}", a(self._update_class), methods=["PATCH"]),
            Route(
                "/v3/classifications/{kind}/{id}/{verb:str}",
                a(self._archive_class),
                methods=["POST"],
            ),
        ]
        events = [
            Route("/v3/events/catalog", a(self._catalog), methods=["GET"]),
            Route("/v3/subscriptions", a(self._list_subscriptions), methods=["GET"]),
            Route("/v3/subscriptions", a(self._create_subscription), methods=["POST"]),
            Route("/v3/subscriptions/{id}", a(self._get_subscription), methods=["GET"]),
            Route(
                "/v3/subscriptions/{id}", a(self._replace_subscription), methods=["PUT", "PATCH"]
            ),
            Route("/v3/subscriptions/{id}", a(self._delete_subscription), methods=["DELETE"]),
            # The Postman export spells it `security_key`, the guide `security-key` (open Q8).
            Route("/v3/subscriptions/{id}/security_key", a(self._rotate_key), methods=["POST"]),
            Route("/v3/subscriptions/{id}/security-key", a(self._rotate_key), methods=["POST"]),
            Route("/v3/subscriptions/{id}/test", a(self._test_event), methods=["POST"]),
            Route("/v3/events/subscription/{id}", a(self._event_history), methods=["GET"]),
            Route("/v3/events/subscription/{id}/event/{event}", a(self._resend), methods=["POST"]),
        ]
        return [Mount("/connect", routes=core), Mount("/connect-events", routes=events)]

    def _page(self, request: Request, records: list[Record], spec: ListSpec) -> JSONResponse:
        page = list_page(
            records,
            request.query_params,
            spec,
            include_archived=self.settings.lists_include_archived,
        )
        page["results"] = [view(r) for r in page["results"]]
        return JSONResponse(page)

    # --- authentication ----------------------------------------------------------------

    async def _login(self, request: Request) -> Response:
        session = self.sessions.login(await _json(request))
        return JSONResponse(
            {
                "organizationId": session.organization_id,
                "sessionId": session.session_id,
                "trusted": session.trusted,
                "userId": session.user_id,
            }
        )

    async def _session_info(self, request: Request, session: Session) -> Response:
        return JSONResponse(
            {
                "organizationId": session.organization_id,
                "userId": session.user_id,
                "mfaStatus": "TRUSTED" if session.trusted else "UNTRUSTED",
                "mfaBypass": False,
            }
        )

    async def _logout(self, request: Request, session: Session) -> Response:
        self.sessions.logout(session)
        return Response(status_code=200)

    # --- vendors -----------------------------------------------------------------------

    async def _list_vendors(self, request: Request, session: Session) -> Response:
        return self._page(
            request, self.ledger.of_org("vendors", session.organization_id), VENDOR_LIST
        )

    async def _create_vendor(self, request: Request, session: Session) -> Response:
        record = self.ledger.create_vendor(await _json(request), session.organization_id)
        return JSONResponse(view(record), status_code=201)

    async def _get_vendor(self, request: Request, session: Session) -> Response:
        record = self.ledger.owned("vendors", request.path_params["id"], session.organization_id)
        return JSONResponse(view(record))

    async def _update_vendor(self, request: Request, session: Session) -> Response:
        record = self.ledger.update_vendor(
            request.path_params["id"], await _json(request), session.organization_id
        )
        return JSONResponse(view(record))

    async def _archive_vendor(self, request: Request, session: Session) -> Response:
        return self._archive(request, session, "vendors", "vendor")

    def _archive(
        self, request: Request, session: Session, collection: str, event: str | None
    ) -> Response:
        verb = request.path_params["verb"]
        if verb not in ("archive", "restore"):
            raise BillError(404, "BDC_1121", "API not supported.")
        record = self.ledger.set_archived(
            collection,
            request.path_params["id"],
            session.organization_id,
            archived=verb == "archive",
            event=event,
        )
        return JSONResponse(view(record))

    # --- bills -------------------------------------------------------------------------

    async def _list_bills(self, request: Request, session: Session) -> Response:
        return self._page(request, self.ledger.of_org("bills", session.organization_id), BILL_LIST)

    async def _create_bill_api(self, request: Request, session: Session) -> Response:
        record = self.ledger.create_bill(await _json(request), session.organization_id)
        return JSONResponse(view(record), status_code=201)

    async def _get_bill(self, request: Request, session: Session) -> Response:
        record = self.ledger.owned("bills", request.path_params["id"], session.organization_id)
        return JSONResponse(view(record))

    async def _replace_bill(self, request: Request, session: Session) -> Response:
        record = self.ledger.replace_bill(
            request.path_params["id"],
            await _json(request),
            session.organization_id,
            partial=request.method == "PATCH",
        )
        return JSONResponse(view(record))

    async def _archive_bill(self, request: Request, session: Session) -> Response:
        return self._archive(request, session, "bills", "bill")

    # --- payments ----------------------------------------------------------------------

    async def _list_payments(self, request: Request, session: Session) -> Response:
        return self._page(
            request, self.ledger.of_org("payments", session.organization_id), PAYMENT_LIST
        )

    async def _create_payment(self, request: Request, session: Session) -> Response:
        if self.settings.payments_require_trusted_session and not session.trusted:
            raise BillError(
                403, "BDC_1361", "Session is not trusted. Complete MFA to create payments."
            )
        record = self.ledger.create_payment(
            await _json(request), session.organization_id, created_by=session.user_id
        )
        return JSONResponse(view(record), status_code=201)

    async def _void_payment(self, request: Request, session: Session) -> Response:
        payment = self.ledger.void_payment(request.path_params["id"], session.organization_id)
        return JSONResponse(view(payment))

    async def _get_payment(self, request: Request, session: Session) -> Response:
        record = self.ledger.owned("payments", request.path_params["id"], session.organization_id)
        return JSONResponse(view(record))

    # --- classifications ----------------------------------------------------------------

    def _kind(self, request: Request) -> str:
        kind: str = request.path_params["kind"]
        if kind not in CLASSIFICATIONS:
            raise BillError(404, "BDC_1121", "API not supported.")
        return kind

    async def _list_classes(self, request: Request, session: Session) -> Response:
        collection = CLASSIFICATIONS[self._kind(request)][0]
        records = self.ledger.of_org(collection, session.organization_id)
        return self._page(request, records, CLASSIFICATION_LIST)

    async def _create_class(self, request: Request, session: Session) -> Response:
        record = self.ledger.create_classification(
            self._kind(request), await _json(request), session.organization_id
        )
        return JSONResponse(view(record), status_code=201)

    async def _get_class(self, request: Request, session: Session) -> Response:
        collection = CLASSIFICATIONS[self._kind(request)][0]
        record = self.ledger.owned(collection, request.path_params["id"], session.organization_id)
        return JSONResponse(view(record))

    async def _update_class(self, request: Request, session: Session) -> Response:
        record = self.ledger.update_classification(
            self._kind(request),
            request.path_params["id"],
            await _json(request),
            session.organization_id,
        )
        return JSONResponse(view(record))

    async def _archive_class(self, request: Request, session: Session) -> Response:
        return self._archive(request, session, CLASSIFICATIONS[self._kind(request)][0], None)

    # --- webhook API --------------------------------------------------------------------

    async def _catalog(self, request: Request, session: Session) -> Response:
        return JSONResponse([{"type": t, "versions": ["1"]} for t in EVENT_TYPES])

    async def _list_subscriptions(self, request: Request, session: Session) -> Response:
        records = [view(s) for s in self.subscriptions.of_org(session.organization_id)]
        return self._page(request, records, NO_FILTERS)

    async def _create_subscription(self, request: Request, session: Session) -> Response:
        org = session.organization_id
        scoped, cached = self.subscriptions.idempotent(request.headers.get("X-Idempotent-Key"), org)
        if cached is None:
            cached = self.subscriptions.create(await _json(request), org)
            self.subscriptions.remember(scoped, cached)
        return JSONResponse(cached)

    async def _get_subscription(self, request: Request, session: Session) -> Response:
        record = self.subscriptions.get(request.path_params["id"], session.organization_id)
        return JSONResponse(view(record))

    async def _replace_subscription(self, request: Request, session: Session) -> Response:
        record = self.subscriptions.replace(
            request.path_params["id"],
            await _json(request),
            session.organization_id,
            partial=request.method == "PATCH",
        )
        return JSONResponse(record)

    async def _delete_subscription(self, request: Request, session: Session) -> Response:
        self.subscriptions.delete(request.path_params["id"], session.organization_id)
        return Response(status_code=200)

    async def _rotate_key(self, request: Request, session: Session) -> Response:
        org = session.organization_id
        scoped, cached = self.subscriptions.idempotent(request.headers.get("X-Idempotent-Key"), org)
        if cached is None:
            cached = self.subscriptions.rotate_key(request.path_params["id"], org)
            self.subscriptions.remember(scoped, cached)
        return JSONResponse(cached)

    async def _test_event(self, request: Request, session: Session) -> Response:
        event = self.subscriptions.test_event(
            request.path_params["id"], await _json(request), session.organization_id
        )
        return JSONResponse(event)

    async def _event_history(self, request: Request, session: Session) -> Response:
        events = self.subscriptions.history(
            request.path_params["id"], session.organization_id, request.query_params.get("entityId")
        )
        page = list_page(events, request.query_params, NO_FILTERS, include_archived=True)
        page.pop("prevPage", None)  # [V] event history pages forward only
        return JSONResponse(page)

    async def _resend(self, request: Request, session: Session) -> Response:
        event = self.subscriptions.resend(
            request.path_params["id"], request.path_params["event"], session.organization_id
        )
        return JSONResponse(event)

    # --- control actions (what a person does in BILL's own UI) ---------------------------

    def _org_of(self, payload: dict[str, Any]) -> str:
        org = str(payload.get("organization_id") or ORGANIZATION_ID)
        if self.state.get("organizations", org) is None:
            raise ActionError(f"no organization {org}", status=404)
        return org

    async def _pay_bill(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Pay a bill from the UI: a SCHEDULED payment now, PAID/CLEARED later on the clock."""
        org = self._org_of(payload)
        bill = self.state.get("bills", str(payload.get("bill_id", "")))
        if bill is None or bill.get("_org") != org:
            raise ActionError(f"no bill {payload.get('bill_id')!r}", status=404)
        amount = payload.get("amount", round(bill["dueAmount"] - bill["scheduledAmount"], 2))
        body = {
            "vendorId": bill["vendorId"],
            "billId": bill["id"],
            "amount": amount,
            "processDate": payload.get("process_date", self.clock.now().date().isoformat()),
            "fundingAccount": {"type": "BANK_ACCOUNT", "id": "bac01NORTHWINDOPCHK1"},
            "description": payload.get("description"),
        }
        try:
            payment = self.ledger.create_payment(body, org, created_by="UI")
        except BillError as error:
            raise ActionError(error.message, status=error.status) from None
        return view(payment)

    async def _create_bill(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Enter a bill in the UI; `payload` is BILL's own create body (+ `organization_id`)."""
        org = self._org_of(payload)
        body = {k: v for k, v in payload.items() if k != "organization_id"}
        try:
            return view(self.ledger.create_bill(body, org))
        except BillError as error:
            raise ActionError(error.message, status=error.status) from None

    async def _void_payment_action(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Void a payment from the UI: ``{"payment_id": "stp..."}``."""
        org = self._org_of(payload)
        try:
            return view(self.ledger.void_payment(str(payload.get("payment_id", "")), org))
        except BillError as error:
            raise ActionError(error.message, status=error.status) from None

    async def _settle_payments(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Clear every payment that is due on the sandbox clock, without an API call."""
        return {"settled": [p["id"] for p in self.ledger.settle_due_payments()]}


# What `python -m sandboxes bill` calls: the class takes the kit's keyword options itself.
build_sandbox = BillSandbox
