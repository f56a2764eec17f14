"""The operator API on FastAPI: JSON routes under ``/api/v1`` for connections, links, status,
audit, sync requests, the review queue (:mod:`services.control.review`) and the links'
mapping tables (:mod:`services.control.mappings`).

Every route wants ``Authorization: Bearer <MLC_OPERATOR_TOKEN>`` (:mod:`operator_auth`, the
one check, shared with the OAuth routes); without a configured token the API answers 503
rather than run open. The request and response models are :mod:`operator_contract`'s; the
OpenAPI document (``/api/v1/openapi.json``, behind the token too) is FastAPI's, generated
from these routes and models. Errors are ``{"error": ...}`` (the CLI reads them):
:func:`install_error_answers` maps the domain's errors and FastAPI's validation to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
from starlette.types import Lifespan

from schemas.raw import ReconcileTick
from schemas.topics import raw_topic
from services.control.connections import (
    ConnectionConflictError,
    ConnectionInputError,
    ConnectionNotFoundError,
    ConnectionView,
    OperatorConnections,
    WebhookVendorError,
)
from services.control.mappings import (
    MappingNotFoundError,
    list_mappings,
    mapping_out,
    remove_mapping,
    set_mapping,
)
from services.control.oauth import OAuthFlow, oauth_callback_route, oauth_router
from services.control.operator_auth import OperatorAuth, operator_route_class
from services.control.operator_contract import (
    PREFIX,
    AuditEntryOut,
    AuditList,
    ConnectionCreate,
    ConnectionList,
    ConnectionOut,
    ErrorBody,
    LinkCreate,
    LinkCreated,
    LinkList,
    LinkOptionsIn,
    LinkOut,
    LinkStatusOut,
    MappingIn,
    MappingList,
    MappingSet,
    QuotaOut,
    ReviewItemOut,
    ReviewList,
    ReviewRedriven,
    ReviewResolveIn,
    StatusList,
    SyncOut,
    error_responses,
)
from services.control.replay_api import replay_router
from services.control.replays import (
    LinkReplays,
    ReplayNotFoundError,
    ReplaysUnavailableError,
)
from services.control.review import (
    API_ACTOR,
    EventPublisher,
    NothingToRedriveError,
    RedriveNotSentError,
    ReviewFilter,
    ReviewItemClosedError,
    ReviewItemNotFoundError,
    list_review_items,
    redrive_review_item,
    resolve_review_item,
    review_item_out,
    show_review_item,
)
from services.control.sync_now import LINK_SCHEDULE, request_sync
from services.control.webhook_registrations import REGISTRATION_KEY
from services.runtime.outages import is_outage
from services.runtime.schedule_specs import SCHEDULES_KEY
from services.runtime.store import LinkRecord, StateStore
from services.runtime.ticks import TickPublisher

__all__ = ["install_error_answers", "operator_app", "operator_openapi", "operator_router"]

AUDIT_LIMIT_CAP: Final = 1000
_ERROR_STATUS: dict[type[Exception], int] = {
    ConnectionInputError: 422,
    ConnectionNotFoundError: 404,
    ConnectionConflictError: 409,
    WebhookVendorError: 502,
    ReviewItemNotFoundError: 404,
    MappingNotFoundError: 404,
    ReviewItemClosedError: 409,
    NothingToRedriveError: 409,
    RedriveNotSentError: 503,
    ReplayNotFoundError: 404,
    ReplaysUnavailableError: 503,
}
_VIA: Final = "operator API"
_MAPPING_PATH: Final = "/links/{link_id}/mappings/{kind}/{source_value:path}"
# What a query or path parameter must be, for the 422 that names it in words.
_EXPECTED: Final = {"limit": f"a whole number from 1 to {AUDIT_LIMIT_CAP} (larger is capped)"}
_QUOTED_MAX: Final = 20


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _connection_out(view: ConnectionView) -> ConnectionOut:
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
    )


def _link_out(link: LinkRecord) -> LinkOut:
    return LinkOut.model_validate(link, from_attributes=True)


def operator_router(
    store: StateStore,
    operations: OperatorConnections,
    *,
    auth: OperatorAuth,
    publish_tick: TickPublisher | None = None,
    publish_event: EventPublisher | None = None,
) -> APIRouter:
    """The ``/api/v1`` routes behind ``auth``; ``publish_tick`` puts a sync's tick on Kafka
    (without it ``.../sync`` answers 503), ``publish_event`` a re-driven review item's event
    (without it ``.../redrive`` answers 503)."""
    router = APIRouter(
        prefix=PREFIX,
        route_class=operator_route_class(auth),
        responses=error_responses(401, 422, 503),
    )

    @router.get("/connections", summary="List connections")
    async def list_connections() -> ConnectionList:
        views = await operations.list_connections()
        return ConnectionList(connections=[_connection_out(v) for v in views])

    @router.post(
        "/connections",
        status_code=201,
        summary="Add a key/password connection",
        responses=error_responses(400, 409),
    )
    async def add_connection(body: ConnectionCreate) -> ConnectionOut:
        view = await operations.add_connection(
            body.vendor,
            display_name=body.display_name,
            credentials=body.credentials,
            tenant_id=body.tenant_id,
            options=body.options,
        )
        return _connection_out(view)

    @router.get(
        "/connections/{connection_id}",
        summary="Show a connection",
        responses=error_responses(404),
    )
    async def show_connection(connection_id: str) -> ConnectionOut:
        return _connection_out(await operations.show_connection(connection_id))

    @router.delete(
        "/connections/{connection_id}",
        status_code=204,
        response_class=Response,
        summary="Remove a connection (refused while links use it)",
        responses=error_responses(404, 409),
    )
    async def remove_connection(connection_id: str) -> Response:
        await operations.remove_connection(connection_id)
        return Response(status_code=204)

    @router.post(
        "/connections/{connection_id}/sync",
        status_code=202,
        response_model=SyncOut,
        summary=(
            "Reconcile a connection now (a ReconcileTick on raw.<vendor>); ?full=true resends "
            "every record, unchanged ones too"
        ),
        responses=error_responses(404, 409),
    )
    async def sync_connection(
        connection_id: str,
        full: Annotated[str, Query(description="1, true or yes: resend unchanged records")] = "",
    ) -> SyncOut | JSONResponse:
        if publish_tick is None:
            return _error(503, "sync is not available: this service has no Kafka publisher")
        try:
            tick = await request_sync(
                store,
                publish_tick,
                connection_id,
                full=full.lower() in ("1", "true", "yes"),
            )
        except (ConnectionNotFoundError, ConnectionConflictError):
            raise
        except Exception as exc:  # any publish failure means "not sent, retry"
            return _error(503, f"the tick could not be published ({type(exc).__name__}): retry")
        return _sync_out(tick)

    @router.post(
        "/connections/{connection_id}/webhooks",
        summary=(
            "Register the connection's webhook anew at MLC_PUBLIC_URL (the old one is deleted "
            "first; 502 when it cannot be). A vendor refusing the new one answers 200 with "
            "webhook.state failed."
        ),
        responses=error_responses(404, 409, 502),
    )
    async def register_webhooks(connection_id: str) -> ConnectionOut:
        return _connection_out(await operations.register_webhooks(connection_id))

    @router.get("/links", summary="List links")
    async def list_links() -> LinkList:
        return LinkList(links=[_link_out(link) for link in await operations.list_links()])

    @router.post(
        "/links",
        status_code=201,
        summary=(
            "Add a link (re-registers its connections' failed webhooks and asks its source "
            "for a full resend: backfill)"
        ),
        responses=error_responses(400, 404),
    )
    async def add_link(body: LinkCreate) -> LinkCreated:
        link = await operations.add_link(
            source_connection_id=body.source_connection_id,
            target_connection_id=body.target_connection_id,
            flow=body.flow,
            options=body.options,
            preview=body.preview,
        )
        return await _backfill_for_new_link(store, publish_tick, link)

    @router.patch(
        "/links/{link_id}",
        summary="Replace a link's options (the sinks read them on their next write)",
        responses=error_responses(404),
    )
    async def set_link_options(link_id: str, body: LinkOptionsIn) -> LinkOut:
        return _link_out(await operations.set_link_options(link_id, body.options))

    @router.delete(
        "/links/{link_id}",
        status_code=204,
        response_class=Response,
        summary="Remove a link",
        responses=error_responses(404),
    )
    async def remove_link(link_id: str) -> Response:
        await operations.remove_link(link_id)
        return Response(status_code=204)

    @router.get("/status", summary="Per-link status")
    async def status() -> StatusList:
        statuses = await operations.status()
        return StatusList(
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
                    target_quota=QuotaOut.model_validate(s.target_quota, from_attributes=True)
                    if s.target_quota
                    else None,
                )
                for s in statuses
            ]
        )

    @router.get("/audit", summary="Audit log, newest first")
    async def audit(
        subject: str | None = None,
        # Ten digits and more are refused, not capped: nobody means that many.
        limit: Annotated[int, Query(ge=1, le=999_999_999, description=_EXPECTED["limit"])] = 100,
    ) -> AuditList:
        async with store.transaction() as tx:
            entries = await tx.audit_log.list(subject=subject, limit=min(limit, AUDIT_LIMIT_CAP))
        return AuditList(
            entries=[AuditEntryOut.model_validate(e, from_attributes=True) for e in entries]
        )

    @router.get(
        "/review",
        summary=(
            "The review queue, oldest first: ?status=open (default), resolved (every closed "
            "item: re-driven, resolved, dismissed) or all; ?link= one link's"
        ),
        responses=error_responses(404),
    )
    async def list_review(link: str | None = None, status: ReviewFilter = "open") -> ReviewList:
        items = await list_review_items(store, link_id=link, status=status)
        return ReviewList(items=[review_item_out(item) for item in items])

    @router.get("/review/{item_id}", summary="One review item", responses=error_responses(404))
    async def show_review(item_id: int) -> ReviewItemOut:
        return review_item_out(await show_review_item(store, item_id))

    @router.post(
        "/review/{item_id}/redrive",
        response_model=ReviewRedriven,
        summary=(
            "Put an open item's record back through its flow (its event on its topic, with "
            "its key); the item becomes redriven, and reopens if the flow fails again"
        ),
        responses=error_responses(404, 409, 503),
    )
    async def redrive_review(item_id: int) -> ReviewRedriven | JSONResponse:
        if publish_event is None:
            return _error(503, "re-drive is not available: this service has no Kafka publisher")
        done = await redrive_review_item(store, publish_event, item_id, by=API_ACTOR, via=_VIA)
        return ReviewRedriven(
            item=review_item_out(done.item),
            event_id=str(done.event.event_id),
            type=done.event.type,
            topic=done.topic,
            entity_key=done.event.entity_key,
        )

    @router.post(
        "/review/{item_id}/resolve",
        summary="Close an open item by hand: resolved (fixed another way) or dismissed",
        responses=error_responses(404, 409),
    )
    async def resolve_review(item_id: int, body: ReviewResolveIn | None = None) -> ReviewItemOut:
        given = body or ReviewResolveIn()
        item = await resolve_review_item(
            store, item_id, by=API_ACTOR, via=_VIA, note=given.note, status=given.status
        )
        return review_item_out(item)

    @router.get(
        "/links/{link_id}/mappings",
        summary="A link's mapping tables (?kind= one of them), by kind and source value",
        responses=error_responses(404),
    )
    async def list_link_mappings(link_id: str, kind: str | None = None) -> MappingList:
        rows = await list_mappings(store, link_id, kind=kind)
        return MappingList(mappings=[mapping_out(row) for row in rows])

    @router.put(
        _MAPPING_PATH,
        summary="Map a source value to a target value (added, or replacing the old target)",
        responses=error_responses(404),
    )
    async def put_link_mapping(
        link_id: str, kind: str, source_value: str, body: MappingIn
    ) -> MappingSet:
        change = await set_mapping(
            store, link_id, kind, source_value, body.target, by=API_ACTOR, via=_VIA
        )
        return MappingSet(
            **mapping_out(change.mapping).model_dump(),
            previous=change.previous,
            waiting_items=change.waiting_items,
        )

    @router.delete(
        _MAPPING_PATH,
        status_code=204,
        response_class=Response,
        summary="Stop mapping a source value",
        responses=error_responses(404),
    )
    async def delete_link_mapping(link_id: str, kind: str, source_value: str) -> Response:
        await remove_mapping(store, link_id, kind, source_value, by=API_ACTOR, via=_VIA)
        return Response(status_code=204)

    @router.get("/openapi.json", summary="This document")
    async def openapi(request: Request) -> dict[str, Any]:
        app = request.app
        assert isinstance(app, FastAPI)
        return app.openapi()

    return router


def operator_app(
    store: StateStore,
    operations: OperatorConnections,
    *,
    operator_token: str | None,
    publish_tick: TickPublisher | None = None,
    publish_event: EventPublisher | None = None,
    replays: LinkReplays | None = None,
    flow: OAuthFlow | None = None,
    routes: Sequence[BaseRoute] = (),
    lifespan: Lifespan[FastAPI] | None = None,
) -> FastAPI:
    """The operator API as a FastAPI app: the ``/api/v1`` routes and, with ``flow``, the OAuth
    consent routes and their public callback; ``routes`` first (the control plane's
    ``/healthz``). ``/api/v1/openapi.json`` (behind the token) is generated from the routes;
    no ``/docs`` or ``/redoc``; a path with a slash too many is a 404, never a redirect
    built from the Host header."""
    auth = OperatorAuth(operator_token)
    app = FastAPI(
        title="ml-connector operator API",
        version="1",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
        lifespan=lifespan,
    )
    install_error_answers(app)
    app.router.routes.extend(routes)
    # The routers' routes themselves (full paths, their responses and route class), not
    # FastAPI's lazily included router: the app's routes are what a test walks against the
    # document.
    app.router.routes.extend(
        operator_router(
            store,
            operations,
            auth=auth,
            publish_tick=publish_tick,
            publish_event=publish_event,
        ).routes
    )
    app.router.routes.extend(replay_router(replays, auth=auth).routes)
    if flow is not None:
        app.router.routes.extend(oauth_router(flow, auth=auth).routes)
        app.router.routes.append(oauth_callback_route(flow))
    app.openapi = lambda: operator_openapi(app)  # type: ignore[method-assign]
    return app


def operator_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document of ``app``, with the bearer scheme every route but the open ones
    (``security: []``) wants; installed as ``app.openapi``."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi  # noqa: PLC0415 - only when asked

        document = get_openapi(
            title=app.title, version=app.version, routes=app.routes, openapi_version="3.1.0"
        )
        components = document.setdefault("components", {})
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        components.setdefault("schemas", {}).setdefault("ErrorBody", ErrorBody.model_json_schema())
        document["security"] = [{"bearer": []}]
        app.openapi_schema = document
    return app.openapi_schema


def _problem(errors: list[dict[str, Any]]) -> str:
    """FastAPI's validation errors in words that name the field (the CLI prints them)."""
    parts: list[str] = []
    for error in errors:
        where, *path = [str(part) for part in error.get("loc", ())] or ["request"]
        field = ".".join(path) or where
        expected = _EXPECTED.get(field) if where in ("query", "path") else None
        if expected is not None:
            given = str(error.get("input", ""))[:_QUOTED_MAX]
            parts.append(f"{field} must be {expected}, not {given!r}")
        else:
            parts.append(f"{field}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def install_error_answers(app: FastAPI) -> None:
    """Every error as ``{"error": ...}``: the domain's, FastAPI's validation (422, the field
    named), a malformed value (400) and Starlette's own (404, 405)."""

    async def domain(_: Request, exc: Exception) -> Response:
        return _error(_ERROR_STATUS[type(exc)], str(exc))

    async def validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _error(422, _problem(list(exc.errors())))

    async def malformed(_: Request, exc: Exception) -> Response:
        # Name what was wrong: a generic text once blamed the body for a bad query.
        return _error(400, f"malformed request: {str(exc)[:200]}")

    async def http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _error(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    async def store(_: Request, exc: Exception) -> Response:
        # The store down is not the caller's fault: come back; a value PostgreSQL cannot
        # hold (SQLSTATE class 22: a NUL, a number out of range) is.
        if is_outage(exc):
            return _error(503, "the state store is unavailable", {"Retry-After": "5"})
        state = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if isinstance(state, str) and state.startswith("22"):
            return _error(400, "a value in the request cannot be stored")
        raise exc

    for error_type in _ERROR_STATUS:
        app.add_exception_handler(error_type, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(ValueError, malformed)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(SQLAlchemyError, store)


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
