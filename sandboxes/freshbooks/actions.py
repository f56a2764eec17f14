"""Control actions: what a person does in FreshBooks' UI (`POST /_sandbox/actions/{name}`).

Each goes through the same `Books` as the API, so it validates the same way and fires the
same webhooks. Refusals carry FreshBooks' error body as the message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sandboxes.freshbooks.errors import FreshBooksError
from sandboxes.freshbooks.resources import (
    BILL_PAYMENTS,
    BILL_VENDORS,
    BILLS,
    EXPENSES,
    Resource,
    public,
)
from sandboxes.freshbooks.state import Books
from sandboxes.freshbooks.team import Team
from sandboxes.freshbooks.timefmt import eastern_date
from sandboxes.kit import Action, ActionError, Record, SandboxClock, State

__all__ = ["UIActions"]


class UIActions:
    def __init__(
        self,
        *,
        state: State,
        clock: SandboxClock,
        books: Books,
        team: Team,
        business: Callable[[], Record],
    ) -> None:
        self.state = state
        self.clock = clock
        self.books = books
        self.team = team
        self.business = business

    def table(self) -> Mapping[str, Action]:
        return {
            "create_expense": self._action_create_expense,
            "update_expense": self._action_update(EXPENSES),
            "delete_expense": self._action_delete(EXPENSES),
            "create_bill_vendor": self._action_create(BILL_VENDORS),
            "update_bill_vendor": self._action_update(BILL_VENDORS),
            "create_bill": self._action_create(BILLS),
            "update_bill": self._action_update(BILLS),
            "delete_bill": self._action_delete(BILLS),
            "pay_bill": self._action_pay_bill,
            "invite_team_member": self._action_invite,
            "accept_invitation": self._action_accept,
            "deactivate_team_member": self._action_deactivate,
        }

    @staticmethod
    def _run(change: Callable[[], Record]) -> dict[str, Any]:
        try:
            return public(change())
        except FreshBooksError as exc:
            raise ActionError(json.dumps(exc.body("accounting")), status=exc.status) from exc

    def _action_create(self, resource: Resource) -> Action:
        async def action(payload: dict[str, Any]) -> dict[str, Any]:
            return self._run(lambda: self.books.create(resource, payload))

        return action

    def _action_update(self, resource: Resource) -> Action:
        async def action(payload: dict[str, Any]) -> dict[str, Any]:
            record_id = str(payload.pop("id", ""))
            return self._run(lambda: self.books.update(resource, record_id, payload))

        return action

    def _action_delete(self, resource: Resource) -> Action:
        async def action(payload: dict[str, Any]) -> dict[str, Any]:
            record_id = str(payload.get("id", ""))
            return self._run(lambda: self.books.update(resource, record_id, {"vis_state": 1}))

        return action

    async def _action_create_expense(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"staffid"|"email", "categoryid"|"category", "amount", "date"?, "vendor"?, ...}`."""
        body = dict(payload)
        email = body.pop("email", None)
        if email is not None and "staffid" not in body:
            staff = [s for s in self.state.records("staff") if s["email"] == email]
            if not staff:
                raise ActionError(f"no staff member with email {email}", status=404)
            body["staffid"] = staff[0]["id"]
        category = body.pop("category", None)
        if category is not None and "categoryid" not in body:
            found = [c for c in self.state.records("categories") if c["category"] == category]
            if not found:
                raise ActionError(f"no expense category named {category}", status=404)
            body["categoryid"] = found[0]["id"]
        if isinstance(body.get("amount"), str | int | float):
            body["amount"] = {"amount": str(body["amount"]), "code": body.pop("code", "USD")}
        body.setdefault("date", eastern_date(self.clock.now()))
        return self._run(lambda: self.books.create(EXPENSES, body))

    async def _action_pay_bill(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"billid", "amount"? (default: what is outstanding), "payment_type"?, ...}`."""
        bill = self.state.get("bills", payload.get("billid"))
        if bill is None:
            raise ActionError("no such bill", status=404)
        self.books.get(BILLS, str(bill["id"]))
        amount = payload.get("amount", bill["outstanding"]["amount"])
        body = {
            "billid": bill["id"],
            "amount": {"amount": str(amount), "code": bill["currency_code"]},
            "payment_type": payload.get("payment_type", "Bank Transfer"),
            "paid_date": payload.get("paid_date", eastern_date(self.clock.now())),
            "note": payload.get("note", ""),
        }
        return self._run(lambda: self.books.create(BILL_PAYMENTS, body))

    def _member(self, payload: Mapping[str, Any]) -> Record:
        key = payload.get("uuid") or payload.get("email")
        member = self.team.find(str(key)) if key else None
        if member is None:
            raise ActionError("no such team member (give uuid or email)", status=404)
        return member

    async def _action_invite(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"email", "first_name", "last_name", "job_title"?, "accept"?: true}`."""
        if not payload.get("email"):
            raise ActionError("email is required")
        business_id = int(self.business()["id"])
        self.team.invite(business_id, {**payload, "to_email": payload["email"]})
        member = self._member(payload)
        if payload.get("job_title"):
            member["job_title"] = payload["job_title"]
        if payload.get("accept"):
            self.team.accept(member)
        return self._public_member(member)

    async def _action_accept(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._public_member(self.team.accept(self._member(payload)))

    async def _action_deactivate(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._public_member(self.team.deactivate(self._member(payload)))

    @staticmethod
    def _public_member(member: Record) -> dict[str, Any]:
        out = public(member)
        out.pop("id", None)
        out["staffid"] = member.get("_staffid")
        return out
