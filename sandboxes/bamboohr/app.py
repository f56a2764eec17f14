"""The BambooHR sandbox: routes, host resolution, limits, control actions, credentials.

Read `docs/vendors/bamboohr-sandbox.md` for how to run it and which behaviours are
settings. Vendor facts come from `../shared/vendors/bamboohr.md`; nothing here imports
`services/`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandboxes.bamboohr.auth import Authenticator, Principal, require_scope
from sandboxes.bamboohr.employees import EmployeeEndpoints
from sandboxes.bamboohr.errors import BambooError, classic_error
from sandboxes.bamboohr.hosts import Resolved, resolve
from sandboxes.bamboohr.reports import ReportEndpoints
from sandboxes.bamboohr.seed import ADMIN_API_KEY, OAUTH_CLIENT, build_seed
from sandboxes.bamboohr.settings import BambooHRSandboxSettings
from sandboxes.bamboohr.state import COLLECTIONS, EmployeeEvent, People, public
from sandboxes.bamboohr.webhooks import WebhookRegistry
from sandboxes.kit import (
    Action,
    ActionError,
    LimitPolicy,
    LimitRefusal,
    SandboxClock,
    Seed,
    VendorSandbox,
)

__all__ = ["BambooHRSandbox", "build_sandbox"]

T = TypeVar("T")
Handler = Callable[[Request, Principal], Awaitable[Response]]
SCOPE_KEY = "bamboohr"


class BambooHRSandbox(VendorSandbox):
    name = "bamboohr"
    collections = COLLECTIONS

    def __init__(
        self,
        *,
        settings: BambooHRSandboxSettings | None = None,
        clock: SandboxClock | None = None,
        limits: LimitPolicy | None = None,
        seed: Seed | None = None,
        empty: bool = False,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or BambooHRSandboxSettings()
        super().__init__(
            clock=clock,
            limits=limits,
            seed=seed,
            empty=empty,
            webhook_transport=webhook_transport,
        )

    # --- kit hooks -----------------------------------------------------------------------

    def setup(self) -> None:
        self.auth = Authenticator(self.state, self.clock, self.settings)
        self.registry = WebhookRegistry(self.state, self.clock, self.settings, self.webhooks)
        self.people = People(self.state, self.clock, self.settings, self._on_employee_event)
        self.employees = EmployeeEndpoints(self.people, self.settings)
        self.reports = ReportEndpoints(self.people)

    def on_reset(self) -> None:
        self.auth.reset()

    def default_seed(self) -> Seed:
        return build_seed()

    def credentials(self) -> dict[str, Any]:
        keys = self.state.records("api_keys")
        clients = self.state.records("oauth_clients")
        client = clients[0] if clients else OAUTH_CLIENT
        return {
            "company_domain": self.settings.company_domain,
            "api_key": keys[0]["key"] if keys else ADMIN_API_KEY,
            "client_id": client["id"],
            "client_secret": client["client_secret"],
            "redirect_uri": client["redirect_uris"][0],
        }

    def default_limits(self) -> LimitPolicy:
        return LimitPolicy(
            enabled=self.settings.rate_limit_requests is not None,
            requests=self.settings.rate_limit_requests,
            window_seconds=self.settings.rate_limit_window_seconds,
        )

    def limit_key(self, request: Request) -> str | None:
        resolved = resolve(request.url.path, request.headers.get("host", ""))
        return None if resolved is None else resolved.company

    def limited_response(self, request: Request, refusal: LimitRefusal) -> Response:
        # 503 until BambooHR's 2026-09-16 switch, 429 after; both carry Retry-After (sheet 12).
        return classic_error(
            self.settings.throttle_status,
            "Too many requests, please slow down",
            headers={"Retry-After": str(refusal.retry_after)},
        )

    def webhook_timeout_seconds(self) -> float:
        return self.settings.webhook_timeout_seconds

    def webhook_retry_on(self, status: int | None) -> bool:
        if status is None:
            return self.settings.webhook_retry_without_answer
        return status >= 500

    def actions(self) -> Mapping[str, Action]:
        return {
            "hire": self._hire,
            "change_department": self._change_department,
            "change_job_title": self._change_job_title,
            "terminate": self._terminate,
            "rehire": self._rehire,
            "add_list_option": self._add_list_option,
        }

    def vendor_app(self) -> ASGIApp:
        async def not_found(request: Request, exc: Exception) -> Response:
            # BambooHR answers an unknown URL *or method* with 404 (sheet 13).
            return classic_error(404, "Unknown URL or method")

        inner = Starlette(
            routes=list(self.routes()),
            exception_handlers={404: not_found, 405: not_found},
        )

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            resolved = resolve(scope["path"], host)
            if resolved is None or resolved.company != self.settings.company_domain:
                await classic_error(404, "Unknown company or URL")(scope, receive, send)
                return
            await inner(
                {
                    **scope,
                    "path": resolved.path,
                    "raw_path": resolved.path.encode(),
                    SCOPE_KEY: resolved,
                },
                receive,
                send,
            )

        return app

    # --- routes --------------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        e, r = self.employees, self.reports
        api = self._api
        return [
            Route("/authorize.php", self.auth.authorize, methods=["GET"]),
            Route("/token.php", self.auth.token, methods=["POST"]),
            Route("/{version}/employees", api(e.list_employees), methods=["GET"]),
            Route("/{version}/employees", api(self._create_employee), methods=["POST"]),
            Route("/{version}/employees/directory", api(e.directory), methods=["GET"]),
            Route("/{version}/employees/changed", api(e.changed), methods=["GET"]),
            Route(
                "/{version}/employees/changed/tables/{table}",
                api(e.changed_table),
                methods=["GET"],
            ),
            Route("/{version}/employees/{employee_id}", api(e.get_employee), methods=["GET"]),
            Route("/{version}/employees/{employee_id}", api(e.update), methods=["POST"]),
            Route("/{version}/employees/{employee_id}", api(e.delete), methods=["DELETE"]),
            Route(
                "/{version}/employees/{employee_id}/tables/{table}",
                api(e.table_rows),
                methods=["GET"],
            ),
            Route(
                "/{version}/employees/{employee_id}/tables/{table}",
                api(e.add_row),
                methods=["POST"],
            ),
            Route(
                "/{version}/employees/{employee_id}/tables/{table}/{row_id}",
                api(e.update_row),
                methods=["POST"],
            ),
            Route("/{version}/reports/custom", api(r.custom), methods=["POST"]),
            Route("/{version}/reports/{report_id}", api(r.company_report), methods=["GET"]),
            Route("/{version}/custom-reports", api(r.list_saved), methods=["GET"]),
            Route("/{version}/custom-reports/{report_id}", api(r.saved_report), methods=["GET"]),
            Route("/{version}/meta/lists", api(r.lists), methods=["GET"]),
            Route("/{version}/meta/lists/{list_field_id}", api(r.update_list), methods=["PUT"]),
            Route("/{version}/meta/fields", api(r.fields), methods=["GET"]),
            Route("/{version}/meta/tables", api(r.tables), methods=["GET"]),
            Route("/{version}/webhooks", api(self._list_hooks), methods=["GET"]),
            Route("/{version}/webhooks", api(self._create_hook), methods=["POST"]),
            Route("/{version}/webhooks/monitor_fields", api(self._monitor_fields), methods=["GET"]),
            Route("/{version}/webhooks/post-fields", api(self._post_fields), methods=["GET"]),
            Route("/{version}/webhooks/{hook_id}", api(self._get_hook), methods=["GET"]),
            Route("/{version}/webhooks/{hook_id}", api(self._put_hook), methods=["PUT"]),
            Route("/{version}/webhooks/{hook_id}", api(self._delete_hook), methods=["DELETE"]),
            Route("/{version}/webhooks/{hook_id}/log", api(self._hook_log), methods=["GET"]),
        ]

    def _api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            resolved: Resolved = request.scope[SCOPE_KEY]
            try:
                principal = self.auth.authenticate(request, resolved.style)
                self.people.apply_due()
                return await handler(request, principal)
            except BambooError as exc:
                return classic_error(exc.status, exc.message)

        return endpoint

    async def _create_employee(self, request: Request, principal: Principal) -> Response:
        resolved: Resolved = request.scope[SCOPE_KEY]
        origin = f"{request.url.scheme}://{request.url.netloc}"
        return await self.employees.create(request, principal, f"{origin}{resolved.base}")

    async def _list_hooks(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "webhooks")
        return await self.registry.list_hooks(principal)

    async def _create_hook(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "webhooks.write")
        return await self.registry.create(request, principal)

    async def _get_hook(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "webhooks")
        return await self.registry.get(principal, request.path_params["hook_id"])

    async def _put_hook(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "webhooks.write")
        return await self.registry.replace(request, principal, request.path_params["hook_id"])

    async def _delete_hook(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "webhooks.write")
        return await self.registry.delete(principal, request.path_params["hook_id"])

    async def _hook_log(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "webhooks")
        return await self.registry.delivery_log(principal, request.path_params["hook_id"])

    async def _monitor_fields(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "webhooks")
        return self.registry.monitor_fields()

    async def _post_fields(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "webhooks")
        return self.registry.post_fields()

    # --- webhooks on every change ----------------------------------------------------------

    def _on_employee_event(self, event: EmployeeEvent) -> None:
        terminated = (
            event.kind == "updated"
            and "employmentHistoryStatus" in event.changed_fields
            and event.values.get("employmentHistoryStatus") == "Terminated"
        )
        if terminated and self.settings.terminate_fires_deleted:
            self.registry.on_employee_event(event)
            deleted = EmployeeEvent("deleted", event.employee_id, (), event.values)
            self.registry.on_employee_event(deleted)
            return
        self.registry.on_employee_event(event)

    # --- control actions (what a person does in BambooHR's UI) -----------------------------

    def _run(self, change: Callable[[], T]) -> T:
        try:
            self.people.apply_due()
            return change()
        except BambooError as exc:
            raise ActionError(exc.message, status=exc.status) from exc

    def _employee_id(self, payload: Mapping[str, Any]) -> str:
        value = payload.get("employeeId", payload.get("id"))
        if value is None:
            raise ActionError("employeeId is required")
        return str(value)

    async def _hire(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"firstName", "lastName", "workEmail"?, "jobTitle"?, "department"?, ...}`."""
        record = self._run(lambda: self.people.create(payload))
        return public(record)

    async def _change_department(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"employeeId", "department", "division"?, "date"?}`: a jobInfo row."""
        employee_id = self._employee_id(payload)
        if not payload.get("department"):
            raise ActionError("department is required")
        changes: dict[str, Any] = {
            k: payload[k] for k in ("department", "division", "location") if k in payload
        }
        return self._job_change(employee_id, changes, payload.get("date"))

    async def _change_job_title(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"employeeId", "jobTitle", "date"?}`: a jobInfo row."""
        employee_id = self._employee_id(payload)
        if not payload.get("jobTitle"):
            raise ActionError("jobTitle is required")
        return self._job_change(employee_id, {"jobTitle": payload["jobTitle"]}, payload.get("date"))

    def _job_change(
        self, employee_id: str, changes: dict[str, Any], date: str | None
    ) -> dict[str, Any]:
        def change() -> dict[str, Any]:
            current = self.people.employee(employee_id)
            base = {
                k: current.get(k)
                for k in ("location", "division", "department", "jobTitle", "reportsTo")
            }
            row = self.people.add_row(
                "jobInfo", employee_id, {**base, **changes, "date": date or self.people.today()}
            )
            return {"employee": public(self.people.employee(employee_id)), "row": public(row)}

        return self._run(change)

    async def _terminate(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"employeeId", "date"?, "terminationTypeId"?, "terminationReasonId"?, ...}`."""
        employee_id = self._employee_id(payload)
        row_values = {
            "date": payload.get("date") or self.people.today(),
            "employmentStatus": "Terminated",
            "terminationTypeId": str(payload.get("terminationTypeId", "431301")),
            "terminationReasonId": str(payload.get("terminationReasonId", "431401")),
            "terminationRehireId": str(payload.get("terminationRehireId", "431503")),
            "comment": payload.get("comment"),
        }

        def change() -> dict[str, Any]:
            row = self.people.add_row("employmentStatus", employee_id, row_values)
            return {"employee": public(self.people.employee(employee_id)), "row": public(row)}

        return self._run(change)

    async def _rehire(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"employeeId", "date"?, "employmentStatus"?}`: an employmentStatus row that is not
        a termination (Full-Time by default); the employee is Active again."""
        employee_id = self._employee_id(payload)
        status = str(payload.get("employmentStatus") or "Full-Time")
        if status == "Terminated":
            raise ActionError("a rehire's employmentStatus cannot be Terminated")
        row_values = {
            "date": payload.get("date") or self.people.today(),
            "employmentStatus": status,
        }

        def change() -> dict[str, Any]:
            row = self.people.add_row("employmentStatus", employee_id, row_values)
            return {"employee": public(self.people.employee(employee_id)), "row": public(row)}

        return self._run(change)

    async def _add_list_option(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"list": "jobTitle" | "department" | a list's name, "option": "..."}`."""
        name, value = payload.get("list"), payload.get("option")
        if not isinstance(name, str) or not isinstance(value, str) or not value.strip():
            raise ActionError("list and option (strings) are required")
        return self._run(lambda: self.reports.add_option(name, value))


# What `python -m sandboxes bamboohr` calls: the class takes the kit's keyword options itself.
build_sandbox = BambooHRSandbox
