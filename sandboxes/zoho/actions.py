"""Control actions: what a person does in Zoho Books' UI (`POST /_sandbox/actions/<name>`).

Contact actions go through the same `ContactBook` as the API, so they fire the workflow
webhooks a rule on Contacts would; adding a reporting-tag option fires nothing (settings
changes run no workflow). `organization_id` defaults to the default account's first org.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sandboxes.kit import Action, ActionError, Record, State
from sandboxes.zoho.contacts import ContactBook
from sandboxes.zoho.endpoints import BooksApi
from sandboxes.zoho.errors import ZohoError

__all__ = ["UiActions"]


class UiActions:
    def __init__(
        self,
        contacts: ContactBook,
        api: BooksApi,
        state: State,
        default_org_id: Callable[[], str],
    ) -> None:
        self.contacts = contacts
        self.api = api
        self.state = state
        self._default_org_id = default_org_id

    def table(self) -> Mapping[str, Action]:
        return {
            "create_contact": self._create_contact,
            "edit_contact": self._edit_contact,
            "mark_active": self._mark_active,
            "mark_inactive": self._mark_inactive,
            "delete_contact": self._delete_contact,
            "add_option": self._add_option,
        }

    def _org_for(self, payload: Mapping[str, Any]) -> Record:
        org_id = str(payload.get("organization_id") or self._default_org_id())
        org = self.state.get("organizations", org_id)
        if org is None:
            raise ActionError(f"unknown organization {org_id}", status=404)
        return org

    def _run(self, change: Callable[[], Record], org: Record) -> dict[str, Any]:
        try:
            record = change()
        except ZohoError as exc:
            raise ActionError(exc.message, status=exc.status) from exc
        return {"contact": self.contacts.render(org, record)}

    @staticmethod
    def _contact_id(payload: Mapping[str, Any]) -> str:
        value = payload.get("contact_id")
        if not value:
            raise ActionError("contact_id is required")
        return str(value)

    async def _create_contact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"contact": {...}, "organization_id"?}`: added in the UI (source "user")."""
        org = self._org_for(payload)
        body = payload.get("contact")
        if not isinstance(body, dict):
            raise ActionError("contact (an object) is required")
        return self._run(lambda: self.contacts.create(org, body, source="user"), org)

    async def _edit_contact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"contact_id", "changes": {...}, "organization_id"?}`: edited in the UI."""
        org = self._org_for(payload)
        changes = payload.get("changes")
        if not isinstance(changes, dict):
            raise ActionError("changes (an object) is required")
        contact_id = self._contact_id(payload)
        return self._run(lambda: self.contacts.update(org, contact_id, changes), org)

    async def _mark_active(self, payload: dict[str, Any]) -> dict[str, Any]:
        org, contact_id = self._org_for(payload), self._contact_id(payload)
        return self._run(lambda: self.contacts.set_status(org, contact_id, active=True), org)

    async def _mark_inactive(self, payload: dict[str, Any]) -> dict[str, Any]:
        org, contact_id = self._org_for(payload), self._contact_id(payload)
        return self._run(lambda: self.contacts.set_status(org, contact_id, active=False), org)

    async def _delete_contact(self, payload: dict[str, Any]) -> dict[str, Any]:
        org, contact_id = self._org_for(payload), self._contact_id(payload)
        return self._run(lambda: self.contacts.delete(org, contact_id), org)

    async def _add_option(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"tag": "Department" | tag_id, "option": "Design", "organization_id"?}`."""
        org = self._org_for(payload)
        tag, option = payload.get("tag"), payload.get("option")
        if not isinstance(tag, str) or not isinstance(option, str) or not option.strip():
            raise ActionError("tag and option (strings) are required")
        try:
            updated = self.api.add_tag_option(org, tag, option)
        except ZohoError as exc:
            raise ActionError(exc.message, status=exc.status) from exc
        return {"reporting_tag": self.api.tag_out(updated)}
