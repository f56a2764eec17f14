"""What a Zoho Books contact receives for an employee: a hire, a change, a leaver, a rehire.

An employee is one contact (type ``settings.contact_type``, a vendor by default: the
organisation reimburses them) holding one primary contact person:

==================  ==============================================================
contact             ``contact_name`` = the display name (preferred first name, last name);
                    "Name (email)" when another contact holds that name
contact person      ``first_name``, ``last_name``, ``email`` (work email),
                    ``designation`` = job title, ``department`` = department
reporting tags      the Department and Job Title tags (names are settings) set to the
                    option of the same name (trimmed, any case) when the tag has one;
                    otherwise that tag is left as it is
status              active -> mark active; inactive or terminated -> mark inactive
==================  ==============================================================

Those are the fields we own. Everything else on the contact (addresses, notes, other
contact persons, other tags, custom fields) is never sent: a contact is updated without
``contact_persons`` (Zoho deletes a person left out of that array), our person through its
own endpoint, and ``tags`` with every tag we do not own sent back as it was. A leaver is
never created: a contact that does not exist yet for someone inactive or terminated is
nothing to write.

The reference lists (department, job title) are the two reporting tags, one per list: each
tag option is published as a ``DepartmentChanged`` / ``JobTitleChanged`` of the Zoho
connection (:func:`tag_list_events`), and an option the other side added, archived or
restored is written as the tag's whole option list with that one change
(:func:`options_with_added`, :func:`options_with_active`), since Zoho's call replaces the
list [inferred]. An option is never left out, so none is ever deleted. BambooHR's division
list has no tag here: divisions are not carried to Zoho Books.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson

from schemas.people import DepartmentChanged, EmployeeChanged, JobTitleChanged
from services.runtime.option_lists import ListKind, ListOption
from services.zoho.models import Contact, ContactPerson, ReportingTag

__all__ = [
    "NO_EMAIL_REVIEW",
    "MappingError",
    "OwnedTags",
    "WantedContact",
    "contact_changes",
    "contact_fingerprint",
    "create_body",
    "list_options",
    "matching_contact",
    "options_with_active",
    "options_with_added",
    "our_person",
    "owned_tags",
    "person_changes",
    "person_email",
    "person_fields",
    "tag_list_events",
    "tag_named",
    "wanted_contact",
]

NO_EMAIL_REVIEW: Final = "the employee has no work email: Zoho contacts are matched by email"


class MappingError(ValueError):
    """The employee cannot be mapped to a contact; the message says why."""


def person_email(event: EmployeeChanged) -> str:
    """The work email, trimmed and lower-cased: the natural key contacts are matched by."""
    email = (event.work_email or "").strip().lower()
    if not email:
        raise MappingError(NO_EMAIL_REVIEW)
    return email


@dataclass(frozen=True, slots=True)
class WantedContact:
    """What an employee makes true of their contact: the fields we own, and nothing else.

    Built from the event by :func:`wanted_contact`; stored as the sink's record of what it
    applied (:meth:`as_json`), which is what the reconciliation puts back after a hand edit.
    """

    contact_name: str
    distinct_name: str
    person: Mapping[str, str]
    active: bool
    department: str
    job_title: str

    @property
    def email(self) -> str:
        return self.person["email"]

    def names(self) -> tuple[str, str]:
        """Both names a contact of ours may have: the plain one, and the one with the email."""
        return self.contact_name, self.distinct_name

    def as_json(self) -> dict[str, Any]:
        return {
            "contact_name": self.contact_name,
            "distinct_name": self.distinct_name,
            "person": dict(self.person),
            "active": self.active,
            "department": self.department,
            "job_title": self.job_title,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> WantedContact:
        """The record :meth:`as_json` wrote; MappingError when it is not one."""
        try:
            person = {str(k): str(v) for k, v in dict(value["person"]).items()}
            if not person.get("email"):
                raise MappingError("the applied record names no email")
            return cls(
                contact_name=str(value["contact_name"]),
                distinct_name=str(value.get("distinct_name") or value["contact_name"]),
                person=person,
                active=bool(value["active"]),
                department=str(value.get("department") or ""),
                job_title=str(value.get("job_title") or ""),
            )
        except (KeyError, TypeError, ValueError) as error:
            msg = f"not an applied-contact record: {error}"
            raise MappingError(msg) from error


def wanted_contact(event: EmployeeChanged) -> WantedContact:
    """The contact an employee asks for (MappingError without a work email)."""
    plain = event.display_name.strip()
    return WantedContact(
        contact_name=plain[:200],  # [V] contact_name <= 200
        # Zoho refuses a second contact of one name (open question 5), and two people may
        # share one: the second is named with the email.
        distinct_name=f"{plain} ({person_email(event)})"[:200],
        person=person_fields(event),
        active=event.status == "active",
        department=(event.department or "").strip(),
        job_title=(event.job_title or "").strip(),
    )


def person_fields(event: EmployeeChanged) -> dict[str, str]:
    """The contact person's fields we own, within Zoho's lengths (sheet section 8)."""
    return {
        "first_name": event.first_name.strip()[:100],
        "last_name": event.last_name.strip()[:100],
        "email": person_email(event),
        "designation": (event.job_title or "").strip()[:50],
        "department": (event.department or "").strip()[:50],
    }


def contact_fingerprint(event: EmployeeChanged) -> str:
    """What the employee says, as far as a contact cares (equal revisions compare it)."""
    wanted = wanted_contact(event)
    said = {
        "name": wanted.contact_name,
        "person": wanted.person,
        "active": wanted.active,
        "job_title": wanted.job_title,
    }
    return hashlib.sha256(orjson.dumps(said, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _key(name: str) -> str:
    return name.strip().casefold()


@dataclass(frozen=True, slots=True)
class OwnedTags:
    """The reporting tags we own and the option each should hold for this employee.

    ``wanted`` maps a tag id to its option id, only for tags where the employee's value
    names an option; ``owned`` is every tag id we own (a tag we own but leave alone stays).
    """

    owned: frozenset[str]
    wanted: Mapping[str, str]


def owned_tags(
    tags: Iterable[ReportingTag], wanted: WantedContact, *, department_tag: str, job_title_tag: str
) -> OwnedTags:
    values = {_key(department_tag): wanted.department, _key(job_title_tag): wanted.job_title}
    owned: set[str] = set()
    chosen: dict[str, str] = {}
    for tag in tags:
        if _key(tag.tag_name) not in values:
            continue
        owned.add(tag.tag_id)
        value = values[_key(tag.tag_name)]
        option = next(
            (o for o in tag.tag_options if value and _key(o.tag_option_name) == _key(value)),
            None,
        )
        if option is not None:
            chosen[tag.tag_id] = option.tag_option_id
    return OwnedTags(owned=frozenset(owned), wanted=chosen)


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"tag_id": t, "tag_option_id": o} for t, o in sorted(tags.items())]


def create_body(wanted: WantedContact, *, contact_type: str, tags: OwnedTags) -> dict[str, Any]:
    """``POST /contacts`` for a hire: the contact, its one primary person, our tags."""
    body: dict[str, Any] = {
        "contact_name": wanted.contact_name,
        "contact_type": contact_type,
        "contact_persons": [{**wanted.person, "is_primary_contact": True}],
    }
    if tags.wanted:
        body["tags"] = _tag_list(tags.wanted)
    return body


def contact_changes(
    contact: Contact, wanted: WantedContact, tags: OwnedTags
) -> dict[str, Any] | None:
    """``PUT /contacts/{id}`` for what differs in the contact's own fields we own, else None.

    Never ``contact_persons``; ``tags`` with every tag we do not own sent back unchanged.
    """
    changes: dict[str, Any] = {}
    if contact.contact_name not in wanted.names():
        changes["contact_name"] = wanted.contact_name
    current = {t.tag_id: t.tag_option_id for t in contact.tags}
    merged = {k: v for k, v in current.items() if k not in tags.wanted}
    merged.update(tags.wanted)
    if merged != current:
        changes["tags"] = _tag_list(merged)
    return changes or None


def our_person(contact: Contact, email: str) -> ContactPerson | None:
    """The person we write: the one with the employee's email, else the primary one."""
    return contact.person_with_email(email) or contact.primary_person


