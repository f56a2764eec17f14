"""Connections and links as the operator manages them, over the state store and the vault.

Secret credential fields are encrypted with the vault (AAD: connection id and field
name) before they reach the store; plain fields (a company subdomain, an instance URL)
live in the connection's settings. Nothing here returns a secret in clear: views
carry ``MASK`` instead. Every change appends an audit entry with actor ``operator``.

Removing a connection is refused while links still use it (remove the links first):
a link silently vanishing with its mappings and cross-references is worse than one
extra command. The store's foreign keys remove the connection's credentials with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from schemas.envelope import utcnow
from services.control.link_health import LinkHealth, LinkHealthReader
from services.runtime.credential_fields import CredentialSpec
from services.runtime.store import ConnectionRecord, LinkRecord, StateStore
from services.runtime.vault import Vault
from services.runtime.vendor_quota import VendorQuota, read_quota
from services.vendors import credential_specs

__all__ = [
    "ACTOR",
    "CREDENTIAL_SPECS",
    "FLOWS",
    "MASK",
    "ConnectionConflictError",
    "ConnectionInputError",
    "ConnectionLifecycle",
    "ConnectionNotFoundError",
    "ConnectionView",
    "LinkStatus",
    "OperatorConnections",
    "WebhookVendorError",
]

ACTOR = "operator"
MASK = "••••"
# The product's flows (ARCHITECTURE.md "The five flows"); a link runs exactly one.
FLOWS = ("people-freshbooks", "people-zoho", "people-acumatica", "ap-bill", "expenses")
# Non-OAuth credential styles by vendor; OAuth vendors connect through the OAuth flow.
CREDENTIAL_SPECS: Mapping[str, CredentialSpec] = credential_specs()
# Audit actions that count as failures in a link's status.
_FAILURE_MARKERS = ("refused", "failed", "error")


class ConnectionLifecycle(Protocol):
    """Told when a connection becomes active and before one is removed (webhook registration)."""

    async def connection_active(self, connection_id: str) -> object: ...

    async def connection_removing(self, connection_id: str) -> None: ...

    async def reregister(self, connection_id: str) -> object:
        """Delete the vendor's registration, if any, and register anew."""
        ...

    async def retry_failed_registration(self, connection_id: str) -> object:
        """Re-register only if the last registration failed."""
        ...


class ConnectionInputError(ValueError):
    """The request names an unknown vendor/flow or lacks or adds a field."""


class ConnectionNotFoundError(LookupError):
    """No connection or link with that id."""


class ConnectionConflictError(Exception):
    """The change would break something that still depends on the record."""


class WebhookVendorError(Exception):
    """The vendor did not let us change the connection's webhook registration."""


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """A connection as the operator sees it: secrets masked, plain fields shown."""

    record: ConnectionRecord
    credentials: dict[str, str]


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """What the store knows of one link: its rows and its recent audit entries."""

    link: LinkRecord
    last_event_at: datetime | None
    last_action: str | None
    failures: int
    recent: list[dict[str, Any]] = field(default_factory=list)
    # From the log (services/control/link_health.py); None when it was not read.
    last_outcome_at: datetime | None = None
    last_outcome_status: str | None = None
    lag_seconds: float | None = None
    outcome_failures: int | None = None
    dead_letters: int | None = None
    log_error: str | None = None
    # The target vendor's call quota as its service last saw it (services/runtime/vendor_quota).
    target_quota: VendorQuota | None = None


