"""The marker convention (docs/vendors/expensify-sandbox.md) on plain values, no server."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandboxes.expensify.errors import ExpensifyError
from sandboxes.expensify.template import UnknownTemplateError, parse_template, render

MARKER = """<#-- an ordinary comment first -->
<#-- mlc-template:v1
format: json
report: reportID, who=accountEmail
expense: merchant=modifiedMerchant|merchant,
  amount, url=receiptObject.url
-->
${reports?size}"""


def test_the_first_marked_comment_defines_format_and_fields() -> None:
    spec = parse_template(MARKER)
    assert spec.format == "json"
    assert [(f.name, f.paths) for f in spec.report] == [
        ("reportID", ("reportID",)),
        ("who", ("accountEmail",)),
    ]
    assert spec.expense is not None
    assert [f.name for f in spec.expense] == ["merchant", "amount", "url"]
    assert spec.expense[0].paths == ("modifiedMerchant", "merchant")


def test_alternatives_fall_through_values_without_content_and_empty_prints_null() -> None:
    report = {"reportID": "1", "accountEmail": "", "transactionList": [
        {"modifiedMerchant": "", "merchant": "Uber", "amount": 0, "receiptObject": {}},
        {"modifiedMerchant": "Lyft SF", "merchant": "Lyft", "amount": -250,
         "receiptObject": {"url": "https://r/1"}},
    ]}  # fmt: skip
    rendered = json.loads(render(parse_template(MARKER), [report]))
    assert rendered == [{"reportID": "1", "who": None, "expenses": [
        {"merchant": "Uber", "amount": 0, "url": None},
        {"merchant": "Lyft SF", "amount": -250, "url": "https://r/1"},
    ]}]  # fmt: skip


def test_a_template_without_the_marker_is_unknown() -> None:
    with pytest.raises(UnknownTemplateError):
        parse_template("<#list reports as r>${r.reportID}</#list>")


@pytest.mark.parametrize(
    "marker",
    [
        "<#-- mlc-template:v1\nreport: reportID\n-->",  # no format
        "<#-- mlc-template:v1\nformat: csv\nreport: reportID\n-->",
        "<#-- mlc-template:v1\nformat: json\n-->",  # no report line
        "<#-- mlc-template:v1\nformat: json\nreport: report-ID\n-->",
    ],
)
def test_a_malformed_marker_is_a_410(marker: str) -> None:
    with pytest.raises(ExpensifyError) as raised:
        parse_template(marker)
    assert raised.value.code == 410


@given(st.text(), st.integers(min_value=-(10**12), max_value=10**12), st.booleans())
def test_any_string_cents_and_flag_round_trip_through_the_json(
    merchant: str, cents: int, flag: bool
) -> None:
    spec = parse_template(
        "<#-- mlc-template:v1\nformat: json\nreport: reportID\n"
        "expense: merchant, amount, billable\n-->"
    )
    report = {"reportID": "9", "transactionList": [
        {"merchant": merchant, "amount": cents, "billable": flag}]}  # fmt: skip
    expense = json.loads(render(spec, [report]))[0]["expenses"][0]
    assert expense == {"merchant": merchant or None, "amount": cents, "billable": flag}
