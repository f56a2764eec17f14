"""The Report Exporter and Downloader (sheet 3, 4, 5): filters, labels, template, files."""

from __future__ import annotations

import re

from tests.sandboxes.expensify.exp_helpers import (
    EU,
    LABEL,
    TEMPLATE,
    US,
    export,
    export_job,
    job,
    pair,
    unlimited,
)
from tests.sandboxes.sandbox_harness import Connector

MARK = [{"actionName": "markAsExported", "label": LABEL}]


async def test_an_export_answers_a_bare_random_file_name_as_text(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        description = export_job(await pair(client), startDate="2026-11-01")
        first = await job(client, description, template=TEMPLATE)
        second = await job(client, description, template=TEMPLATE)
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/plain")
        assert re.fullmatch(r"mlc[0-9a-f-]{36}\.json", first.text)
        assert first.text != second.text


async def test_our_template_renders_cents_codes_tags_and_modified_values(
    connect: Connector,
) -> None:
    async with connect(unlimited()) as client:
        reports = await export(
            client, export_job(await pair(client), reportIDList="41000103,41000104")
        )
        by_id = {r["reportID"]: r for r in reports}
        chicago = by_id["41000103"]
        assert chicago["status"] == "Approved"
        assert chicago["employeeEmail"] == "daniel.okafor@acmecreative.example"
        assert chicago["currency"] == "USD"
        assert chicago["total"] == 52340 + 64800 + 38500 + 4210
        uber = next(e for e in chicago["expenses"] if e["transactionID"] == "6720309558248108")
        assert uber["merchant"] == "Uber Chicago"  # modifiedMerchant wins
        assert uber["amount"] == 3990  # modifiedAmount wins
        assert uber["categoryGlCode"] == "6130"
        flight = chicago["expenses"][0]
        assert flight["receiptURL"] == "https://www.expensify.com/receipts/aa-receipt.pdf"
        assert flight["comment"] == ""  # an empty field prints empty
        dinner = chicago["expenses"][2]
        assert dinner["comment"] == 'Dinner with Initech CMO "Lumbergh"'
        amex = by_id["41000104"]
        refund = next(e for e in amex["expenses"] if e["merchant"] == "Delta Air Lines")
        assert refund["amount"] == -12000
        phone = next(e for e in amex["expenses"] if e["merchant"] == "Verizon")
        assert phone["tag"] == "Engineering:R\\:D"
        assert (phone["ntag1"], phone["ntag2"]) == ("Engineering", "R:D")
        assert phone["tagGlCode"] == "510"
        assert phone["reimbursable"] is False
        assert phone["cardID"] == "5312342"


async def test_mark_as_exported_hides_reports_from_the_next_export_with_that_label(
    connect: Connector,
) -> None:
    async with connect(unlimited()) as client:
        description = export_job(
            await pair(client), reportState="APPROVED,REIMBURSED", startDate="2026-10-01",
            markedAsExported=LABEL,
        )  # fmt: skip
        first = await export(client, {**description, "onFinish": MARK})
        assert sorted(r["reportID"] for r in first) == ["41000103", "41000104", "41000108"]
        again = await export(client, {**description, "onFinish": MARK})
        assert again == []
        state = (await client.get("/_sandbox/state/reports")).json()
        marked = {r["id"] for r in state if LABEL in r["exportedLabels"]}
        assert {"41000103", "41000104", "41000108"} <= marked


async def test_a_test_export_skips_on_finish(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        description = export_job(
            await pair(client), reportState="APPROVED", startDate="2026-10-01",
            markedAsExported=LABEL,
        )  # fmt: skip
        description |= {"onFinish": [*MARK, {"actionName": "email", "recipients": "a@b.c"}]}
        dry = await export(client, {**description, "test": "true"})
        assert len(dry) == 3
        assert len(await export(client, description)) == 3
        assert await export(client, description) == []
        finished = (await client.get("/_sandbox/state/finished_actions")).json()
        assert [a["actionName"] for a in finished] == ["email", "email"]


async def test_dates_compare_the_later_of_created_and_submitted_inclusively(
    connect: Connector,
) -> None:
    async with connect(unlimited()) as client:
        credentials = await pair(client)
        # 41000103: created 11-02, submitted 11-05 -> the 5th counts, not the 2nd.
        on_fifth = await export(client, export_job(credentials, startDate="2026-11-05",
                                                   endDate="2026-11-05"))  # fmt: skip
        assert [r["reportID"] for r in on_fifth] == ["41000103"]
        on_second = await export(client, export_job(credentials, startDate="2026-11-02",
                                                    endDate="2026-11-02"))  # fmt: skip
        assert on_second == []


async def test_report_state_policy_and_limit_filters(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        credentials = await pair(client)
        states = await export(client, export_job(credentials, startDate="2026-01-01",
                                                 reportState="OPEN,SUBMITTED"))  # fmt: skip
        assert sorted(r["status"] for r in states) == ["Open", "Processing"]
        europe = await export(client, export_job(credentials, startDate="2026-01-01",
                                                 policyIDList=EU))  # fmt: skip
        assert {r["policyID"] for r in europe} == {EU}
        assert {r["currency"] for r in europe} == {"GBP"}
        two = await export(client, export_job(credentials, startDate="2026-01-01", limit="2",
                                              policyIDList=US))  # fmt: skip
        assert len(two) == 2


async def test_approved_after_drops_reports_approved_on_that_day(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        credentials = await pair(client)
        # 41000103 was approved on 2026-11-07, 41000108 on 11-13, 41000104 on 11-04.
        after = await export(client, export_job(credentials, approvedAfter="2026-11-07"))
        assert [r["reportID"] for r in after] == ["41000108"]


async def test_approved_after_can_include_the_day_by_setting(connect: Connector) -> None:
    async with connect(unlimited(approved_after_inclusive=True)) as client:
        after = await export(client, export_job(await pair(client), approvedAfter="2026-11-07"))
        assert sorted(r["reportID"] for r in after) == ["41000103", "41000108"]


async def test_report_id_list_accepts_the_base62_form(connect: Connector) -> None:
    # 41000103 in base 62 (digits, upper, lower), padded to 11 after the "R" [I].
    async with connect(unlimited(report_id_style="base62")) as client:
        reports = await export(client, export_job(await pair(client), reportIDList="R0000002m1zz"))
        assert [r["reportID"] for r in reports] == ["R0000002m1zz"]
        assert reports[0]["reportName"] == "Initech pitch, Chicago"


async def test_validation_errors_use_the_manuals_codes_and_words(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        credentials = await pair(client)
        no_start = await job(client, export_job(credentials, reportState="APPROVED"),
                             template=TEMPLATE)  # fmt: skip
        assert no_start.json() == {"responseMessage": "Required parameter 'startDate' is missing",
                                   "responseCode": 410}  # fmt: skip
        bad_date = await job(client, export_job(credentials, startDate="26-01-01"),
                             template=TEMPLATE)  # fmt: skip
        assert bad_date.json() == {
            "responseMessage": "Malformed date '26-01-01'. Expected format is yyyy-MM-dd",
            "responseCode": 410,
        }
        old = await job(client, export_job(credentials, startDate="2024-01-01"), template=TEMPLATE)
        assert old.json()["responseMessage"] == "Required parameter 'endDate' is missing"
        no_template = await job(client, export_job(credentials, startDate="2026-11-01"))
        assert no_template.json()["responseCode"] == 410


async def test_downloading_an_unknown_file_fails_with_a_response_code(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        answer = await job(client, {"type": "download", "credentials": await pair(client),
                                    "fileName": "export-nope.json"})  # fmt: skip
        assert answer.status_code == 200
        assert answer.json() == {"responseMessage": "File not found", "responseCode": 404}


async def test_a_file_can_lag_its_name_and_expire_on_the_clock(connect: Connector) -> None:
    sandbox = unlimited(download_not_ready_polls=2, file_retention_seconds=600)
    async with connect(sandbox) as client:
        credentials = await pair(client)
        named = await job(client, export_job(credentials, reportIDList="41000103"),
                          template=TEMPLATE)  # fmt: skip
        download = {"type": "download", "credentials": credentials, "fileName": named.text}
        polls = [(await job(client, download)).text.startswith("{") for _ in range(3)]
        assert polls == [True, True, False]
        await client.post("/_sandbox/clock", json={"advance_seconds": 601})
        assert (await job(client, download)).json()["responseCode"] == 404


async def test_re_export_by_id_keeps_the_label_filter_unless_the_setting_bypasses_it(
    connect: Connector,
) -> None:
    # 41000105 already carries our label (open question 3: crash-safe re-export).
    async with connect(unlimited()) as client:
        again = export_job(await pair(client), reportIDList="41000105", markedAsExported=LABEL)
        assert await export(client, again) == []
    async with connect(unlimited(report_id_list_ignores_exported_label=True)) as client:
        again = export_job(await pair(client), reportIDList="41000105", markedAsExported=LABEL)
        assert [r["reportID"] for r in await export(client, again)] == ["41000105"]


async def test_unknown_paths_are_not_found(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        assert (await client.post("/Integration-Server/Other")).status_code == 404
