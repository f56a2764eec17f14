"""Reports and metadata: custom (ad-hoc) reports, saved reports, `/meta/lists|fields|tables`.

Sheet sections 9 and 10. The ad-hoc report keeps BambooHR's quirks: the body is JSON only
when `Content-Type` is exactly `application/json` (anything else, even with a charset, is
parsed as XML: "Malformed XML"), and an unsupported `format` answers 404.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandboxes.bamboohr import render
from sandboxes.bamboohr.auth import Principal, require_scope
from sandboxes.bamboohr.errors import BambooError
from sandboxes.bamboohr.fields import FIELDS, FIELDS_BY_ID
from sandboxes.bamboohr.state import People, public
from sandboxes.kit import page_of

__all__ = ["ReportEndpoints"]

MAX_FIELDS = 400
FORMATS = {"json": "application/json", "xml": "text/xml", "csv": "text/csv"}
ACCEPTED = {
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/csv": "csv",
}
PAGE_SIZE_DEFAULT = 500
PAGE_SIZE_MAX = 1000


def _report_format(request: Request) -> str:
    raw = request.query_params.get("format")
    if raw is None:
        accept = request.headers.get("accept", "").split(";")[0].strip().lower()
        chosen = ACCEPTED.get(accept)
        if chosen is None:
            raise BambooError(404, "Unsupported report format")
        return chosen
    chosen = raw.lower()
    if chosen not in FORMATS:
        # PDF and XLS exist on the real API; the sandbox renders JSON, XML and CSV only.
        raise BambooError(404, f"Unsupported report format: {raw}")
    return chosen


def _parse_xml_report(raw: bytes) -> dict[str, Any]:
    try:
        # Sandbox-only input from tests and local tools; expat resolves no external entities.
        root = ET.fromstring(raw)  # noqa: S314
    except ET.ParseError as exc:
        raise BambooError(400, "Malformed XML") from exc
    report: dict[str, Any] = {
        "title": (root.findtext("title") or "").strip(),
        "fields": [f.attrib["id"] for f in root.iter("field") if "id" in f.attrib],
    }
    changed = root.find("filters/lastChanged")
    if changed is not None and changed.text:
        report["filters"] = {
            "lastChanged": {
                "includeNull": changed.attrib.get("includeNull", "no"),
                "value": changed.text.strip(),
            }
        }
    return report


class ReportEndpoints:
    def __init__(self, people: People) -> None:
        self.people = people

    def _rows(
        self, principal: Principal, fields: Sequence[str], since: str | None
    ) -> list[dict[str, Any]]:
        rows = []
        threshold = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
        for record in self.people.state.records("employees"):
            if not principal.may_see_employee(str(record["id"])):
                continue
            if threshold is not None:
                changed = record.get("lastChanged")
                if not changed or datetime.fromisoformat(changed) < threshold:
                    continue
            row: dict[str, Any] = {"id": str(record["id"])}
            row.update({alias: record.get(alias) for alias in fields})
            rows.append(row)
        return rows

    def _fields(self, principal: Principal, requested: Sequence[str]) -> list[str]:
        if len(requested) > MAX_FIELDS:
            raise BambooError(400, f"At most {MAX_FIELDS} fields per report")
        # Unknown or forbidden fields are dropped silently (sheet 9).
        wanted = [FIELDS_BY_ID.get(str(f), str(f)) for f in requested]
        return [
            alias
            for alias in dict.fromkeys(wanted)
            if alias in FIELDS and alias != "id" and principal.may_see_field(alias)
        ]

    def _render(
        self, fmt: str, title: str, fields: Sequence[str], rows: list[dict[str, Any]]
    ) -> Response:
        described = [
            {"id": alias, "type": FIELDS[alias].type, "name": FIELDS[alias].name}
            for alias in fields
        ]
        if fmt == "json":
            return JSONResponse({"title": title, "fields": described, "employees": rows})
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow([FIELDS[a].name for a in fields])
            writer.writerows([[row.get(a) or "" for a in fields] for row in rows])
            return Response(out.getvalue(), media_type="text/csv; charset=UTF-8")
        root = ET.Element("report")
        ET.SubElement(root, "title").text = title
        fieldset = ET.SubElement(root, "fields")
        for entry in described:
            element = ET.SubElement(fieldset, "field", {"id": entry["id"], "type": entry["type"]})
            element.text = entry["name"]
        employees = ET.SubElement(root, "employees")
        for row in rows:
            employee = ET.SubElement(employees, "employee", {"id": row["id"]})
            for alias in fields:
                value = row.get(alias)
                ET.SubElement(employee, "field", {"id": alias}).text = (
                    "" if value is None else str(value)
                )
        return render.xml_response(root)

    async def custom(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "report")
        fmt = _report_format(request)
        raw = await request.body()
        if request.headers.get("content-type", "") == "application/json":
            try:
                body = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise BambooError(400, "Malformed JSON") from exc
            if not isinstance(body, dict):
                raise BambooError(400, "Expected a JSON object")
        else:
            body = _parse_xml_report(raw)
        fields = self._fields(principal, list(body.get("fields") or []))
        filters = body.get("filters") or {}
        last_changed = filters.get("lastChanged") if isinstance(filters, Mapping) else None
        since = last_changed.get("value") if isinstance(last_changed, Mapping) else None
        rows = self._rows(principal, fields, since)
        return self._render(fmt, str(body.get("title") or "Custom Report"), fields, rows)

    def _saved(self, report_id: str) -> dict[str, Any]:
        report = self.people.state.get("saved_reports", report_id)
        if report is None:
            raise BambooError(404, "Report not found")
        return report

    async def company_report(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "report")
        report = self._saved(request.path_params["report_id"])
        fields = self._fields(principal, report["fields"])
        return self._render(
            _report_format(request), report["name"], fields, self._rows(principal, fields, None)
        )

    async def list_saved(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "report")
        reports = [
            {"id": int(r["id"]), "name": r["name"]}
            for r in self.people.state.records("saved_reports")
        ]
        page = page_of(reports, page=1, per_page=len(reports) or 1, max_per_page=PAGE_SIZE_MAX)
        return JSONResponse(
            {
                "reports": page.items,
                "pagination": {
                    "total_records": page.total,
                    "current_page": page.page,
                    "total_pages": page.pages,
                    "next_page": None,
                    "prev_page": None,
                },
            }
        )

    async def saved_report(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "report")
        report = self._saved(request.path_params["report_id"])
        try:
            number = int(request.query_params.get("page", "1"))
            size = int(request.query_params.get("page_size", PAGE_SIZE_DEFAULT))
        except ValueError:
            return JSONResponse(
                {"error": {"code": 400, "message": "page and page_size must be integers"}},
                status_code=400,
            )
        fields = self._fields(principal, report["fields"])
        rows = self._rows(principal, fields, None)
        page = page_of(rows, page=number, per_page=size, max_per_page=PAGE_SIZE_MAX)
        url = request.url.remove_query_params(["page", "page_size"])

        def link(target: int | None) -> str | None:
            if target is None:
                return None
            return str(url.include_query_params(page=target, page_size=page.per_page))

        return JSONResponse(
            {
                "data": page.items,
                "aggregations": [],
                "pagination": {
                    "total_records": page.total,
                    "current_page": page.page,
                    "total_pages": page.pages,
                    "next_page": link(page.next_page),
                    "prev_page": link(page.prev_page),
                },
            }
        )

    # --- metadata ------------------------------------------------------------------------

    async def lists(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "field")
        return JSONResponse([public(field) for field in self.people.state.records("lists")])

    async def update_list(self, request: Request, principal: Principal) -> Response:
        """`PUT /meta/lists/{listFieldId}` (SPEC update-list-field-values).

        Each option without `id` is created (active), with `id` it is renamed by `value`
        and archived or restored by `archived: yes|no`. All of the body or none of it is
        applied, and `GET /meta/lists` shows it at once. 200 with the whole list as XML;
        404 unknown list or option id, 403 a list that is not `manageable` (or an OAuth
        grant without `field.write`), 409 a value another option of the list has, 400 a
        body we cannot read or an option to create without `value`.
        """
        require_scope(principal, "field.write")
        field = next(
            (
                f
                for f in self.people.state.records("lists")
                if str(f.get("fieldId")) == request.path_params["list_field_id"]
            ),
            None,
        )
        if field is None:
            raise BambooError(404, "List field not found")
        if field.get("manageable") != "yes":
            raise BambooError(403, "This list is not editable")
        options = [dict(option) for option in field["options"]]
        for change in await self._list_changes(request):
            self._apply_option(options, change)
        field["options"] = options
        root = ET.Element("list", {"fieldId": str(field["fieldId"])})
        if field.get("alias"):
            root.set("alias", str(field["alias"]))
        ET.SubElement(root, "name").text = field["name"]
        listed = ET.SubElement(root, "options")
        for option in options:
            ET.SubElement(
                listed, "option", {"id": str(option["id"]), "archived": option["archived"]}
            ).text = option["name"]
        return render.xml_response(root)

    def add_option(self, list_name: str, value: str) -> dict[str, Any]:
        """The UI's "add an option" to a list named by alias or name (no webhook fires:
        BambooHR sends none for settings). 404 unknown list, 409 a taken value."""
        wanted = list_name.strip().casefold()
        field = next(
            (
                f
                for f in self.people.state.records("lists")
                if wanted in (str(f.get("alias") or "").casefold(), str(f["name"]).casefold())
            ),
            None,
        )
        if field is None:
            raise BambooError(404, f"List field not found: {list_name}")
        options = [dict(option) for option in field["options"]]
        self._apply_option(options, {"value": value})
        field["options"] = options
        return public(field)

    @staticmethod
    async def _list_changes(request: Request) -> list[dict[str, Any]]:
        raw = await request.body()
        if raw.lstrip().startswith(b"<"):
            try:
                root = ET.fromstring(raw)  # noqa: S314 - sandbox-only input, see read_fields
            except ET.ParseError as exc:
                raise BambooError(400, "Malformed XML") from exc
            return [{**o.attrib, "value": (o.text or "").strip()} for o in root.iter("option")]
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BambooError(400, "Malformed JSON") from exc
        options = body.get("options") if isinstance(body, dict) else None
        if not isinstance(options, list):
            raise BambooError(400, "Expected {options: [...]}")
        return [o for o in options if isinstance(o, dict)]

    def _next_option_id(self, pending: Sequence[Mapping[str, Any]]) -> int:
        """Option ids are unique in the company, whichever list holds them (``pending``: the
        options of the list being changed, new ones included)."""
        stored = [o for field in self.people.state.records("lists") for o in field["options"]]
        ids = [int(o["id"]) for o in [*stored, *pending] if str(o["id"]).isdigit()]
        return max(ids, default=0) + 1

    def _apply_option(self, options: list[dict[str, Any]], change: Mapping[str, Any]) -> None:
        now = self.people.clock.now().replace(microsecond=0).isoformat()
        value = str(change.get("value") or "").strip()
        if change.get("id") is not None:
            option = next((o for o in options if str(o["id"]) == str(change["id"])), None)
            if option is None:
                raise BambooError(404, f"Option not found: {change['id']}")
        else:
            if not value:
                raise BambooError(400, "A new option needs a value")
            option = {
                "id": self._next_option_id(options),
                "archived": "no",
                "createdDate": now,
                "archivedDate": None,
                "name": value,
            }
            options.append(option)
        # [I] a duplicate is the same text as another option's (SPEC does not say whether
        # case counts); an archived option still holds its name.
        if value and any(o["name"] == value for o in options if o is not option):
            raise BambooError(409, f"Duplicate list value: {value}")
        if value:
            option["name"] = value
        if change.get("archived") in ("yes", "no"):
            option["archived"] = change["archived"]
            option["archivedDate"] = now if change["archived"] == "yes" else None

    async def fields(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "field")
        return JSONResponse(
            [
                {"id": field.field_id, "name": field.name, "type": field.type, "alias": alias}
                for alias, field in FIELDS.items()
            ]
        )

    async def tables(self, request: Request, principal: Principal) -> Response:
        require_scope(principal, "field")
        columns = {
            "jobInfo": ("date", "location", "division", "department", "jobTitle", "reportsTo"),
            "employmentStatus": ("date", "employmentStatus", "comment"),
        }
        described: list[dict[str, Any]] = [
            {
                "alias": table,
                "fields": [
                    {"id": index + 1, "name": column, "alias": column, "type": "text"}
                    for index, column in enumerate(names)
                ],
            }
            for table, names in columns.items()
        ]
        root = ET.Element("tables")
        for table in described:
            element = ET.SubElement(root, "table", {"alias": table["alias"]})
            for column in table["fields"]:
                ET.SubElement(
                    element,
                    "field",
                    {"id": str(column["id"]), "alias": column["alias"], "type": column["type"]},
                ).text = column["name"]
        return render.json_or_xml(request, self.people.settings, described, root)
