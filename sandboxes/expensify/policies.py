"""Read jobs (`get`: policyList, policy, domainCardList) and the advanced employee updater.

Shapes from the manual's examples and Nango's recordings (sheet 6 and 7): the policy list
is `{"policyList": [...]}`, the getter `{"policyInfo": {policyID: {field: ...}}}` with only
the asked `fields`, `policyIDList` a JSON array here (a comma string in the exporter).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from sandboxes.expensify.errors import ExpensifyError, malformed, missing
from sandboxes.expensify.settings import ExpensifySandboxSettings
from sandboxes.expensify.state import Ledger
from sandboxes.kit import Record

__all__ = ["PolicyJobs"]

POLICY_FIELDS = ("categories", "reportFields", "tags", "tax", "employees")
EMPLOYEE_KEYS = (
    "email", "role", "submitsTo", "forwardsTo", "employeeID", "customField1", "customField2",
)  # fmt: skip
# Keys newer policy-list answers carry besides the manual's (Nango's recording, sheet 6);
# a policy record may set any of them.
NEWER_FLAGS: dict[str, object] = {
    "areCompanyCardsEnabled": True, "areConnectionsEnabled": True,
    "areDistanceRatesEnabled": False, "areExpensifyCardsEnabled": False,
    "areInvoicesEnabled": False, "areReportFieldsEnabled": True, "areRulesEnabled": True,
    "areWorkflowsEnabled": True, "autoReimbursement": "", "avatarURL": "",
    "chatReportIDAdmins": 0, "chatReportIDAnnounce": 0, "eReceipts": True,
    "invoice": {"markUp": 0}, "isPolicyExpenseChatEnabled": "1",
    "maxExpenseAge": 90, "maxExpenseAmount": 300_000, "maxExpenseAmountNoReceipt": 7_500,
    "shouldShowAutoApprovalOptions": True, "shouldShowAutoReimbursementLimitOption": False,
    "shouldShowCustomReportTitleOption": True, "tax": '{"trackingEnabled":false}',
}  # fmt: skip
CATEGORY_KEYS = ("name", "enabled", "areCommentsRequired", "commentHint", "maxExpenseAmount")


class PolicyJobs:
    def __init__(self, ledger: Ledger, settings: ExpensifySandboxSettings) -> None:
        self.ledger = ledger
        self.settings = settings

    def _acting_user(self, inputs: dict[str, Any], owner: str) -> str:
        """`userEmail` needs third-party access; the sandbox grants it within the owner's
        own domain [I] and refuses others like the report creator does (sheet 8)."""
        user = inputs.get("userEmail")
        if user in (None, ""):
            return owner
        if not isinstance(user, str) or user.rpartition("@")[2] != owner.rpartition("@")[2]:
            raise ExpensifyError(500, f"Not authorized to authenticate as user {user}")
        return user

    def policy_list(self, inputs: dict[str, Any], owner: str) -> dict[str, Any]:
        user = self._acting_user(inputs, owner)
        admin_only = inputs.get("adminOnly") in (True, "true")
        listed = []
        for policy, role in self.ledger.visible_policies(user):
            if admin_only and role != "admin":
                continue
            listed.append(
                {
                    "id": policy["id"],
                    "name": policy.get("name", ""),
                    "type": policy.get("type", "corporate"),
                    "role": role,
                    "owner": policy.get("owner", ""),
                    "outputCurrency": policy.get("outputCurrency", "USD"),
                    "approvalMode": policy.get("approvalMode", "ADVANCED"),
                    "areCategoriesEnabled": bool(self.ledger.of_policy("categories", policy["id"])),
                    "areTagsEnabled": bool(self.ledger.of_policy("tags", policy["id"])),
                    "created": policy.get("created", ""),
                    "createdAt": policy.get("created", ""),
                    "ownerAccountID": policy.get("ownerAccountID", 0),
                }
                | {flag: policy.get(flag, default) for flag, default in NEWER_FLAGS.items()}
            )
        return {"policyList": listed, "responseCode": 200}

    def policy(self, inputs: dict[str, Any], owner: str) -> dict[str, Any]:
        ids = inputs.get("policyIDList")
        if ids is None:
            raise missing("policyIDList")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise malformed("policyIDList")
        fields = inputs.get("fields")
        if fields is None:
            raise missing("fields")
        if not isinstance(fields, list) or any(f not in POLICY_FIELDS for f in fields):
            raise malformed("fields")
        user = self._acting_user(inputs, owner)
        visible = {str(p["id"]): p for p, _ in self.ledger.visible_policies(user)}
        info: dict[str, Any] = {}
        for policy_id in ids:
            policy = visible.get(policy_id)
            if policy is not None:  # [I] policies the user cannot see are left out
                info[policy_id] = {field: self._field(policy, field) for field in fields}
        return {"responseCode": 200, "policyInfo": info}

    def _field(self, policy: Record, field: str) -> object:
        policy_id = policy["id"]
        if field == "categories":
            return [self._category(c) for c in self.ledger.of_policy("categories", policy_id)]
        if field == "tags":
            return self._tags(policy)
        if field == "employees":
            return [
                # forwardsTo shows even when empty (recorded); the others only when set.
                {
                    k: e[k]
                    for k in EMPLOYEE_KEYS
                    if e.get(k) not in (None, "") or (k == "forwardsTo" and k in e)
                }
                for e in self.ledger.of_policy("employees", policy_id)
            ]
        if field == "reportFields":
            return list(policy.get("reportFields", []))
        return dict(policy.get("tax", {}))

    def _category(self, category: Record) -> dict[str, Any]:
        shown = {k: category[k] for k in CATEGORY_KEYS if k in category}
        for code in ("glCode", "payrollCode"):
            value = category.get(code) or ""
            if value or self.settings.category_codes_when_empty == "empty_string":
                shown[code] = value
        return shown

    def _tags(self, policy: Record) -> list[dict[str, Any]]:
        """Both shapes of the manual's example: flat (`name` holds `Level1:Level2`) or one
        object per tag level; each policy says which (`tagShape`)."""
        tags = self.ledger.of_policy("tags", policy["id"])
        shown = [
            {"name": t["name"], "enabled": bool(t.get("enabled", True)),
             "glCode": t.get("glCode", ""), "level": t.get("level", "Tag")}
            for t in tags
        ]  # fmt: skip
        if policy.get("tagShape", "flat") == "flat":
            return [{k: v for k, v in t.items() if k != "level"} for t in shown]
        levels: dict[str, list[dict[str, Any]]] = {
            str(name): [] for name in policy.get("tagLevels", [])
        }
        for tag in shown:
            level = str(tag.pop("level"))
            levels.setdefault(level, []).append(tag)
        return [{"name": name, "tags": values} for name, values in levels.items()]

    def domain_cards(self, inputs: dict[str, Any], owner: str) -> dict[str, Any]:
        domain = inputs.get("domain")
        if not isinstance(domain, str) or not domain:
            raise ExpensifyError(410, "Domain name is missing or malformed")
        cards = [
            {k: v for k, v in c.items() if k != "id"} | {"cardID": c["id"]}
            for c in self.ledger.state.records("cards")
            if str(c.get("email", "")).endswith("@" + domain)
        ]
        return {"domainCardList": cards, "responseCode": 200}

    # --- advanced employee updater (employeeUpdater manual; Nango create/disable-user) -------

    def update_employees(self, job: dict[str, Any], data: str | None) -> dict[str, Any]:  # noqa: PLR0912
        inputs = job.get("inputSettings") or {}
        if inputs.get("entity") != "generic":
            raise malformed("entity")
        if job.get("dataSource") != "request":
            raise ExpensifyError(410, "The sandbox reads the employee feed from 'data' only")
        try:
            feed = json.loads(data or "")
        except ValueError:
            raise ExpensifyError(410, "Employee data is missing or malformed") from None
        if not isinstance(feed, list) or not all(isinstance(e, dict) for e in feed):
            raise ExpensifyError(410, "Employee data is missing or malformed")
        dry_run = job.get("dry-run") in (True, "true")
        to_add: dict[str, list[str]] = {}
        to_remove: dict[str, list[str]] = {}
        members: dict[str, list[dict[str, Any]]] = {}
        skipped: list[dict[str, str]] = []
        for entry in feed:
            email, policy_id = entry.get("employeeEmail"), entry.get("policyID")
            if not email or self.ledger.policy(policy_id) is None:
                skipped.append(
                    {"email": str(email), "reason": f"No policy found for '{policy_id}'"}
                )
                continue
            current = self.ledger.employee(policy_id, email)
            if entry.get("isTerminated") in (True, "true"):
                if current is not None:
                    to_remove.setdefault(str(policy_id), []).append(str(email))
                    if not dry_run:
                        self.ledger.state.delete("employees", current["id"])
                continue
            record = {
                "policyID": policy_id, "email": email, "role": entry.get("role", "user"),
                "submitsTo": entry.get("managerEmail", ""), "employeeID": entry.get("employeeID"),
                "customField1": entry.get("customField1", entry.get("employeeID")),
                "customField2": entry.get("customField2"),
                "firstName": entry.get("firstName", ""), "lastName": entry.get("lastName", ""),
            }  # fmt: skip
            if current is None:
                to_add.setdefault(str(policy_id), []).append(str(email))
            if not dry_run:
                if current is not None:
                    record["id"] = current["id"]
                self.ledger.state.insert("employees", record)
            members.setdefault(str(policy_id), []).append(
                {"email": email, "submitsTo": record["submitsTo"],
                 "admin": record["role"] == "admin", "customField1": record["customField1"],
                 "customField2": record["customField2"]}
            )  # fmt: skip
        answer: dict[str, Any] = {
            "responseCode": 200,
            "dry-run": dry_run,
            "updatedEmployeesCount": len(feed) - len(skipped),
            "diff": {"diffToAdd": to_add, "diffToRemove": to_remove},
            "policyIDToEmployeesMap": members,
            "policyIDToEmailsToRemoveMap": to_remove,
            "securityGroupEmployeesMap": {},
            "failedPolicies": [],
            "requestID": secrets.token_urlsafe(6)[:6],
        }
        if skipped:
            answer["skippedEmployees"] = skipped
        return answer
