"""The contract-based REST API: `/entity/{endpoint}/{version}/{Entity}[/{keys or id}]`.

Sheet sections 2, 4, 5, 6 and 9: list (a bare JSON array; `$filter`, `$select`, `$expand`,
`$top`, `$skip`), read by keys or by session id (missing: 500 "No entity satisfies the
condition."), PUT upsert (400 for unwrapped values, 412 for If-Match/If-None-Match
conflicts, 422 with the errors on the fields), DELETE (204), the `ChangeEmployeeID` action
(204 + Location), `$adHocSchema`, and the endpoint's generated `swagger.json`. An endpoint
version the instance lacks has no route.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandboxes.acumatica.entities import EntityDef, entities_of_endpoint
from sandboxes.acumatica.errors import (
    AcumaticaError,
    bad_request,
    error_response,
    no_entity,
    no_route,
)
from sandboxes.acumatica.identity import Identity
from sandboxes.acumatica.query import FilterError, Predicate, parse_filter
from sandboxes.acumatica.records import EntityStore, FieldValidationError, UpsertMode
from sandboxes.acumatica.sessions import Session
from sandboxes.acumatica.settings import AcumaticaSandboxSettings
from sandboxes.acumatica.swagger import swagger_document
from sandboxes.acumatica.values import (
    Selection,
    UnwrappedValueError,
    parse_body,
    render,
    sent_paths,
)
from sandboxes.kit import Record

__all__ = ["EntityEndpoints"]


class _Call:
    """One resolved call: the endpoint's entities, the entity, and the caller's session."""

    def __init__(
        self, endpoint: str, version: str, entity: str, definition: EntityDef, session: Session
    ) -> None:
        self.endpoint = endpoint
        self.version = version
        self.entity = entity
        self.definition = definition
        self.session = session


class EntityEndpoints:
    def __init__(
        self, store: EntityStore, identity: Identity, settings: AcumaticaSandboxSettings
    ) -> None:
        self._store = store
        self._identity = identity
        self._settings = settings

    def entities(self, endpoint: str, version: str) -> dict[str, EntityDef] | None:
        settings = self._settings
        if endpoint == "Default" and version in settings.versions:
            return entities_of_endpoint(extension=False)
        extension = (settings.department_endpoint_name, settings.department_endpoint_version)
        if (endpoint, version) == extension:
            return entities_of_endpoint(extension=True)
        return None

    def _resolve(self, request: Request) -> _Call | Response:
        params = request.path_params
        endpoint, version, entity = params["endpoint"], params["version"], params["entity"]
        entities = self.entities(endpoint, version)
        if entities is None or entity not in entities:
            return no_route(str(request.url), self._settings.unknown_version_status
                            if entities is None else 404)  # fmt: skip
        session = self._identity.session_of(request)
        if not isinstance(session, Session):
            return session
        return _Call(endpoint, version, entity, entities[entity], session)

    def _links(self, call: _Call, record_id: str) -> dict[str, str]:
        base = f"{self._settings.instance_path}/entity/{call.endpoint}/{call.version}"
        own = f"{base}/{call.entity}/{record_id}"
        return {"self": own, "files:put": f"{own}/files/{{filename}}"}

    def _render(
        self, call: _Call, record: Record, selection: Selection, row: int = 1
    ) -> dict[str, Any]:
        links = self._links(call, record["id"])
        return render(call.definition, record, selection, row_number=row, links=links)

    @staticmethod
    def _selection(request: Request) -> Selection:
        query = request.query_params
        return Selection.parse(query.get("$select"), query.get("$expand"))

    def _filter(self, request: Request, definition: EntityDef) -> Predicate | None:
        text = request.query_params.get("$filter")
        if not text:
            return None
        try:
            return parse_filter(text, definition)
        except FilterError as error:
            # [I] the exact refusal for a filter the OData layer cannot read is undocumented.
            raise AcumaticaError(
                500, str(error), "PX.Api.ContractBased.OData.ODataException"
            ) from error

    # --- read --------------------------------------------------------------------------------

    async def list_records(self, request: Request) -> Response:
        call = self._resolve(request)
        if isinstance(call, Response):
            return call
        try:
            predicate = self._filter(request, call.definition)
            skip = _non_negative(request, "$skip") or 0
            top = _non_negative(request, "$top")
        except AcumaticaError as error:
            return error_response(error)
        rows = self._store.records(call.session.tenant, call.entity)
        if predicate is not None:
            rows = [r for r in rows if predicate(r)]
        rows = rows[skip:] if top is None else rows[skip : skip + top]
        selection = self._selection(request)
        return JSONResponse(
            [self._render(call, r, selection, i) for i, r in enumerate(rows, start=1)]
        )

    def _find(self, call: _Call, ids: str) -> Record | None:
        tenant = call.session.tenant
        if _is_guid(ids):
            found = self._store.by_id(tenant, call.entity, ids)
            if found is not None:
                return found
        keys = tuple(p for p in ids.replace("|", "/").split("/") if p)
        return self._store.by_keys(tenant, call.entity, keys)

    async def read_record(self, request: Request) -> Response:
        call = self._resolve(request)
        if isinstance(call, Response):
            return call
        ids = request.path_params["ids"]
        if ids == "$adHocSchema":
            empty = {"id": str(uuid.uuid4())}
            selection = Selection(expand=frozenset(call.definition.linked))
            return JSONResponse(render(call.definition, empty, selection))
        record = self._find(call, ids)
        if record is None:
            return error_response(no_entity())
        return JSONResponse(self._render(call, record, self._selection(request)))

    async def delete_record(self, request: Request) -> Response:
        call = self._resolve(request)
        if isinstance(call, Response):
            return call
        record = self._find(call, request.path_params["ids"])
        if record is None:
            return error_response(no_entity())
        self._store.delete(call.entity, record)
        return Response(status_code=204)

    # --- write -------------------------------------------------------------------------------

    async def put_record(self, request: Request) -> Response:
        call = self._resolve(request)
        if isinstance(call, Response):
            return call
        try:
            raw = json.loads(await request.body() or b"null")
        except json.JSONDecodeError:
            return bad_request("", "The request body is not valid JSON.")
        try:
            changes = parse_body(call.definition, raw)
        except UnwrappedValueError as error:
            return bad_request(error.path, str(error), self._settings.unwrapped_write_status)
        mode: UpsertMode = "upsert"
        if request.headers.get("if-none-match") == "*":
            mode = "insert_only"
        elif request.headers.get("if-match") == "*":
            mode = "update_only"
        branch = request.headers.get("px-cbapibranch") or call.session.branch
        try:
            predicate = self._filter(request, call.definition)
            record, _, _ = self._store.upsert(
                call.session.tenant, call.entity, changes, mode=mode, url_filter=predicate,
                branch=branch,
            )  # fmt: skip
        except AcumaticaError as error:
            return error_response(error)
        except FieldValidationError as errors:
            return JSONResponse(_echo_with_errors(call.entity, raw, errors), status_code=422)
        return JSONResponse(self._render(call, record, self._put_selection(request, changes)))

    def _put_selection(self, request: Request, changes: dict[str, Any]) -> Selection:
        """[V] PUT returns only the fields sent, unless `$select`/`$expand` ask for more."""
        query = request.query_params
        if query.get("$select") or query.get("$expand"):
            return self._selection(request)
        paths = frozenset(sent_paths(changes))
        keys = frozenset(self._keys_of(request))
        return Selection(select=paths | keys, expand=paths)

    def _keys_of(self, request: Request) -> tuple[str, ...]:
        # [I] the sheet's example answer carries the key even when it was not sent.
        entities = self.entities(request.path_params["endpoint"], request.path_params["version"])
        definition = (entities or {}).get(request.path_params["entity"])
        return definition.keys if definition is not None else ()

    async def invoke_action(self, request: Request) -> Response:
        call = self._resolve(request)
        if isinstance(call, Response):
            return call
        action = request.path_params["action"]
        if call.entity != "Employee" or action != "ChangeEmployeeID":
            return no_route(str(request.url))
        try:
            raw = json.loads(await request.body() or b"{}")
            entity = parse_body(call.definition, raw.get("entity") or {})
            new_id = raw["parameters"]["EmployeeID"]["value"]
        except (json.JSONDecodeError, UnwrappedValueError, KeyError, TypeError, AttributeError):
            return bad_request("parameters", "The action needs entity and parameters.EmployeeID.")
        record = None
        if isinstance(entity.get("id"), str):
            record = self._store.by_id(call.session.tenant, call.entity, entity["id"])
        if record is None and isinstance(entity.get("EmployeeID"), str):
            record = self._store.by_keys(call.session.tenant, call.entity,
                                         (entity["EmployeeID"],))  # fmt: skip
        if record is None:
            return error_response(no_entity())
        try:
            self._store.change_employee_id(record, str(new_id), call.session.tenant)
        except AcumaticaError as error:
            return error_response(error)
        return Response(
            status_code=204, headers={"Location": self._links(call, record["id"])["self"]}
        )

    async def swagger(self, request: Request) -> Response:
        endpoint, version = request.path_params["endpoint"], request.path_params["version"]
        entities = self.entities(endpoint, version)
        if entities is None:
            return no_route(str(request.url), self._settings.unknown_version_status)
        origin = f"{request.url.scheme}://{request.url.netloc}"
        server = f"{origin}{self._settings.instance_path}/entity/{endpoint}/{version}"
        document = swagger_document(endpoint=endpoint, version=version, entities=entities,
                                    server_url=server)  # fmt: skip
        return JSONResponse(document)


def _non_negative(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise AcumaticaError(400, f"The value '{raw}' is not valid for {name}.",
                             "System.FormatException")  # fmt: skip
    return int(raw)


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _echo_with_errors(entity: str, raw: object, errors: FieldValidationError) -> dict[str, Any]:
    """[V] 422: the entity as sent, the message on each bad field, a summary on the entity."""
    echo: dict[str, Any] = copy.deepcopy(raw) if isinstance(raw, dict) else {}
    for path, message in errors.problems:
        node = echo
        for name in path[:-1]:
            node = node.setdefault(name, {})
        field = node.setdefault(path[-1], {})
        if isinstance(field, dict):
            field["error"] = message
    echo["error"] = (
        f"{errors.verb} '{entity}' record raised at least one error. Please review the errors."
    )
    return echo
