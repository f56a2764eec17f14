"""BILL webhooks (base `/connect-events`): subscriptions, events, signed notifications.

Sheet section 11. A subscription names event types and an HTTPS `notificationUrl`; creating
one (and rotating its key) needs an `X-Idempotent-Key` UUID4 and answers 200 with the
`securityKey` shown once. Each notification is `{"metadata": {...}, "<entity>": {...}}`,
minified, signed `x-bill-sha-signature` = base64(HMAC-SHA256(securityKey, body)). Every
notification is kept as an event (`GET /v3/events/subscription/{id}`), with the escaped JSON
payload BILL's event history shows, and can be resent.
"""

from __future__ import annotations

import json
import secrets
import uuid

from sandboxes.bill.errors import BillError, iso_millis
from sandboxes.bill.ledger import view
from sandboxes.bill.settings import BillSandboxSettings
from sandboxes.bill.signing import SIGNATURE_HEADER, sign
from sandboxes.kit import Record, SandboxClock, State, WebhookDispatcher

__all__ = ["EVENT_TYPES", "Subscriptions"]

EVENT_TYPES = (
    "vendor.created",
    "vendor.updated",
    "vendor.archived",
    "vendor.restored",
    "autopay.failed",
    "bill.created",
    "bill.updated",
    "bill.archived",
    "bill.restored",
    "payment.updated",
    "payment.failed",
    "mass-payment.updated",
    "bank-account.created",
    "bank-account.updated",
    "card-account.created",
    "card-account.updated",
    "invoice.created",
    "invoice.updated",
    "invoice.archived",
    "invoice.restored",
    "risk-verification.updated",
)

_IDEMPOTENCY_SECONDS = 24 * 3600


def _entity_key(event_type: str) -> str:
    """`bank-account.updated` -> `bankAccount`: the payload key holding the entity."""
    head = event_type.split(".", 1)[0].split("-")
    return head[0] + "".join(part.title() for part in head[1:])


def payment_payload(payment: Record) -> Record:
    """The payment entity as the payment webhook carries it (sheet 11 sample)."""
    return {
        "id": payment["id"],
        "billIds": [part["billId"] for part in payment["billPayments"]],
        "amount": payment["amount"],
        "status": payment["status"],
        "singleStatus": payment["singleStatus"],
        "processDate": payment["processDate"],
        "vendor": {"id": payment["vendorId"], "name": payment["vendorName"]},
        "billingType": "BDC",
        "createdTime": payment["createdTime"],
        "updatedTime": payment["updatedTime"],
    }


def _bad(message: str) -> BillError:
    return BillError(400, "BDC_1001", message)