def person_changes(person: ContactPerson, wanted: WantedContact) -> dict[str, str] | None:
    """``PUT /contacts/contactpersons/{id}`` for the person's fields that differ, else None."""
    now = {
        "first_name": person.first_name or "",
        "last_name": person.last_name or "",
        "email": (person.email or "").strip().lower(),
        "designation": person.designation or "",
        "department": person.department or "",
    }
    changes = {k: v for k, v in wanted.person.items() if now[k] != v}
    return changes or None


def matching_contact(contacts: Sequence[Contact], email: str) -> Contact | None:
    """Of contacts found by email, the one whose own or a person's email is it (any case);
    the oldest id when several are (a duplicate someone made by hand)."""
    wanted = email.strip().casefold()
    hits = [
        c
        for c in contacts
        if (c.email or "").strip().casefold() == wanted or c.person_with_email(email) is not None
    ]
    return min(hits, key=lambda c: int(c.contact_id) if c.contact_id.isdigit() else 0, default=None)


# --- reference lists: the department and job-title tags ------------------------------------


def list_options(tag: ReportingTag) -> list[ListOption]:
    """A tag's options as the runtime's alignment reads them."""
    return [
        ListOption(id=o.tag_option_id, name=o.tag_option_name, active=o.is_active)
        for o in tag.tag_options
    ]


