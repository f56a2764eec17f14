"""Webhook registration at the vendor, vendor-neutral: done when a connection becomes active.

Nobody pastes webhook secrets. When a connection becomes active (OAuth consent completed,
or a key/password connection added), :meth:`WebhookRegistrations.connection_active` asks
that vendor's registrar (``services/<vendor>/webhook_registration.py``) to register our
intake URL ``$MLC_PUBLIC_URL/webhooks/<vendor>/<connection id>`` through the vendor's own
API, and stores what the vendor hands back:

- each secret encrypted as the credential ``webhook_secret:<webhook id>``, where the
  intake (``services/ingest/webhooks.py``) reads it;
- the vendor's webhook ids and our URL in the connection's settings, under
  :data:`REGISTRATION_KEY` (``{"state": "registered", "ids": [...], "url": ...}``).

FreshBooks hands back no secret: it sends a verifier to the URL, which the intake stores as
``webhook_verifier:<callback id>`` (only for a callback we await:
``services/runtime/webhook_records.py``) and confirms itself through
``services/runtime/webhook_handshakes.py``, which confirms it at the vendor and keeps it as
``webhook_secret:<callback id>``; the edge needs nothing from this module for it. The
handshake may come before the vendor has answered the registration: the record says
``registering`` while the call runs, and once the ids are known the verifiers that came
meanwhile are confirmed for those ids and dropped for any other.

Schedules. Every new connection gets the default schedules in its settings
(``services/runtime/schedule_specs.py``): a daily reconciliation always, and a poll only
when webhooks are off. Webhooks are off when the vendor has no registrar, when
``MLC_WEBHOOKS_ENABLED`` is false, when the connection's settings say ``webhooks: off``,
or when registration failed. A failed registration never loses the connection: it stays
active, its settings say ``{"state": "failed", "reason": ...}``, a poll schedule is stored
and an audit entry ``webhook.registration_failed`` says why.

Retrying. :meth:`WebhookRegistrations.reregister` (``mlc connections webhooks <id>``) deletes
the connection's registration at the vendor, if it has one, and registers anew at the current
``MLC_PUBLIC_URL``. If the old one cannot be deleted nothing new is registered (two live
registrations would deliver every event twice) and :class:`WebhookVendorError` says why. When
a link is added, :meth:`WebhookRegistrations.retry_failed_registration` re-registers its
connections whose registration failed, since the link is what needs their events.

The fallback poll. The poll schedule a failed (or off) registration adds is remembered in the
registration record as ``fallback_poll`` (the exact schedule stored). A later successful
registration drops that schedule again, unless it was changed since (then it is the
operator's) or a poll of that name was stored before registration (it never was ours).

Removal: :meth:`WebhookRegistrations.connection_removing` deletes the registrations at the
vendor before the connection's credentials go. If the vendor cannot be reached the
connection is still removed and ``webhook.unregister_failed`` names the ids left behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import httpx

from schemas.envelope import utcnow
from services.control.connections import WebhookVendorError
from services.runtime.logging import get_logger
from services.runtime.oauth_tokens import TokenRefresher
from services.runtime.schedule_specs import SCHEDULES_KEY
from services.runtime.store import ConnectionRecord, StateStore
from services.runtime.vault import Vault, VaultError
from services.runtime.vendor_plugin import (
    HandshakeConfirmer,
    Registered,
    VendorAccess,
    WebhookRegistrar,
)
from services.runtime.webhook_handshakes import (
    ACTOR,
    VENDOR_TROUBLE,
    HandshakeConfirmations,
    VendorCredentials,
    put_webhook_secret,
    trouble_reason,
)
from services.runtime.webhook_records import (
    FALLBACK_POLL,
    REGISTERING,
    REGISTRATION_KEY,
    SECRET_FIELD,
    VERIFIER_FIELD_PREFIX,
    intake_url,
)

__all__ = [
    "ACTOR",
    "FALLBACK_POLL",
    "OFF_VALUES",
    "REGISTRATION_KEY",
    "WEBHOOKS_OPTION",
    "HandshakeConfirmer",
    "Registered",
    "ScheduleDefaults",
    "VendorAccess",
    "WebhookRegistrar",
    "WebhookRegistrations",
    "WebhookVendorError",
    "intake_url",
]

WEBHOOKS_OPTION: Final = "webhooks"
"""Connection setting (``--set webhooks=off``) that turns webhooks off for one connection."""
OFF_VALUES: Final = frozenset({"off", "false", "0", "no", "disabled"})

RegistrationState = Literal["registered", "failed", "off"]

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ScheduleDefaults:
    """The schedules a new connection gets (``MLC_POLL_EVERY_SECONDS`` and friends)."""

    poll_every_seconds: int = 300
    reconcile_every_seconds: int = 86_400
    reconcile_offset_seconds: int = 7_200

    def schedules(self, *, poll: bool) -> list[dict[str, Any]]:
        reconcile = {
            "name": "reconcile",
            "kind": "reconcile",
            "every_seconds": self.reconcile_every_seconds,
            "offset_seconds": self.reconcile_offset_seconds % self.reconcile_every_seconds,
        }
        if not poll:
            return [reconcile]
        return [
            {"name": "poll", "kind": "poll", "every_seconds": self.poll_every_seconds},
            reconcile,
        ]


def _with_schedules(
    settings: Mapping[str, Any], defaults: list[dict[str, Any]], *, registered: bool
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The schedules to store, and the fallback poll among them that is ours to drop later.

    Stored schedules stay and each default whose name is not taken is added (the
    operator's win). A successful registration (``registered``) drops the fallback poll
    an earlier failed one added, if it is still exactly what was added.
    """
    stored = [dict(s) for s in settings.get(SCHEDULES_KEY) or () if isinstance(s, Mapping)]
    previous = settings.get(REGISTRATION_KEY)
    fallback = previous.get(FALLBACK_POLL) if isinstance(previous, Mapping) else None
    fallback = dict(fallback) if isinstance(fallback, Mapping) else None
    if fallback is not None and fallback not in stored:
        fallback = None  # changed or removed since: the operator's now
    if registered and fallback is not None:
        stored = [s for s in stored if s != fallback]
        fallback = None
    taken = {s.get("name") for s in stored}
    added = [d for d in defaults if d["name"] not in taken]
    for schedule in added:
        if schedule.get("kind") == "poll" and fallback is None:
            fallback = schedule
    return stored + added, fallback


