"""Zoho Books' own JSON, the fields we use, named as Zoho names them (sheet section 8).

Ids are numeric strings (section 4); list rows are summaries without contact persons or
tags, a single contact is the full record.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Contact",
    "ContactPerson",
    "ContactRow",
    "ContactTag",
    "ReportingTag",
    "TagOption",
    "zoho_time",
]


class _Vendor(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class ContactPerson(_Vendor):
    contact_person_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    designation: str | None = None
    department: str | None = None
    is_primary_contact: bool = False


class ContactTag(_Vendor):
    """A reporting tag set on a contact: which tag, which of its options."""

    tag_id: str
    tag_option_id: str


class ContactRow(_Vendor):
    """One row of ``GET /contacts``: what a list shows of a contact (no persons, no tags)."""

    contact_id: str
    contact_name: str = ""
    contact_type: str | None = None
    status: str = "active"
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    last_modified_time: str | None = None


def zoho_time(text: str | None) -> datetime | None:
    """Zoho's ``2026-06-09T13:16:32-0400`` (the org's offset, no colon); None if unreadable."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None


class Contact(ContactRow):
    """``GET /contacts/{id}``: the whole contact, its persons and tags among it."""

    contact_persons: tuple[ContactPerson, ...] = ()
    tags: tuple[ContactTag, ...] = ()

    @property
    def primary_person(self) -> ContactPerson | None:
        flagged = [p for p in self.contact_persons if p.is_primary_contact]
        candidates = flagged or list(self.contact_persons)
        return candidates[0] if candidates else None

    def person_with_email(self, email: str) -> ContactPerson | None:
        wanted = email.strip().casefold()
        return next(
            (p for p in self.contact_persons if (p.email or "").strip().casefold() == wanted),
            None,
        )


class TagOption(_Vendor):
    tag_option_id: str
    tag_option_name: str
    is_active: bool = True


class ReportingTag(_Vendor):
    """A reporting tag and its options (``GET {reporting_tags_path}/{id}``) [inferred shape]."""

    tag_id: str
    tag_name: str
    tag_options: tuple[TagOption, ...] = Field(default=())
