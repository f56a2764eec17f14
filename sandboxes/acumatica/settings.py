"""Every Acumatica behaviour the fact sheet leaves open or marks [inferred], as one setting each.

The defaults follow the sheet's best evidence (`../shared/vendors/acumatica.md`);
`docs/vendors/acumatica-sandbox.md` lists them with their sources. Facts the sheet verifies
are not settings: they are the code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AcumaticaSandboxSettings"]


class AcumaticaSandboxSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # [V] sheet section 1: an instance installed below the site root carries its name in the path.
    instance_path: str = "/AcumaticaERP"
    # The origin in `credentials()["base_url"]`; None: the origin the control call came in on.
    public_origin: str | None = None
    # [V] the Default endpoint versions in the reference exports; more can be listed.
    versions: tuple[str, ...] = ("22.200.001", "23.200.001", "24.200.001")
    # Open question 1: the status for an endpoint version the instance lacks.
    unknown_version_status: int = 404
    # Sheet section 7: no Department entity in Default; a real instance extends the endpoint.
    department_endpoint_name: str = "MLConnector"
    department_endpoint_version: str = "24.200.001"
    # [V] build / database versions reported by `GET /entity` (values invented).
    build_version: str = "24.212.0018"
    database_version: str = "24.212.0016"
    # [V] trial license: 2 API users; forgotten sessions close after 10 minutes.
    api_user_seats: int = Field(default=2, ge=1)
    session_idle_seconds: float = 600.0
    # Open question 2 / [V3p]: the login-limit refusal is sometimes a text body.
    login_limit_body: Literal["json", "text"] = "json"
    # Open question 7: `company` accepted as an alias of `tenant` on login.
    accept_company_alias: bool = True
    # [V] OAuth: 3600 s tokens, a refresh chain of 30 days from the first sign-in.
    access_token_ttl_seconds: float = 3600.0
    refresh_chain_seconds: float = 30 * 24 * 3600.0
    authorization_code_ttl_seconds: float = 300.0
    # [I] requests per minute of the license (the sheet's example uses 50); 429 beyond it.
    license_requests_per_minute: int | None = Field(default=300, ge=1)
    # [V] requests are delayed once half the minute's limit is used: (time left)/(requests left).
    throttle_delay_from_fraction: float = 0.5
    # How much of that computed delay the sandbox really waits (0 = none, 1 = as the vendor).
    throttle_delay_scale: float = Field(default=1.0, ge=0.0)
    # [I] concurrent requests the license serves; more wait in a queue of 20, beyond it 429.
    license_concurrent_requests: int = Field(default=4, ge=1)
    license_queue_size: int = Field(default=20, ge=0)
    # Open question 2: whether 429 carries Retry-After (undocumented: off).
    throttle_retry_after: bool = False
    # [I] unwrapped (`"Status": "Active"`) or mistyped values: 400 "The request is invalid.".
    unwrapped_write_status: int = 400
    # Open question 5: fields a new employee needs when the tenant has no class defaults.
    required_on_create: tuple[str, ...] = ("ContactInfo/LastName", "EmployeeSettings/DepartmentID")
    # [I] defaults the employee class fills in on create.
    default_employee_class: str = "EMPSTAND"
    default_calendar: str = "MAIN"
    default_currency: str = "USD"
    # [V] auto-numbered keys like EP00000001.
    employee_id_prefix: str = "EP"
    employee_id_digits: int = 8
    # Open question 4: whether a contact-only change bumps Employee.LastModifiedDateTime.
    contact_change_bumps_last_modified: bool = True
