"""``mlc status``: per link, its last event, lag, failures, dead letters and the target's
daily call quota (operator API)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from mlc.operator_client import OperatorClient, UrlOption
from mlc.output import JsonOption, echo_json, print_table

__all__ = ["status_command"]


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _quota(quota: dict[str, Any] | None) -> str:
    """``705/1000 left, resets 02:40Z``; ``-`` for a target without a quota."""
    if not quota:
        return "-"
    resets = datetime.fromisoformat(quota["resets_at"]).astimezone(UTC).strftime("%H:%MZ")
    return f"{quota['remaining']}/{quota['limit']} left, resets {resets}"


def status_command(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Per link: last event, lag since its last sync outcome, failures, dead letters, quota."""
    listed = OperatorClient(url).call("GET", "/status")
    if as_json:
        echo_json(listed)
        return
    rows = [
        [
            s["link"]["id"],
            s["link"]["flow"],
            s["last_event_at"] or "-",
            s["last_action"] or "-",
            _lag(s.get("lag_seconds")),
            str(s["failures"]),
            _count(s.get("outcome_failures")),
            _count(s.get("dead_letters")),
            _quota(s.get("target_quota")),
        ]
        for s in listed["links"]
    ]
    headers = ["link", "flow", "last event", "last action", "lag", "refused", "failed", "dlq"]
    headers.append("quota")
    print_table(headers, rows)
    for problem in sorted({s["log_error"] for s in listed["links"] if s.get("log_error")}):
        typer.echo(f"note: {problem}; lag, failed and dlq may be behind")
