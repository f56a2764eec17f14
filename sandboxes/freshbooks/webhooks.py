"""Callbacks (sheet section 8): registration, the verification handshake, signed deliveries.

On create FreshBooks POSTs a form with `verifier` to the URI; the callback stays unverified
(and receives nothing) until the app PUTs `{"callback": {"verifier": ...}}`; `{"resend": true}`
sends a fresh verifier. Event deliveries are thin forms (`name`, `object_id`, `account_id`,
`business_id`, `identity_id`, `user_id`) signed with the verifier as in `signing.py`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sandboxes.freshbooks.errors import EventsError
from sandboxes.freshbooks.query import ListQuery, Paged, paginate, select
from sandboxes.freshbooks.resources import EVENT_NOUNS, public
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from sandboxes.freshbooks.signing import SIGNATURE_HEADER, form_body, signature
from sandboxes.freshbooks.timefmt import iso_z
from sandboxes.kit import Record, SandboxClock, State, WebhookDispatcher

__all__ = ["CallbackRegistry", "valid_event"]

VERBS = ("create", "update", "delete")
NOT_FOUND = EventsError(404, 404, "Requested resource could not be found.")


def _view(record: Record) -> Record:
    """As the SDK fixtures show a callback: `callbackid`, no `id`, never the verifier."""
    out = public(record)
    out.pop("id", None)
    return out


def valid_event(event: str) -> bool:
    """`<noun>.<verb>` (or a bare noun, all its verbs [inferred]) from the known list."""
    noun, _, verb = event.partition(".")
    if noun not in EVENT_NOUNS:
        return False
    if not verb:
        return True
    return verb in VERBS or (verb == "sendByEmail" and noun in ("invoice", "estimate"))


def _validation(details: list[str]) -> EventsError:
    # SDK fixture create_callback_response__validation_error.json (served with HTTP 400).
    message = "The request was well-formed but was unable to be followed due to semantic errors."
    return EventsError(400, 422, message, details)


class CallbackRegistry:
    """Collection `callbacks`: `{callbackid, event, uri, verified, updated_at, _verifier}`."""

    def __init__(
        self,
        state: State,
        clock: SandboxClock,
        settings: FreshBooksSandboxSettings,
        dispatcher: WebhookDispatcher,
    ) -> None:
        self.state = state
        self.clock = clock
        self.settings = settings
        self.dispatcher = dispatcher

    def _context(self) -> dict[str, str]:
        business = (self.state.records("businesses") or [{}])[0]
        identity = (self.state.records("identities") or [{}])[0]
        roles = identity.get("_roles") or [{}]
        return {
            "account_id": str(business.get("account_id", "")),
            "business_id": str(business.get("id", "")),
            "identity_id": str(identity.get("id", "")),
            "user_id": str(roles[0].get("userid", "1")),
        }

    def _get(self, callback_id: str) -> Record:
        record = self.state.get("callbacks", callback_id)
        if record is None:
            raise NOT_FOUND
        return record

    # --- the API ------------------------------------------------------------------------------

    def list_callbacks(self, query: ListQuery) -> Paged:
        wanted = [c.values[-1] for c in query.conditions if c.field == "event"]
        chosen = select(
            self.state.records("callbacks"),
            ListQuery(query.page, query.per_page, (), (), query.sort),
            has_vis_state=False,
        )
        if wanted:
            # DOC:webhooks: `search[event]=invoice` matches the event and its parent noun.
            chosen = [
                c
                for c in chosen
                if c["event"] == wanted[-1] or c["event"].startswith(f"{wanted[-1]}.")
            ]
        page = paginate(chosen, query)
        return Paged(
            [_view(c) for c in page.items], page.page, page.pages, page.per_page, page.total
        )

    def get(self, callback_id: str) -> Record:
        return _view(self._get(callback_id))

    def create(self, body: Mapping[str, Any]) -> Record:
        event, uri = body.get("event"), body.get("uri")
        details = []
        if not isinstance(event, str) or not valid_event(event):
            details.append("event: Value error, Unrecognized event.")
        parts = urlsplit(uri) if isinstance(uri, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            details.append("uri: Input should be a valid URL, relative URL without a base")
        if details:
            raise _validation(details)
        callback_id = self.state.next_id("callbacks")
        record: Record = {
            "id": callback_id,
            "callbackid": callback_id,
            "event": event,
            "uri": uri,
            "verified": False,
            "updated_at": iso_z(self.clock.now()),
            "_verifier": secrets.token_urlsafe(18),
        }
        self.state.insert("callbacks", record)
        self._handshake(record)
        return _view(record)

    def update(self, callback_id: str, body: Mapping[str, Any]) -> Record:
        record = self._get(callback_id)
        if body.get("resend") in (True, "true", 1):
            record["_verifier"] = secrets.token_urlsafe(18)
            record["verified"] = False
            self._handshake(record)
        elif "verifier" in body:
            if not secrets.compare_digest(str(body["verifier"]), record["_verifier"]):
                raise _validation(["verifier: Invalid verifier."])
            record["verified"] = True
        else:
            changes = {k: body[k] for k in ("event", "uri") if k in body}
            if not changes:
                raise _validation(["callback: Nothing to update."])
            if "event" in changes and not valid_event(str(changes["event"])):
                raise _validation(["event: Value error, Unrecognized event."])
            record.update(changes)
            if "uri" in changes:
                # A new address must be verified again.
                record["verified"] = False
                record["_verifier"] = secrets.token_urlsafe(18)
                self._handshake(record)
        record["updated_at"] = iso_z(self.clock.now())
        return _view(record)

    def delete(self, callback_id: str) -> None:
        self._get(callback_id)
        self.state.delete("callbacks", callback_id)

    # --- deliveries ---------------------------------------------------------------------------

    def _send(
        self, record: Record, fields: list[tuple[str, str]], *, signed: bool, tag: str
    ) -> None:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signed:
            headers[SIGNATURE_HEADER] = signature(record["_verifier"], fields)
        self.dispatcher.send(
            url=str(record["uri"]),
            body=form_body(fields),
            headers=headers,
            retry_delays=self.settings.webhook_retry_delays_seconds,
            tag=tag,
        )

    def _handshake(self, record: Record) -> None:
        context = self._context()
        fields = [
            ("name", self.settings.handshake_event_name),
            ("object_id", str(record["callbackid"])),
            ("verifier", str(record["_verifier"])),
            *context.items(),
        ]
        self._send(record, fields, signed=self.settings.sign_handshake, tag="callback.verify")

    def fire(self, noun: str, verb: str, object_id: object) -> int:
        """Deliver `<noun>.<verb>` to every verified callback registered for it; how many."""
        event = f"{noun}.{verb}"
        sent = 0
        for record in self.state.records("callbacks"):
            if not record.get("verified") or record["event"] not in (event, noun):
                continue
            fields = [("name", event), ("object_id", str(object_id)), *self._context().items()]
            self._send(record, fields, signed=True, tag=event)
            sent += 1
        return sent
