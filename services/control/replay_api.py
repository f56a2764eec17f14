"""The operator API's replay routes: ``/links/{id}/replays``, ``/links/{id}/live``,
``/replays/{id}`` and its ``/plan`` (``services/control/replays.py`` does the work)."""

from __future__ import annotations

from fastapi import APIRouter

from services.control.operator_auth import OperatorAuth, operator_route_class
from services.control.operator_contract import (
    PREFIX,
    PlannedWriteOut,
    ReplayIn,
    ReplayList,
    ReplayOut,
    ReplayPartOut,
    ReplayPlan,
    error_responses,
)
from services.control.replays import (
    LinkReplays,
    ReplayRequest,
    ReplaysUnavailableError,
    ReplayView,
)

__all__ = ["replay_router"]


def replay_router(replays: LinkReplays | None, *, auth: OperatorAuth) -> APIRouter:
    """The routes behind ``auth``; without ``replays`` (no Kafka here) each answers 503."""
    router = APIRouter(
        prefix=PREFIX,
        route_class=operator_route_class(auth),
        responses=error_responses(401, 422, 503),
    )

    def available() -> LinkReplays:
        if replays is None:
            msg = "replays are not available: this service has no Kafka connection"
            raise ReplaysUnavailableError(msg)
        return replays

    @router.post(
        "/links/{link_id}/replays",
        status_code=202,
        response_model=ReplayOut,
        summary=(
            "Re-drive the link's events from a point of the log through its sinks (only this "
            "link; written records come out unchanged), or with dry_run list what they would do"
        ),
        responses=error_responses(404),
    )
    async def replay_link(link_id: str, body: ReplayIn) -> ReplayOut:
        view = await available().request(
            ReplayRequest(
                link_id=link_id,
                since=body.since,
                until=body.until,
                entity=body.entity,
                dry_run=body.dry_run,
                requested_by=body.requested_by,
            )
        )
        return _replay_out(view)

    @router.get(
        "/links/{link_id}/replays",
        summary="The link's replays, newest first",
        responses=error_responses(404),
    )
    async def list_link_replays(link_id: str) -> ReplayList:
        return ReplayList(replays=[_replay_out(v) for v in await available().recent(link_id)])

    @router.post(
        "/links/{link_id}/live",
        status_code=202,
        response_model=ReplayOut,
        summary=(
            "Switch a preview link live: enable it and replay its log from the beginning for "
            "real (the writes its dry run listed)"
        ),
        responses=error_responses(404),
    )
    async def link_live(link_id: str, body: ReplayIn | None = None) -> ReplayOut:
        who = body.requested_by if body is not None else "operator"
        return _replay_out(await available().go_live(link_id, requested_by=who))

    @router.get(
        "/replays/{replay_id}",
        summary="A replay's progress: records found, done, outcomes by status, per part",
        responses=error_responses(404),
    )
    async def show_replay(replay_id: str) -> ReplayOut:
        return _replay_out(await available().show(replay_id))

    @router.get(
        "/replays/{replay_id}/plan",
        summary="A dry run's rows: what each record's write would be",
        responses=error_responses(404),
    )
    async def replay_plan(replay_id: str) -> ReplayPlan:
        view = await available().show(replay_id)
        writes = [
            PlannedWriteOut(
                record=row.entity_key,
                service=row.service,
                topic=row.topic,
                status=row.status,
                action=row.action,
                operation=row.operation,
                detail=row.detail,
                target_ids=row.target_ids,
            )
            for row in await available().plan(replay_id)
        ]
        return ReplayPlan(replay=_replay_out(view), writes=writes)

    return router


def _replay_out(view: ReplayView) -> ReplayOut:
    replay = view.replay
    return ReplayOut(
        id=replay.id,
        link_id=replay.link_id,
        requested_by=replay.requested_by,
        since=replay.since,
        until=replay.until,
        entity=replay.entity,
        dry_run=replay.dry_run,
        state=replay.state,
        created_at=replay.created_at,
        finished_at=replay.finished_at,
        totals=view.totals,
        parts=[
            ReplayPartOut(
                service=part.service,
                topic=part.topic,
                state=part.state,
                records=part.total,
                done=part.done,
                counts=part.counts,
                error=part.error,
                start_offsets=part.start_offsets,
                end_offsets=part.end_offsets,
            )
            for part in view.parts
        ],
    )
