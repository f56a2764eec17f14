"""Export templates through the real HTTP job (sheet 3, 5): any FreeMarker template renders
over the seeded reports, and a template that fails answers Expensify's error body."""

from __future__ import annotations

import json
from typing import Any

from tests.sandboxes.expensify.exp_helpers import (
    LABEL,
    TEMPLATE,
    export,
    export_job,
    export_text,
    job,
    pair,
    unlimited,
)
from tests.sandboxes.sandbox_harness import Connector

MARK = [{"actionName": "markAsExported", "label": LABEL}]

# Written for these tests in the style of the manual's report-exporter sample (a header when
# `addHeader`, running numbers in `<#assign>`ed variables, <#t>/<#lt> to build each row),
# with the columns public templates add: the edited value when there is one, cents as
# currency units, a reformatted date, both tag levels, a boolean via ?string.
MANUAL_STYLE_CSV = """<#if addHeader == true>
    Merchant,Amount,Date,Category,Tag,Department,Project,Billable,Report,Line<#lt>
</#if>
<#assign reportNumber = 1>
<#assign lineNumber = 1>
<#list reports as report>
    <#list report.transactionList as expense>
        <#if expense.modifiedMerchant?has_content>
            <#assign merchant = expense.modifiedMerchant>
        <#else>
            <#assign merchant = expense.merchant>
        </#if>
        <#if expense.modifiedAmount?has_content>
            <#assign amount = expense.modifiedAmount>
        <#else>
            <#assign amount = expense.amount>
        </#if>
        <#assign day = (expense.modifiedCreated?has_content)?then(expense.modifiedCreated,
                                                                  expense.created)>
        ${merchant},<#t>
        <#-- amounts are cents -->
        ${(amount / 100)?string("0.00")},<#t>
        ${day?date("yyyy-MM-dd")?string("MM/dd/yyyy")},<#t>
        ${expense.category},<#t>
        ${expense.tag},<#t>
        ${expense.ntag1!""},<#t>
        ${expense.ntag2!""},<#t>
        ${expense.billable?string("true","false")},<#t>
        ${reportNumber},<#t>
        ${lineNumber}<#lt>
        <#assign lineNumber = lineNumber + 1>
    </#list>
    <#assign reportNumber = reportNumber + 1>
</#list>
"""

# The fact sheet's "Recommended adapter template" (section 5), as the sheet writes it.
SHEET_TEMPLATE = """<#-- mlc-template:v1 -->[<#list reports as r>{"reportID":"${r.reportID}","reportName":"${(r.reportName!"")?json_string}",
"status":"${(r.status!"")?json_string}","employeeEmail":"${(r.accountEmail!"")?json_string}","policyID":"${(r.policyID!"")}",
"currency":"${(r.currency!"")}","total":${(r.total!0)?c},"approved":"${(r.approved!"")}","expenses":[<#list r.transactionList as e>
{"transactionID":"${e.transactionID}","merchant":"${(e.modifiedMerchant!e.merchant!"")?json_string}","amount":${(e.amount!0)?c},
"convertedAmount":${(e.convertedAmount!0)?c},"currency":"${(e.currency!"")}","created":"${(e.modifiedCreated!e.created!"")}",
"category":"${(e.category!"")?json_string}","categoryGlCode":"${(e.categoryGlCode!"")?json_string}",
"tag":"${(e.tag!"")?json_string}","comment":"${(e.comment!"")?json_string}","reimbursable":${(e.reimbursable!false)?c},
"receiptURL":"${((e.receiptObject.url)!"")?json_string}"}<#sep>,</#sep></#list>]}<#sep>,</#sep></#list>]
"""  # noqa: E501 - the sheet's own line breaks


def csv_job(credentials: dict[str, str], **filters: Any) -> dict[str, Any]:
    description = export_job(credentials, **filters)
    description["outputSettings"] = {"fileExtension": "csv", "fileBasename": "rows"}
    return description


