"""The event every benchmark moves: a realistic EmployeeChanged, one per employee id."""

from __future__ import annotations

from datetime import UTC, date, datetime

from schemas import EmployeeChanged

__all__ = ["BENCH_CONNECTION", "sample_employee"]

BENCH_CONNECTION = "bench-bamboohr"


def sample_employee(index: int, *, run: str = "bench") -> EmployeeChanged:
    """A new hire with a distinct employee id, so keys spread over a topic's partitions."""
    now = datetime.now(UTC)
    return EmployeeChanged(
        connection_id=BENCH_CONNECTION,
        occurred_at=now,
        source_updated_at=now,
        employee_id=f"{run}-{index}",
        status="active",
        first_name="Ada",
        last_name="Lovelace",
        work_email=f"ada.{index}@example.com",
        department="Engineering",
        division="Delivery",
        job_title="Analyst",
        hire_date=date(2026, 11, 23),
        changed_fields=("status", "department", "job_title", "hire_date"),
    )
