"""Contacts and their contact persons: the writes and their rules (sheet section 8).

Stored records keep the vendor's field names plus `id` (= `contact_id`) and the owning
`organization_id`. Every change calls `on_change(kind, org, record)` with kind `create`,
`edit` or `delete`, which is where workflow-rule webhooks hang (section 9).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandboxes.kit import Record, SandboxClock, State
from sandboxes.zoho.errors import (
    DOES_NOT_EXIST_CODE,
    DUPLICATE_NAME_CODE,
    INVALID_VALUE_CODE,
    REQUIRED_FIELD_CODE,
    ZohoError,
)
from sandboxes.zoho.settings import ZohoSandboxSettings
from sandboxes.zoho.shapes import full_contact

__all__ = ["ID_BASE", "ChangeListener", "ContactBook"]

ID_BASE = 460815000000000000
"""Zoho ids are long numeric strings (e.g. "260815000000112011"); ours count up from here."""

ChangeListener = Callable[[str, Record, Record], None]

WRITABLE = (
    "contact_name", "company_name", "contact_type", "customer_sub_type", "website",
    "language_code", "currency_id", "payment_terms", "payment_terms_label", "notes",
    "credit_limit", "owner_id", "is_portal_enabled", "facebook", "twitter", "billing_address",
    "shipping_address", "gst_no", "gst_treatment", "vat_treatment", "vat_reg_no", "tax_id",
    "track_1099", "pricebook_id", "zcrm_account_id", "zcrm_contact_id",
)  # fmt: skip
PERSON_FIELDS = ("salutation", "first_name", "last_name", "email", "phone", "mobile",
                 "designation", "department", "skype", "fax", "enable_portal")  # fmt: skip
# [V] ZB:contacts field limits.
MAX_LENGTHS = {"contact_name": 200, "company_name": 200, "salutation": 25, "first_name": 100,
               "last_name": 100, "email": 100, "mobile": 50, "designation": 50,
               "department": 50}  # fmt: skip


def invalid(name: str) -> ZohoError:
    return ZohoError(INVALID_VALUE_CODE, f"Invalid value passed for {name}")


def _check_lengths(values: Mapping[str, Any]) -> None:
    for key, limit in MAX_LENGTHS.items():
        value = values.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise invalid(key)


class ContactBook:
    """Every organization's contacts, on the sandbox state and clock."""

    def __init__(
        self,
        state: State,
        clock: SandboxClock,
        settings: ZohoSandboxSettings,
        on_change: ChangeListener,
    ) -> None:
        self._state = state
        self._clock = clock
        self._settings = settings
        self._on_change = on_change

    # --- ids, times, lookups ---------------------------------------------------------------

    def new_id(self) -> str:
        number = self._state.next_id("contacts")
        return str(number if number > ID_BASE else ID_BASE + 100000 + number)

    def now(self, org: Record) -> datetime:
        try:
            zone = ZoneInfo(str(org.get("time_zone") or "UTC"))
        except ZoneInfoNotFoundError:
            zone = ZoneInfo("UTC")
        return self._clock.now().astimezone(zone)

    def _stamp(self, org: Record, record: Record, *, created: bool) -> None:
        now = self.now(org)
        # [V3p] "2026-06-09T13:16:32-0400": the org's offset without a colon.
        stamp, day = now.strftime("%Y-%m-%dT%H:%M:%S%z"), now.strftime("%d %b %Y")
        if created:
            record["created_time"], record["created_date"] = stamp, day
        record["last_modified_time"], record["last_modified_date"] = stamp, day

    def tags_of(self, org_id: str) -> dict[str, Record]:
        return {
            str(tag["tag_id"]): tag
            for tag in self._state.records("reporting_tags")
            if str(tag.get("organization_id")) == org_id
        }

    def contacts_of(self, org_id: str) -> list[Record]:
        return [
            c for c in self._state.records("contacts") if str(c.get("organization_id")) == org_id
        ]

    def get(self, org: Record, contact_id: str) -> Record:
        record = self._state.get("contacts", contact_id)
        if record is None or str(record.get("organization_id")) != str(org["id"]):
            raise ZohoError(
                DOES_NOT_EXIST_CODE,
                "Contact does not exist.",
                status=self._settings.not_found_status,
            )
        return record

    def render(self, org: Record, record: Record) -> dict[str, Any]:
        return full_contact(record, org, self.tags_of(str(org["id"])))

    # --- contacts --------------------------------------------------------------------------

    def create(self, org: Record, body: Mapping[str, Any], *, source: str = "api") -> Record:
        name = body.get("contact_name")
        if not isinstance(name, str) or not name.strip():
            raise ZohoError(REQUIRED_FIELD_CODE, "Please enter the contact name.")
        record: Record = {"organization_id": str(org["id"]), "source": source}
        contact_id = self.new_id()
        record["id"] = record["contact_id"] = contact_id
        record["status"] = "active"
        self._apply(org, record, body, creating=True)
        self._stamp(org, record, created=True)
        self._state.insert("contacts", record)
        self._on_change("create", org, record)
        return record

    def update(self, org: Record, contact_id: str, body: Mapping[str, Any]) -> Record:
        record = self.get(org, contact_id)
        draft = copy.deepcopy(record)
        self._apply(org, draft, body, creating=False)
        self._stamp(org, draft, created=False)
        record.clear()
        record.update(draft)
        self._on_change("edit", org, record)
        return record

    def find_by_custom_field(self, org: Record, api_name: str, value: str) -> Record | None:
        for record in self.contacts_of(str(org["id"])):
            for item in record.get("custom_fields", []):
                if item.get("api_name") == api_name and str(item.get("value")) == value:
                    return record
        return None

    def delete(self, org: Record, contact_id: str) -> Record:
        record = self.get(org, contact_id)
        self._state.delete("contacts", contact_id)
        self._on_change("delete", org, record)
        return record

    def set_status(self, org: Record, contact_id: str, *, active: bool) -> Record:
        record = self.get(org, contact_id)
        record["status"] = "active" if active else "inactive"
        self._stamp(org, record, created=False)
        self._on_change("edit", org, record)
        return record

    def _apply(
        self, org: Record, record: Record, body: Mapping[str, Any], *, creating: bool
    ) -> None:
        _check_lengths(body)
        contact_type = body.get("contact_type", record.get("contact_type", "customer"))
        if contact_type not in ("customer", "vendor"):
            raise invalid("contact_type")
        if "contact_name" in body:
            self._check_unique_name(org, str(body["contact_name"]), str(record["contact_id"]))
        for key in WRITABLE:
            if key in body:
                record[key] = copy.deepcopy(body[key])
        record["contact_type"] = contact_type
        if "custom_fields" in body:
            record["custom_fields"] = self._custom_fields(
                org, body["custom_fields"], record.get("custom_fields", [])
            )
        if "tags" in body:
            record["tags"] = self._tags(org, body["tags"])
        if "contact_persons" in body or creating:
            persons = body.get("contact_persons") or []
            if not isinstance(persons, list):
                raise invalid("contact_persons")
            record["contact_persons"] = self._replace_persons(
                record.get("contact_persons", []), persons
            )

    def _check_unique_name(self, org: Record, name: str, contact_id: str) -> None:
        if not name.strip():
            raise ZohoError(REQUIRED_FIELD_CODE, "Please enter the contact name.")
        if not self._settings.unique_contact_name:
            return
        for other in self.contacts_of(str(org["id"])):
            same = str(other.get("contact_name", "")).casefold() == name.casefold()
            if same and str(other["contact_id"]) != contact_id:
                raise ZohoError(
                    DUPLICATE_NAME_CODE,
                    "The contact name already exists. Please specify a different name.",
                )

    def _custom_fields(
        self, org: Record, given: object, current: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        if not isinstance(given, list):
            raise invalid("custom_fields")
        definitions = org.get("custom_fields", [])
        values = {str(item["customfield_id"]): dict(item) for item in current}
        for item in given:
            if not isinstance(item, dict):
                raise invalid("custom_fields")
            match = next(
                (
                    d
                    for d in definitions
                    if any(
                        key in item and str(item[key]) == str(d[key])
                        for key in ("customfield_id", "api_name", "index", "label")
                    )
                ),
                None,
            )
            if match is None:
                raise invalid("custom_fields")
            values[str(match["customfield_id"])] = {
                "customfield_id": str(match["customfield_id"]),
                "index": match["index"],
                "label": match["label"],
                "api_name": match["api_name"],
                "data_type": match.get("data_type", "string"),
                "value": item.get("value"),
            }
        return sorted(values.values(), key=lambda v: int(v["index"]))

    def _tags(self, org: Record, given: object) -> list[dict[str, str]]:
        if not isinstance(given, list):
            raise invalid("tags")
        known = self.tags_of(str(org["id"]))
        result: list[dict[str, str]] = []
        for item in given:
            tag = known.get(str(item.get("tag_id"))) if isinstance(item, dict) else None
            if tag is None or not isinstance(item, dict):
                raise invalid("tags")
            options = {str(o["tag_option_id"]) for o in tag.get("tag_options", [])}
            if str(item.get("tag_option_id")) not in options:
                raise invalid("tag_option_id")
            result.append(
                {"tag_id": str(item["tag_id"]), "tag_option_id": str(item["tag_option_id"])}
            )
        return result

    # --- contact persons -------------------------------------------------------------------

    def _person(self, values: Mapping[str, Any], current: Record | None) -> Record:
        _check_lengths(values)
        person: Record = dict(current or {})
        if current is None:
            person["contact_person_id"] = self.new_id()
        for key in PERSON_FIELDS:
            if key in values:
                person[key] = values[key]
        if "is_primary_contact" in values:
            # [V] only `true` is allowed; making someone primary is the primary endpoint's job.
            if values["is_primary_contact"] is not True:
                raise invalid("is_primary_contact")
            person["is_primary_contact"] = True
        return person

    def _replace_persons(self, current: list[Record], given: list[Any]) -> list[Record]:
        """[V] on update, a person omitted from the array is deleted."""
        by_id = {str(p["contact_person_id"]): p for p in current}
        result: list[Record] = []
        for values in given:
            if not isinstance(values, dict):
                raise invalid("contact_persons")
            existing = by_id.get(str(values.get("contact_person_id", "")))
            if "contact_person_id" in values and existing is None:
                raise invalid("contact_person_id")
            result.append(self._person(values, existing))
        self._one_primary(result)
        return result

    @staticmethod
    def _one_primary(persons: list[Record], chosen: str | None = None) -> None:
        if chosen is None:
            flagged = [p for p in persons if p.get("is_primary_contact")]
            # [I] with no (or several) primary flags, the first flagged (or first) person wins.
            chosen = str(
                (flagged or persons or [{"contact_person_id": ""}])[0]["contact_person_id"]
            )
        for person in persons:
            person["is_primary_contact"] = str(person["contact_person_id"]) == chosen

    def find_person(self, org: Record, person_id: str) -> tuple[Record, Record]:
        for record in self.contacts_of(str(org["id"])):
            for person in record.get("contact_persons", []):
                if str(person["contact_person_id"]) == person_id:
                    return record, person
        raise ZohoError(
            DOES_NOT_EXIST_CODE,
            "Contact person does not exist.",
            status=self._settings.not_found_status,
        )

    def add_person(self, org: Record, body: Mapping[str, Any]) -> tuple[Record, Record]:
        contact = self.get(org, str(body.get("contact_id", "")))
        first = body.get("first_name")
        if not isinstance(first, str) or not first.strip():
            raise ZohoError(REQUIRED_FIELD_CODE, "Please enter the first name.")
        person = self._person(body, None)
        persons = contact.setdefault("contact_persons", [])
        persons.append(person)
        self._one_primary(persons, None if person.get("is_primary_contact") is not True
                          else str(person["contact_person_id"]))  # fmt: skip
        self._touch(org, contact)
        return contact, person

    def update_person(
        self, org: Record, person_id: str, body: Mapping[str, Any]
    ) -> tuple[Record, Record]:
        contact, person = self.find_person(org, person_id)
        person.update(self._person(body, person))
        if body.get("is_primary_contact") is True:
            self._one_primary(contact["contact_persons"], person_id)
        self._touch(org, contact)
        return contact, person

    def delete_person(self, org: Record, person_id: str) -> Record:
        contact, person = self.find_person(org, person_id)
        contact["contact_persons"] = [p for p in contact["contact_persons"] if p is not person]
        if person.get("is_primary_contact"):
            self._one_primary(contact["contact_persons"])
        self._touch(org, contact)
        return contact

    def make_primary(self, org: Record, person_id: str) -> Record:
        contact, _ = self.find_person(org, person_id)
        self._one_primary(contact["contact_persons"], person_id)
        self._touch(org, contact)
        return contact

    def _touch(self, org: Record, contact: Record) -> None:
        self._stamp(org, contact, created=False)
        self._on_change("edit", org, contact)
