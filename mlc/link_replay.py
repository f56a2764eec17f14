"""``mlc replay --link``: re-drive one link from a point of the log, or preview it (dry run).

The control plane fixes the range and the services run it (``services/control/replays.py``,
``services/runtime/link_replays.py``); this asks through the operator API, shows progress on
stderr while it runs, then prints the outcome (a dry run: what each record's write would be,
as a table or ``--json``). Exit status 1 when a record failed or a part could not run.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Final

import typer

from mlc.exits import EXIT_FAILED, fail
from mlc.operator_client import OperatorClient
from mlc.output import echo_json, print_table

__all__ = ["run_link_replay", "show_replay"]

_POLL_SECONDS: Final = 0.5
_PLAIN_PROGRESS_EVERY_SECONDS: Final = 5.0


def run_link_replay(
    client: OperatorClient,
    link_id: str,
    body: dict[str, Any],
    *,
    wait: bool,
    timeout_seconds: float,
    as_json: bool,
) -> None:
    """Ask for the replay; with ``wait``, follow it to its end and print what it did."""
    replay = client.call("POST", f"/links/{link_id}/replays", body)
    follow_replay(client, replay, wait=wait, timeout_seconds=timeout_seconds, as_json=as_json)


def follow_replay(
    client: OperatorClient,
    replay: dict[str, Any],
    *,
    wait: bool,
    timeout_seconds: float,
    as_json: bool,
) -> None:
    """Show an asked replay's progress until it ends (or only its id, without ``wait``)."""
    if not wait:
        if as_json:
            echo_json(replay)
        else:
            typer.echo(f"replay {replay['id']} asked; follow it: mlc replay --show {replay['id']}")
        return
    replay = _until_done(client, replay, timeout_seconds)
    show_replay(client, replay, as_json=as_json)


def show_replay(client: OperatorClient, replay: dict[str, Any], *, as_json: bool) -> None:
    """Print a replay (and a dry run's plan); exit 1 when anything in it failed."""
    plan = (
        client.call("GET", f"/replays/{replay['id']}/plan")["writes"]
        if replay["dry_run"] and replay["state"] != "running"
        else None
    )
    if as_json:
        echo_json({**replay, "plan": plan} if plan is not None else replay)
    else:
        _print(replay, plan)
    failed = replay["totals"].get("failed", 0)
    if replay["state"] == "failed" or failed:
        raise typer.Exit(EXIT_FAILED)


def _until_done(
    client: OperatorClient, replay: dict[str, Any], timeout_seconds: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_seconds
    interactive = sys.stderr.isatty()
    shown_at = 0.0
    while replay["state"] == "running":
        now = time.monotonic()
        if now >= deadline:
            raise fail(
                f"replay {replay['id']} still running after {timeout_seconds:.0f} s; it goes "
                f"on: mlc replay --show {replay['id']}",
                EXIT_FAILED,
            )
        if interactive:
            typer.echo(f"\r{_progress(replay)}", err=True, nl=False)
        elif now - shown_at >= _PLAIN_PROGRESS_EVERY_SECONDS:
            typer.echo(_progress(replay), err=True)
            shown_at = now
        time.sleep(_POLL_SECONDS)  # polling the operator API: it has no push channel
        replay = client.call("GET", f"/replays/{replay['id']}")
    if interactive:
        typer.echo("", err=True)
    return replay


def _outcomes(totals: dict[str, int]) -> str:
    """ " (applied 3, unchanged 7)": the outcomes by status, or nothing before the first."""
    counts = ", ".join(
        f"{status} {n}" for status, n in sorted(totals.items()) if status not in ("records", "done")
    )
    return f" ({counts})" if counts else ""


def _progress(replay: dict[str, Any]) -> str:
    totals = replay["totals"]
    waiting = sum(1 for part in replay["parts"] if part["state"] == "waiting")
    parts = f"; {waiting} part(s) not started" if waiting else ""
    return (
        f"replay {replay['id']}: {totals.get('done', 0)}/{totals.get('records', 0)} records"
        f"{_outcomes(totals)}{parts}"
    )


def _print(replay: dict[str, Any], plan: list[dict[str, Any]] | None) -> None:
    what = "dry run" if replay["dry_run"] else "replay"
    totals = replay["totals"]
    typer.echo(
        f"{what} {replay['id']} of link {replay['link_id']} {replay['state']}: "
        f"{totals.get('records', 0)} records from {replay['since']} to "
        f"{replay['until'] or 'the end of the log when asked'}{_outcomes(totals)}"
    )
    for part in replay["parts"]:
        if part["error"]:
            typer.echo(f"  {part['service']} {part['topic']}: {part['error']}")
    if plan is None:
        return
    if not plan:
        typer.echo("nothing to write: no record of this link in that range")
        return
    print_table(
        ["record", "action", "operation", "detail"],
        [[row["record"], row["action"] or "-", row["operation"], row["detail"]] for row in plan],
    )
