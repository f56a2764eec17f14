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

# The marker convention of docs/vendors/expensify-sandbox.md; the Freemarker after it is
# what the real server would run, ignored by the sandbox.
TEMPLATE = """<#-- mlc-template:v1
format: json
report: reportID, reportName, status, employeeEmail=accountEmail, policyID, currency, total,
  submitted, approved
expense: transactionID, merchant=modifiedMerchant|merchant, amount=modifiedAmount|amount,
  convertedAmount, currency, created=modifiedCreated|created, category, categoryGlCode, tag,
  tagGlCode, ntag1, ntag2, comment, reimbursable, billable, cardID, receiptURL=receiptObject.url
-->
[<#list reports as r>{"reportID":"${r.reportID}"}<#sep>,</#sep></#list>]
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


async def export(
    client: httpx.AsyncClient, description: dict[str, Any], template: str = TEMPLATE
) -> list[dict[str, Any]]:
    """Run an export and download its file: the reports our template renders."""
    named = await job(client, description, template=template)
    assert named.status_code == 200, named.text
    assert not named.text.startswith("{"), named.text
    credentials = description["credentials"]
    download = {"type": "download", "credentials": credentials, "fileName": named.text,
                "fileSystem": "integrationServer"}  # fmt: skip
    got = await job(client, download)
    assert got.status_code == 200
    reports: list[dict[str, Any]] = got.json()
    return reports