class WebhookRegistrations:
    """Registers, confirms and removes connections' webhooks at their vendors."""

    def __init__(
        self,
        *,
        store: StateStore,
        vault: Vault,
        registrars: Mapping[str, WebhookRegistrar],
        public_url: str,
        http: Callable[[str], httpx.AsyncClient],
        refreshers: Mapping[str, TokenRefresher] | None = None,
        enabled: bool = True,
        schedules: ScheduleDefaults | None = None,
        vendor_schedules: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``vendor_schedules``: vendor -> the schedules its connections get besides
        ``schedules`` (a vendor plugin's own, e.g. Zoho's per-minute ``links`` tick)."""
        self._store = store
        self._vault = vault
        self._registrars = dict(registrars)
        self._public_url = public_url
        self._http = http
        self._enabled = enabled
        self._schedules = schedules or ScheduleDefaults()
        self._vendor_schedules = dict(vendor_schedules or {})
        self._credentials = VendorCredentials(
            store=store, vault=vault, refreshers=refreshers, http=http, clock=clock
        )
        self.handshakes = HandshakeConfirmations(
            store=store,
            vault=vault,
            confirmers=self._registrars,
            credentials=self._credentials,
            http=http,
        )
        """Confirms handshakes with these registrars (the edge of the same process uses it)."""
        self._clock = clock

    # --- becoming active ----------------------------------------------------------------------

    async def connection_active(self, connection_id: str) -> RegistrationState | None:
        """Register the connection's webhooks (or not) and store its default schedules.

        Never raises for a vendor's refusal or silence: the connection stays, polled.
        Returns the registration state, or None when the connection does not exist.
        """
        record = await self._record(connection_id)
        if record is None:
            return None
        registrar = self._registrars.get(record.vendor)
        off_reason = self._off_reason(record, has_registrar=registrar is not None)
        if registrar is None or off_reason is not None:
            await self._settle(record, state="off", reason=off_reason, poll=True)
            return "off"
        url = intake_url(self._public_url, record.vendor, connection_id)
        await self._mark_registering(connection_id)
        try:
            access = await self._access(record)
            async with self._http(connection_id) as http:
                registered = await registrar.register(http, access, url)
        except VENDOR_TROUBLE as error:
            reason = trouble_reason(error)
            _log.warning("webhook_registration_failed", vendor=record.vendor, reason=reason)
            await self._settle(record, state="failed", reason=reason, poll=True, url=url)
            await self._early_handshakes(connection_id, ())
            return "failed"
        await self._settle(record, state="registered", poll=False, url=url, registered=registered)
        await self._early_handshakes(connection_id, registered.webhook_ids)
        return "registered"

    async def _mark_registering(self, connection_id: str) -> None:
        """Open the door to handshakes while the vendor has not yet named the callback ids."""
        async with self._store.transaction() as tx:
            current = await tx.connections.get(connection_id)
            if current is None:
                return
            settings = dict(current.settings)
            previous = settings.get(REGISTRATION_KEY)
            settings[REGISTRATION_KEY] = {
                **(previous if isinstance(previous, Mapping) else {}),
                "state": REGISTERING,
                "since": self._clock().isoformat(),
            }
            await tx.connections.update(connection_id, settings=settings)

    async def _early_handshakes(self, connection_id: str, ids: Sequence[str]) -> None:
        """Confirm the verifiers that arrived while registering, for the ids the vendor named;
        drop the others (anyone could have sent them while the door was open)."""
        async with self._store.transaction() as tx:
            stored = await tx.credentials.list(connection_id=connection_id)
        early = {
            c.field.removeprefix(VERIFIER_FIELD_PREFIX): c
            for c in stored
            if c.field.startswith(VERIFIER_FIELD_PREFIX)
        }
        for webhook_id, credential in early.items():
            if webhook_id not in ids:
                async with self._store.transaction() as tx:
                    await tx.credentials.delete(connection_id, credential.field)
                continue
            try:
                verifier = self._vault.decrypt(
                    credential.token, connection_id=connection_id, field=credential.field
                )
            except VaultError:
                continue  # our key ring's trouble: the vendor can be asked to resend it
            await self.confirm_handshake(connection_id, webhook_id, verifier)

    def _off_reason(self, record: ConnectionRecord, *, has_registrar: bool) -> str | None:
        if not has_registrar:
            return f"{record.vendor} webhooks are not registered by ml-connector"
        if not self._enabled:
            return "webhooks are turned off (MLC_WEBHOOKS_ENABLED=false)"
        if str(record.settings.get(WEBHOOKS_OPTION, "on")).strip().lower() in OFF_VALUES:
            return "webhooks are turned off for this connection (webhooks=off)"
        return None

    async def _settle(
        self,
        record: ConnectionRecord,
        *,
        state: RegistrationState,
        poll: bool,
        reason: str | None = None,
        url: str | None = None,
        registered: Registered | None = None,
    ) -> None:
        """Store the outcome: secrets, the registration record, schedules, an audit entry."""
        ids = list(registered.webhook_ids) if registered else []
        registration: dict[str, Any] = {"state": state, "ids": ids}
        if url is not None:
            registration["url"] = url
        if reason is not None:
            registration["reason"] = reason
        async with self._store.transaction() as tx:
            current = await tx.connections.get(record.id)
            if current is None:  # removed meanwhile: nothing to keep
                return
            for webhook_id, secret in (registered.secrets if registered else {}).items():
                await put_webhook_secret(tx, self._vault, record.id, webhook_id, secret)
            settings = dict(current.settings)
            defaults = self._schedules.schedules(poll=poll) + [
                dict(s) for s in self._vendor_schedules.get(record.vendor, ())
            ]
            schedules, fallback = _with_schedules(
                settings, defaults, registered=state == "registered"
            )
            if fallback is not None:
                registration[FALLBACK_POLL] = fallback
            settings[REGISTRATION_KEY] = registration
            settings[SCHEDULES_KEY] = schedules
            await tx.connections.update(record.id, settings=settings)
            action = {
                "registered": "webhook.registered",
                "failed": "webhook.registration_failed",
                "off": "webhook.off",
            }[state]
            detail: dict[str, Any] = {"vendor": record.vendor, "ids": ids}
            if url is not None:
                detail["url"] = url
            if reason is not None:
                detail["reason"] = reason
            await tx.audit_log.append(actor=ACTOR, action=action, subject=record.id, detail=detail)

    # --- FreshBooks-style handshakes ----------------------------------------------------------

    def handshake_received(
        self, vendor: str, connection_id: str, webhook_id: str, verifier: str
    ) -> None:
        """Confirm in the background (the vendor's handshake request is answered first)."""
        self.handshakes.received(vendor, connection_id, webhook_id, verifier)

    async def confirm_handshake(self, connection_id: str, webhook_id: str, verifier: str) -> bool:
        """Send the stored verifier back to the vendor, once (see ``webhook_handshakes.py``)."""
        return await self.handshakes.confirm(connection_id, webhook_id, verifier)

    async def aclose(self) -> None:
        """Wait for confirmations still running (each is a couple of vendor calls)."""
        await self.handshakes.aclose()

    # --- removal ------------------------------------------------------------------------------

    async def connection_removing(self, connection_id: str) -> None:
        """Delete the connection's registrations at the vendor (before its credentials go)."""
        record = await self._record(connection_id)
        if record is None:
            return
        registration = record.settings.get(REGISTRATION_KEY) or {}
        ids = [str(i) for i in registration.get("ids") or ()]
        registrar = self._registrars.get(record.vendor)
        if not ids or registrar is None:
            return
        await self._unregister(record, registrar, ids)

    async def _unregister(
        self, record: ConnectionRecord, registrar: WebhookRegistrar, ids: list[str]
    ) -> str | None:
        """Delete ``ids`` at the vendor and audit it; the reason when that failed, else None."""
        reason: str | None = None
        try:
            access = await self._access(record)
            async with self._http(record.id) as http:
                await registrar.unregister(http, access, ids)
        except VENDOR_TROUBLE as error:
            reason = trouble_reason(error)
            action, detail = "webhook.unregister_failed", {"reason": reason}
        else:
            action, detail = "webhook.unregistered", {}
        async with self._store.transaction() as tx:
            await tx.audit_log.append(
                actor=ACTOR,
                action=action,
                subject=record.id,
                detail={"vendor": record.vendor, "ids": ids, **detail},
            )
        return reason

    # --- retrying -----------------------------------------------------------------------------

    async def reregister(self, connection_id: str) -> RegistrationState | None:
        """Delete the connection's registration at the vendor (if any) and register anew.

        Registers at the current ``MLC_PUBLIC_URL``; on success the fallback poll a failed
        registration added is dropped. Raises :class:`WebhookVendorError` when the old
        registration cannot be deleted (then nothing changes). None: no such connection.
        """
        record = await self._record(connection_id)
        if record is None:
            return None
        registration = record.settings.get(REGISTRATION_KEY) or {}
        ids = [str(i) for i in registration.get("ids") or ()]
        registrar = self._registrars.get(record.vendor)
        if ids and registrar is not None:
            reason = await self._unregister(record, registrar, ids)
            if reason is not None:
                old = ", ".join(ids)
                msg = f"the old {record.vendor} webhook ({old}) was not deleted: {reason}"
                raise WebhookVendorError(msg)
            async with self._store.transaction() as tx:
                for webhook_id in ids:
                    await tx.credentials.delete(connection_id, f"{SECRET_FIELD}:{webhook_id}")
                    await tx.credentials.delete(connection_id, VERIFIER_FIELD_PREFIX + webhook_id)
                current = await tx.connections.get(connection_id)
                if current is not None:  # the old ids are gone at the vendor: forget them
                    settings = dict(current.settings)
                    settings[REGISTRATION_KEY] = {**registration, "ids": []}
                    await tx.connections.update(connection_id, settings=settings)
        return await self.connection_active(connection_id)

    async def retry_failed_registration(self, connection_id: str) -> RegistrationState | None:
        """Re-register if the connection's last registration failed; else leave it be."""
        record = await self._record(connection_id)
        registration = record.settings.get(REGISTRATION_KEY) if record else None
        if not isinstance(registration, Mapping) or registration.get("state") != "failed":
            return None
        return await self.reregister(connection_id)

    # --- shared -------------------------------------------------------------------------------

    async def _record(self, connection_id: str) -> ConnectionRecord | None:
        async with self._store.transaction() as tx:
            return await tx.connections.get(connection_id)

    async def _access(self, record: ConnectionRecord) -> VendorAccess:
        """The connection's credentials: a fresh access token, or its decrypted secrets."""
        return await self._credentials.access(record)
