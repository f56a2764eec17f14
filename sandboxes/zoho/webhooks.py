"""Workflow webhooks: `/settings/webhooks` and their deliveries on contact changes (section 9).

In Books a webhook is a workflow action fired by a workflow rule on a module's records. The
sandbox folds rule and action into one webhook record: `entity` ("contact") and `events`
(`create`, `edit`, `delete`) say when it fires [I]; `url`, `query_parameters`, `headers`,
`body_type`, `raw_data`/`form_data` and `secret` say what is sent. Placeholders
`${contact.<field>}` in query, form and raw values are filled from the record [I].
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from sandboxes.kit import Record, State, WebhookDispatcher
from sandboxes.zoho.contacts import invalid
from sandboxes.zoho.errors import DOES_NOT_EXIST_CODE, ZohoError
from sandboxes.zoho.settings import ZohoSandboxSettings
from sandboxes.zoho.signing import billing_message, sign

__all__ = ["BODY_TYPES", "EVENTS", "WebhookRegistry"]

EVENTS = ("create", "edit", "delete")
BODY_TYPES = ("application/json", "application/x-www-form-urlencoded", "raw")
FIELDS = ("webhook_name", "entity", "description", "method", "url", "query_parameters",
          "headers", "body_type", "raw_data", "form_data", "events", "secret")  # fmt: skip
SECRET = re.compile(r"^[A-Za-z0-9]{12,50}$")  # [V] 12-50 alphanumeric
PLACEHOLDER = re.compile(r"\$\{(\w+)\.(\w+)\}")


def _pairs(items: object, name: str) -> list[dict[str, str]]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and "param_name" in i for i in items
    ):
        raise invalid(name)
    return [{"param_name": str(i["param_name"]), "param_value": str(i.get("param_value", ""))}
            for i in items]  # fmt: skip


class WebhookRegistry:
    def __init__(
        self, state: State, settings: ZohoSandboxSettings, dispatcher: WebhookDispatcher
    ) -> None:
        self._state = state
        self._settings = settings
        self._dispatcher = dispatcher

    def of(self, org_id: str) -> list[Record]:
        hooks = self._state.records("webhooks")
        return [h for h in hooks if str(h.get("organization_id")) == org_id]

    def get(self, org_id: str, webhook_id: str) -> Record:
        hook = self._state.get("webhooks", webhook_id)
        if hook is None or str(hook.get("organization_id")) != org_id:
            raise ZohoError(
                DOES_NOT_EXIST_CODE,
                "Webhook does not exist.",
                status=self._settings.not_found_status,
            )
        return hook

    @staticmethod
    def public(hook: Record) -> dict[str, Any]:
        out = {k: v for k, v in hook.items() if k not in ("id", "organization_id", "secret")}
        out["has_secret"] = bool(hook.get("secret"))  # the secret is never read back
        return out

    def validate(self, body: Mapping[str, Any], current: Record | None) -> dict[str, Any]:
        merged: dict[str, Any] = {**(current or {}), **{k: body[k] for k in FIELDS if k in body}}
        name = merged.get("webhook_name")
        if not isinstance(name, str) or not name.strip() or len(name) > 50:
            raise invalid("webhook_name")
        url = merged.get("url")
        if (
            not isinstance(url, str)
            or len(url) > 5000
            or urlsplit(url).scheme
            not in (
                "http",
                "https",
            )
        ):
            raise invalid("url")
        merged["entity"] = merged.get("entity", "contact")
        if merged["entity"] != "contact":
            raise invalid("entity")
        # The kit delivers with POST only; Zoho also offers PUT and DELETE [V].
        merged["method"] = str(merged.get("method", "POST")).upper()
        if merged["method"] != "POST":
            raise invalid("method")
        merged["body_type"] = merged.get("body_type", "application/json")
        if merged["body_type"] not in BODY_TYPES:
            raise invalid("body_type")
        events = merged.get("events", ["create", "edit"])
        if not isinstance(events, list) or not events or not set(events) <= set(EVENTS):
            raise invalid("events")
        merged["events"] = list(events)
        for key in ("query_parameters", "headers", "form_data"):
            merged[key] = _pairs(merged.get(key), key)
        secret = merged.get("secret")
        if secret not in (None, "") and (not isinstance(secret, str) or not SECRET.match(secret)):
            raise invalid("secret")
        merged.setdefault("description", "")
        merged.setdefault("raw_data", "")
        return merged

    # --- firing ----------------------------------------------------------------------------

    def fire(
        self, kind: str, org: Record, record: Mapping[str, Any], rendered: dict[str, Any]
    ) -> None:
        for hook in self.of(str(org["id"])):
            if kind in hook.get("events", []) and hook.get("entity") == "contact":
                self._deliver(hook, kind, rendered)

    def _deliver(self, hook: Record, kind: str, contact: dict[str, Any]) -> None:
        def fill(text: str) -> str:
            def one(match: re.Match[str]) -> str:
                if match[1] != "contact":
                    return match[0]
                value = contact.get(match[2], "")
                return value if isinstance(value, str) else json.dumps(value)

            return PLACEHOLDER.sub(one, text)

        params = [(p["param_name"], fill(p["param_value"])) for p in hook["query_parameters"]]
        headers = {p["param_name"]: fill(p["param_value"]) for p in hook["headers"]}
        form: list[tuple[str, str]] = []
        if hook["body_type"] == "application/x-www-form-urlencoded":
            form = [(p["param_name"], fill(p["param_value"])) for p in hook["form_data"]]
            body = urlencode(form).encode("utf-8")
            signed_body = b""
        elif hook["body_type"] == "raw":
            body = fill(str(hook.get("raw_data", ""))).encode("utf-8")
            signed_body = body
        else:
            payload = {"contact": contact} if self._settings.webhook_wrap_payload else contact
            body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            signed_body = body
        headers.setdefault("Content-Type", hook["body_type"] if hook["body_type"] != "raw"
                           else "application/json")  # fmt: skip
        secret = hook.get("secret")
        scheme = self._settings.webhook_signature_scheme
        if secret and scheme != "none":
            message = (
                billing_message(params=params, form=form, body=signed_body)
                if scheme == "billing"
                else body
            )
            headers[self._settings.webhook_signature_header] = sign(
                secret=str(secret),
                message=message,
                encoding=self._settings.webhook_signature_encoding,
            )
        url = str(hook["url"])
        if params:
            url += ("&" if urlsplit(url).query else "?") + urlencode(params)
        self._dispatcher.send(
            url=url,
            body=body,
            headers=headers,
            retry_delays=self._settings.webhook_retry_delays_seconds,
            tag=f"contact.{kind}",
        )
