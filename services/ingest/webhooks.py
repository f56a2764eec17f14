"""``POST /webhooks/{vendor}/{connection_id}``: verified webhook deliveries onto ``raw.<vendor>``.

The checks run in this order, and the first that fails answers (a JSON body
``{"error": <reason>, "detail": <text>}`` plus an audit entry, and nothing is published):

1. unknown vendor, unknown connection, or a connection of another vendor: 404;
2. a content type the vendor does not send: 415;
3. a body over ``MLC_WEBHOOK_MAX_BODY_BYTES``: 413 (the body is read with the cap,
   ``Content-Length`` is only an early refusal, never trusted as the size);
4. a missing or wrong signature (or no webhook secret stored for the connection): 401;
5. a signed timestamp outside the vendor's replay window (``replay_windows``, else
   ``MLC_WEBHOOK_REPLAY_WINDOW_SECONDS``): 401 with the age;
6. a body that is not UTF-8 JSON (or form data, for form vendors): 400.

FreshBooks' verification handshake (an unsigned form carrying ``verifier`` and
``object_id``) is checked after check 3. Being unsigned, anyone can send one, so it is
acted on only for a callback of ours awaiting verification
(``services/runtime/webhook_records.py``: an id FreshBooks gave us that has no secret yet,
or any id while our registration call is under way): a malformed one is 400, any other
404, more than ``MLC_WEBHOOK_HANDSHAKES_PER_MINUTE`` per connection 429, and nothing is
stored for them. An awaited one is answered 200: the verifier is stored encrypted as the
credential ``webhook_verifier:<callback id>`` and handed to ``on_handshake`` (the edge's
:class:`~services.runtime.webhook_handshakes.HandshakeConfirmations`, which confirm it at
FreshBooks in the background, whichever process registered the callback).

Secrets: the credentials ``webhook_secret`` and ``webhook_secret:<anything>`` of the
connection, decrypted with the vault; a delivery passes if any of them verifies it
(FreshBooks signs each callback with that callback's own verifier). The connection and its
secrets are read in one transaction and kept for ``MLC_WEBHOOK_CONNECTION_KEEP_SECONDS``
(:mod:`services.runtime.kept_reads`): a steady stream of deliveries then costs the store
one duplicate check and one claim each. A kept read never refuses what a fresh one would
accept: a signature the kept secrets cannot verify (a secret rotated or added since) is
checked again against a fresh read, and a handshake always reads afresh (it depends on a
registration that may have started a moment ago). What it can do is accept a delivery for
a connection deleted, or a secret revoked, less than that long ago. Unknown connections
are never kept, so made-up ids cannot grow it.

Store, then answer. A verified delivery is published as a ``RawDelivery`` and answered 200
only after Kafka acknowledged it (acks=all). The publish runs as its own task and the
request waits at most ``MLC_WEBHOOK_PUBLISH_TIMEOUT_SECONDS`` for it; past that, or on a
Kafka error, the vendor gets 503 with ``Retry-After`` and retries later.

Duplicates, and why the claim comes after the ack. Deliveries are deduplicated in the
state store's idempotency ledger (service ``ingest``) under
``<vendor>:<connection>:<delivery id>``, where the delivery id is the vendor's own event
id or else ``sha256:<hex of the body>`` (so the same signed body is recorded once for as
long as the ledger keeps claims: ``MLC_WEBHOOK_DEDUPE_RETENTION_HOURS``, pruned by
``services/ingest/ledger_pruning.py``). The key is claimed only *after* Kafka acknowledged the
event, so a failed publish leaves nothing claimed and the vendor's retry is published
normally: no delivery is lost to a claim whose event never reached the bus. A claim made
first and released on failure would lose the delivery if the process died between the
two. (Claims made at the same time share one transaction: :mod:`services.ingest.claims`.)
The price of claiming after the ack is a window for duplicates, closed as follows:

- a delivery whose key is already claimed is answered 200 (``duplicate``), not published;
- a publish that outlives the request's wait is not abandoned: it keeps running, and
  claims the key if Kafka acknowledges it later, so the vendor's retry is then a
  duplicate; while it is still running, a retry of the same delivery is answered 503
  (``in_flight``) rather than published a second time;
- what remains is two replicas receiving the same delivery at the same instant, or a
  crash between the ack and the claim: then the event is on the bus twice with the same
  ``delivery_id``, which consumers already tolerate (the bus is at-least-once).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import parse_qsl

import orjson
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from schemas.envelope import utcnow
from schemas.raw import RawDelivery
from schemas.topics import raw_topic
from services.ingest.audit import record_handshake, record_refusal
from services.ingest.claims import LedgerClaims
from services.ingest.registry import VENDORS, WebhookScheme
from services.ingest.settings import IngestSettings
from services.runtime.kept_reads import Kept, KeptReads
from services.runtime.logging import get_logger, is_sensitive_key
from services.runtime.metrics import WEBHOOKS, bounded
from services.runtime.signatures import VerificationError
from services.runtime.store import ConnectionRecord, StateStore, StoredCredential, StoreError
from services.runtime.vault import Vault, VaultError
from services.runtime.webhook_records import (
    ROUTE_PATH,
    SECRET_FIELD,
    VERIFIER_FIELD_PREFIX,
    awaits_handshake,
)

__all__ = [
    "LEDGER_SERVICE",
    "ROUTE_PATH",
    "SECRET_FIELD",
    "VERIFIER_FIELD_PREFIX",
    "HandshakeHook",
    "Publish",
    "WebhookIntake",
    "webhook_routes",
]

LEDGER_SERVICE: Final = "ingest"
JSON: Final = "application/json"
FORM: Final = "application/x-www-form-urlencoded"
# Headers that carry credentials or only describe the HTTP hop; never forwarded.
_NEVER_FORWARDED: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "host", "content-length"}
)
# Ids and callback ids longer than this are not a vendor's; refused, not stored.
_MAX_ID_CHARS: Final = 200
_MAX_FORM_FIELDS: Final = 1000
# Verifications one connection may have waiting at once: a registration asks for one per
# event (a handful); more can only be forged.
_MAX_PENDING_VERIFIERS: Final = 20
_STORE_ERRORS: Final = (StoreError, SQLAlchemyError, OSError)
_PUBLISHED: Final = "published"  # the outcome a claimed delivery is recorded with
_STORE_UNREADABLE: Final = "the state store cannot be read"
_STORE_UNWRITABLE: Final = "the state store cannot be written"

Publish = Callable[[RawDelivery, str], Awaitable[object]]
"""Publish an event to a topic and return once Kafka acknowledged it."""

HandshakeHook = Callable[[str, str, str, str], object]
"""Told ``(vendor, connection id, callback id, verifier)`` once a handshake's verifier is stored
(the registrations confirm it at the vendor, in the background)."""

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Verifiable:
    """A connection and its webhook secrets, decrypted: what a delivery is checked against."""

    connection: ConnectionRecord
    secrets: tuple[str, ...]


class Refusal(Exception):  # noqa: N818 - a refusal is an answer, not an error of ours
    """The request is answered ``status`` with ``reason``; nothing is published."""

    def __init__(
        self, status: int, reason: str, detail: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {reason}: {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail
        self.headers = dict(headers or {})


@dataclass(slots=True)
class WebhookIntake:
    """The webhook route's handler, built from its parts (see :func:`webhook_routes`)."""

    store: StateStore
    vault: Vault
    publish: Publish
    settings: IngestSettings
    vendors: Mapping[str, WebhookScheme] = field(default_factory=lambda: VENDORS)
    clock: Callable[[], datetime] = utcnow
    on_handshake: HandshakeHook | None = None
    replay_windows: Mapping[str, float] = field(default_factory=dict)
    """Vendor -> seconds a signed timestamp may be off; others get the settings' window."""
    _in_flight: dict[str, asyncio.Task[None]] = field(default_factory=dict, init=False)
    _handshakes: dict[str, deque[float]] = field(default_factory=dict, init=False)
    _kept: KeptReads[_Verifiable] = field(init=False)
    _claims: LedgerClaims = field(init=False)

    def __post_init__(self) -> None:
        self._kept = KeptReads(keep_seconds=self.settings.webhook_connection_keep_seconds)
        self._claims = LedgerClaims(
            self.store, LEDGER_SERVICE, outcome=_PUBLISHED, clock=self.clock
        )

    @property
    def in_flight(self) -> int:
        """Publishes still waiting for Kafka (some may outlive their request)."""
        return sum(not task.done() for task in self._in_flight.values())

    async def handle(self, request: Request) -> Response:
        """Answer one webhook request (see the module docstring for the order of checks)."""
        vendor = str(request.path_params.get("vendor", ""))
        connection_id = str(request.path_params.get("connection_id", ""))
        try:
            return await self._handle(request, vendor, connection_id)
        except Refusal as refusal:
            WEBHOOKS.labels(bounded(vendor, self.vendors), "refused", refusal.reason).inc()
            if refusal.status < 500:  # 5xx are our trouble, not the sender's
                client = request.client.host if request.client else None
                await record_refusal(
                    self.store,
                    vendor=vendor,
                    connection_id=connection_id,
                    status=refusal.status,
                    reason=refusal.reason,
                    detail=refusal.detail,
                    client=client,
                )
            _log.info(
                "webhook_refused",
                vendor=vendor[:_MAX_ID_CHARS],
                connection_id=connection_id[:_MAX_ID_CHARS],
                status=refusal.status,
                reason=refusal.reason,
            )
            return JSONResponse(
                {"error": refusal.reason, "detail": refusal.detail},
                status_code=refusal.status,
                headers=refusal.headers,
            )
        except ClientDisconnect:
            return Response(status_code=400)

    async def aclose(self) -> None:
        """Let running publishes finish (bounded by the publish timeout), then cancel the rest."""
        tasks = list(self._in_flight.values())
        if not tasks:
            return
        _done, pending = await asyncio.wait(
            tasks, timeout=self.settings.webhook_publish_timeout_seconds
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _handle(self, request: Request, vendor: str, connection_id: str) -> Response:
        scheme = self.vendors.get(vendor)
        if scheme is None:
            raise Refusal(404, "unknown_vendor", f"no webhooks are accepted for {vendor[:50]!r}")
        known = await self._verifiable(vendor, connection_id)
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type not in scheme.content_types:
            raise Refusal(
                415,
                "unsupported_content_type",
                f"{vendor} webhooks are sent as {' or '.join(scheme.content_types)}",
            )
        body = await self._read_body(request)
        if scheme.handshake is not None:
            try:
                handshake = scheme.handshake(body, request.headers)
            except VerificationError as refused:
                raise Refusal(400, "bad_handshake", refused.detail) from None
            if handshake is not None:
                fresh = await self._verifiable(vendor, connection_id, fresh=True)
                return await self._record_verifier(
                    request,
                    vendor,
                    fresh.value.connection,
                    handshake.callback_id,
                    handshake.verifier,
                )
        try:
            query = parse_qsl(
                request.url.query, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS
            )
        except ValueError:
            raise Refusal(400, "malformed_query", "the query string has too many fields") from None
        await self._verify(scheme, known, body, request, query)
        connection = known.value.connection
        text = _parse_body(body, content_type)
        delivery_id = scheme.delivery_id(body, request.headers) or (
            "sha256:" + hashlib.sha256(body).hexdigest()
        )
        event = RawDelivery(
            connection_id=connection.id,
            tenant_id=connection.tenant_id,
            occurred_at=self.clock(),
            entity_key=delivery_id,
            vendor=vendor,
            delivery_id=delivery_id,
            content_type=content_type,
            headers=_forwarded_headers(request, scheme),
            body=text,
        )
        return await self._store(event, topic=raw_topic(vendor))

    async def _verifiable(
        self, vendor: str, connection_id: str, *, fresh: bool = False
    ) -> Kept[_Verifiable]:
        """The connection and its secrets (kept, unless ``fresh``); 404 if not ``vendor``'s."""
        unknown = Refusal(
            404, "unknown_connection", f"no {vendor} connection {connection_id[:50]!r}"
        )
        if not connection_id or len(connection_id) > _MAX_ID_CHARS:
            raise unknown

        async def load() -> _Verifiable:
            try:
                async with self.store.reading() as tx:
                    connection = await tx.connections.get(connection_id)
                    stored = await tx.credentials.list(connection_id=connection_id)
            except _STORE_ERRORS as exc:
                raise self._unavailable("store_unavailable", _STORE_UNREADABLE, exc) from None
            if connection is None:
                raise unknown  # raised, so never kept
            return _Verifiable(connection, self._decrypted_secrets(connection_id, stored))

        known = await self._kept.read(connection_id, load, fresh=fresh)
        if known.value.connection.vendor != vendor:
            raise unknown
        return known

    async def _read_body(self, request: Request) -> bytes:
        cap = self.settings.webhook_max_body_bytes
        too_large = Refusal(413, "body_too_large", f"the body is over {cap} bytes")
        declared = request.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > cap:
            raise too_large
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > cap:
                raise too_large
        return bytes(body)

    async def _record_verifier(
        self,
        request: Request,
        vendor: str,
        connection: ConnectionRecord,
        callback_id: str,
        verifier: str,
    ) -> Response:
        """Keep a handshake's verifier, only for a callback of ours awaiting verification.

        The handshake is unsigned, so it is checked against what we registered
        (:func:`awaits_handshake`), limited per connection, and refused with nothing stored
        otherwise: a forged one must neither reach the vendor nor grow the store.
        """
        connection_id = connection.id
        if len(callback_id) > _MAX_ID_CHARS or len(verifier) > _MAX_ID_CHARS:
            raise Refusal(400, "bad_handshake", "the verifier or callback id is too long")
        self._take_handshake_budget(connection_id)
        field_name = VERIFIER_FIELD_PREFIX + callback_id
        try:
            async with self.store.transaction() as tx:
                stored = [c.field for c in await tx.credentials.list(connection_id=connection_id)]
                secret_prefix = SECRET_FIELD + ":"
                confirmed = {
                    f.removeprefix(secret_prefix) for f in stored if f.startswith(secret_prefix)
                }
                if not awaits_handshake(connection.settings, callback_id, confirmed, self.clock()):
                    raise Refusal(
                        404,
                        "unknown_callback",
                        "no registration of ours is waiting to verify this callback",
                    )
                pending = [f for f in stored if f.startswith(VERIFIER_FIELD_PREFIX)]
                if field_name not in pending and len(pending) >= _MAX_PENDING_VERIFIERS:
                    raise Refusal(
                        429,
                        "too_many_handshakes",
                        f"{len(pending)} verifications are already waiting for this connection",
                    )
                token = self.vault.encrypt(verifier, connection_id=connection_id, field=field_name)
                await tx.credentials.put(
                    connection_id, field_name, token=token, key_id=Vault.key_id_of(token)
                )
        except _STORE_ERRORS as exc:
            raise self._unavailable(
                "store_unavailable", "the verifier cannot be stored", exc
            ) from None
        client = request.client.host if request.client else None
        await record_handshake(
            self.store,
            vendor=vendor,
            connection_id=connection_id,
            callback_id=callback_id,
            client=client,
        )
        _log.info("webhook_verifier_recorded", vendor=vendor, connection_id=connection_id)
        if self.on_handshake is not None:
            self.on_handshake(vendor, connection_id, callback_id, verifier)
        return JSONResponse({"status": "verifier_recorded", "callback_id": callback_id})

    def _take_handshake_budget(self, connection_id: str) -> None:
        """At most ``webhook_handshakes_per_minute`` handshakes per connection, per process."""
        now = time.monotonic()
        recent = self._handshakes.setdefault(connection_id, deque())
        while recent and now - recent[0] >= 60.0:
            recent.popleft()
        if len(recent) >= self.settings.webhook_handshakes_per_minute:
            retry = str(int(60.0 - (now - recent[0])) + 1)
            raise Refusal(
                429,
                "too_many_handshakes",
                "too many verification requests for this connection; retry later",
                headers={"Retry-After": retry},
            )
        recent.append(now)

    def _decrypted_secrets(
        self, connection_id: str, stored: Sequence[StoredCredential]
    ) -> tuple[str, ...]:
        secrets: list[str] = []
        for credential in stored:
            if credential.field != SECRET_FIELD and not credential.field.startswith(
                SECRET_FIELD + ":"
            ):
                continue
            try:
                secrets.append(
                    self.vault.decrypt(
                        credential.token, connection_id=connection_id, field=credential.field
                    )
                )
            except VaultError as exc:
                # Our key ring, not the sender, is at fault: the vendor should retry.
                raise self._unavailable(
                    "secret_unreadable", "the webhook secret cannot be decrypted", exc
                ) from None
        return tuple(secrets)

    async def _verify(
        self,
        scheme: WebhookScheme,
        known: Kept[_Verifiable],
        body: bytes,
        request: Request,
        query: list[tuple[str, str]],
    ) -> None:
        try:
            self._verify_with(scheme, known.value.secrets, body, request, query)
        except Refusal:
            if not known.kept:
                raise
            # Kept secrets may predate a rotation: only a fresh read may refuse.
            connection_id = known.value.connection.id
            fresh = await self._verifiable(scheme.vendor, connection_id, fresh=True)
            self._verify_with(scheme, fresh.value.secrets, body, request, query)

    def _verify_with(
        self,
        scheme: WebhookScheme,
        secrets: Sequence[str],
        body: bytes,
        request: Request,
        query: list[tuple[str, str]],
    ) -> None:
        if not secrets:
            raise Refusal(
                401, "no_webhook_secret", "no webhook secret is registered for this connection"
            )
        now = self.clock()
        window = self.replay_windows.get(scheme.vendor, self.settings.webhook_replay_window_seconds)
        tolerance = timedelta(seconds=window)
        failures: list[VerificationError] = []
        for secret in secrets:
            try:
                scheme.verify(
                    secret=secret,
                    body=body,
                    headers=request.headers,
                    query=query,
                    now=now,
                    tolerance=tolerance,
                )
            except VerificationError as failure:
                failures.append(failure)
            else:
                return
        # A stale timestamp means one secret matched the signature: that is the real reason.
        reported = next((f for f in failures if f.reason == "stale_timestamp"), failures[0])
        raise Refusal(401, reported.reason, reported.detail)

    async def _store(self, event: RawDelivery, *, topic: str) -> Response:
        key = f"{event.vendor}:{event.connection_id}:{event.delivery_id}"
        retry_after = {"Retry-After": str(self.settings.webhook_retry_after_seconds)}
        in_flight = Refusal(
            503,
            "in_flight",
            "an earlier copy of this delivery is still being stored; retry later",
            headers=retry_after,
        )
        if self._running(key):
            raise in_flight
        try:
            async with self.store.reading() as tx:
                claimed = await tx.ledger.get(LEDGER_SERVICE, key)
        except _STORE_ERRORS as exc:
            raise self._unavailable("store_unavailable", _STORE_UNREADABLE, exc) from None
        if claimed is not None:
            _log.info("webhook_duplicate", vendor=event.vendor, delivery_id=event.delivery_id)
            WEBHOOKS.labels(event.vendor, "duplicate", "").inc()
            return JSONResponse({"status": "duplicate", "delivery_id": event.delivery_id})
        if self._running(key):
            raise in_flight
        task = asyncio.create_task(self._publish_then_claim(key, event, topic))
        self._in_flight[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))
        try:
            await asyncio.wait_for(
                asyncio.shield(task), timeout=self.settings.webhook_publish_timeout_seconds
            )
        except TimeoutError:
            raise Refusal(
                503, "kafka_timeout", "Kafka did not acknowledge in time", headers=retry_after
            ) from None
        except Exception as exc:  # any publish failure means "not stored, retry"
            _log.warning("webhook_publish_failed", vendor=event.vendor, error=type(exc).__name__)
            raise Refusal(
                503, "kafka_unavailable", "the delivery could not be stored", headers=retry_after
            ) from None
        WEBHOOKS.labels(event.vendor, "accepted", "").inc()
        return JSONResponse({"status": "accepted", "delivery_id": event.delivery_id})

    async def _publish_then_claim(self, key: str, event: RawDelivery, topic: str) -> None:
        await self.publish(event, topic)
        try:
            if not await self._claims.claim(key):
                _log.warning("webhook_published_twice", vendor=event.vendor, delivery_id=key)
        except _STORE_ERRORS as exc:
            # The event is on the bus, which is what the vendor needs to hear; a retry of
            # it would be published again, with the same delivery_id.
            _log.error("webhook_claim_failed", vendor=event.vendor, error=type(exc).__name__)

    def _unavailable(self, reason: str, detail: str, exc: BaseException) -> Refusal:
        _log.error("webhook_unavailable", reason=reason, error=type(exc).__name__)
        retry_after = str(self.settings.webhook_retry_after_seconds)
        return Refusal(503, reason, detail, headers={"Retry-After": retry_after})

    def _running(self, key: str) -> bool:
        task = self._in_flight.get(key)
        return task is not None and not task.done()

    def _forget(self, key: str, task: asyncio.Task[None]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled() and task.exception() is not None:
            _log.info("webhook_publish_ended", outcome="failed", delivery_id=key)


def _parse_body(body: bytes, content_type: str) -> str:
    """The body as text, after checking it is what its content type says."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "malformed_body", "the body is not UTF-8 text") from None
    if content_type == JSON:
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            raise Refusal(400, "malformed_json", "the body is not valid JSON") from None
    elif content_type == FORM:
        try:
            parse_qsl(
                text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=10_000
            )
        except ValueError:
            raise Refusal(400, "malformed_form", "the body is not form data") from None
    return text


def _forwarded_headers(request: Request, scheme: WebhookScheme) -> dict[str, str]:
    """The request's headers minus signatures, credentials and hop-by-hop ones."""
    dropped = {*_NEVER_FORWARDED, *scheme.secret_headers}
    return {
        name: value
        for name, value in request.headers.items()
        if name not in dropped and not is_sensitive_key(name)
    }


def webhook_routes(intake: WebhookIntake) -> list[Route]:
    """The routes the intake serves, for the ingest app to mount."""
    return [Route(ROUTE_PATH, intake.handle, methods=["POST"])]
