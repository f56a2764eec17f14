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
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from schemas.people import EmployeeChanged
from services.zoho.models import Contact, ContactPerson, ReportingTag

__all__ = [
    "NO_EMAIL_REVIEW",
    "MappingError",
    "OwnedTags",
    "contact_changes",
    "contact_name",
    "create_body",
    "distinct_contact_name",
    "fingerprint",
    "matching_contact",
    "names_of",
    "our_person",
    "owned_tags",
    "person_changes",
    "person_email",
    "person_fields",
    "wants_active",
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


def contact_name(event: EmployeeChanged) -> str:
    return event.display_name.strip()[:200]  # [V] contact_name <= 200


def distinct_contact_name(event: EmployeeChanged) -> str:
    """The name used when another contact holds the plain one: Zoho refuses a second contact
    of the same name (open question 5), and two people may share one."""
    return f"{event.display_name.strip()} ({person_email(event)})"[:200]


def names_of(event: EmployeeChanged) -> tuple[str, str]:
    """Both names a contact of ours may have: the plain one, and the one with the email."""
    return contact_name(event), distinct_contact_name(event)


def person_fields(event: EmployeeChanged) -> dict[str, str]:
    """The contact person's fields we own, within Zoho's lengths (sheet section 8)."""
    return {
        "first_name": event.first_name.strip()[:100],
        "last_name": event.last_name.strip()[:100],
        "email": person_email(event),
        "designation": (event.job_title or "").strip()[:50],
        "department": (event.department or "").strip()[:50],
    }


def wants_active(event: EmployeeChanged) -> bool:
    return event.status == "active"


def fingerprint(event: EmployeeChanged) -> str:
    """What the employee says, as far as a contact cares (equal revisions compare it)."""
    said = {
        "name": contact_name(event),
        "person": person_fields(event),
        "active": wants_active(event),
        "job_title": event.job_title or "",
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
    tags: Iterable[ReportingTag], event: EmployeeChanged, *, department_tag: str, job_title_tag: str
) -> OwnedTags:
    values = {_key(department_tag): event.department, _key(job_title_tag): event.job_title}
    owned: set[str] = set()
    wanted: dict[str, str] = {}
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
            wanted[tag.tag_id] = option.tag_option_id
    return OwnedTags(owned=frozenset(owned), wanted=wanted)


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"tag_id": t, "tag_option_id": o} for t, o in sorted(tags.items())]


def create_body(event: EmployeeChanged, *, contact_type: str, tags: OwnedTags) -> dict[str, Any]:
    """``POST /contacts`` for a hire: the contact, its one primary person, our tags."""
    body: dict[str, Any] = {
        "contact_name": contact_name(event),
        "contact_type": contact_type,
        "contact_persons": [{**person_fields(event), "is_primary_contact": True}],
    }
    if tags.wanted:
        body["tags"] = _tag_list(tags.wanted)
    return body


def contact_changes(
    contact: Contact, event: EmployeeChanged, tags: OwnedTags
) -> dict[str, Any] | None:
    """``PUT /contacts/{id}`` for what differs in the contact's own fields we own, else None.

    Never ``contact_persons``; ``tags`` with every tag we do not own sent back unchanged.
    """
    changes: dict[str, Any] = {}
    if contact.contact_name not in names_of(event):
        changes["contact_name"] = contact_name(event)
    current = {t.tag_id: t.tag_option_id for t in contact.tags}
    merged = {k: v for k, v in current.items() if k not in tags.wanted}
    merged.update(tags.wanted)
    if merged != current:
        changes["tags"] = _tag_list(merged)
    return changes or None


def our_person(contact: Contact, email: str) -> ContactPerson | None:
    """The person we write: the one with the employee's email, else the primary one."""
    return contact.person_with_email(email) or contact.primary_person


def person_changes(person: ContactPerson, event: EmployeeChanged) -> dict[str, str] | None:
    """``PUT /contacts/contactpersons/{id}`` for the person's fields that differ, else None."""
    wanted = person_fields(event)
    now = {
        "first_name": person.first_name or "",
        "last_name": person.last_name or "",
        "email": (person.email or "").strip().lower(),
        "designation": person.designation or "",
        "department": person.department or "",
    }
    changes = {k: v for k, v in wanted.items() if now[k] != v}
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
