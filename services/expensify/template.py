"""Our report-export template (``export_template.ftl``) and what it prints, read back.

The Integration Server renders the ``template`` form field with Freemarker over
``reports`` (each with its ``transactionList``), sheet section 5. The template is written
for the real server, not for our sandbox:

- every string goes through ``?json_string`` (a tag's levels are joined with ``:`` and a
  literal colon is backslash-escaped; a comment can hold quotes and newlines), every number
  and boolean through ``?c`` (a boolean printed bare prints nothing; a number is otherwise
  formatted for a locale, ``1,234``);
- every optional field has a default (``!``): Freemarker stops at a missing value;
- the edited values (``modifiedMerchant``, ``modifiedAmount``, ``modifiedCreated``) are
  printed beside the originals, and :mod:`services.expensify.mapping` prefers them, as
  Expensify's own sample templates do;
- ``<#sep>`` (Freemarker 2.3.23+, which public templates run on the server use) keeps the
  JSON free of trailing commas.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

__all__ = ["ExportError", "ExportedExpense", "ExportedReport", "export_template", "read_export"]

TEMPLATE_PATH: Final = Path(__file__).with_name("export_template.ftl")


class ExportError(ValueError):
    """The export file is not what our template prints (a changed template, a server error)."""


class ExportedExpense(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    transaction_id: str = Field(alias="transactionID", min_length=1)
    merchant: str = ""
    modified_merchant: str = Field(default="", alias="modifiedMerchant")
    amount: int = 0  # cents, in ``currency``
    modified_amount: int | None = Field(default=None, alias="modifiedAmount")
    converted_amount: int = Field(default=0, alias="convertedAmount")  # cents, report currency
    currency: str = ""
    created: str = ""
    modified_created: str = Field(default="", alias="modifiedCreated")
    category: str = ""
    category_gl_code: str = Field(default="", alias="categoryGlCode")
    tag: str = ""
    comment: str = ""
    reimbursable: bool = False
    billable: bool = False
    card_id: str = Field(default="", alias="cardID")
    receipt_url: str = Field(default="", alias="receiptURL")


class ExportedReport(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    report_id: str = Field(alias="reportID", min_length=1)
    report_name: str = Field(default="", alias="reportName")
    status: str = ""
    employee_email: str = Field(default="", alias="employeeEmail")
    policy_id: str = Field(default="", alias="policyID")
    currency: str = ""
    total: int = 0  # cents
    approved: str = ""
    expenses: list[ExportedExpense] = Field(default_factory=list)


_REPORTS: Final = TypeAdapter(list[ExportedReport])


@cache
def export_template() -> str:
    """The template text sent with every export job."""
    return TEMPLATE_PATH.read_text(encoding="utf-8")


def read_export(content: bytes) -> list[ExportedReport]:
    """The reports of one downloaded export file."""
    try:
        return _REPORTS.validate_json(content)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        msg = f"the export file is not our template's JSON: {where}: {first['msg']}"
        raise ExportError(msg) from None
