"""The operator API: JSON routes under ``/api/v1`` for connections, links, status and audit.

Every route wants ``Authorization: Bearer <MLC_OPERATOR_TOKEN>``, compared in constant
time; without a configured token the API answers 503 rather than run open. The
models and the OpenAPI document live in :mod:`services.ingest.operator_contract`.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from schemas.raw import ReconcileTick
from schemas.topics import raw_topic
from services.ingest.connections import (
    ConnectionConflictError,
    ConnectionInputError,
    ConnectionNotFoundError,
    ConnectionView,
    OperatorConnections,
    WebhookVendorError,
)
from services.ingest.operator_contract import (
    PREFIX,
    AuditEntryOut,
    AuditList,
    ConnectionCreate,
    ConnectionOut,
    LinkCreate,
    LinkCreated,
    LinkList,
    LinkOut,
    LinkStatusOut,
    StatusList,
    SyncOut,
    operator_openapi,
)
from services.ingest.schedule_specs import SCHEDULES_KEY
from services.ingest.schedules import TickPublisher
from services.ingest.sync_now import LINK_SCHEDULE, request_sync
from services.ingest.webhook_registrations import REGISTRATION_KEY
from services.runtime.store import LinkRecord, StateStore

__all__ = ["operator_routes"]

_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
_ERROR_STATUS: dict[type[Exception], int] = {
    ConnectionInputError: 422,
    ConnectionNotFoundError: 404,
    ConnectionConflictError: 409,
    WebhookVendorError: 502,
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _connection_out(view: ConnectionView) -> dict[str, Any]:
    r = view.record
    return ConnectionOut(
        id=r.id,
        vendor=r.vendor,
        tenant_id=r.tenant_id,
        display_name=r.display_name,
        status=r.status,
        credentials=view.credentials,
        webhook=r.settings.get(REGISTRATION_KEY),
        schedules=list(r.settings.get(SCHEDULES_KEY) or []),
        created_at=r.created_at,
        updated_at=r.updated_at,
    ).model_dump(mode="json")


def _link_out(link: LinkRecord) -> LinkOut:
    return LinkOut.model_validate(link, from_attributes=True)


Handler = Callable[[Request], Awaitable[Response]]


def operator_routes(
    store: StateStore,
    operations: OperatorConnections,
    *,
    operator_token: str | None,
    publish_tick: TickPublisher | None = None,
) -> list[BaseRoute]:
    """The ``/api/v1`` routes; pass ``settings.operator_token`` (None disables the API with 503).

    ``publish_tick`` puts a sync's tick on Kafka; without it ``.../sync`` answers 503.
    """
    expected = operator_token.encode() if operator_token else None

    def guarded(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if expected is None:
                return _error(503, "operator API disabled: set MLC_OPERATOR_TOKEN and restart")
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
                return JSONResponse(
                    {"error": "missing or wrong bearer token (MLC_OPERATOR_TOKEN)"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            try:
                return await handler(request)
            except (
                ConnectionInputError,
                ConnectionNotFoundError,
                ConnectionConflictError,
                WebhookVendorError,
            ) as exc:
                return _error(_ERROR_STATUS[type(exc)], str(exc))
            except ValidationError as exc:
                return _error(
                    422,
                    "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()),
                )
            except ValueError as exc:
                # Name what was wrong: a generic text once blamed the body for a bad query.
                return _error(400, f"malformed request: {str(exc)[:200]}")

        return endpoint

    async def list_connections(_: Request) -> Response:
        views = await operations.list_connections()
        return JSONResponse({"connections": [_connection_out(v) for v in views]})

    async def add_connection(request: Request) -> Response:
        body = ConnectionCreate.model_validate_json(await request.body())
        view = await operations.add_connection(
            body.vendor,
            display_name=body.display_name,
            credentials=body.credentials,
            tenant_id=body.tenant_id,
            options=body.options,
        )
        return JSONResponse(_connection_out(view), status_code=201)

    async def show_connection(request: Request) -> Response:
        view = await operations.show_connection(request.path_params["connection_id"])
        return JSONResponse(_connection_out(view))

    async def remove_connection(request: Request) -> Response:
        await operations.remove_connection(request.path_params["connection_id"])
        return Response(status_code=204)

    async def register_webhooks(request: Request) -> Response:
        view = await operations.register_webhooks(request.path_params["connection_id"])
        return JSONResponse(_connection_out(view))

    async def list_links(_: Request) -> Response:
        links = await operations.list_links()
        return JSONResponse(
            LinkList(links=[_link_out(link) for link in links]).model_dump(mode="json")
        )

    async def add_link(request: Request) -> Response:
        body = LinkCreate.model_validate_json(await request.body())
        link = await operations.add_link(
            source_connection_id=body.source_connection_id,
            target_connection_id=body.target_connection_id,
            flow=body.flow,
            options=body.options,
        )
        created = await _backfill_for_new_link(store, publish_tick, link)
        return JSONResponse(created.model_dump(mode="json"), status_code=201)

    async def remove_link(request: Request) -> Response:
        await operations.remove_link(request.path_params["link_id"])
        return Response(status_code=204)

    async def status(_: Request) -> Response:
        statuses = await operations.status()
        body = StatusList(
            links=[
                LinkStatusOut(
                    link=_link_out(s.link),
                    last_event_at=s.last_event_at,
                    last_action=s.last_action,
                    failures=s.failures,
                    recent=s.recent,
                    last_outcome_at=s.last_outcome_at,
                    last_outcome_status=s.last_outcome_status,
                    lag_seconds=s.lag_seconds,
                    outcome_failures=s.outcome_failures,
                    dead_letters=s.dead_letters,
                    log_error=s.log_error,
                )
                for s in statuses
            ]
        )
        return JSONResponse(body.model_dump(mode="json"))

    async def audit(request: Request) -> Response:
        subject = request.query_params.get("subject")
        raw_limit = request.query_params.get("limit", "100")
        # str.isdigit() admits "²" and other digits int() refuses: ASCII digits only.
        if not _WHOLE_NUMBER.fullmatch(raw_limit) or int(raw_limit) < 1:
            return _error(
                422, f"limit must be a whole number from 1 to 1000, not {raw_limit[:20]!r}"
            )
        limit = min(int(raw_limit), 1000)
        async with store.transaction() as tx:
            entries = await tx.audit_log.list(subject=subject, limit=limit)
        body = AuditList(
            entries=[AuditEntryOut.model_validate(e, from_attributes=True) for e in entries]
        )
        return JSONResponse(body.model_dump(mode="json"))

    document = operator_openapi()

    async def openapi(_: Request) -> Response:
        return JSONResponse(document)

    handlers: dict[tuple[str, str], Handler] = {
        ("get", "/connections"): list_connections,
        ("post", "/connections"): add_connection,
        ("get", "/connections/{connection_id}"): show_connection,
        ("delete", "/connections/{connection_id}"): remove_connection,
        ("post", "/connections/{connection_id}/sync"): _sync_handler(store, publish_tick),
        ("post", "/connections/{connection_id}/webhooks"): register_webhooks,
        ("get", "/links"): list_links,
        ("post", "/links"): add_link,
        ("delete", "/links/{link_id}"): remove_link,
        ("get", "/status"): status,
        ("get", "/audit"): audit,
        ("get", "/openapi.json"): openapi,
    }
    # One Route per path with every method, so a wrong method is 405 rather than 404.
    by_path: dict[str, dict[str, Handler]] = {}
    for (method, path), handler in handlers.items():
        by_path.setdefault(path, {})[method.upper()] = guarded(handler)
    return [_route(PREFIX + path, methods) for path, methods in by_path.items()]


def _sync_out(tick: ReconcileTick) -> SyncOut:
    return SyncOut(
        connection_id=tick.connection_id,
        vendor=tick.vendor,
        topic=raw_topic(tick.vendor),
        event_id=str(tick.event_id),
        due_at=tick.due_at,
        schedule=tick.schedule,
        full=tick.full,
    )


async def _backfill_for_new_link(
    store: StateStore, publish_tick: TickPublisher | None, link: LinkRecord
) -> LinkCreated:
    """Ask the link's source for a full resend: what it published before the link existed
    never reached this link's sink, and an ordinary reconcile only sends what changed."""
    created = LinkCreated(**_link_out(link).model_dump())
    retry = f"run: mlc connections sync {link.source_connection_id} --full"
    if publish_tick is None:
        created.backfill_error = f"no Kafka publisher here; {retry}"
        return created
    try:
        tick = await request_sync(
            store, publish_tick, link.source_connection_id, full=True, schedule=LINK_SCHEDULE
        )
    except ConnectionConflictError as exc:
        # Consent still pending: its first reconcile will send everything anyway.
        created.backfill_error = str(exc)
    except Exception as exc:  # any publish failure means "not sent": the link stands
        created.backfill_error = (
            f"the backfill tick was not published ({type(exc).__name__}); {retry}"
        )
    else:
        created.backfill = _sync_out(tick)
    return created


def _sync_handler(store: StateStore, publish_tick: TickPublisher | None) -> Handler:
    """``POST /connections/{id}/sync``: 202 once Kafka has the tick; 503 when it cannot."""

    async def sync_connection(request: Request) -> Response:
        if publish_tick is None:
            return _error(503, "sync is not available: this service has no Kafka publisher")
        try:
            tick = await request_sync(
                store,
                publish_tick,
                request.path_params["connection_id"],
                full=request.query_params.get("full", "").lower() in ("1", "true", "yes"),
            )
        except (ConnectionNotFoundError, ConnectionConflictError):
            raise
        except Exception as exc:  # any publish failure means "not sent, retry"
            return _error(503, f"the tick could not be published ({type(exc).__name__}): retry")
        return JSONResponse(_sync_out(tick).model_dump(mode="json"), status_code=202)

    return sync_connection


def _route(path: str, methods: dict[str, Handler]) -> Route:
    async def dispatch(request: Request) -> Response:
        return await methods[request.method](request)

    return Route(path, dispatch, methods=list(methods))
