"""The Report Exporter (`type: file`) and the Downloader (`type: download`), sheet 3 and 4.

An export filters the reports the credentials can see, renders them through the template
(FreeMarker, `freemarker/`, over the data model of `fields.py`), keeps the result as a file
under a random name, runs the `onFinish` actions (unless `"test": "true"`) and answers the
bare file name as text. A template that fails answers the job's error with FreeMarker's
message, before any report is marked as exported.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from starlette.responses import PlainTextResponse, Response

from sandboxes.expensify.errors import ExpensifyError, malformed, missing
from sandboxes.expensify.fields import template_model
from sandboxes.expensify.freemarker import RenderOptions, TemplateError, render
from sandboxes.expensify.settings import ExpensifySandboxSettings
from sandboxes.expensify.state import REPORT_STATES, Ledger, decode_report_id, parse_day
from sandboxes.kit import Record

__all__ = ["ExportResult", "Exporter"]

EXTENSIONS = {
    "csv": "text/csv",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "txt": "text/plain",
    "pdf": "application/pdf",
    "json": "application/json",
    "xml": "application/xml",
}
ONE_YEAR = timedelta(days=366)


@dataclass(frozen=True)
class ExportResult:
    file_name: str
    report_count: int


def _day(value: object, name: str) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise malformed(name)
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ExpensifyError(
            410, f"Malformed date '{value}'. Expected format is yyyy-MM-dd"
        ) from None


def _comma_list(value: object, name: str) -> list[str] | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise malformed(name)
    return [part.strip() for part in value.split(",") if part.strip()]


def _object(job: dict[str, Any], name: str, *, required: bool = True) -> dict[str, Any]:
    value = job.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise malformed(name)
    return value


class Exporter:
    def __init__(self, ledger: Ledger, settings: ExpensifySandboxSettings) -> None:
        self.ledger = ledger
        self.settings = settings

    # --- file ------------------------------------------------------------------------------

    def export(self, job: dict[str, Any], template: str | None, owner: str) -> ExportResult:
        receive = _object(job, "onReceive")
        if "returnRandomFileName" not in (receive.get("immediateResponse") or []):
            raise malformed("onReceive")
        inputs = _object(job, "inputSettings")
        if inputs.get("type") != "combinedReportData":
            raise malformed("inputSettings.type")
        output = _object(job, "outputSettings")
        extension = output.get("fileExtension")
        if extension not in EXTENSIONS:
            raise malformed("fileExtension")
        if not template:
            raise missing("template")
        reports = self._select(inputs, owner)
        content = self._render(template, reports)
        basename = str(output.get("fileBasename") or "export")
        name = f"{basename}{uuid.uuid4()}.{extension}"
        self.ledger.state.insert(
            "files",
            {
                "id": name,
                "fileName": name,
                "content": content,
                "contentType": EXTENSIONS[str(extension)],
                "created": self.ledger.clock.timestamp(),
                "polls": 0,
                "owner": owner,
                "reportIDs": [r["id"] for r in reports],
            },
        )
        if str(job.get("test", "false")).lower() != "true":
            self._finish(job.get("onFinish") or [], reports, name)
        return ExportResult(name, len(reports))

    def _select(self, inputs: dict[str, Any], owner: str) -> list[Record]:  # noqa: PLR0912 - one branch per documented filter
        filters = inputs.get("filters") or {}
        if not isinstance(filters, dict):
            raise malformed("filters")
        states = _comma_list(inputs.get("reportState"), "reportState")
        if states is not None and any(s.upper() not in REPORT_STATES for s in states):
            raise malformed("reportState")
        limit_value = inputs.get("limit")
        if limit_value is not None and not str(limit_value).strip().isdigit():
            raise malformed("limit")
        report_ids = _comma_list(filters.get("reportIDList"), "reportIDList")
        policy_ids = _comma_list(filters.get("policyIDList"), "policyIDList")
        start = _day(filters.get("startDate"), "startDate")
        end = _day(filters.get("endDate"), "endDate")
        approved_after = _day(filters.get("approvedAfter"), "approvedAfter")
        if report_ids is None and start is None and approved_after is None:
            raise missing("startDate")
        earliest = min((d for d in (start, approved_after) if d is not None), default=None)
        if earliest is not None and end is None and self.ledger.today() - earliest > ONE_YEAR:
            raise missing("endDate")
        if earliest is not None and end is not None and end - earliest > ONE_YEAR:
            raise ExpensifyError(410, "The date range cannot exceed one year")
        label = filters.get("markedAsExported")
        employee = inputs.get("employeeEmail")
        wanted_ids = {decode_report_id(i) for i in report_ids} if report_ids else None
        selected: list[Record] = []
        for report in self._visible(owner):
            status = str(report.get("status"))
            if states is not None and status not in {s.upper() for s in states}:
                continue
            if employee and (report.get("accountEmail") != employee or status == "OPEN"):
                continue
            if wanted_ids is not None and str(report["id"]) not in wanted_ids:
                continue
            if policy_ids is not None and report.get("policyID") not in policy_ids:
                continue
            anchor = max(
                (d for d in (parse_day(report.get("created")), parse_day(report.get("submitted")))
                 if d is not None),
                default=None,
            )  # fmt: skip
            if start is not None and (anchor is None or anchor < start):
                continue
            if end is not None and (anchor is None or anchor > end):
                continue
            if approved_after is not None and not self._approved_after(report, approved_after):
                continue
            bypass = wanted_ids is not None and self.settings.report_id_list_ignores_exported_label
            if label and not bypass and label in report.get("exportedLabels", []):
                continue
            selected.append(report)
        selected.sort(key=lambda r: (str(r.get("created", "")), str(r["id"])))
        if limit_value is not None:
            selected = selected[: int(str(limit_value).strip())]
        return selected

    def _approved_after(self, report: Record, day: date) -> bool:
        approved = parse_day(report.get("approved"))
        if approved is None:
            return False
        return approved >= day if self.settings.approved_after_inclusive else approved > day

    def _visible(self, owner: str) -> list[Record]:
        """Reports the credentials' user may export: own ones, and all of policies it
        administers or audits [I: Expensify's export permissions, simplified]."""
        overseen = {
            str(p["id"]) for p, role in self.ledger.visible_policies(owner)
            if role in ("admin", "auditor")
        }  # fmt: skip
        return [
            r for r in self.ledger.state.records("reports")
            if str(r.get("policyID")) in overseen
            or str(r.get("accountEmail", "")).lower() == owner.lower()
        ]  # fmt: skip

    def _render(self, template: str, reports: list[Record]) -> str:
        if template.strip() == "default":
            # Sheet 5: `template=default` is the server's built-in layout (used for pdf).
            raise ExpensifyError(410, "The built-in 'default' template is not simulated by "
                                 "the sandbox")  # fmt: skip
        model = template_model(self.ledger, self.settings, reports)
        options = RenderOptions(number_format=self.settings.template_number_format,
                                now=self.ledger.now())  # fmt: skip
        try:
            return render(template, model, options)
        except TemplateError as problem:
            raise ExpensifyError(self.settings.template_error_code, problem.message) from None

    def _finish(self, actions: object, reports: list[Record], file_name: str) -> None:
        if not isinstance(actions, list):
            raise malformed("onFinish")
        for action in actions:
            if not isinstance(action, dict):
                raise malformed("onFinish")
            name = action.get("actionName")
            if name == "markAsExported":
                label = action.get("label")
                if not isinstance(label, str) or not label:
                    raise malformed("label")
                for report in reports:
                    labels = report.setdefault("exportedLabels", [])
                    if label not in labels:
                        labels.append(label)
                    report.setdefault("actionList", []).append(
                        {"action": "EXPORTED", "created": self.ledger.stamp(),
                         "details": {"message": f"Marked as exported: {label}"}}
                    )  # fmt: skip
            elif name in ("email", "sftpUpload"):
                # Recorded for tests to read; the sandbox never sends mail or uploads.
                self.ledger.state.insert(
                    "finished_actions",
                    {"actionName": name, "fileName": file_name,
                     "recipients": action.get("recipients"), "time": self.ledger.stamp()},
                )  # fmt: skip
            else:
                raise malformed("actionName")

    # --- download --------------------------------------------------------------------------

    def download(self, job: dict[str, Any]) -> Response:
        name = job.get("fileName")
        if not isinstance(name, str) or not name:
            raise missing("fileName")
        system = job.get("fileSystem", "integrationServer")
        if system not in ("integrationServer", "reconciliation"):
            raise malformed("fileSystem")
        record = self.ledger.state.get("files", name) if system == "integrationServer" else None
        retention = self.settings.file_retention_seconds
        age = self.ledger.clock.timestamp() - float(record["created"]) if record else 0.0
        if retention is not None and age > retention:
            record = None
        not_found = ExpensifyError(
            self.settings.unknown_file_code, self.settings.unknown_file_message
        )
        if record is None:
            raise not_found
        record["polls"] = int(record.get("polls", 0)) + 1
        if record["polls"] <= self.settings.download_not_ready_polls:
            raise not_found  # the file lags its name (EXI polls until it appears)
        return PlainTextResponse(record["content"], media_type=str(record["contentType"]))