class Subscriptions:
    """Subscriptions, the idempotency cache and the notifications they produce."""

    def __init__(
        self,
        state: State,
        clock: SandboxClock,
        settings: BillSandboxSettings,
        dispatcher: WebhookDispatcher,
    ) -> None:
        self._state = state
        self._clock = clock
        self._settings = settings
        self._dispatcher = dispatcher
        self._idempotent: dict[str, tuple[float, Record]] = {}

    def reset(self) -> None:
        self._idempotent.clear()

    # --- idempotency ------------------------------------------------------------------

    def idempotent(self, key: str | None, org: str) -> tuple[str, Record | None]:
        """Check `X-Idempotent-Key`; answer the cached response of a key seen in 24 h."""
        if not key:
            raise _bad("X-Idempotent-Key: header is required")
        try:
            parsed = uuid.UUID(key)
        except ValueError:
            raise _bad("X-Idempotent-Key: must be a UUID4") from None
        if parsed.version != 4:
            raise _bad("X-Idempotent-Key: must be a UUID4")
        scoped = f"{org}:{key}"
        cached = self._idempotent.get(scoped)
        if cached is not None and self._clock.timestamp() - cached[0] < _IDEMPOTENCY_SECONDS:
            return scoped, cached[1]
        return scoped, None

    def remember(self, scoped: str, answer: Record) -> None:
        self._idempotent[scoped] = (self._clock.timestamp(), answer)

    # --- subscriptions ----------------------------------------------------------------

    def _validated(self, body: object, org: str, own_id: str | None) -> Record:
        if not isinstance(body, dict):
            raise _bad("Request body must be a JSON object.")
        name, url, events = body.get("name"), body.get("notificationUrl"), body.get("events")
        if not isinstance(name, str) or not name:
            raise _bad("name: The name field is required")
        if not isinstance(url, str) or not url:
            raise _bad("notificationUrl: The notificationUrl field is required")
        if self._settings.require_https_notification_url and not url.startswith("https://"):
            raise _bad("notificationUrl: must be an HTTPS URL")
        if not isinstance(events, list) or not events:
            raise _bad("events: The events field is required")
        cleaned: list[Record] = []
        for event in events:
            if not isinstance(event, dict) or event.get("type") not in EVENT_TYPES:
                raise _bad(f"events: unknown event type {event!r}")
            cleaned.append({"type": event["type"], "version": str(event.get("version", "1"))})
        status = body.get("status") or {"enabled": True}
        signature = (url, sorted(e["type"] for e in cleaned))
        for other in self.of_org(org):
            if (
                other["id"] != own_id
                and (other["notificationUrl"], sorted(e["type"] for e in other["events"]))
                == signature
            ):
                raise _bad("A subscription with the same events and notificationUrl exists.")
        return {
            "name": name,
            "notificationUrl": url,
            "events": cleaned,
            "status": {"enabled": bool(status.get("enabled", True))},
        }

    def of_org(self, org: str) -> list[Record]:
        return [s for s in self._state.records("subscriptions") if s["organizationId"] == org]

    def get(self, subscription_id: str, org: str) -> Record:
        record = self._state.get("subscriptions", subscription_id)
        if record is None or record["organizationId"] != org:
            raise BillError(404, "BDC_1103", f"Subscription not found: {subscription_id}")
        return record

    def create(self, body: object, org: str) -> Record:
        if len(self.of_org(org)) >= self._settings.max_subscriptions:
            raise _bad(f"Max number of subscriptions ({self._settings.max_subscriptions}) reached.")
        fields = self._validated(body, org, None)
        now = iso_millis(self._clock.now())
        record: Record = {
            "id": str(uuid.uuid4()),
            "organizationId": org,
            **fields,
            "createdTime": now,
            "updatedTime": now,
            "_securityKey": secrets.token_urlsafe(32),
        }
        self._state.insert("subscriptions", record)
        return {**view(record), "securityKey": record["_securityKey"]}

    def replace(self, subscription_id: str, body: object, org: str, *, partial: bool) -> Record:
        record = self.get(subscription_id, org)
        if partial and isinstance(body, dict):
            body = {
                **{k: record[k] for k in ("name", "notificationUrl", "events", "status")},
                **body,
            }
        record.update(self._validated(body, org, subscription_id))
        record["updatedTime"] = iso_millis(self._clock.now())
        return view(record)

    def delete(self, subscription_id: str, org: str) -> None:
        self.get(subscription_id, org)
        self._state.delete("subscriptions", subscription_id)

    def rotate_key(self, subscription_id: str, org: str) -> Record:
        record = self.get(subscription_id, org)
        record["_securityKey"] = secrets.token_urlsafe(32)
        record["updatedTime"] = iso_millis(self._clock.now())
        return {"securityKey": record["_securityKey"]}

    # --- notifications ----------------------------------------------------------------

    def notify(self, event_type: str, org: str, entity: Record) -> None:
        """Send one notification to every enabled subscription of `org` for this type."""
        payload = payment_payload(entity) if event_type.startswith("payment.") else view(entity)
        for subscription in self.of_org(org):
            if not subscription["status"]["enabled"]:
                continue
            if any(e["type"] == event_type for e in subscription["events"]):
                self._send(subscription, event_type, payload)

    def _send(self, subscription: Record, event_type: str, entity: Record) -> Record:
        event_id = str(uuid.uuid4())
        document = {
            "metadata": {
                "eventId": event_id,
                "subscriptionId": subscription["id"],
                "organizationId": subscription["organizationId"],
                "eventType": event_type,
                "version": "1",
            },
            _entity_key(event_type): entity,
        }
        minified = json.dumps(document, separators=(",", ":"))
        event: Record = {
            "id": event_id,
            "type": event_type,
            "version": "1",
            "subscriptionId": subscription["id"],
            "payload": minified,
            "createdTime": iso_millis(self._clock.now()),
            "_org": subscription["organizationId"],
        }
        self._state.insert("events", event)
        self._deliver(subscription, event)
        return event

    def _deliver(self, subscription: Record, event: Record) -> None:
        body_text = (
            event["payload"]
            if self._settings.webhook_body == "object"
            else json.dumps(event["payload"])
        )
        body = body_text.encode("utf-8")
        signature = sign(
            body=body,
            security_key=subscription["_securityKey"],
            key_encoding=self._settings.security_key_encoding,
        )
        self._dispatcher.send(
            url=subscription["notificationUrl"],
            body=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
            retry_delays=self._settings.webhook_retry_delays_seconds,
            tag=event["id"],
        )

    def test_event(self, subscription_id: str, body: object, org: str) -> Record:
        subscription = self.get(subscription_id, org)
        if not isinstance(body, dict) or body.get("eventType") not in EVENT_TYPES:
            raise _bad("eventType: The eventType field is required")
        event_type = body["eventType"]
        entity = body.get(_entity_key(event_type)) or {}
        return self.event_view(self._send(subscription, event_type, entity))

    def resend(self, subscription_id: str, event_id: str, org: str) -> Record:
        subscription = self.get(subscription_id, org)
        event = self._state.get("events", event_id)
        if event is None or event["subscriptionId"] != subscription_id:
            raise BillError(404, "BDC_1103", f"Event not found: {event_id}")
        self._deliver(subscription, event)
        return self.event_view(event)

    def history(self, subscription_id: str, org: str, entity_id: str | None) -> list[Record]:
        self.get(subscription_id, org)
        events = [
            e for e in self._state.records("events") if e["subscriptionId"] == subscription_id
        ]
        if entity_id:
            events = [e for e in events if f'"id":"{entity_id}"' in e["payload"]]
        return [self.event_view(e) for e in events]

    def event_view(self, event: Record) -> Record:
        """An event-history entry; `statusCode` is the last delivery attempt's answer."""
        attempts = [d for d in self._dispatcher.deliveries if d.tag == event["id"]]
        status = attempts[-1].status if attempts else None
        return view({**view(event), "statusCode": status})
