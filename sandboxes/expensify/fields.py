"""The export template's data model: `reports` and `addHeader`, and what `report.X` and
`expense.X` hold (sheet 5, TPL).

Built from the records the way Expensify derives them: the report's currency is its
policy's output currency, its total is the sum of its expenses' converted amounts, the
category and tag GL codes come from the policy, multi-level tags split on unescaped `:`.
Values keep their template types: cents as integers, booleans as booleans, dates as text;
a field with no value is an empty string (public templates test `modified*` fields with
`?has_content` and print them bare, so the server gives them as present and empty).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sandboxes.expensify.settings import ExpensifySandboxSettings
from sandboxes.expensify.state import Ledger, encode_report_id
from sandboxes.kit import Record

__all__ = ["expense_fields", "report_fields", "template_model"]

TAG_LEVEL_SEPARATOR = re.compile(r"(?<!\\):")


def _sign(settings: ExpensifySandboxSettings, cents: object) -> object:
    if isinstance(cents, int) and settings.amount_sign == "spend_negative":
        return -cents
    return cents


def _report_id(settings: ExpensifySandboxSettings, numeric: str) -> str:
    return encode_report_id(numeric) if settings.report_id_style == "base62" else numeric


def _person(ledger: Ledger, policy_id: object, email: object) -> dict[str, Any]:
    member = ledger.employee(policy_id, email) or {}
    first, last = str(member.get("firstName", "")), str(member.get("lastName", ""))
    return {
        "email": email or "",
        "firstName": first,
        "lastName": last,
        "fullName": f"{first} {last}".strip(),
        "employeeUserID": member.get("employeeID", ""),
        "employeePayrollID": member.get("payrollID", ""),
    }


def report_fields(
    ledger: Ledger, settings: ExpensifySandboxSettings, report: Record
) -> dict[str, Any]:
    policy = ledger.policy(report.get("policyID")) or {}
    expenses = ledger.expenses_of(report["id"])
    total = sum(int(e.get("convertedAmount", e.get("amount", 0)) or 0) for e in expenses)
    submitter = ledger.employee(report.get("policyID"), report.get("accountEmail")) or {}
    manager_email = report.get("managerEmail") or ""
    manager = _person(ledger, report.get("policyID"), manager_email)
    names = dict(settings.status_names)
    fields: dict[str, Any] = {
        "reportID": _report_id(settings, str(report["id"])),
        "reportName": report.get("reportName", ""),
        "status": names.get(str(report.get("status")), report.get("status")),
        "total": _sign(settings, total),
        "currency": policy.get("outputCurrency", "USD"),
        "created": report.get("created", ""),
        "submitted": report.get("submitted") or "",
        "approved": report.get("approved") or "",
        "reimbursed": report.get("reimbursed") or "",
        "policyID": report.get("policyID", ""),
        "policyName": policy.get("name", ""),
        "accountEmail": report.get("accountEmail", ""),
        "accountID": report.get("accountID", submitter.get("accountID", "")),
        "submitterUserID": submitter.get("employeeID", ""),
        "submitterPayrollID": submitter.get("payrollID", ""),
        "managerEmail": manager_email,
        "managerUserID": manager["employeeUserID"],
        "managerPayrollID": manager["employeePayrollID"],
        "manager": {k: manager[k] for k in ("firstName", "lastName", "fullName")},
        "approvers": [
            {**_person(ledger, report.get("policyID"), a.get("email")), "date": a.get("date")}
            for a in report.get("approvers", [])
        ],
        "actionList": list(report.get("actionList", [])),
        "entryID": report.get("entryID", ""),
        "isACHReimbursed": bool(report.get("isACHReimbursed", False)),
        "customField": {
            re.sub(r"[^A-Za-z0-9]", "_", str(k)): v
            for k, v in dict(report.get("customFields", {})).items()
        },
    }
    fields["transactionList"] = [expense_fields(ledger, settings, e, report) for e in expenses]
    return fields


def expense_fields(
    ledger: Ledger, settings: ExpensifySandboxSettings, expense: Record, report: Record
) -> dict[str, Any]:
    policy_id = report.get("policyID")
    category = ledger.category(policy_id, expense.get("category")) or {}
    tag_value = str(expense.get("tag") or "")
    tag = ledger.tag(policy_id, tag_value) or {}
    amount = expense.get("amount", 0)
    fields: dict[str, Any] = {
        "transactionID": str(expense["id"]),
        "reportID": _report_id(settings, str(report["id"])),
        "amount": _sign(settings, amount),
        "currency": expense.get("currency", "USD"),
        "convertedAmount": _sign(settings, expense.get("convertedAmount", amount)),
        "modifiedAmount": _sign(settings, expense.get("modifiedAmount", "")),
        "currencyConversionRate": expense.get("currencyConversionRate", 1),
        "merchant": expense.get("merchant", ""),
        "modifiedMerchant": expense.get("modifiedMerchant", ""),
        "created": expense.get("created", ""),
        "modifiedCreated": expense.get("modifiedCreated", ""),
        "inserted": expense.get("inserted", ""),
        "category": expense.get("category", ""),
        "categoryGlCode": category.get("glCode", ""),
        "categoryPayrollCode": category.get("payrollCode", ""),
        "tag": tag_value,
        "tagGlCode": tag.get("glCode", ""),
        "comment": expense.get("comment", ""),
        "billable": bool(expense.get("billable", False)),
        "reimbursable": bool(expense.get("reimbursable", True)),
        "bank": expense.get("bank", ""),
        "cardID": expense.get("cardID", ""),
        "cardNumber": expense.get("cardNumber", ""),
        "mcc": expense.get("mcc", ""),
        "modifiedMCC": expense.get("modifiedMCC", ""),
        "externalID": expense.get("externalID", ""),
        "receiptID": expense.get("receiptID", ""),
        "receiptFilename": expense.get("receiptFilename", ""),
        "receiptObject": dict(expense.get("receiptObject") or {}),
        "hasTax": bool(expense.get("taxAmount")),
        "taxAmount": expense.get("taxAmount", 0),
        "taxRate": expense.get("taxRate", ""),
        "taxName": expense.get("taxName", ""),
        "taxCode": expense.get("taxCode", ""),
        "units": dict(expense.get("units") or {}),
        "attendees": list(expense.get("attendees", [])),
        "type": expense.get("type", "expense"),
        "details": expense.get("details", ""),
    }
    # ntag1..N: one per level; a backslash-escaped colon stays inside its level (sheet 5).
    for level, name in enumerate(TAG_LEVEL_SEPARATOR.split(tag_value) if tag_value else [], 1):
        fields[f"ntag{level}"] = name.replace("\\:", ":")  # [I] a level holds its plain name
        prefix = ":".join(TAG_LEVEL_SEPARATOR.split(tag_value)[:level])
        fields[f"ntag{level}GlCode"] = (ledger.tag(policy_id, prefix) or {}).get("glCode", "")
    return fields


def template_model(
    ledger: Ledger, settings: ExpensifySandboxSettings, reports: Sequence[Record]
) -> dict[str, Any]:
    """What the export template sees: `reports` (each with its `transactionList`) and
    `addHeader` (sheet 5, the manual's sample)."""
    return {
        "reports": [report_fields(ledger, settings, report) for report in reports],
        "addHeader": settings.template_add_header,
    }