class OperatorConnections:
    """Add, show and remove connections and links; each change audited."""

    def __init__(
        self,
        store: StateStore,
        vault: Vault,
        *,
        tenant_id: str = "default",
        lifecycle: ConnectionLifecycle | None = None,
        link_health: LinkHealthReader | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._vault = vault
        self._tenant_id = tenant_id
        self._lifecycle = lifecycle
        self._link_health = link_health
        self._clock = clock

    async def add_connection(
        self,
        vendor: str,
        *,
        display_name: str,
        credentials: Mapping[str, str],
        tenant_id: str | None = None,
        options: Mapping[str, str] | None = None,
    ) -> ConnectionView:
        """Create an active connection with ``credentials`` checked against the vendor's spec.

        ``options`` are plain settings that are not credentials (``webhooks: off``). Once
        stored, the lifecycle registers the vendor's webhook and the default schedules.
        """
        spec = CREDENTIAL_SPECS.get(vendor)
        if spec is None:
            known = ", ".join(sorted(CREDENTIAL_SPECS))
            msg = (
                f"unknown vendor {vendor!r} for key/password credentials (known: {known}); "
                "OAuth vendors connect with `mlc connections add <vendor> --oauth`"
            )
            raise ConnectionInputError(msg)
        allowed = {f.name for f in spec.fields}
        unknown = sorted(set(credentials) - allowed)
        missing = sorted(
            f.name for f in spec.fields if f.required and not credentials.get(f.name, "").strip()
        )
        if unknown or missing:
            msg = f"{vendor} needs {', '.join(sorted(allowed))}"
            if missing:
                msg += f"; missing: {', '.join(missing)}"
            if unknown:
                msg += f"; not a {vendor} field: {', '.join(unknown)}"
            raise ConnectionInputError(msg)
        plain = {k: v for k, v in credentials.items() if k not in spec.secret_names}
        clashing = sorted(set(options or {}) & allowed)
        if clashing:
            raise ConnectionInputError(f"options may not set credentials: {', '.join(clashing)}")
        async with self._store.transaction() as tx:
            record = await tx.connections.create(
                vendor=vendor,
                tenant_id=tenant_id or self._tenant_id,
                display_name=display_name,
                settings={**(options or {}), "credential_style": spec.style, **plain},
            )
            for name in sorted(spec.secret_names & set(credentials)):
                token = self._vault.encrypt(credentials[name], connection_id=record.id, field=name)
                await tx.credentials.put(
                    record.id, name, token=token, key_id=Vault.key_id_of(token)
                )
            await tx.audit_log.append(
                actor=ACTOR,
                action="connection.created",
                subject=record.id,
                # Field names only: the audit log is readable by operators, secrets are not.
                detail={"vendor": vendor, "fields": sorted(credentials)},
            )
        if self._lifecycle is not None:
            await self._lifecycle.connection_active(record.id)
        return await self.show_connection(record.id)

    async def list_connections(self) -> list[ConnectionView]:
        async with self._store.transaction() as tx:
            records = await tx.connections.list()
            stored = await tx.credentials.list()
        secret_fields: dict[str, list[str]] = {}
        for credential in stored:
            secret_fields.setdefault(credential.connection_id, []).append(credential.field)
        return [_view(record, secret_fields.get(record.id, [])) for record in records]

    async def show_connection(self, connection_id: str) -> ConnectionView:
        async with self._store.transaction() as tx:
            record = await tx.connections.get(connection_id)
            stored = await tx.credentials.list(connection_id=connection_id)
        if record is None:
            raise ConnectionNotFoundError(f"no connection {connection_id!r}")
        return _view(record, [credential.field for credential in stored])

    async def remove_connection(self, connection_id: str) -> None:
        """Remove a connection and its credentials; refused while links use it."""
        async with self._store.transaction() as tx:
            if await tx.connections.get(connection_id) is None:
                raise ConnectionNotFoundError(f"no connection {connection_id!r}")
            using = await tx.links.list(connection_id=connection_id)
            if using:
                ids = ", ".join(link.id for link in using)
                msg = f"connection {connection_id} is used by links {ids}: remove them first"
                raise ConnectionConflictError(msg)
        # Before the credentials go: deleting the vendor's webhook needs them.
        if self._lifecycle is not None:
            await self._lifecycle.connection_removing(connection_id)
        async with self._store.transaction() as tx:
            if await tx.connections.get(connection_id) is None:
                raise ConnectionNotFoundError(f"no connection {connection_id!r}")
            for credential in await tx.credentials.list(connection_id=connection_id):
                await tx.credentials.delete(connection_id, credential.field)
            await tx.connections.delete(connection_id)
            await tx.audit_log.append(
                actor=ACTOR, action="connection.removed", subject=connection_id
            )

    async def add_link(
        self,
        *,
        source_connection_id: str,
        target_connection_id: str,
        flow: str,
        options: Mapping[str, Any] | None = None,
        preview: bool = False,
    ) -> LinkRecord:
        """``preview``: created disabled, so no sink writes it until it goes live
        (``services/control/replays.py``)."""
        if flow not in FLOWS:
            raise ConnectionInputError(f"unknown flow {flow!r} (one of: {', '.join(FLOWS)})")
        if source_connection_id == target_connection_id:
            raise ConnectionInputError("a link needs two different connections")
        async with self._store.transaction() as tx:
            for connection_id in (source_connection_id, target_connection_id):
                if await tx.connections.get(connection_id) is None:
                    raise ConnectionNotFoundError(f"no connection {connection_id!r}")
            link = await tx.links.create(
                source_connection_id=source_connection_id,
                target_connection_id=target_connection_id,
                flow=flow,
                options=dict(options or {}),
                enabled=not preview,
            )
            await tx.audit_log.append(
                actor=ACTOR,
                action="link.created",
                subject=link.id,
                detail={
                    "flow": flow,
                    "source": source_connection_id,
                    "target": target_connection_id,
                    "preview": preview,
                },
            )
        if self._lifecycle is not None:
            # The link needs its connections' events: a registration that failed gets
            # another try now, when someone is watching, rather than only on request.
            for connection_id in (source_connection_id, target_connection_id):
                # A vendor refusal is audited by the lifecycle; the link stands, polled.
                with contextlib.suppress(WebhookVendorError):
                    await self._lifecycle.retry_failed_registration(connection_id)
        return link

    async def register_webhooks(self, connection_id: str) -> ConnectionView:
        """Register the connection's webhook anew (``mlc connections webhooks``).

        Raises :class:`WebhookVendorError` when the old registration could not be deleted;
        a vendor refusing the new one is not an error: the view shows ``failed`` and why.
        """
        if self._lifecycle is None:
            msg = "webhook registration is not wired into this service"
            raise ConnectionConflictError(msg)
        await self.show_connection(connection_id)  # 404 before any vendor call
        await self._lifecycle.reregister(connection_id)
        async with self._store.transaction() as tx:
            await tx.audit_log.append(
                actor=ACTOR, action="connection.webhooks_reregistered", subject=connection_id
            )
        return await self.show_connection(connection_id)

    async def list_links(self) -> list[LinkRecord]:
        async with self._store.transaction() as tx:
            return await tx.links.list()

    async def set_link_options(self, link_id: str, options: Mapping[str, Any]) -> LinkRecord:
        """Replace a link's options (a fixed account map, say); audited with the keys changed."""
        async with self._store.transaction() as tx:
            before = await tx.links.get(link_id)
            if before is None:
                raise ConnectionNotFoundError(f"no link {link_id!r}")
            link = await tx.links.update(link_id, options=dict(options))
            changed = sorted(
                key
                for key in set(before.options) | set(options)
                if before.options.get(key) != options.get(key)
            )
            await tx.audit_log.append(
                actor=ACTOR,
                action="link.options_changed",
                subject=link_id,
                detail={"changed": changed},
            )
        return link

    async def remove_link(self, link_id: str) -> None:
        async with self._store.transaction() as tx:
            if not await tx.links.delete(link_id):
                raise ConnectionNotFoundError(f"no link {link_id!r}")
            await tx.audit_log.append(actor=ACTOR, action="link.removed", subject=link_id)

    async def status(self, *, recent: int = 50) -> list[LinkStatus]:
        """Per link: the newest audit entry about it or its connections, failures among them,
        and, when a log reader is wired, the lag and failures the log shows."""
        statuses = await self._audit_status(recent=recent)
        if self._link_health is None or not statuses:
            return statuses
        try:
            health = await self._link_health([s.link for s in statuses])
        except Exception as exc:  # the store's half of the status still stands
            problem = f"the log could not be read ({type(exc).__name__})"
            return [replace(s, log_error=problem) for s in statuses]
        now = self._clock()
        return [_with_health(s, health.get(s.link.id, LinkHealth()), now) for s in statuses]

    async def _audit_status(self, *, recent: int) -> list[LinkStatus]:
        statuses: list[LinkStatus] = []
        async with self._store.transaction() as tx:
            for link in await tx.links.list():
                entries = []
                for subject in (link.id, link.source_connection_id, link.target_connection_id):
                    entries.extend(await tx.audit_log.list(subject=subject, limit=recent))
                entries.sort(key=lambda entry: entry.id, reverse=True)
                entries = entries[:recent]
                newest = entries[0] if entries else None
                quota = await read_quota(tx, link.target_connection_id)
                statuses.append(
                    LinkStatus(
                        link=link,
                        last_event_at=newest.at if newest else None,
                        last_action=newest.action if newest else None,
                        failures=sum(
                            any(marker in entry.action for marker in _FAILURE_MARKERS)
                            for entry in entries
                        ),
                        recent=[
                            {"at": e.at.isoformat(), "action": e.action, "subject": e.subject}
                            for e in entries[:5]
                        ],
                        target_quota=quota,
                    )
                )
        return statuses


def _with_health(status: LinkStatus, health: LinkHealth, now: datetime) -> LinkStatus:
    lag = (now - health.last_outcome_at).total_seconds() if health.last_outcome_at else None
    return replace(
        status,
        last_outcome_at=health.last_outcome_at,
        last_outcome_status=health.last_outcome_status,
        lag_seconds=None if lag is None else max(lag, 0.0),
        outcome_failures=health.outcome_failures,
        dead_letters=health.dead_letters,
        log_error=health.note,
    )


def _view(record: ConnectionRecord, secret_fields: list[str]) -> ConnectionView:
    spec = CREDENTIAL_SPECS.get(record.vendor)
    plain_names = {f.name for f in spec.fields if not f.secret} if spec else set()
    shown = {name: str(record.settings[name]) for name in plain_names if name in record.settings}
    shown.update({name: MASK for name in secret_fields})
    return ConnectionView(record=record, credentials=dict(sorted(shown.items())))
