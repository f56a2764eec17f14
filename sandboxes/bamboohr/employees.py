"""Employee endpoints: one employee, directory, cursor list, changed-since, tables, writes.

Sheet sections 3-8. Handlers take the request and the authenticated `Principal`; refusals
are `BambooError`s that the app renders the classic way (status + error header).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandboxes.bamboohr import render
from sandboxes.bamboohr.auth import Principal, require_scope
from sandboxes.bamboohr.errors import BambooError
from sandboxes.bamboohr.fields import FIELDS, FIELDS_BY_ID, JOB_INFO_FIELDS
from sandboxes.bamboohr.settings import BambooHRSandboxSettings
from sandboxes.bamboohr.state import TABLES, People, public

__all__ = ["EmployeeEndpoints", "parse_since"]

MAX_FIELDS = 400
SINCE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:?\d{2})$")
DIRECTORY_FIELDS = (
    ("displayName", "text", "Display name"),
    ("firstName", "text", "First name"),
    ("lastName", "text", "Last name"),
    ("preferredName", "text", "Preferred name"),
    ("jobTitle", "list", "Job title"),
    ("workPhone", "text", "Work Phone"),
    ("mobilePhone", "text", "Mobile Phone"),
    ("workEmail", "email", "Work Email"),
    ("department", "list", "Department"),
    ("location", "list", "Location"),
    ("division", "list", "Division"),
    ("photoUploaded", "bool", "Employee photo exists"),
    ("photoUrl", "url", "Employee photo url"),
    ("canUploadPhoto", "bool", "Can upload photo"),
)
# The cursor list's own field names (sheet 6) -> our record's aliases.
LIST_FIELD_SOURCES = {
    "employeeId": "id",
    "firstName": "firstName",
    "lastName": "lastName",
    "preferredName": "preferredName",
    "jobTitleName": "jobTitle",
    "status": "status",
    "workEmail": "workEmail",
    "departmentName": "department",
    "divisionName": "division",
    "locationName": "location",
    "employmentStatusName": "employmentHistoryStatus",
    "hireDate": "hireDate",
    "terminationDate": "terminationDate",
}
LIST_DEFAULT_FIELDS = ("employeeId", "firstName", "lastName", "preferredName", "photoUrl")
LIST_DEFAULT_LIMIT = 250
LIST_MAX_LIMIT = 2500
PHOTO_URL = "https://resources.bamboohr.com/images/photo_person_160x160.png"


def parse_since(raw: str | None) -> datetime:
    """`since` as BambooHR takes it; a `+` sent unencoded arrives as a space and fails (400)."""
    if not raw or not SINCE.match(raw):
        raise BambooError(400, "Invalid or missing 'since' parameter")
    value = raw.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", value):
        value = f"{value[:-2]}:{value[-2:]}"
    return datetime.fromisoformat(value)


def _text_key(source: str) -> Callable[[Mapping[str, Any]], str]:
    def key(record: Mapping[str, Any]) -> str:
        return str(record.get(source) or "")

    return key


class ListRequestError(Exception):
    """The cursor list's 400: `{"error": {"code": "BadRequest"|"BadPage", "message"}}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _encode_cursor(kind: str, employee_id: str) -> str:
    return base64.b64encode(json.dumps({kind: int(employee_id)}).encode()).decode()


def _decode_cursor(cursor: str, kind: str) -> str:
    try:
        value = json.loads(base64.b64decode(cursor, validate=True))
        return str(int(value[kind]))
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValueError(cursor) from exc


def _page_start(query: Mapping[str, str], ids: list[str], limit: int) -> int:
    """Where a cursor page starts; cursors name the first employee of the next/previous page."""
    if "page[after]" in query:
        return ids.index(_decode_cursor(query["page[after]"], "nextEmployee"))
    if "page[before]" in query:
        return max(0, ids.index(_decode_cursor(query["page[before]"], "prevEmployee")) - limit)
    return 0


