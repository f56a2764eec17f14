"""The default seed: Acme Creative's Acumatica instance before the people flow has run.

Two tenants on one instance: `AcmeLive` (branches HQ and LONDON, the employee classes, four
departments the finance team made by hand, and the six people who were entered manually,
one of whom, Grace Holloway, is also in BambooHR under the same e-mail) and `AcmeTest`
(a nearly empty copy). The integration user `api.sync` may sign in to both; an OAuth client
is registered for `AcmeLive`. Everything is deterministic: the same seed on every start.
"""

from __future__ import annotations

import uuid

from sandboxes.kit import Record, Seed

__all__ = ["API_PASSWORD", "API_USER", "OAUTH_CLIENT", "build_seed"]

API_USER = "api.sync"
API_PASSWORD = "Sandbox#2026"
OAUTH_CLIENT: Record = {
    "id": "58FCCFBD-0CF3-C047-B720-A631C976A8DD@AcmeLive",
    "secret": "q9RjXb7UoWm2Tz4LkPs8Vd",
    "redirect_uris": ["http://localhost:8000/oauth/acumatica/callback",
                      "https://sync.example.com/oauth/acumatica"],
}  # fmt: skip
SEEDED_AT = "2026-01-05T09:00:00.000+00:00"
NAMESPACE = uuid.UUID("6f1d3c2a-8c0e-4a58-9a4c-1b2f00a1c0de")

DEPARTMENTS = (("ADMIN", "Administration"), ("FINANCE", "Finance"),
               ("PRODUCTION", "Production"), ("SALES", "Sales"))  # fmt: skip
EMPLOYEE_CLASSES = (("EMPSTAND", "Standard employee"), ("EMPSALARY", "Salaried employee"),
                    ("EMPHOURLY", "Hourly employee"), ("CONTRACT", "Contractor"))  # fmt: skip

# employee id | first | last | e-mail | department | branch | class | status
PEOPLE = (
    ("EP00000001", "Helen", "Brooks", "helen.brooks@acmecreative.example", "FINANCE", "HQ",
     "EMPSALARY", "Active"),
    ("EP00000002", "Oscar", "Dunn", "oscar.dunn@acmecreative.example", "FINANCE", "HQ",
     "EMPSALARY", "Active"),
    ("EP00000003", "Grace", "Holloway", "grace.holloway@acmecreative.example", "ADMIN", "HQ",
     "EMPSALARY", "Active"),
    ("EP00000004", "Victor", "Lang", "victor.lang@acmecreative.example", "SALES", "LONDON",
     "EMPSTAND", "Active"),
    ("EP00000005", "Nadia", "Petrova", "nadia.petrova@acmecreative.example", "PRODUCTION",
     "LONDON", "EMPHOURLY", "On Hold"),
    ("EP00000006", "Samuel", "Ortiz", "samuel.ortiz@acmecreative.example", "ADMIN", "HQ",
     "CONTRACT", "Inactive"),
)  # fmt: skip


def _id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _employee(tenant: str, row: tuple[str, ...]) -> Record:
    code, first, last, email, department, branch, klass, status = row
    return {
        "id": _id(tenant, "employee", code),
        "tenant": tenant,
        "note": "",
        "EmployeeID": code,
        "EmployeeName": f"{first} {last}",
        "Status": status,
        "LastModifiedDateTime": SEEDED_AT,
        "ContactInfo": {
            "id": _id(tenant, "contact", code),
            "FirstName": first,
            "LastName": last,
            "DisplayName": f"{first} {last}",
            "Email": email,
            "Address": {
                "id": _id(tenant, "address", code),
                "Country": "GB" if branch == "LONDON" else "US",
            },
        },
        "EmployeeSettings": {
            "id": _id(tenant, "settings", code),
            "BranchID": branch,
            "DepartmentID": department,
            "EmployeeClass": klass,
            "Calendar": "MAIN",
            "CurrencyID": "GBP" if branch == "LONDON" else "USD",
        },
        "FinancialSettings": {
            "id": _id(tenant, "financial", code),
            "APAccount": "20000",
            "ExpenseAccount": "60000",
            "PaymentMethod": "CHECK",
            "Terms": "30D",
        },
        "EmploymentHistory": [
            {
                "id": _id(tenant, "history", code),
                "LineNbr": 1,
                "PositionID": "STAFF",
                "StartDate": "2021-03-01T00:00:00.000+00:00",
                "StartReason": "NEW",
                "Active": status != "Inactive",
                "Terminated": status == "Inactive",
            },
        ],
        "Attributes": [],
    }


def _reference(tenant: str, branches: tuple[tuple[str, str], ...]) -> dict[str, list[Record]]:
    return {
        "branches": [{"id": f"{tenant}:{code}", "tenant": tenant, "BranchID": code, "name": name}
                     for code, name in branches],
        "employee_classes": [{"id": f"{tenant}:{code}", "tenant": tenant, "ClassID": code,
                              "description": text} for code, text in EMPLOYEE_CLASSES],
    }  # fmt: skip


def _department(tenant: str, code: str, description: str) -> Record:
    return {
        "id": _id(tenant, "department", code),
        "tenant": tenant,
        "note": "",
        "DepartmentID": code,
        "Description": description,
        "ExpenseAccountID": "60000",
        "ExpenseSubID": "000000",
        "LastModifiedDateTime": SEEDED_AT,
    }


def build_seed() -> Seed:
    live = _reference("AcmeLive", (("HQ", "Acme Creative US"), ("LONDON", "Acme Creative UK")))
    test = _reference("AcmeTest", (("HQ", "Acme Creative US (test)"),))
    return {
        "tenants": [
            {"id": "AcmeLive", "name": "Acme Creative", "default_branch": "HQ"},
            {"id": "AcmeTest", "name": "Acme Creative (test)", "default_branch": "HQ"},
        ],
        "users": [
            {"id": API_USER, "password": API_PASSWORD, "tenants": ["AcmeLive", "AcmeTest"]},
            {"id": "admin", "password": "Admin#2026", "tenants": ["AcmeLive"]},
        ],
        "oauth_clients": [dict(OAUTH_CLIENT)],
        "branches": live["branches"] + test["branches"],
        "employee_classes": live["employee_classes"] + test["employee_classes"],
        "departments": [_department("AcmeLive", c, d) for c, d in DEPARTMENTS]
        + [_department("AcmeTest", "ADMIN", "Administration")],
        "employees": [_employee("AcmeLive", row) for row in PEOPLE]
        + [_employee("AcmeTest", PEOPLE[0])],
    }
