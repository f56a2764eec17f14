"""Every Expensify behaviour the fact sheet leaves open or marks [inferred], as one setting each.

The defaults follow the sheet's best evidence (`../shared/vendors/expensify.md`, section and
open-question numbers in the comments); `docs/vendors/expensify-sandbox.md` lists them. Facts
the sheet verifies are not settings: they are the code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["RATE_LIMIT_MESSAGE", "ExpensifySandboxSettings"]

RATE_LIMIT_MESSAGE = (
    "You have been rate-limited. Please try again later or contact help@expensify.com for "
    "assistance."
)


class ExpensifySandboxSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Sheet 9 / reference README: errors are HTTP 200 with `responseCode` in the body.
    # False answers the responseCode as the HTTP status too (where it is a valid status).
    errors_as_http_200: bool = True
    # Open question 1: the code and message for a wrong partnerUserID/partnerUserSecret.
    # 407 is the code Expensify's own auth layer reports ("exceptionJsonCode: '407'").
    auth_error_code: int = 407
    auth_error_message: str = "Authentication error"
    # [I] no expiry documented: credentials live until rotated; a number makes them expire.
    credential_ttl_seconds: float | None = None
    # [V old server, EXI] a missing requestJobDescription or bad JSON answered an HTML 500
    # page; "json_410" answers `{"responseMessage", "responseCode": 410}` instead.
    malformed_request_answer: Literal["html_500", "json_410"] = "html_500"
    # [I] two third-party clients send the job as GET query parameters; the manual shows POST.
    accept_get: bool = True
    # Sheet 10 / open question 2: 5 per 10 s and 20 per 60 s (HELP, newer manual); the older
    # "50 jobs per minute" is `((50, 60.0),)`. Sliding windows per partnerUserID [I].
    rate_windows: tuple[tuple[int, float], ...] = ((5, 10.0), (20, 60.0))
    rate_limit_http_status: int = 429
    rate_limit_message: str = RATE_LIMIT_MESSAGE
    # [I] no Retry-After is documented; True adds one (seconds until a slot frees).
    rate_limit_retry_after_header: bool = False
    # Open question 4: approvedAfter drops reports approved "before, or on" the date.
    approved_after_inclusive: bool = False
    # Open question 3: does reportIDList bypass the markedAsExported filter?
    report_id_list_ignores_exported_label: bool = False
    # Sheet 4 / open question 7: how many download polls answer "not ready" first,
    # how long files stay downloadable, and the answer for an unknown or expired name.
    download_not_ready_polls: int = 0
    file_retention_seconds: float | None = None
    unknown_file_code: int = 404
    unknown_file_message: str = "File not found"
    # [I] the responseCode of a template that does not parse or fails on the data (an
    # undefined value, a wrong type); the responseMessage is FreeMarker's message.
    template_error_code: int = 410
    # [I] the FreeMarker `number_format` the server runs with: "computer" prints `${cents}`
    # as `52340` (what the manual's CSV sample needs); "number" is FreeMarker's own default
    # for en_US (`52,340`); a DecimalFormat pattern such as "0.##" also works.
    template_number_format: str = "computer"
    # [I] the `addHeader` the data model gives templates (the manual's samples print a
    # header line when it is true; when the server sets it false is not documented).
    template_add_header: bool = True
    # Open question 9: `report.status` strings (UI names assumed).
    status_names: tuple[tuple[str, str], ...] = (
        ("OPEN", "Open"),
        ("SUBMITTED", "Processing"),
        ("APPROVED", "Approved"),
        ("REIMBURSED", "Reimbursed"),
        ("ARCHIVED", "Closed"),
    )
    # Open question 6: the format of report-level dates (expense `created` is yyyy-mm-dd).
    report_date_format: str = "%Y-%m-%d %H:%M:%S"
    # Open question 5: spends are positive, refunds/credits negative; "spend_negative" flips.
    amount_sign: Literal["spend_positive", "spend_negative"] = "spend_positive"
    # Open question 8: category glCode/payrollCode when empty: left out or "".
    category_codes_when_empty: Literal["omit", "empty_string"] = "omit"
    # Sheet 12: reportID as a numeric string (sheet) or base-62 "R00..." (newer manual).
    report_id_style: Literal["numeric", "base62"] = "numeric"
    # Sheet 3: "large exports can take minutes": added latency per exported report, in ms.
    export_delay_ms_per_report: int = 0
