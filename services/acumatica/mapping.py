"""What Acumatica receives for an employee and for a department (flow 3, people-acumatica).

Facts: ``../shared/vendors/acumatica.md`` (sections cited as §).

**Departments first.** An Acumatica department is a ``DepartmentID`` code (at most 10
characters, forced upper case, §7) and a ``Description`` (at most 60). Which BambooHR values
make one is the link option ``department_from`` (:data:`DEPARTMENT_FROM`):

==========================  ==========================================================
``department`` (default)    the department's name ("Engineering")
``division``                the division's name ("Europe")
``division_department``     both, "Europe / Engineering" (one department per pair)
==========================  ==========================================================

The code is the operator's when the link option ``department_codes`` names one for that
name (``{"Engineering": "ENG"}``); else it is derived (:func:`derived_code`): the name's
letters and digits, upper case, cut to 10 ("ENGINEERIN", as Acumatica's own example). When
that code already stands for another name, the last three characters become a hash of the
name, so the same name always gets the same code and two names never share one.

**An employee** (§6) is one ``Employee`` record; every value is wrapped as
``{"value": ...}`` (§4):

==================================  ==================================================
``ContactInfo/FirstName``,          the first name (the preferred one when set), the
``LastName``, ``Email``             last name, the work email (lower case)
``EmployeeSettings/DepartmentID``   the department's code (above)
``Status``                          ``Active``; ``Inactive`` for an inactive or
                                    terminated employee: never deleted
==================================  ==================================================

Those are the fields we own. The job title has no field in the Default endpoint's
employee contract (§6, §10; open question 3): it is not sent. Branch, class, calendar and
the financial settings are left to the tenant's employee-class defaults.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping
from typing import Any, Final, Literal

from schemas.people import EmployeeChanged

__all__ = [
    "CODE_LENGTH",
    "DEPARTMENT_CODES",
    "DEPARTMENT_FROM",
    "DepartmentSource",
    "MappingError",
    "department_body",
    "department_name",
    "department_source",
    "derived_code",
    "employee_body",
    "employee_status",
    "operator_code",
    "unwrap",
    "wrap",
]

CODE_LENGTH: Final = 10  # §7: DepartmentID, forced upper case
DESCRIPTION_LENGTH: Final = 60
DEPARTMENT_FROM: Final = "department_from"
"""Link option: which BambooHR values make an Acumatica department."""
DEPARTMENT_CODES: Final = "department_codes"
"""Link option: ``{name: code}``, the operator's own codes."""

DepartmentSource = Literal["department", "division", "division_department"]
_SOURCES: Final[tuple[DepartmentSource, ...]] = ("department", "division", "division_department")
_NOT_CODE = re.compile(r"[^A-Z0-9]")
_BASE36 = string.digits + string.ascii_uppercase
_HASHED = 3  # characters of the hash that make a code unique


class MappingError(ValueError):
    """The link's options or the employee cannot be mapped; the message says why."""


def wrap(value: object) -> dict[str, object]:
    """§4: every general field is ``{"value": v}``, in requests and answers."""
    return {"value": value}


def unwrap(field: object) -> object:
    """The value of a wrapped field (None for ``{}``, an absent field, or a bare value)."""
    return field.get("value") if isinstance(field, Mapping) else None


# --- departments ------------------------------------------------------------------------


def department_source(options: Mapping[str, Any]) -> DepartmentSource:
    """The link's ``department_from`` (default ``department``); MappingError if unknown."""
    chosen = str(options.get(DEPARTMENT_FROM) or "department").strip().lower()
    for source in _SOURCES:
        if chosen == source:
            return source
    msg = f"link option {DEPARTMENT_FROM} is {chosen!r}; it is one of {', '.join(_SOURCES)}"
    raise MappingError(msg)


def department_name(event: EmployeeChanged, source: DepartmentSource) -> str | None:
    """The name of the Acumatica department the employee belongs in (None: none named)."""
    department = (event.department or "").strip()
    division = (event.division or "").strip()
    if source == "department":
        return department or None
    if source == "division":
        return division or None
    if department and division:
        return f"{division} / {department}"
    return department or division or None


def operator_code(options: Mapping[str, Any], name: str) -> str | None:
    """The code the operator set for ``name`` (matched trimmed, any case), checked."""
    codes = options.get(DEPARTMENT_CODES) or {}
    if not isinstance(codes, Mapping):
        msg = f"link option {DEPARTMENT_CODES} must be an object of name -> code"
        raise MappingError(msg)
    wanted = name.strip().casefold()
    for given, code in codes.items():
        if str(given).strip().casefold() == wanted:
            cleaned = str(code).strip().upper()
            if not cleaned or _NOT_CODE.search(cleaned) or len(cleaned) > CODE_LENGTH:
                msg = (
                    f"the code set for department {name!r} is {code!r}: a DepartmentID is 1 to "
                    f"{CODE_LENGTH} letters and digits"
                )
                raise MappingError(msg)
            return cleaned
    return None


def _hash36(text: str, salt: int) -> str:
    digest = int.from_bytes(hashlib.sha256(f"{salt}:{text}".encode()).digest()[:8], "big")
    out = ""
    for _ in range(_HASHED):
        digest, digit = divmod(digest, 36)
        out += _BASE36[digit]
    return out


def derived_code(name: str, taken: Mapping[str, str]) -> str:
    """A code for ``name`` that no other name in ``taken`` (code -> name key) holds.

    Stable: the same name and the same ``taken`` give the same code, and a name already in
    ``taken`` gets its own code back.
    """
    key = name.strip().casefold()
    for code, holder in taken.items():
        if holder == key:
            return code
    letters = _NOT_CODE.sub("", name.upper()) or "DEPT"
    candidate = letters[:CODE_LENGTH]
    salt = 0
    while candidate in taken:
        candidate = letters[: CODE_LENGTH - _HASHED] + _hash36(key, salt)
        salt += 1
    return candidate


def department_body(code: str, name: str) -> dict[str, Any]:
    """``PUT .../Department`` on the extension endpoint (§7)."""
    return {"DepartmentID": wrap(code), "Description": wrap(name.strip()[:DESCRIPTION_LENGTH])}


# --- employees --------------------------------------------------------------------------


def employee_status(event: EmployeeChanged) -> str:
    """§6 Status: ``Active``, or ``Inactive`` for anyone not active (never deleted)."""
    return "Active" if event.status == "active" else "Inactive"


def employee_body(event: EmployeeChanged, department_code: str | None) -> dict[str, Any]:
    """The fields we own, wrapped; ``EmployeeID`` is the caller's (a match or a new one)."""
    email = (event.work_email or "").strip().lower()
    contact: dict[str, Any] = {
        "FirstName": wrap((event.preferred_name or event.first_name).strip()),
        "LastName": wrap(event.last_name.strip()),
    }
    if email:
        contact["Email"] = wrap(email)
    body: dict[str, Any] = {"Status": wrap(employee_status(event)), "ContactInfo": contact}
    if department_code is not None:
        body["EmployeeSettings"] = {"DepartmentID": wrap(department_code)}
    return body
