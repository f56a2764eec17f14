"""Control actions: card feeds, submitting and approving reports; Expensify fires no webhooks."""

from __future__ import annotations

from tests.sandboxes.expensify.exp_helpers import LABEL, US, export, export_job, pair, unlimited
from tests.sandboxes.sandbox_harness import Connector, WebhookReceiver

MARK = [{"actionName": "markAsExported", "label": LABEL}]


async def test_a_submitted_report_with_card_spends_is_exported_once_approved(
    connect: Connector, webhook_receiver: WebhookReceiver
) -> None:
    async with connect(unlimited()) as client:
        await client.post("/_sandbox/webhooks", json={"url": webhook_receiver.url})
        credentials = await pair(client)
        today = (await client.get("/_sandbox/clock")).json()["now"][:10]
        fed = await client.post("/_sandbox/actions/import_card_transactions", json={
            "cardID": "5312343",
            "transactions": [{"merchant": "Delta", "amount": 38900, "category": "Airfare",
                              "tag": "Client Services"}],
        })  # fmt: skip
        assert fed.status_code == 200
        card_spend = fed.json()["transactionList"][0]
        assert (card_spend["cardID"], card_spend["reimbursable"]) == ("5312343", False)
        submitted = await client.post("/_sandbox/actions/submit_report", json={
            "employeeEmail": "priya.raman@acmecreative.example", "title": "Globex kickoff",
            "transactionIDs": [card_spend["transactionID"]],
            "expenses": [{"merchant": "Joe's Diner", "amount": 2350, "category":
                          "Meals & Entertainment", "tag": "Client Services"}],
        })  # fmt: skip
        report = submitted.json()
        assert report["status"] == "SUBMITTED"
        assert report["managerEmail"] == "ava.nguyen@acmecreative.example"
        assert len(report["expenses"]) == 2
        description = export_job(credentials, reportState="APPROVED", startDate=today,
                                 markedAsExported=LABEL) | {"onFinish": MARK}  # fmt: skip
        assert await export(client, description) == []
        approved = await client.post("/_sandbox/actions/approve_report",
                                     json={"reportID": report["reportID"]})  # fmt: skip
        assert approved.json()["status"] == "APPROVED"
        exported = await export(client, description)
        assert [r["reportID"] for r in exported] == [report["reportID"]]
        assert exported[0]["total"] == 38900 + 2350
        lines = {e["merchant"]: e for e in exported[0]["expenses"]}
        assert lines["Delta"]["cardID"] == "5312343"
        assert lines["Delta"]["reimbursable"] is False
        assert lines["Delta"]["categoryGlCode"] == "6110"
        assert lines["Joe's Diner"]["reimbursable"] is True
        assert await export(client, description) == []
        paid = await client.post("/_sandbox/actions/reimburse_report",
                                 json={"reportID": report["reportID"]})  # fmt: skip
        assert paid.json()["status"] == "REIMBURSED"
        hooks = (await client.get("/_sandbox/webhooks")).json()
        assert hooks["deliveries"] == []
        assert webhook_receiver.received == []


async def test_actions_refuse_what_the_ui_would_not_allow(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        open_report = await client.post("/_sandbox/actions/approve_report",
                                        json={"reportID": "41000101"})  # fmt: skip
        assert open_report.status_code == 409
        stranger = await client.post("/_sandbox/actions/submit_report", json={
            "employeeEmail": "nobody@acmecreative.example",
            "expenses": [{"merchant": "X", "amount": 1}]})  # fmt: skip
        assert stranger.status_code == 404
        no_amount = await client.post("/_sandbox/actions/submit_report", json={
            "employeeEmail": "priya.raman@acmecreative.example",
            "expenses": [{"merchant": "X"}]})  # fmt: skip
        assert no_amount.status_code == 400
        others_card = await client.post("/_sandbox/actions/submit_report", json={
            "employeeEmail": "daniel.okafor@acmecreative.example",
            "transactionIDs": ["6720309558248119"]})  # fmt: skip
        assert others_card.status_code == 409
        reports = (await client.get("/_sandbox/state/reports")).json()
        assert len(reports) == 8  # nothing half-created


async def test_a_draft_report_stays_open(connect: Connector) -> None:
    async with connect(unlimited()) as client:
        draft = await client.post("/_sandbox/actions/submit_report", json={
            "employeeEmail": "hannah.kim@acmecreative.example", "policyID": US, "submit": False,
            "expenses": [{"merchant": "Blick", "amount": 1999, "category": "Office Supplies"}],
        })  # fmt: skip
        assert draft.json()["status"] == "OPEN"
        assert draft.json()["submitted"] is None


async def test_a_rejected_report_is_edited_and_approved_again_with_its_new_amount(
    connect: Connector,
) -> None:
    async with connect(unlimited()) as client:
        credentials = await pair(client)
        today = (await client.get("/_sandbox/clock")).json()["now"][:10]
        filed = (await client.post("/_sandbox/actions/submit_report", json={
            "employeeEmail": "priya.raman@acmecreative.example", "title": "Cab",
            "expenses": [{"merchant": "Yellow Cab", "amount": 3000,
                          "category": "Ground Transportation"}],
        })).json()  # fmt: skip
        report_id, expense = filed["reportID"], filed["expenses"][0]["transactionID"]
        await client.post("/_sandbox/actions/approve_report", json={"reportID": report_id})
        locked = await client.post("/_sandbox/actions/edit_expense",
                                   json={"transactionID": expense, "amount": 3500})  # fmt: skip
        rejected = await client.post("/_sandbox/actions/reject_report",
                                     json={"reportID": report_id, "message": "why?"})  # fmt: skip
        edited = await client.post("/_sandbox/actions/edit_expense",
                                   json={"transactionID": expense, "amount": 3500})  # fmt: skip
        again = await client.post("/_sandbox/actions/resubmit_report", json={"reportID": report_id})
        await client.post("/_sandbox/actions/approve_report", json={"reportID": report_id})
        exported = await export(
            client, export_job(credentials, reportState="APPROVED", startDate=today)
        )

        assert locked.status_code == 409, "an approved report's expenses are not editable"
        assert rejected.json()["status"] == "OPEN"
        assert rejected.json()["approved"] is None
        assert edited.json()["amount"] == 3500
        assert again.json()["status"] == "SUBMITTED"
        [report] = [r for r in exported if r["reportID"] == report_id]
        assert report["total"] == 3500
        assert [e["amount"] for e in report["expenses"]] == [3500]
