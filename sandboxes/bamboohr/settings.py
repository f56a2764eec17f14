"""Every BambooHR behaviour the fact sheet leaves open or marks [inferred], as one setting each.

The defaults follow the sheet's best evidence; `docs/vendors/bamboohr-sandbox.md` lists
them with their sources. Facts the sheet verifies are not settings: they are the code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["BambooHRSandboxSettings"]


class BambooHRSandboxSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    company_domain: str = "acme"
    company_id: str = "12345"
    # Open question 1: SPEC says "only id" and also "default firstName,lastName".
    fields_when_omitted: Literal["id_only", "first_and_last_name"] = "id_only"
    # [I] "older endpoints answer XML otherwise": the format when Accept asks for no JSON.
    default_format: Literal["xml", "json"] = "xml"
    # Open question 4 / planned change 2026-09-16: throttling answers 503, later 429.
    throttle_status: Literal[503, 429] = 503
    # Open question 4: limits are not published.
    rate_limit_requests: int | None = 300
    rate_limit_window_seconds: float = 60.0
    # [V] OLDDOCS says repeated unknown keys lock the company's API out; the numbers are [I].
    bad_key_lockout_after: int = 5
    bad_key_lockout_seconds: float = 600.0
    # Open question 3: refresh-token rotation and lifetime; Bearer on the gateway host.
    access_token_ttl_seconds: float = 3600.0
    rotate_refresh_token: bool = False
    refresh_token_ttl_seconds: float | None = None
    bearer_on_gateway_host: bool = False
    default_scopes: tuple[str, ...] = (
        "openid",
        "offline_access",
        "employee",
        "employee_directory",
        "public.user",
        "report",
        "field",
        "field.write",
        "webhooks",
        "webhooks.write",
        "employee.write",
    )
    # Open question 2: X-BambooHR-Timestamp as Unix seconds (captured) or ISO-8601.
    webhook_timestamp_format: Literal["epoch", "iso"] = "epoch"
    # [V] retried 5 times at 5, 10, 20, 40, 80 minutes on 5xx, never on 4xx.
    webhook_retry_delays_seconds: tuple[float, ...] = (300, 600, 1200, 2400, 4800)
    # [I] no documented per-attempt timeout.
    webhook_timeout_seconds: float = 10.0
    # [I] whether a failed connection (no status at all) is retried like a 5xx.
    webhook_retry_without_answer: bool = True
    # Open question 6: termination is an employee.updated (no employee.deleted).
    terminate_fires_deleted: bool = False
    # [I for status] `status: Inactive` from the termination's effective date.
    inactive_from: Literal["effective_date", "immediately"] = "effective_date"
    # The recordings show 201 with a JSON body; SPEC says no body. Location is always sent.
    create_employee_answer: Literal["json", "empty"] = "json"
    # SPEC: 200 with no body (text/html); one recording shows a JSON echo instead.
    update_employee_answer: Literal["empty", "json"] = "empty"
    # [V] 403 when the directory is not shared; shared by default.
    directory_shared: bool = True
