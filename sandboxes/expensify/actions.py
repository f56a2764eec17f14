"""What people do in Expensify's UI, as control actions (`POST /_sandbox/actions/{name}`).

`import_card_transactions` (a corporate card feed posts spends), `submit_report` (an
employee files a report with new expenses and/or imported card transactions),
`approve_report`, `reject_report` (back to its submitter, open again), `edit_expense` (on
an open report), `resubmit_report`, `reimburse_report` and `rotate_credentials` (the
integrations page).
Expensify sends no webhooks, so none of these fires one: the expenses flow polls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandboxes.expensify.auth import Authenticator
from sandboxes.expensify.state import Ledger, public
from sandboxes.kit import Action, ActionError, Record

__all__ = ["UiActions"]

EXPENSE_KEYS = (
    "merchant", "amount", "currency", "convertedAmount", "currencyConversionRate", "created",
    "category", "tag", "comment", "billable", "reimbursable", "externalID", "modifiedMerchant",
    "modifiedAmount", "modifiedCreated", "mcc", "taxAmount", "taxRate", "taxName", "taxCode",
    "receiptID", "receiptFilename", "receiptObject", "attendees", "units",
)  # fmt: skip


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise ActionError(f"{key} is required")
    return value


class UiActions:
    def __init__(self, ledger: Ledger, auth: Authenticator) -> None:
        self.ledger = ledger
        self.auth = auth

    def all(self) -> dict[str, Action]:
        return {
            "import_card_transactions": self.import_card_transactions,
            "submit_report": self.submit_report,
            "approve_report": self.approve_report,
            "reject_report": self.reject_report,
            "edit_expense": self.edit_expense,
            "resubmit_report": self.resubmit_report,
            "reimburse_report": self.reimburse_report,
            "rotate_credentials": self.rotate_credentials,
        }

    def _expense(self, spec: object, owner: str, policy_id: str) -> Record:
        if not isinstance(spec, dict):
            raise ActionError("each expense is an object")
        if not isinstance(spec.get("amount"), int) or not spec.get("merchant"):
            raise ActionError("an expense needs merchant and amount (integer cents)")
        expense: Record = {k: spec[k] for k in EXPENSE_KEYS if k in spec}
        expense.setdefault("currency", "USD")
        expense.setdefault("convertedAmount", expense["amount"])
        expense.setdefault("created", self.ledger.today().isoformat())
        expense.setdefault("reimbursable", True)
        expense.update(
            id=self.ledger.new_transaction_id(), reportID=None, accountEmail=owner,
            policyID=policy_id, inserted=self.ledger.stamp(), type="expense",
        )  # fmt: skip
        return expense

    async def import_card_transactions(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"cardID", "transactions": [{merchant, amount, currency?, created?, ...}]}`."""
        card = self.ledger.card(_text(payload, "cardID"))
        if card is None:
            raise ActionError("no such card", status=404)
        owner = str(card.get("email", ""))
        member = self.ledger.any_employee(owner)
        policy_id = str((member or {}).get("policyID", ""))
        specs = payload.get("transactions")
        if not isinstance(specs, list) or not specs:
            raise ActionError("transactions is a non-empty list")
        created = []
        for spec in specs:
            expense = self._expense(spec, owner, policy_id)
            expense.update(
                bank=card.get("bank", ""), cardID=card["id"], cardNumber=card.get("cardNumber", ""),
                reimbursable=bool(card.get("reimbursable", False)), type="card",
            )  # fmt: skip
            created.append(public(self.ledger.state.insert("transactions", expense)) | {
                "transactionID": expense["id"]})  # fmt: skip
        return {"transactionList": created}

    async def submit_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"employeeEmail", "policyID"?, "title"?, "expenses"?: [...], "transactionIDs"?:
        [...], "submit"?: true}`: a report with its expenses, submitted to the approver."""
        owner = _text(payload, "employeeEmail").lower()
        policy_id = payload.get("policyID")
        member = (
            self.ledger.employee(policy_id, owner) if policy_id else self.ledger.any_employee(owner)
        )
        if member is None:
            raise ActionError(f"{owner} is not a member of that policy", status=404)
        policy_id = str(member["policyID"])
        specs = payload.get("expenses") or []
        attach = [str(t) for t in payload.get("transactionIDs") or []]
        if not isinstance(specs, list) or (not specs and not attach):
            raise ActionError("expenses or transactionIDs are required")
        existing: list[Record] = []
        for transaction_id in attach:
            found = self.ledger.state.get("transactions", transaction_id)
            if found is None or found.get("reportID") or found.get("accountEmail") != owner:
                raise ActionError(f"transaction {transaction_id} is not an unreported expense "
                                  f"of {owner}", status=409)  # fmt: skip
            existing.append(found)
        expenses = [self._expense(spec, owner, policy_id) for spec in specs]
        report_id = self.ledger.new_report_id()
        now = self.ledger.stamp()
        submit = payload.get("submit", True) is not False
        submitted = [{"action": "SUBMITTED", "accountEmail": owner, "created": now,
                      "details": {"message": ""}}]  # fmt: skip
        report: Record = {
            "id": report_id, "reportName": payload.get("title") or f"Expenses {now[:10]}",
            "policyID": policy_id, "accountEmail": owner,
            "status": "SUBMITTED" if submit else "OPEN", "created": now,
            "submitted": now if submit else None, "approved": None, "reimbursed": None,
            "managerEmail": member.get("submitsTo", "") if submit else "", "approvers": [],
            "exportedLabels": [], "customFields": dict(payload.get("fields") or {}),
            "entryID": report_id, "actionList": submitted if submit else [],
        }  # fmt: skip
        self.ledger.state.insert("reports", report)
        for expense in expenses:
            expense["reportID"] = report_id
            self.ledger.state.insert("transactions", expense)
        for expense in existing:
            expense["reportID"] = report_id
            expense["policyID"] = policy_id
        return self._report_view(report)

    def _report_view(self, report: Record) -> dict[str, Any]:
        expenses = [public(e) | {"transactionID": e["id"]} for e in
                    self.ledger.expenses_of(report["id"])]  # fmt: skip
        return public(report) | {"reportID": report["id"], "expenses": expenses}

    def _report(self, payload: Mapping[str, Any], expected: str) -> Record:
        report = self.ledger.report(_text(payload, "reportID"))
        if report is None:
            raise ActionError("no such report", status=404)
        if report.get("status") != expected:
            raise ActionError(f"report is {report.get('status')}, not {expected}", status=409)
        return report

    async def approve_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"reportID", "approverEmail"?}`: final approval (default: the submitsTo)."""
        report = self._report(payload, "SUBMITTED")
        approver = str(payload.get("approverEmail") or report.get("managerEmail") or "")
        if self.ledger.employee(report["policyID"], approver) is None:
            raise ActionError(f"{approver} cannot approve in this policy", status=409)
        now = self.ledger.stamp()
        report.update(status="APPROVED", approved=now, managerEmail=approver)
        report.setdefault("approvers", []).append({"email": approver, "date": now})
        report.setdefault("actionList", []).append(
            {"action": "APPROVED", "accountEmail": approver, "created": now,
             "details": {"message": str(payload.get("message", ""))}}
        )  # fmt: skip
        return self._report_view(report)

    async def reject_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"reportID", "message"?}`: a submitted or approved report goes back to its
        submitter, open again (Expensify's "Reject"; an approved one is unapproved)."""
        report = self.ledger.report(_text(payload, "reportID"))
        if report is None:
            raise ActionError("no such report", status=404)
        if report.get("status") not in ("SUBMITTED", "APPROVED"):
            raise ActionError(f"report is {report.get('status')}, not submitted or approved",
                              status=409)  # fmt: skip
        now = self.ledger.stamp()
        report.update(status="OPEN", approved=None, submitted=None)
        report.setdefault("actionList", []).append(
            {"action": "REJECTED", "accountEmail": report.get("managerEmail", ""),
             "created": now, "details": {"message": str(payload.get("message", ""))}}
        )  # fmt: skip
        return self._report_view(report)

    async def edit_expense(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"transactionID", <expense fields>...}`: the submitter edits an expense of an open
        report (or an unreported one)."""
        expense = self.ledger.state.get("transactions", _text(payload, "transactionID"))
        if expense is None:
            raise ActionError("no such expense", status=404)
        report = self.ledger.report(str(expense.get("reportID") or ""))
        if report is not None and report.get("status") != "OPEN":
            raise ActionError(f"its report is {report.get('status')}: only an open report's "
                              "expenses can be edited", status=409)  # fmt: skip
        changes = {k: payload[k] for k in EXPENSE_KEYS if k in payload}
        if "amount" in changes and not isinstance(changes["amount"], int):
            raise ActionError("amount is integer cents")
        expense.update(changes)
        if "amount" in changes and "convertedAmount" not in changes:
            expense["convertedAmount"] = changes["amount"]
        return public(expense) | {"transactionID": expense["id"]}

    async def resubmit_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"reportID"}`: an open (rejected) report submitted again to the approver."""
        report = self._report(payload, "OPEN")
        now = self.ledger.stamp()
        member = self.ledger.employee(report["policyID"], str(report["accountEmail"]))
        report.update(status="SUBMITTED", submitted=now,
                      managerEmail=(member or {}).get("submitsTo", ""))  # fmt: skip
        report.setdefault("actionList", []).append(
            {"action": "SUBMITTED", "accountEmail": report["accountEmail"], "created": now,
             "details": {"message": ""}}
        )  # fmt: skip
        return self._report_view(report)

    async def reimburse_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"reportID", "ach"?: false}`: an approved report is paid back."""
        report = self._report(payload, "APPROVED")
        now = self.ledger.stamp()
        report.update(status="REIMBURSED", reimbursed=now, isACHReimbursed=bool(payload.get("ach")))
        report.setdefault("actionList", []).append(
            {"action": "REIMBURSED", "accountEmail": report.get("managerEmail", ""),
             "created": now, "details": {"message": ""}}
        )  # fmt: skip
        return self._report_view(report)

    async def rotate_credentials(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"partnerUserID"?}`: a new partnerUserSecret; the old one stops working."""
        user_id = payload.get("partnerUserID")
        if user_id is None:
            records = self.ledger.state.records("credentials")
            if not records:
                raise ActionError("no credentials to rotate", status=404)
            user_id = records[0]["id"]
        try:
            return self.auth.rotate(str(user_id))
        except KeyError:
            raise ActionError("no such partnerUserID", status=404) from None
