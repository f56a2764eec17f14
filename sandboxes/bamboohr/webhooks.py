"""BambooHR webhooks: the registration API and the signed deliveries (sheet section 11).

Event-based webhooks (`employee.created|updated|deleted`) send only ids and changed field
aliases; legacy field-based ones (`employee_with_fields.*`, the default when `events` is
omitted) send values under display names or the `postFields` names. The two families
cannot be mixed. Creating an employee fires created then updated. Deliveries are signed
HMAC-SHA256 over body bytes followed by the timestamp header bytes (see `signing.py`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from sandboxes.bamboohr.auth import Principal
from sandboxes.bamboohr.errors import webhook_error
from sandboxes.bamboohr.fields import FIELDS
from sandboxes.bamboohr.settings import BambooHRSandboxSettings
from sandboxes.bamboohr.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, USER_AGENT, sign
from sandboxes.bamboohr.state import EmployeeEvent, public
from sandboxes.kit import Record, SandboxClock, State, WebhookDispatcher

__all__ = ["EVENT_BASED", "FIELD_BASED", "WebhookRegistry"]

EVENT_BASED = ("employee.created", "employee.updated", "employee.deleted")
FIELD_BASED = (
    "employee_with_fields.updated",
    "employee_with_fields.deleted",
    "employee_with_fields.created",
)
COMPANY_EVENTS = ("company.updated", "company.deleted", "company-integrations.updated")
SUMMARY_KEYS = ("id", "name", "created", "lastSent", "url")


def _bamboo_time(moment: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` UTC, the webhook API's date form."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _flatten(prefix: str, value: object) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            pairs += _flatten(f"{prefix}[{key}]" if prefix else str(key), item)
        return pairs
    if isinstance(value, list):
        pairs = []
        for index, item in enumerate(value):
            pairs += _flatten(f"{prefix}[{index}]", item)
        return pairs
    return [(prefix, "" if value is None else str(value))]


def form_encode(payload: Mapping[str, Any]) -> bytes:
    """PHP-style nested form encoding: `data[changedFields][0]=firstName` (brackets kept)."""
    pairs = _flatten("", payload)
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs).encode()


class WebhookRegistry:
    """Registered webhooks (collection `webhooks`) and their deliveries."""

    def __init__(
        self,
        state: State,
        clock: SandboxClock,
        settings: BambooHRSandboxSettings,
        dispatcher: WebhookDispatcher,
    ) -> None:
        self.state = state
        self.clock = clock
        self.settings = settings
        self.dispatcher = dispatcher
        self._employees_of: dict[int, list[str]] = {}

    # --- deliveries --------------------------------------------------------------------

    def on_employee_event(self, event: EmployeeEvent) -> None:
        for hook in self.state.records("webhooks"):
            events = hook.get("events") or []
            kind = event.kind
            changed = self._changed_for(hook, event)
            if kind == "updated" and not changed:
                continue
            if f"employee.{kind}" in events:
                self._deliver(hook, self._event_payload(kind, event, changed), event)
            elif f"employee_with_fields.{kind}" in events:
                self._deliver(hook, self._field_payload(hook, kind, event, changed), event)

    def _changed_for(self, hook: Record, event: EmployeeEvent) -> list[str]:
        monitored = hook.get("monitorFields") or []
        return [alias for alias in monitored if alias in event.changed_fields]

    def _now_iso(self) -> str:
        return self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def _event_payload(
        self, kind: str, event: EmployeeEvent, changed: Sequence[str]
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "companyId": self.settings.company_id,
            "employeeId": event.employee_id,
        }
        if kind == "updated":
            data["changedFields"] = list(changed)
        return {"type": f"employee.{kind}", "timestamp": self._now_iso(), "data": data}

    def _field_payload(
        self, hook: Record, kind: str, event: EmployeeEvent, changed: Sequence[str]
    ) -> dict[str, Any]:
        post_fields: dict[str, str] = hook.get("postFields") or {}

        def name_of(alias: str) -> str:
            if alias in post_fields:
                return post_fields[alias]
            field = FIELDS.get(alias)
            return field.name if field is not None else alias

        entry: dict[str, Any] = {
            "id": event.employee_id,
            "action": kind.capitalize(),
            "timestamp": self._now_iso(),
            "changedFields": [name_of(alias) for alias in changed],
            "fields": {name_of(alias): {"value": event.values.get(alias)} for alias in post_fields},
        }
        return {"employees": [entry]}

    def _deliver(self, hook: Record, payload: dict[str, Any], event: EmployeeEvent) -> None:
        if hook.get("format") == "form-encoded":
            body = form_encode(payload)
            content_type = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(payload, separators=(",", ":")).encode()
            content_type = "application/json"
        if self.settings.webhook_timestamp_format == "epoch":
            stamp = str(int(self.clock.timestamp()))
        else:
            stamp = self.clock.now().strftime("%Y-%m-%dT%H:%M:%S+0000")
        headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(body=body, timestamp=stamp, private_key=hook["_privateKey"]),
        }
        if hook.get("includeCompanyDomain"):
            headers["company-domain"] = self.settings.company_domain
        delivery_id = self.dispatcher.send(
            url=hook["url"],
            body=body,
            headers=headers,
            retry_delays=self.settings.webhook_retry_delays_seconds,
            tag=str(hook["id"]),
        )
        self._employees_of[delivery_id] = [event.employee_id]

    def last_sent(self, hook_id: str) -> str | None:
        times = [d.time for d in self.dispatcher.deliveries if d.tag == hook_id and d.attempt]
        if not times:
            return None
        return _bamboo_time(datetime.fromisoformat(max(times)))

    def log(self, hook: Record) -> list[dict[str, Any]]:
        latest: dict[int, dict[str, Any]] = {}
        for record in self.dispatcher.deliveries:
            if record.tag != str(hook["id"]) or record.attempt == 0:
                continue
            stamp = _bamboo_time(datetime.fromisoformat(record.time))
            entry = latest.setdefault(
                record.delivery_id,
                {
                    "webhookId": str(hook["id"]),
                    "url": record.url,
                    "lastAttempted": stamp,
                    "lastSuccess": "",
                    "statusCode": "",
                    "format": hook.get("format", "json"),
                    "employeeIds": self._employees_of.get(record.delivery_id, []),
                },
            )
            entry["lastAttempted"] = stamp
            entry["statusCode"] = "" if record.status is None else str(record.status)
            if record.outcome == "delivered":
                entry["lastSuccess"] = stamp
        return list(latest.values())[-200:]

    # --- the registration API ----------------------------------------------------------

    def describe(self, hook: Record, *, with_key: bool = False) -> dict[str, Any]:
        answer = public(hook)
        answer["lastSent"] = self.last_sent(str(hook["id"]))
        if with_key:
            answer["privateKey"] = hook["_privateKey"]
        return answer

    def _validate(self, body: object) -> tuple[dict[str, Any] | None, Response | None]:
        if not isinstance(body, dict):
            return None, webhook_error(400, "Invalid request body", issues=["expected an object"])
        issues: list[str] = []
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            issues.append("url must start with https://")
        fmt = body.get("format")
        if fmt not in ("json", "form-encoded"):
            issues.append("format is required: json or form-encoded")
        if not body.get("name"):
            issues.append("name is required")
        events = body.get("events")
        if events is None:
            events = list(FIELD_BASED)
        if not isinstance(events, list) or not events:
            issues.append("events must be a non-empty list")
            events = []
        known = set(EVENT_BASED) | set(FIELD_BASED) | set(COMPANY_EVENTS)
        issues += [f"unknown event {e}" for e in events if e not in known]
        if any(e in EVENT_BASED for e in events) and any(e in FIELD_BASED for e in events):
            issues.append("event-based and field-based events cannot be mixed")
        monitor = body.get("monitorFields")
        if any(str(e).endswith(".updated") for e in events) and not monitor:
            issues.append("monitorFields is required for updated events")
        if monitor is not None and not isinstance(monitor, list):
            issues.append("monitorFields must be a list")
            monitor = []
        issues += [f"unknown monitor field {m}" for m in monitor or [] if m not in FIELDS]
        post_fields = body.get("postFields") or {}
        if post_fields and not any(e in FIELD_BASED for e in events):
            issues.append("postFields are only for field-based (employee_with_fields) events")
        if not isinstance(post_fields, dict):
            issues.append("postFields must be an object")
            post_fields = {}
        if issues:
            return None, webhook_error(400, "Invalid request body", issues=issues)
        return {
            "name": body["name"],
            "monitorFields": monitor,
            "postFields": post_fields,
            "url": url,
            "format": fmt,
            "includeCompanyDomain": bool(body.get("includeCompanyDomain", False)),
            "events": events,
        }, None

    def _owned(self, principal: Principal, hook_id: str) -> Record | Response:
        hook = self.state.get("webhooks", hook_id)
        if hook is None:
            return webhook_error(404, f"No webhook was found with ID: {hook_id}.")
        if hook.get("_owner") != principal.owner:
            return webhook_error(403, f"You do not have access to webhook ID: {hook_id}")
        return hook

    async def list_hooks(self, principal: Principal) -> Response:
        hooks = [
            {key: self.describe(hook)[key] for key in SUMMARY_KEYS}
            for hook in self.state.records("webhooks")
            if hook.get("_owner") == principal.owner
        ]
        return JSONResponse({"webhooks": hooks})

    async def create(self, request: Request, principal: Principal) -> Response:
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            return webhook_error(400, "Invalid request body", issues=["body is not JSON"])
        values, problem = self._validate(body)
        if problem is not None or values is None:
            return problem or webhook_error(400, "Invalid request body")
        hook: Record = {
            "id": str(self.state.next_id("webhooks")),
            "name": values.pop("name"),
            "created": _bamboo_time(self.clock.now()),
            "lastSent": None,
            **values,
            "_privateKey": secrets.token_hex(16),
            "_owner": principal.owner,
        }
        self.state.insert("webhooks", hook)
        return JSONResponse(self.describe(hook, with_key=True), status_code=201)

    async def get(self, principal: Principal, hook_id: str) -> Response:
        hook = self._owned(principal, hook_id)
        if isinstance(hook, Response):
            return hook
        return JSONResponse(self.describe(hook))

    async def replace(self, request: Request, principal: Principal, hook_id: str) -> Response:
        hook = self._owned(principal, hook_id)
        if isinstance(hook, Response):
            return hook
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            return webhook_error(400, "Invalid request body", issues=["body is not JSON"])
        values, problem = self._validate(body)
        if problem is not None or values is None:
            return problem or webhook_error(400, "Invalid request body")
        # PUT is a full replace; the private key is not regenerated (sheet 11).
        hook.update(values)
        return JSONResponse(self.describe(hook))

    async def delete(self, principal: Principal, hook_id: str) -> Response:
        hook = self._owned(principal, hook_id)
        if isinstance(hook, Response):
            return hook
        self.state.delete("webhooks", hook_id)
        return PlainTextResponse("Web hook has been deleted.", media_type="text/html")

    async def delivery_log(self, principal: Principal, hook_id: str) -> Response:
        hook = self._owned(principal, hook_id)
        if isinstance(hook, Response):
            return hook
        return JSONResponse(self.log(hook))

    @staticmethod
    def monitor_fields() -> Response:
        fields = [
            {"id": str(field.field_id), "name": field.name, "alias": alias}
            for alias, field in FIELDS.items()
        ]
        return JSONResponse({"fields": fields})

    @staticmethod
    def post_fields() -> Response:
        fields = [
            {"id": str(field.field_id), "alias": alias, "name": field.name, "type": field.type}
            for alias, field in FIELDS.items()
        ]
        return JSONResponse({"fields": fields, "tables": [], "pages": []})
