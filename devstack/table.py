"""The demo's closing table: each BambooHR employee beside their FreshBooks record.

The FreshBooks side is found by the target ids of the sink's latest outcome for
the employee (``team_member`` uuid, ``staff`` id), else by work email, the
natural key the sink matches people by; the last column is that outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["people_table"]

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
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
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
