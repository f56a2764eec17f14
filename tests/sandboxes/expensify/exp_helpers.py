"""Shared values for the Expensify sandbox tests, written from the fact sheet."""

from __future__ import annotations

import json
from typing import Any

import httpx

from sandboxes.expensify.app import ExpensifySandbox
from sandboxes.expensify.settings import ExpensifySandboxSettings

ENDPOINT = "/Integration-Server/ExpensifyIntegrations"
LABEL = "ml-connector"
US = "A1C3E5F7092B4D6E"
EU = "B7D9F1A3C5E70812"

# Our adapter's kind of template (sheet 5, "Recommended adapter template"), real FreeMarker
# that the sandbox renders as the server does: strings through ?json_string, numbers and
# booleans through ?c, defaults (!) on optional fields, and the edited values preferred
# with ?has_content, because the server gives unedited `modified*` fields as empty strings.
TEMPLATE = """<#-- mlc-template:v1 (a plain comment now: the sandbox needs no marker) -->
[<#list reports as r>{"reportID":"${r.reportID}","reportName":"${(r.reportName!"")?json_string}",
"status":"${(r.status!"")?json_string}","employeeEmail":"${(r.accountEmail!"")?json_string}",
"policyID":"${r.policyID!""}","currency":"${r.currency!""}","total":${(r.total!0)?c},
"submitted":"${r.submitted!""}","approved":"${r.approved!""}","expenses":[
<#list r.transactionList as e>
{"transactionID":"${e.transactionID}",
"merchant":"${(e.modifiedMerchant?has_content)?then(e.modifiedMerchant, e.merchant)?json_string}",
"amount":${(e.modifiedAmount?has_content)?then(e.modifiedAmount, e.amount)?c},
"convertedAmount":${(e.convertedAmount!0)?c},"currency":"${e.currency!""}",
"created":"${(e.modifiedCreated?has_content)?then(e.modifiedCreated, e.created)}",
"category":"${(e.category!"")?json_string}","categoryGlCode":"${(e.categoryGlCode!"")?json_string}",
"tag":"${(e.tag!"")?json_string}","tagGlCode":"${(e.tagGlCode!"")?json_string}",
"ntag1":"${(e.ntag1!"")?json_string}","ntag2":"${(e.ntag2!"")?json_string}",
"comment":"${(e.comment!"")?json_string}","reimbursable":${(e.reimbursable!false)?c},
"billable":${(e.billable!false)?c},"cardID":"${(e.cardID!"")?json_string}",
"receiptURL":"${((e.receiptObject.url)!"")?json_string}"}<#sep>,</#sep>
</#list>]}<#sep>,</#sep></#list>]
"""


def unlimited(**settings: Any) -> ExpensifySandbox:
    """A sandbox with the vendor's request windows off (for tests that make many calls)."""
    return ExpensifySandbox(settings=ExpensifySandboxSettings(rate_windows=(), **settings))


async def pair(client: httpx.AsyncClient) -> dict[str, str]:
    creds = (await client.post("/_sandbox/credentials")).json()
    return {
        "partnerUserID": creds["partner_user_id"],
        "partnerUserSecret": creds["partner_user_secret"],
    }


async def job(
    client: httpx.AsyncClient, description: dict[str, Any], **fields: str
) -> httpx.Response:
    """POST one job the way the manual's curl examples do (form-urlencoded)."""
    data = {"requestJobDescription": json.dumps(description), **fields}
    return await client.post(ENDPOINT, data=data)


def export_job(credentials: dict[str, str], **filters: Any) -> dict[str, Any]:
    inputs: dict[str, Any] = {"type": "combinedReportData", "filters": filters}
    for key in ("reportState", "limit", "employeeEmail"):
        if key in filters:
            inputs[key] = filters.pop(key)
    return {
        "type": "file",
        "credentials": credentials,
        "onReceive": {"immediateResponse": ["returnRandomFileName"]},
        "inputSettings": inputs,
        "outputSettings": {"fileExtension": "json", "fileBasename": "mlc"},
    }


async def export_text(
    client: httpx.AsyncClient, description: dict[str, Any], template: str = TEMPLATE
) -> str:
    """Run an export and download its file: the text the template printed."""
    named = await job(client, description, template=template)
    assert named.status_code == 200, named.text
    assert not named.text.startswith("{"), named.text
    credentials = description["credentials"]
    download = {"type": "download", "credentials": credentials, "fileName": named.text,
                "fileSystem": "integrationServer"}  # fmt: skip
    got = await job(client, download)
    assert got.status_code == 200
    return got.text


async def export(
    client: httpx.AsyncClient, description: dict[str, Any], template: str = TEMPLATE
) -> list[dict[str, Any]]:
    """Run an export with a JSON template and download its file: the reports it printed."""
    reports: list[dict[str, Any]] = json.loads(await export_text(client, description, template))
    return reports
