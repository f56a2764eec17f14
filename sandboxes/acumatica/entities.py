"""The contract of the entities the sandbox serves: fields, value types, linked and detail parts.

One definition drives reading (value wrapping), writing (type checks), `$select`/`$expand`
and the generated `swagger.json`. Field names and value types are Acumatica's (sheet
section 6, checked against the Default 22.200/23.200/24.200 exports): only the parts a
people flow touches, not every field of the exports. `Department` is not in the Default
endpoint; it is served on the extension endpoint (sheet section 7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DEPARTMENT", "EMPLOYEE", "EntityDef", "ValueType", "entities_of_endpoint"]

ValueType = Literal["string", "datetime", "boolean", "int", "decimal", "guid"]

VALUE_SCHEMAS: dict[ValueType, str] = {
    "string": "StringValue",
    "datetime": "DateTimeValue",
    "boolean": "BooleanValue",
    "int": "IntValue",
    "decimal": "DecimalValue",
    "guid": "GuidValue",
}
"""Value type -> the name of its wrapper schema in the exports (`{value, error}`)."""


@dataclass(frozen=True)
class EntityDef:
    """One entity of the contract: `schema` is its component name in the exports."""

    schema: str
    fields: dict[str, ValueType]
    linked: dict[str, EntityDef] = field(default_factory=dict)
    details: dict[str, EntityDef] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    screen: str = ""
    read_only: frozenset[str] = frozenset()

    def part(self, name: str) -> EntityDef | None:
        """The linked or detail entity called `name`, if there is one."""
        return self.linked.get(name) or self.details.get(name)


def _strings(*names: str) -> dict[str, ValueType]:
    return dict.fromkeys(names, "string")


ADDRESS = EntityDef(
    schema="Address",
    fields=_strings("AddressLine1", "AddressLine2", "City", "Country", "PostalCode", "State"),
)

CONTACT = EntityDef(
    schema="Contact",
    fields={
        **_strings(
            "DisplayName", "Email", "Fax", "FaxType", "FirstName", "LastName", "MiddleName",
            "Phone1", "Phone1Type", "Phone2", "Phone2Type", "Phone3", "Phone3Type", "Title",
            "WebSite",
        ),
        "DateOfBirth": "datetime",
    },
    linked={"Address": ADDRESS},
    read_only=frozenset({"DisplayName"}),
)  # fmt: skip

EMPLOYEE_SETTINGS = EntityDef(
    schema="EmployeeSettings",
    fields={
        **_strings(
            "BranchID", "Calendar", "CurrencyID", "CurrencyRateTypeID", "DepartmentID",
            "EmployeeClass", "EmployeeRefNbr", "LaborItem", "RegularHoursValidation",
            "ReportsTo", "Salesperson", "UnionLocalID",
        ),
        "EnableCurrencyOverride": "boolean",
        "EnableRateOverride": "boolean",
        "RouteEmails": "boolean",
        "TimeCardIsRequired": "boolean",
    },
)  # fmt: skip

FINANCIAL_SETTINGS = EntityDef(
    schema="EmployeeFinancialSettings",
    fields=_strings(
        "APAccount", "APSubaccount", "CashAccount", "ExpenseAccount", "ExpenseSubaccount",
        "PaymentMethod", "PrepaymentAccount", "PrepaymentSubaccount", "SalesAccount",
        "SalesSubaccount", "TaxZone", "Terms",
    ),
)  # fmt: skip

EMPLOYMENT_HISTORY = EntityDef(
    schema="EmploymentHistoryRecord",
    fields={
        "Active": "boolean",
        "EndDate": "datetime",
        "LineNbr": "int",
        "PositionID": "string",
        "RehireEligible": "boolean",
        "StartDate": "datetime",
        "StartReason": "string",
        "Terminated": "boolean",
        "TerminationReason": "string",
    },
)

# `IsActive` exists only from 24.200.001 on (the conformance run found it): left out.
ATTRIBUTE = EntityDef(
    schema="AttributeValue",
    fields={
        "AttributeDescription": "string",
        "AttributeID": "string",
        "RefNoteID": "guid",
        "Required": "boolean",
        "Value": "string",
        "ValueDescription": "string",
    },
)

EMPLOYEE = EntityDef(
    schema="Employee",
    fields={
        "EmployeeID": "string",
        "EmployeeName": "string",
        "LastModifiedDateTime": "datetime",
        "Status": "string",
    },
    linked={
        "ContactInfo": CONTACT,
        "EmployeeSettings": EMPLOYEE_SETTINGS,
        "FinancialSettings": FINANCIAL_SETTINGS,
    },
    details={"Attributes": ATTRIBUTE, "EmploymentHistory": EMPLOYMENT_HISTORY},
    keys=("EmployeeID",),
    screen="Employees (EP203000)",
    read_only=frozenset({"EmployeeName", "LastModifiedDateTime"}),
)

DEPARTMENT = EntityDef(
    schema="Department",
    fields=_strings("DepartmentID", "Description", "ExpenseAccountID", "ExpenseSubID"),
    keys=("DepartmentID",),
    screen="Departments (EP201500)",
)


def entities_of_endpoint(*, extension: bool) -> dict[str, EntityDef]:
    """The top-level entities of the Default endpoint, or of the extension that adds Department."""
    if extension:
        return {"Department": DEPARTMENT, "Employee": EMPLOYEE}
    return {"Employee": EMPLOYEE}
