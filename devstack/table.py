"""The demos' closing tables: each BambooHR employee beside their target record.

The target side is found by the target ids of the sink's latest outcome for the employee
(FreshBooks: ``team_member`` uuid, ``staff`` id; Zoho Books: ``contact`` id), else by work
email, the natural key the sinks match people by; the last column is that outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["contacts_table", "employees_table", "people_table"]

Record = Mapping[str, Any]


def people_table(
    employees: Sequence[Record],
    outcomes: Mapping[str, Sequence[Record]],
    staff: Sequence[Record],
    members: Sequence[Record],
    marks: Mapping[str, str],
) -> str:
    """A fixed-width text table, one row per BambooHR employee in id order."""
    header = (
        "",
        "bamboohr id",
        "name",
        "department",
        "status",
        "freshbooks record",
        "freshbooks state",
        "last outcome",
    )
    rows = [header]
    for employee in sorted(employees, key=lambda e: int(str(e["id"]))):
        employee_id = str(employee["id"])
        latest = outcomes.get(employee_id, [])
        last = latest[-1] if latest else None
        target_ids = dict(last.get("target_ids") or {}) if last else {}
        email = str(employee.get("workEmail") or "").lower()
        member = _find(members, "uuid", target_ids.get("team_member"), email)
        staff_record = _find(staff, "id", target_ids.get("staff"), email)
        rows.append(
            (
                marks.get(employee_id, ""),
                employee_id,
                f"{employee.get('firstName')} {employee.get('lastName')}",
                str(employee.get("department") or ""),
                f"{employee.get('status')}/{employee.get('employmentHistoryStatus')}",
                _record_name(member, staff_record),
                _record_state(member, staff_record),
                f"{last['status']} {last['operation']}" if last else "(none)",
            )
        )
    return _render(rows)


def contacts_table(
    employees: Sequence[Record],
    outcomes: Mapping[str, Sequence[Record]],
    contacts: Sequence[Record],
    marks: Mapping[str, str],
) -> str:
    """One row per BambooHR employee in id order, beside their Zoho Books contact."""
    rows: list[tuple[str, ...]] = [
        (
            "",
            "bamboohr id",
            "name",
            "department / title",
            "status",
            "zoho contact",
            "zoho person",
            "zoho state",
            "last outcome",
        )
    ]
    for employee in sorted(employees, key=lambda e: int(str(e["id"]))):
        employee_id = str(employee["id"])
        latest = outcomes.get(employee_id, [])
        last = latest[-1] if latest else None
        contact_id = dict(last.get("target_ids") or {}).get("contact") if last else None
        email = str(employee.get("workEmail") or "").lower()
        contact = next((c for c in contacts if str(c.get("contact_id")) == contact_id), None)
        if contact is None and email:
            contact = next(
                (
                    c
                    for c in contacts
                    for p in c.get("contact_persons", [])
                    if str(p.get("email") or "").lower() == email
                ),
                None,
            )
        person = _person_with(contact, email)
        rows.append(
            (
                marks.get(employee_id, ""),
                employee_id,
                f"{employee.get('firstName')} {employee.get('lastName')}",
                f"{employee.get('department') or ''} / {employee.get('jobTitle') or ''}",
                f"{employee.get('status')}/{employee.get('employmentHistoryStatus')}",
                f"{contact.get('contact_id')} {contact.get('contact_name')}"
                if contact
                else "(none)",
                f"{person.get('department') or ''} / {person.get('designation') or ''}"
                if person
                else "-",
                str(contact.get("status")) if contact else "-",
                f"{last['status']} {last['operation']}" if last else "(none)",
            )
        )
    return _render(rows)


def employees_table(
    employees: Sequence[Record],
    outcomes: Mapping[str, Sequence[Record]],
    records: Sequence[Record],
    marks: Mapping[str, str],
) -> str:
    """One row per BambooHR employee in id order, beside their Acumatica Employee record."""
    rows: list[tuple[str, ...]] = [
        (
            "",
            "bamboohr id",
            "name",
            "department",
            "status",
            "acumatica employee",
            "acumatica department",
            "acumatica status",
            "last outcome",
        )
    ]
    for employee in sorted(employees, key=lambda e: int(str(e["id"]))):
        employee_id = str(employee["id"])
        latest = outcomes.get(employee_id, [])
        last = latest[-1] if latest else None
        record_id = dict(last.get("target_ids") or {}).get("employee") if last else None
        email = str(employee.get("workEmail") or "").lower()
        record = next((r for r in records if r.get("EmployeeID") == record_id), None) or next(
            (
                r
                for r in records
                if email and str((r.get("ContactInfo") or {}).get("Email") or "").lower() == email
            ),
            None,
        )
        rows.append(
            (
                marks.get(employee_id, ""),
                employee_id,
                f"{employee.get('firstName')} {employee.get('lastName')}",
                str(employee.get("department") or ""),
                f"{employee.get('status')}/{employee.get('employmentHistoryStatus')}",
                f"{record.get('EmployeeID')} {record.get('EmployeeName')}" if record else "(none)",
                str((record.get("EmployeeSettings") or {}).get("DepartmentID") or "-")
                if record
                else "-",
                str(record.get("Status")) if record else "-",
                f"{last['status']} {last['operation']}" if last else "(none)",
            )
        )
    return _render(rows)


def _person_with(contact: Record | None, email: str) -> Record | None:
    if contact is None:
        return None
    persons = list(contact.get("contact_persons", []))
    return next(
        (p for p in persons if str(p.get("email") or "").lower() == email),
        persons[0] if persons else None,
    )


def _render(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _find(
    records: Sequence[Record], id_field: str, wanted: str | None, email: str
) -> Record | None:
    if wanted is not None:
        for record in records:
            if str(record.get(id_field)) == wanted:
                return record
    if email:
        for record in records:
            if str(record.get("email") or "").lower() == email:
                return record
    return None


def _record_name(member: Record | None, staff: Record | None) -> str:
    parts = []
    if member is not None:
        parts.append(f"team member {str(member.get('uuid'))[:8]}")
    if staff is not None:
        parts.append(f"staff {staff.get('id')}")
    return " + ".join(parts) or "(none)"


def _record_state(member: Record | None, staff: Record | None) -> str:
    parts = []
    if member is not None:
        parts.append("active" if member.get("active") else "deactivated")
        if member.get("invitation_date_accepted") is None:
            parts.append("invited")
    if staff is not None:
        vis_state = staff.get("vis_state")
        parts.append({0: "visible", 1: "deleted", 2: "archived"}.get(int(vis_state or 0), "?"))
    return ", ".join(parts) or "-"