def _list_row(record: Mapping[str, Any], names: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in names:
        row[name] = PHOTO_URL if name == "photoUrl" else record.get(LIST_FIELD_SOURCES[name])
    row["employeeId"] = str(record["id"])
    row["_restrictedFields"] = []
    return row


class EmployeeEndpoints:
    def __init__(self, people: People, settings: BambooHRSandboxSettings) -> None:
        self.people = people
        self.settings = settings

    def _visible(self, principal: Principal, employee_id: str) -> dict[str, Any]:
        if employee_id == "0":
            employee_id = principal.employee_id
        record = self.people.employee(employee_id)
        if not principal.may_see_employee(employee_id):
            raise BambooError(403, "You do not have access to this employee")
        return record

    async def get_employee(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "employee", "employee:name", "employee:job", "employee:contact")
        record = self._visible(principal, request.path_params["employee_id"])
        raw = request.query_params.get("fields")
        if raw:
            wanted = [FIELDS_BY_ID.get(f.strip(), f.strip()) for f in raw.split(",") if f.strip()]
        elif self.settings.fields_when_omitted == "first_and_last_name":
            wanted = ["firstName", "lastName"]
        else:
            wanted = []
        if len(wanted) > MAX_FIELDS:
            raise BambooError(400, f"At most {MAX_FIELDS} fields per request")
        values = dict(record)
        if request.query_params.get("onlyCurrent", "true").lower() == "false":
            values.update(self._future_job_values(record["id"]))
        answer: dict[str, Any] = {"id": str(record["id"])}
        for alias in wanted:
            # Unknown fields and fields the caller may not see are omitted, not errors.
            if alias in FIELDS and alias != "id" and principal.may_see_field(alias):
                answer[alias] = values.get(alias)
        return render.json_or_xml(request, self.settings, answer, render.employee_xml(answer))

    def _future_job_values(self, employee_id: str) -> dict[str, Any]:
        rows = self.people.rows("jobInfo", employee_id)
        if not rows:
            return {}
        latest = max(rows, key=lambda row: (str(row["date"]), int(row["id"])))
        return {alias: latest.get(alias) for alias in JOB_INFO_FIELDS}

    async def directory(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "employee_directory")
        if not self.settings.directory_shared:
            raise BambooError(403, "The employee directory is not shared")
        only_current = request.query_params.get("onlyCurrent", "true").lower() != "false"
        today = self.people.today()
        employees = []
        for record in self.people.state.records("employees"):
            if record.get("status") != "Active":
                continue
            if only_current and str(record.get("hireDate") or "") > today:
                continue
            entry: dict[str, Any] = {"id": str(record["id"])}
            for alias, _, _ in DIRECTORY_FIELDS:
                entry[alias] = record.get(alias)
            entry.update(photoUploaded=False, photoUrl=PHOTO_URL, canUploadPhoto=1)
            employees.append(entry)
        if not employees:
            raise BambooError(404, "No employees in the directory")
        fields = [{"id": a, "type": t, "name": n} for a, t, n in DIRECTORY_FIELDS]
        return JSONResponse({"fields": fields, "employees": employees})

    async def list_employees(self, request: Request, principal: Principal) -> Response:
        try:
            return self._list_employees(request, principal)
        except ListRequestError as exc:
            return JSONResponse(
                {"error": {"code": exc.code, "message": exc.message}}, status_code=400
            )

    def _list_employees(self, request: Request, principal: Principal) -> Response:
        if principal.kind != "oauth":
            raise BambooError(401, "This endpoint accepts OAuth access tokens only")
        require_scope(principal, "employee", "employee:name")
        query = request.query_params
        try:
            limit = int(query.get("page[limit]", LIST_DEFAULT_LIMIT))
        except ValueError as exc:
            raise ListRequestError("BadPage", "page[limit] must be an integer") from exc
        if not 1 <= limit <= LIST_MAX_LIMIT:
            raise ListRequestError("BadPage", f"page[limit] must be 1..{LIST_MAX_LIMIT}")
        extra = [f for f in query.get("fields", "").split(",") if f]
        unknown = [f for f in extra if f not in LIST_FIELD_SOURCES and f != "photoUrl"]
        if unknown:
            raise ListRequestError("BadRequest", f"Unknown field(s): {', '.join(unknown)}")
        records = self._sorted(self._filtered(request), query.get("sort", "employeeId"))
        ids = [str(r["id"]) for r in records]
        try:
            start = _page_start(query, ids, limit)
        except ValueError as exc:
            raise ListRequestError("BadPage", "Invalid cursor") from exc
        names = list(dict.fromkeys([*LIST_DEFAULT_FIELDS, "jobTitleName", "status", *extra]))
        data = [_list_row(record, names) for record in records[start : start + limit]]
        following = start + limit
        next_cursor = (
            _encode_cursor("nextEmployee", ids[following]) if following < len(ids) else None
        )
        prev_cursor = _encode_cursor("prevEmployee", ids[start]) if start > 0 else None
        base = str(request.url.remove_query_params(["page[after]", "page[before]"]))
        joiner = "&" if "?" in base else "?"
        links: dict[str, Any] = {"self": {"href": str(request.url)}}
        if next_cursor:
            links["next"] = {"href": f"{base}{joiner}page[after]={next_cursor}"}
        if prev_cursor:
            links["prev"] = {"href": f"{base}{joiner}page[before]={prev_cursor}"}
        page = {"limit": limit, "nextCursor": next_cursor, "prevCursor": prev_cursor}
        return JSONResponse(
            {"data": data, "meta": {"total": len(records), "page": page}, "_links": links}
        )

    def _filtered(self, request: Request) -> list[dict[str, Any]]:
        query = request.query_params
        records = self.people.state.records("employees")
        status = query.get("filter[status]")
        if status is not None:
            if status.lower() not in ("active", "inactive"):
                raise ListRequestError("BadRequest", "filter[status] must be active or inactive")
            records = [r for r in records if str(r.get("status", "")).lower() == status.lower()]
        ids = query.getlist("filter[ids][]") or [
            i for i in query.get("filter[ids]", "").split(",") if i
        ]
        if ids:
            records = [r for r in records if str(r["id"]) in ids]
        for key in ("firstName", "lastName"):
            wanted = query.get(f"filter[{key}]")
            if wanted is not None:
                records = [r for r in records if str(r.get(key, "")).lower() == wanted.lower()]
        return records

    @staticmethod
    def _sorted(records: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
        keys = [k.strip() for k in sort.split(",") if k.strip()]
        for key in reversed(keys):
            descending = key.startswith("-")
            name = key.lstrip("-")
            source = LIST_FIELD_SOURCES.get(name)
            if source is None:
                raise ListRequestError("BadRequest", f"Cannot sort by {name}")
            if source == "id":
                records = sorted(records, key=lambda r: int(r["id"]), reverse=descending)
            else:
                records = sorted(records, key=_text_key(source), reverse=descending)
        return records

    async def changed(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "public.user")
        since = parse_since(request.query_params.get("since"))
        kind = request.query_params.get("type")
        if kind is not None and kind not in ("inserted", "updated", "deleted"):
            raise BambooError(400, "type must be inserted, updated or deleted")
        found: dict[str, dict[str, str]] = {}
        for record in self.people.state.records("employees"):
            changed_at = record.get("lastChanged")
            if not changed_at or datetime.fromisoformat(changed_at) <= since:
                continue
            created = datetime.fromisoformat(record.get("_created") or changed_at)
            action = "Inserted" if created > since else "Updated"
            found[str(record["id"])] = {
                "id": str(record["id"]),
                "action": action,
                "lastChanged": changed_at,
            }
        for deletion in self.people.state.records("deletions"):
            if datetime.fromisoformat(deletion["lastChanged"]) > since:
                found[str(deletion["id"])] = {
                    "id": str(deletion["id"]),
                    "action": "Deleted",
                    "lastChanged": deletion["lastChanged"],
                }
        if kind is not None:
            found = {k: v for k, v in found.items() if v["action"].lower() == kind}
        latest = max(
            (v["lastChanged"] for v in found.values()),
            key=datetime.fromisoformat,
            default=since.isoformat(),
        )
        return JSONResponse({"latest": latest, "employees": found})

    async def changed_table(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "employee", "employee:job")
        table = request.path_params["table"]
        if table not in TABLES:
            raise BambooError(404, f"Table not found: {table}")
        since = parse_since(request.query_params.get("since"))
        employees: dict[str, Any] = {}
        for record in self.people.state.records("employees"):
            changed_at = record.get("lastChanged")
            if not changed_at or datetime.fromisoformat(changed_at) <= since:
                continue
            rows = [
                {k: v for k, v in public(row).items() if k not in ("id", "employeeId")}
                for row in self.people.rows(table, str(record["id"]))
            ]
            employees[str(record["id"])] = {"lastChanged": changed_at, "rows": rows}
        return JSONResponse({"table": table, "employees": employees})

    async def table_rows(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "employee", "employee:job")
        employee_id = request.path_params["employee_id"]
        table = request.path_params["table"]
        if employee_id == "all":
            rows = self.people.rows(table)
            rows = [r for r in rows if principal.may_see_employee(str(r["employeeId"]))]
        else:
            record = self._visible(principal, employee_id)
            rows = self.people.rows(table, str(record["id"]))
        served = [public(row) for row in rows]
        return render.json_or_xml(request, self.settings, served, render.rows_xml(served))

    async def add_row(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "employee.write")
        record = self._visible(principal, request.path_params["employee_id"])
        values = await render.read_fields(request)
        self.people.add_row(request.path_params["table"], str(record["id"]), values)
        return render.empty_ok()

    async def update_row(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "employee.write")
        record = self._visible(principal, request.path_params["employee_id"])
        values = await render.read_fields(request)
        self.people.update_row(
            request.path_params["table"], str(record["id"]), request.path_params["row_id"], values
        )
        return render.empty_ok()

    async def create(self, request: Request, principal: Principal, location_base: str) -> Response:
        require_scope(principal, "employee.write")
        values = await render.read_fields(request)
        record = self.people.create(values)
        headers = {"Location": f"{location_base}/employees/{record['id']}"}
        if self.settings.create_employee_answer == "empty":
            return Response(b"", status_code=201, headers=headers)
        body = {"id": str(record["id"]), **values, "status": record["status"]}
        return JSONResponse(body, status_code=201, headers=headers)

    async def update(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "employee.write")
        record = self._visible(principal, request.path_params["employee_id"])
        values = await render.read_fields(request)
        self.people.update(str(record["id"]), values)
        if self.settings.update_employee_answer == "empty":
            return render.empty_ok()
        body = {
            "id": str(record["id"]),
            "firstName": record.get("firstName"),
            "lastName": record.get("lastName"),
            "status": record.get("status"),
            **values,
        }
        return JSONResponse(body)

    async def delete(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "employee.write")
        record = self._visible(principal, request.path_params["employee_id"])
        self.people.delete(str(record["id"]))
        return Response(status_code=204)
