"""The Expensify sandbox: the one Integration Server endpoint, limits, actions, credentials.

Every job is a POST (or GET [I]) to `/Integration-Server/ExpensifyIntegrations` with the
form field `requestJobDescription` (JSON: `type`, `credentials`, `inputSettings`, ...) and,
per job, `template` or `data`. Read `docs/vendors/expensify-sandbox.md` for how to run it
and which behaviours are settings. Nothing here imports `services/`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sandboxes.expensify.actions import UiActions
from sandboxes.expensify.auth import Authenticator
from sandboxes.expensify.errors import (
    ExpensifyError,
    MalformedRequestError,
    error_response,
    malformed,
    malformed_response,
)
from sandboxes.expensify.exporter import Exporter
from sandboxes.expensify.limits import SlidingWindows
from sandboxes.expensify.policies import PolicyJobs
from sandboxes.expensify.seed import POLICY_US, build_seed
from sandboxes.expensify.settings import ExpensifySandboxSettings
from sandboxes.expensify.state import COLLECTIONS, Ledger
from sandboxes.kit import (
    Action,
    ActionError,
    LimitPolicy,
    LimitRefusal,
    SandboxClock,
    Seed,
    VendorSandbox,
)

__all__ = ["ENDPOINT", "ExpensifySandbox", "build_sandbox"]

ENDPOINT = "/Integration-Server/ExpensifyIntegrations"


class ExpensifySandbox(VendorSandbox):
    name = "expensify"
    collections = COLLECTIONS

    def __init__(
        self,
        *,
        settings: ExpensifySandboxSettings | None = None,
        clock: SandboxClock | None = None,
        limits: LimitPolicy | None = None,
        seed: Seed | None = None,
        empty: bool = False,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or ExpensifySandboxSettings()
        super().__init__(
            clock=clock, limits=limits, seed=seed, empty=empty, webhook_transport=webhook_transport
        )

    # --- kit hooks -----------------------------------------------------------------------

    def setup(self) -> None:
        self.ledger = Ledger(self.state, self.clock)
        self.auth = Authenticator(self.state, self.clock, self.settings)
        self.windows = SlidingWindows(self.clock, self.settings.rate_windows)
        self.exporter = Exporter(self.ledger, self.settings)
        self.policies = PolicyJobs(self.ledger, self.settings)
        self.ui = UiActions(self.ledger, self.auth)

    def on_reset(self) -> None:
        self.windows.reset(self.settings.rate_windows)

    def reset(self, *, empty: bool = False) -> None:
        super().reset(empty=empty)
        self.auth.stamp_unissued()

    def default_seed(self) -> Seed:
        return build_seed()

    def credentials(self) -> dict[str, Any]:
        pairs = self.state.records("credentials")
        policies = [p["id"] for p in self.state.records("policies")]
        return {
            "partner_user_id": pairs[0]["partnerUserID"] if pairs else None,
            "partner_user_secret": pairs[0]["partnerUserSecret"] if pairs else None,
            "policy_id": POLICY_US if POLICY_US in policies else next(iter(policies), None),
        }

    def default_limits(self) -> LimitPolicy:
        # The vendor's own windows are per partnerUserID (in the body, see `limits.py`);
        # the kit's policy switches them with `enabled` and can add one global window.
        return LimitPolicy(enabled=bool(self.settings.rate_windows))

    def limited_response(self, request: Request, refusal: LimitRefusal) -> Response:
        return self._rate_limited(refusal.retry_after)

    def actions(self) -> Mapping[str, Action]:
        return {**self.ui.all(), "set_rate_windows": self._set_rate_windows}

    async def _set_rate_windows(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"windows": [[5, 10], [20, 60]]}`: requests per seconds, all enforced at once."""
        windows = payload.get("windows")
        try:
            parsed = tuple((int(n), float(s)) for n, s in windows or [])
        except (TypeError, ValueError):
            raise ActionError("windows is a list of [requests, seconds]") from None
        if any(n < 1 or s <= 0 for n, s in parsed):
            raise ActionError("windows is a list of [requests, seconds]")
        self.windows.reset(parsed)
        return {"windows": [list(w) for w in parsed]}

    # --- the endpoint --------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return [Route(ENDPOINT, self._endpoint, methods=["POST", "GET"])]

    def _rate_limited(self, retry_after: int) -> Response:
        settings = self.settings
        headers = (
            {"Retry-After": str(retry_after)} if settings.rate_limit_retry_after_header else {}
        )
        return JSONResponse(
            {"responseMessage": settings.rate_limit_message, "responseCode": 429},
            status_code=settings.rate_limit_http_status,
            headers=headers,
        )

    async def _fields(self, request: Request) -> dict[str, str]:
        if request.method == "GET":
            if not self.settings.accept_get:
                raise MalformedRequestError("HTTP method GET is not supported by this URL")
            return dict(request.query_params)
        form = await request.form()
        fields: dict[str, str] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                fields[key] = (await value.read()).decode("utf-8", errors="replace")
            else:
                fields[key] = value
        return fields

    async def _endpoint(self, request: Request) -> Response:
        try:
            fields = await self._fields(request)
            raw = fields.get("requestJobDescription")
            if raw is None:
                raise MalformedRequestError("requestJobDescription is missing")
            try:
                job = json.loads(raw)
            except ValueError:
                raise MalformedRequestError(
                    "JSONObject text must begin with '{' at character 1"
                ) from None
            if not isinstance(job, dict):
                raise MalformedRequestError("JSONObject text must begin with '{' at character 1")
        except MalformedRequestError as exc:
            return malformed_response(self.settings, str(exc))
        credentials = job.get("credentials")
        user_id = credentials.get("partnerUserID") if isinstance(credentials, dict) else None
        if self.limiter.policy.enabled:
            wait = self.windows.admit(str(user_id) if user_id else "anonymous")
            if wait is not None:
                return self._rate_limited(wait)
        try:
            owner = str(self.auth.authenticate(credentials).get("email", ""))
            return await self._run(job, fields, owner)
        except ExpensifyError as exc:
            return error_response(self.settings, exc)

    async def _run(self, job: dict[str, Any], fields: dict[str, str], owner: str) -> Response:
        kind = job.get("type")
        inputs = job.get("inputSettings") or {}
        if not isinstance(inputs, dict):
            raise malformed("inputSettings")
        if kind == "file":
            result = self.exporter.export(job, fields.get("template"), owner)
            delay = self.settings.export_delay_ms_per_report * result.report_count
            if delay:
                # A slow export is the behaviour itself (sheet 3: exports can take minutes).
                await asyncio.sleep(delay / 1000)
            return PlainTextResponse(result.file_name)
        if kind == "download":
            return self.exporter.download(job)
        if kind == "get":
            sub = inputs.get("type")
            if sub == "policyList":
                return JSONResponse(self.policies.policy_list(inputs, owner))
            if sub == "policy":
                return JSONResponse(self.policies.policy(inputs, owner))
            if sub == "domainCardList":
                return JSONResponse(self.policies.domain_cards(inputs, owner))
            raise malformed("type")
        if kind == "update" and inputs.get("type") == "employees" and "entity" in inputs:
            return JSONResponse(self.policies.update_employees(job, fields.get("data")))
        if kind in ("create", "update", "reconciliation"):
            raise ExpensifyError(
                410, f"Job '{kind}' with inputSettings.type '{inputs.get('type')}' is not "
                "simulated by the sandbox",
            )  # fmt: skip
        raise malformed("type")


# What `python -m sandboxes expensify` calls: the class takes the kit's keyword options itself.
build_sandbox = ExpensifySandbox
