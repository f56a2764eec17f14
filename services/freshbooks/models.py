"""FreshBooks' own JSON, the fields we use, named as FreshBooks names them (sheet section 7)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Expense", "Staff", "TeamMember"]


class _Vendor(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Staff(_Vendor):
    """``/accounting/account/{account_id}/users/staffs``: the accounting person an expense names."""

    id: int
    fname: str | None = None
    lname: str | None = None
    email: str | None = None
    vis_state: int = 0  # 0 active, 1 deleted, 2 archived (section 6)


class TeamMember(_Vendor):
    """``/auth/api/v1/businesses/{business_id}/team_members``: read-only through the API."""

    uuid: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    active: bool = True
    identity_id: int | None = None  # None until the invitation is accepted


class Expense(_Vendor):
    """``/accounting/account/{account_id}/expenses/expenses``: tied to a person by ``staffid``."""

    id: int
    staffid: int
    notes: str | None = Field(default=None)
    vis_state: int = 0