def _options_body(tag: ReportingTag) -> list[dict[str, Any]]:
    return [
        {
            "tag_option_id": o.tag_option_id,
            "tag_option_name": o.tag_option_name,
            "is_active": o.is_active,
        }
        for o in tag.tag_options
    ]


def options_with_added(tag: ReportingTag, name: str) -> list[dict[str, Any]]:
    """Every option of ``tag`` as it is, and a new active one named ``name`` (<= 100)."""
    return [*_options_body(tag), {"tag_option_name": name.strip()[:100], "is_active": True}]


def options_with_active(tag: ReportingTag, option_id: str, *, active: bool) -> list[dict[str, Any]]:
    """Every option of ``tag`` as it is, but ``option_id`` archived (or restored)."""
    return [
        {**o, "is_active": active} if o["tag_option_id"] == option_id else o
        for o in _options_body(tag)
    ]


def tag_list_events(
    tags: Sequence[ReportingTag],
    tag_names: Mapping[ListKind, str],
    *,
    connection_id: str,
    tenant_id: str,
    read_at: datetime,
) -> list[DepartmentChanged | JobTitleChanged]:
    """One event per option of each list's tag (``tag_names``: list kind -> tag name).

    Options carry no change time, so the revision is the read (as BambooHR's lists).
    """
    events: list[DepartmentChanged | JobTitleChanged] = []
    for kind, tag_name in tag_names.items():
        tag = tag_named(tags, tag_name)
        for option in tag.tag_options if tag else ():
            name = option.tag_option_name.strip()
            if not name:
                continue
            common = {
                "connection_id": connection_id,
                "tenant_id": tenant_id,
                "occurred_at": read_at,
                "source_updated_at": read_at,
                "name": name,
                "active": option.is_active,
            }
            if kind == "job_title":
                events.append(JobTitleChanged(job_title_id=option.tag_option_id, **common))
            else:
                events.append(DepartmentChanged(kind=kind, unit_id=option.tag_option_id, **common))
    return events


def tag_named(tags: Sequence[ReportingTag], name: str) -> ReportingTag | None:
    """The tag of that name (trimmed, any case), if the organisation has one."""
    return next((t for t in tags if _key(t.tag_name) == _key(name)), None)