async def test_a_manual_style_csv_template_prints_the_seeded_rows(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        description = csv_job(await pair(client), reportIDList="41000103,41000104,41000108")
        text = await export_text(client, description, MANUAL_STYLE_CSV)
    assert text.splitlines() == [
        "Merchant,Amount,Date,Category,Tag,Department,Project,Billable,Report,Line",
        # 41000104, created first: card spends, a refund, a tag with an escaped colon
        "Figma,45.00,10/28/2026,Software & Subscriptions,Leadership,Leadership,,false,1,1",
        "Adobe,89.99,10/29/2026,Software & Subscriptions,Creative,Creative,,false,1,2",
        "Delta Air Lines,-120.00,10/30/2026,Airfare,Leadership,Leadership,,false,1,3",
        "Verizon,112.50,10/31/2026,Phone & Internet,Engineering:R\\:D,Engineering,R:D,false,1,4",
        # 41000103: a billable dinner and an edited merchant and amount
        "American Airlines,523.40,11/02/2026,Airfare,Strategy,Strategy,,false,2,5",
        "The Langham Chicago,648.00,11/03/2026,Lodging,Strategy,Strategy,,false,2,6",
        "Alinea,385.00,11/03/2026,Meals & Entertainment,Strategy,Strategy,,true,2,7",
        "Uber Chicago,39.90,11/04/2026,Ground Transportation,Strategy,Strategy,,false,2,8",
        # 41000108: two tag levels and an edited date
        "Studio Hire London,1200.00,11/08/2026,Other,Creative:Globex Rebrand,Creative,"
        "Globex Rebrand,false,3,9",
        "Pret A Manger,34.50,11/09/2026,Meals & Entertainment,Creative:Globex Rebrand,Creative,"
        "Globex Rebrand,true,3,10",
    ]
    assert text.endswith("3,10\n")


async def test_the_fact_sheets_recommended_template_renders_json_that_parses(
    connect: Connector,
) -> None:
    async with connect(unlimited()) as client:
        reports = await export(
            client, export_job(await pair(client), reportIDList="41000103,41000104"),
            SHEET_TEMPLATE,
        )  # fmt: skip
    assert [r["reportID"] for r in reports] == ["41000104", "41000103"]
    chicago = reports[1]
    assert (chicago["status"], chicago["currency"]) == ("Approved", "USD")
    assert chicago["employeeEmail"] == "daniel.okafor@acmecreative.example"
    assert chicago["total"] == 52340 + 64800 + 38500 + 4210
    assert chicago["approved"] == "2026-11-07 10:02:00"
    flight, _, dinner, uber = chicago["expenses"]
    assert flight["receiptURL"] == "https://www.expensify.com/receipts/aa-receipt.pdf"
    assert (flight["amount"], flight["categoryGlCode"], flight["reimbursable"]) == (
        52340, "6110", True
    )  # fmt: skip
    assert dinner["comment"] == 'Dinner with Initech CMO "Lumbergh"'
    assert (uber["merchant"], uber["amount"]) == ("Uber Chicago", 4210)
    # `!` replaces missing values only: an unedited expense's empty modifiedMerchant and
    # modifiedCreated print as they are, so the sheet's chains print "" (see the doc).
    assert (flight["merchant"], flight["created"]) == ("", "")
    verizon = reports[0]["expenses"][3]
    assert (verizon["tag"], verizon["reimbursable"]) == ("Engineering:R\\:D", False)
    assert reports[0]["expenses"][2]["amount"] == -12000


async def test_quotes_backslashes_and_newlines_survive_json_string(connect: Connector) -> None:
    comment = 'Client said "fine" \\ then left\nsecond line\ttab'
    async with connect(unlimited()) as client:
        submitted = await client.post("/_sandbox/actions/submit_report", json={
            "employeeEmail": "priya.raman@acmecreative.example", "title": 'Q4 "close" \\ wrap',
            "expenses": [{"merchant": "Joe's Diner", "amount": 2350, "comment": comment,
                          "category": "Meals & Entertainment", "tag": "Client Services"}],
        })  # fmt: skip
        report_id = submitted.json()["reportID"]
        description = export_job(await pair(client), reportIDList=report_id)
        sheet = await export(client, description, SHEET_TEMPLATE)
        ours = await export(client, description, TEMPLATE)
    for reports in (sheet, ours):
        assert reports[0]["reportName"] == 'Q4 "close" \\ wrap'
        assert reports[0]["expenses"][0]["comment"] == comment
    assert ours[0]["expenses"][0]["merchant"] == "Joe's Diner"


async def test_an_undefined_value_answers_expensifys_error_and_marks_nothing(
    connect: Connector,
) -> None:
    typo = '[<#list reports as r>"${r.reportNmae}"<#sep>,</#list>]'
    async with connect(unlimited()) as client:
        description = export_job(await pair(client), reportIDList="41000103",
                                 markedAsExported=LABEL) | {"onFinish": MARK}  # fmt: skip
        answer = await job(client, description, template=typo)
        assert answer.status_code == 200
        assert answer.json() == {
            "responseMessage": "The following has evaluated to null or missing: ==> "
                               "r.reportNmae [at line 1, column 25]",
            "responseCode": 410,
        }  # fmt: skip
        assert [r["reportID"] for r in await export(client, description)] == ["41000103"]
        assert await export(client, description) == []


async def test_a_template_syntax_error_answers_expensifys_error(connect: Connector) -> None:
    async with connect(unlimited(template_error_code=500)) as client:
        credentials = await pair(client)
        unclosed = await job(client, export_job(credentials, reportIDList="41000103"),
                             template="[<#list reports as r>${r.reportID}]")  # fmt: skip
        assert unclosed.json() == {
            "responseMessage": "Syntax error in template at line 1, column 2: Unclosed "
                               "<#list>: missing </#list>",
            "responseCode": 500,
        }  # fmt: skip
        macro = await job(client, export_job(credentials, reportIDList="41000103"),
                          template="<#macro row r>${r.reportID}</#macro>")  # fmt: skip
        assert "The <#macro> directive is not supported" in macro.json()["responseMessage"]
        builtin = await job(client, export_job(credentials, reportIDList="41000103"),
                            template="default")  # fmt: skip
        assert builtin.json()["responseCode"] == 410


async def test_bare_numbers_follow_the_servers_number_format_setting(
    connect: Connector,
) -> None:
    template = "<#list reports as r>${r.total}|${r.total?c}</#list>"
    printed = []
    for settings in ({}, {"template_number_format": "number"}):
        async with connect(unlimited(**settings)) as client:
            description = export_job(await pair(client), reportIDList="41000103")
            printed.append(await export_text(client, description, template))
    computer, number = printed
    assert (computer, number) == ("159850|159850", "159,850|159850")


async def test_the_data_model_holds_every_sheet_field_and_add_header(connect: Connector) -> None:
    # A template can dump what it sees: the report and expense fields of sheet 5.
    template = """{"addHeader":${addHeader?c},"report":{"_":0<#list reports[0] as k, v>
<#if !v?is_sequence && !v?is_hash>,"${k}":"${v?is_boolean?then(v?c, v?string)?json_string}"
</#if></#list>},"expense":[<#list reports[0].transactionList[0]?keys as k>"${k}"<#sep>,
</#list>]}"""
    async with connect(unlimited(template_add_header=False)) as client:
        text = await export_text(client, export_job(await pair(client), reportIDList="41000103"),
                                 template)  # fmt: skip
    seen = json.loads(text)
    assert seen["addHeader"] is False
    assert seen["report"]["reportName"] == "Initech pitch, Chicago"
    assert seen["report"]["isACHReimbursed"] == "false"
    assert {"transactionID", "modifiedMerchant", "receiptObject", "ntag1"} <= set(seen["expense"])
