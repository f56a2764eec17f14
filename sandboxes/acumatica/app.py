"""The Acumatica sandbox: one instance (`/AcumaticaERP`) with its tenants, routes and limits.

Read `docs/vendors/acumatica-sandbox.md` for how to run it, how the instance path and the
tenant are chosen, and which behaviours are settings. Vendor facts come from
`../shared/vendors/acumatica.md`; nothing here imports `services/`. Acumatica sends no
webhooks for the people flow (push notifications are out of the sheet's scope), so this
sandbox fires none; its control actions change records the way a person in the UI would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from sandboxes.acumatica.endpoints import EntityEndpoints
from sandboxes.acumatica.entities import DEPARTMENT, EMPLOYEE
from sandboxes.acumatica.identity import Identity
from sandboxes.acumatica.oauth import OAuthServer
from sandboxes.acumatica.records import EntityStore, FieldValidationError
from sandboxes.acumatica.seed import API_PASSWORD, API_USER, OAUTH_CLIENT, build_seed
from sandboxes.acumatica.sessions import SessionTable
from sandboxes.acumatica.settings import AcumaticaSandboxSettings
from sandboxes.acumatica.throttle import LicenseThrottle
from sandboxes.acumatica.values import Selection, render
from sandboxes.kit import (
    Action,
    ActionError,
    LimitPolicy,
    LimitRefusal,
    SandboxClock,
    Seed,
    VendorSandbox,
)

__all__ = ["AcumaticaSandbox", "build_sandbox"]

COLLECTIONS = ("tenants", "users", "oauth_clients", "branches", "employee_classes",
               "departments", "employees")  # fmt: skip
LOGOUT = "/entity/auth/logout"
ENTITY = "/entity/{endpoint}/{version}/{entity}"


class AcumaticaSandbox(VendorSandbox):
    name = "acumatica"
    collections = COLLECTIONS

    def __init__(
        self,
        *,
        settings: AcumaticaSandboxSettings | None = None,
        clock: SandboxClock | None = None,
        limits: LimitPolicy | None = None,
        seed: Seed | None = None,
        empty: bool = False,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or AcumaticaSandboxSettings()
        super().__init__(
            clock=clock, limits=limits, seed=seed, empty=empty,
            webhook_transport=webhook_transport,
        )  # fmt: skip

    # --- kit hooks -----------------------------------------------------------------------

    def setup(self) -> None:
        settings = self.settings
        self.sessions = SessionTable(
            self.clock, seats=settings.api_user_seats, idle_seconds=settings.session_idle_seconds
        )
        self.oauth = OAuthServer(self.state, self.clock, self.sessions, settings)
        self.identity = Identity(self.state, self.sessions, self.oauth, settings)
        self.store = EntityStore(self.state, self.clock, settings)
        self.endpoints = EntityEndpoints(self.store, self.identity, settings)
        self.throttle: LicenseThrottle | None = None

    def on_reset(self) -> None:
        self.sessions.clear()
        self.oauth.reset()
        if self.throttle is not None:
            self.throttle.reset()

    def default_seed(self) -> Seed:
        return build_seed()

    def credentials_for(self, request: Request) -> dict[str, Any]:
        origin = self.settings.public_origin or f"{request.url.scheme}://{request.url.netloc}"
        return {**self.credentials(), "base_url": f"{origin}{self.settings.instance_path}"}

    def credentials(self) -> dict[str, Any]:
        settings = self.settings
        client = self.state.get("oauth_clients", OAUTH_CLIENT["id"]) or OAUTH_CLIENT
        return {
            "base_url": f"{settings.public_origin or ''}{settings.instance_path}",
            "username": API_USER,
            "password": API_PASSWORD,
            "tenant": "AcmeLive",
            "branch": "HQ",
            "endpoint": "Default",
            "version": settings.versions[-1],
            "department_endpoint": settings.department_endpoint_name,
            "department_endpoint_version": settings.department_endpoint_version,
            "client_id": client["id"],
            "client_secret": client["secret"],
            "redirect_uri": client["redirect_uris"][0],
        }

    def default_limits(self) -> LimitPolicy:
        settings = self.settings
        return LimitPolicy(
            requests=settings.license_requests_per_minute,
            window_seconds=60,
            concurrent=settings.license_concurrent_requests + settings.license_queue_size,
        )

    def limit_key(self, request: Request) -> str | None:
        # [V] sign-out requests skip the API queue; the license counts per instance.
        return None if request.url.path.endswith(LOGOUT) else "instance"

    def limited_response(self, request: Request, refusal: LimitRefusal) -> Response:
        # Open question 2: the exact body of a declined request; the 429 is [V].
        headers = {"Retry-After": str(refusal.retry_after)} if self.settings.throttle_retry_after \
            else None  # fmt: skip
        body = {
            "message": "An error has occurred.",
            "exceptionMessage": "The request has been declined because the number of API "
            "requests exceeds the limit imposed by the license.",
            "exceptionType": "PX.Data.PXException",
        }
        return JSONResponse(body, status_code=429, headers=headers)

    def vendor_app(self) -> ASGIApp:
        app = Starlette(routes=list(self.routes()))
        self.throttle = LicenseThrottle(app, self.clock, self.settings, exempt=(LOGOUT,))
        return self.throttle

    def routes(self) -> Sequence[BaseRoute]:
        identity, endpoints = self.identity, self.endpoints
        inside = [
            Route("/entity", identity.endpoints, methods=["GET"]),
            Route("/entity/auth/login", identity.login, methods=["POST"]),
            Route(LOGOUT, identity.logout, methods=["POST"]),
            Route("/identity/connect/authorize", identity.authorize, methods=["GET"]),
            Route("/identity/connect/token", identity.token, methods=["POST"]),
            Route("/identity/.well-known/openid-configuration", identity.discovery,
                  methods=["GET"]),
            Route("/entity/{endpoint}/{version}/swagger.json", endpoints.swagger,
                  methods=["GET"]),
            Route(ENTITY, endpoints.list_records, methods=["GET"]),
            Route(ENTITY, endpoints.put_record, methods=["PUT"]),
            Route(ENTITY + "/{action}", endpoints.invoke_action, methods=["POST"]),
            Route(ENTITY + "/{ids:path}", endpoints.read_record, methods=["GET"]),
            Route(ENTITY + "/{ids:path}", endpoints.delete_record, methods=["DELETE"]),
        ]  # fmt: skip
        return [Mount(self.settings.instance_path, routes=inside)]

    # --- vendor-side actions (a person in the Acumatica UI) ---------------------------------

    def actions(self) -> Mapping[str, Action]:
        return {
            "edit_employee": self._edit_employee,
            "add_department": self._add_department,
            "end_sessions": self._end_sessions,
            "license_monitor": self._license_monitor,
        }

    async def _edit_employee(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"employee_id": "EP00000003", "changes": {"Status": "Inactive"}}`: plain values."""
        tenant = str(payload.get("tenant") or "AcmeLive")
        employee_id, changes = payload.get("employee_id"), payload.get("changes")
        if not isinstance(employee_id, str) or not isinstance(changes, dict):
            raise ActionError("give employee_id and changes (plain values, nested by entity)")
        if self.store.by_keys(tenant, "Employee", (employee_id,)) is None:
            raise ActionError(f"no employee {employee_id} in {tenant}", status=404)
        record = self._save(tenant, "Employee", {**changes, "EmployeeID": employee_id})
        expand = frozenset({*EMPLOYEE.linked, *EMPLOYEE.details})
        return render(EMPLOYEE, record, Selection(expand=expand))

    async def _add_department(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"department_id": "CREATIVE", "description": "Creative"}`."""
        tenant = str(payload.get("tenant") or "AcmeLive")
        changes = {"DepartmentID": str(payload.get("department_id") or ""),
                   "Description": payload.get("description")}  # fmt: skip
        return render(DEPARTMENT, self._save(tenant, "Department", changes), Selection())

    def _save(self, tenant: str, entity: str, changes: dict[str, Any]) -> dict[str, Any]:
        try:
            record, _, _ = self.store.upsert(tenant, entity, changes, mode="upsert",
                                             url_filter=None, branch="HQ")  # fmt: skip
        except FieldValidationError as errors:
            problems = "; ".join(f"{'/'.join(p)}: {m}" for p, m in errors.problems)
            raise ActionError(problems, status=422) from errors
        except (AttributeError, TypeError) as error:
            # Linked entities are objects and detail entities lists of objects.
            raise ActionError(f"changes do not fit the {entity} entity: {error}") from error
        return record

    async def _end_sessions(self, payload: dict[str, Any]) -> dict[str, Any]:
        """An administrator signs every API user out (frees every seat)."""
        closed = self.sessions.count()
        self.sessions.clear()
        return {"closed": closed}

    async def _license_monitor(self, payload: dict[str, Any]) -> dict[str, Any]:
        """What License Monitoring Console (SM604000) shows: API sessions open, seats."""
        return {"api_sessions": self.sessions.count(), "seats": self.sessions.seats}


# What `python -m sandboxes acumatica` calls: the class takes the kit's keyword options itself.
build_sandbox = AcumaticaSandbox
