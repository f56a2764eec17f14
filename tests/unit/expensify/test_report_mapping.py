"""An exported report as ExpenseReportApproved: edited values win, cents become money."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from services.expensify.client import is_rate_limited
from services.expensify.mapping import report_approved
from services.expensify.settings import ExpensifySettings
from services.expensify.template import ExportedReport, ExportError, read_export

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def _report(**changes: object) -> ExportedReport:
    exported = {
        "reportID": "41000103", "reportName": "Trip", "employeeEmail": "Ann@Example.COM",
        "policyID": "P1", "currency": "USD", "total": 12345, "approved": "2026-11-07 10:02:00",
        "expenses": [
            {"transactionID": "t1", "merchant": "Uber", "modifiedMerchant": "Uber Chicago",
             "amount": 4210, "modifiedAmount": 3990, "convertedAmount": 4210,
             "currency": "USD", "created": "2026-11-04", "modifiedCreated": "",
             "category": "Travel", "categoryGlCode": "6130", "tag": "Eng:R\\:D",
             "reimbursable": True, "cardID": ""},
            {"transactionID": "t2", "merchant": "DB", "amount": 8900, "convertedAmount": 7745,
             "currency": "EUR", "created": "2026-10-19", "reimbursable": False,
             "cardID": "5312342"},
        ],
        **changes,
    }  # fmt: skip
    return ExportedReport.model_validate(exported)


def test_converted_then_edited_amounts_win_and_only_a_foreign_one_carries_both() -> None:
    event = report_approved(_report(), connection_id="c1", fallback_approved_at=NOW)

    assert event is not None
    assert event.employee_email == "ann@example.com"
    assert event.total == Decimal("123.45")
    assert event.approved_at == datetime(2026, 11, 7, 10, 2, tzinfo=UTC)
    assert event.source_updated_at == event.approved_at
    uber, rail = event.expenses
    # The report's currency: its converted amount (Expensify's sample templates' order).
    assert (uber.merchant, uber.amount, uber.converted_amount) == (
        "Uber Chicago", Decimal("42.10"), None,
    )  # fmt: skip
    assert uber.tags == ("Eng:R\\:D",)
    assert (uber.reimbursable, uber.card_transaction) == (True, False)
    assert (rail.amount, rail.converted_amount, rail.currency) == (
        Decimal("89.00"), Decimal("77.45"), "EUR",
    )  # fmt: skip
    assert rail.card_transaction


def test_a_report_without_expenses_is_not_an_event_and_a_missing_stamp_is_the_polls() -> None:
    assert (
        report_approved(_report(expenses=[]), connection_id="c1", fallback_approved_at=NOW) is None
    )
    stamped = report_approved(_report(approved=""), connection_id="c1", fallback_approved_at=NOW)
    assert stamped is not None
    assert stamped.approved_at == NOW


def test_the_export_file_is_read_or_refused_with_where_it_broke() -> None:
    [read] = read_export(b'[{"reportID": "9", "expenses": []}]')
    assert read.report_id == "9"
    with pytest.raises(ExportError, match="reportID"):
        read_export(b'[{"reportName": "no id"}]')


def test_the_rate_limit_is_known_by_its_status_or_by_its_message() -> None:
    settings = ExpensifySettings()
    request = httpx.Request("POST", "https://x.example")
    limited_200 = httpx.Response(
        200, json={"responseCode": 429, "responseMessage": "You have been rate-limited."},
        request=request,
    )  # fmt: skip
    refused = httpx.Response(
        200, json={"responseCode": 410, "responseMessage": "Bad"}, request=request
    )
    assert is_rate_limited(httpx.Response(429, request=request), settings)
    assert is_rate_limited(limited_200, settings)
    assert not is_rate_limited(refused, settings)
    assert not is_rate_limited(httpx.Response(200, text="mlc1.json", request=request), settings)
