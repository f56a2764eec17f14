"""``mlc links``: flows between connections, through the operator API."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from mlc.exits import EXIT_REFUSED, fail
from mlc.link_replay import follow_replay
from mlc.operator_client import OperatorClient, UrlOption
from mlc.output import JsonOption, echo_json, print_table
from services.control.connections import FLOWS

__all__ = ["links_app"]

links_app = typer.Typer(help="Flows between connections.", no_args_is_help=True)


def _options(text: str, what: str) -> dict[str, Any]:
    """Link options given as JSON; refused (exit 2) unless they are a JSON object."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"{what} is not JSON: {exc}", EXIT_REFUSED) from None
    if not isinstance(parsed, dict):
        raise fail(f"{what} must be a JSON object, e.g. '{{\"dry_run\": true}}'", EXIT_REFUSED)
    return parsed


@links_app.command("add")
def add_link(
    source: Annotated[str, typer.Argument(help="Source connection id.")],
    target: Annotated[str, typer.Argument(help="Target connection id.")],
    *,
    flow: Annotated[str, typer.Option("--flow", help=f"One of: {', '.join(FLOWS)}.")],
    options: Annotated[str, typer.Option("--options", help="Flow options as JSON.")] = "{}",
    preview: Annotated[
        bool,
        typer.Option(
            "--preview",
            help="Write nothing until `mlc links live`; preview with `mlc replay --dry-run`.",
        ),
    ] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Link a source connection to a target connection for one flow."""
    parsed = _options(options, "--options")
    created = OperatorClient(url).call(
        "POST",
        "/links",
        {
            "source_connection_id": source,
            "target_connection_id": target,
            "flow": flow,
            "options": parsed,
            "preview": preview,
        },
    )
    if as_json:
        echo_json(created)
        return
    typer.echo(f"added {created['flow']} link {created['id']}")
    if preview:
        typer.echo(
            "preview: nothing is written. Once the source's resend is on the log, see what "
            f"would be: mlc replay --link {created['id']} --dry-run; then start writing: "
            f"mlc links live {created['id']}"
        )
    if created.get("backfill"):
        tick = created["backfill"]
        typer.echo(f"backfill requested: tick {tick['event_id']} on {tick['topic']}")
    elif created.get("backfill_error"):
        typer.echo(f"backfill not requested: {created['backfill_error']}")


@links_app.command("list")
def list_links(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """List links."""
    listed = OperatorClient(url).call("GET", "/links")
    if as_json:
        echo_json(listed)
        return
    rows = [
        [
            link["id"],
            link["flow"],
            link["source_connection_id"],
            link["target_connection_id"],
            "yes" if link["enabled"] else "no",
            json.dumps(link["options"]),
        ]
        for link in listed["links"]
    ]
    print_table(["id", "flow", "source", "target", "enabled", "options"], rows)


@links_app.command("set-options")
def set_options(
    link_id: Annotated[str, typer.Argument(help="The link's id (mlc links list).")],
    options: Annotated[str, typer.Argument(help="All of the link's options, as a JSON object.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace a link's options, e.g. a fixed account map; then re-drive what waited."""
    parsed = _options(options, "the options")
    updated = OperatorClient(url).call("PATCH", f"/links/{link_id}", {"options": parsed})
    if as_json:
        echo_json(updated)
        return
    typer.echo(f"link {link_id} options: {json.dumps(updated['options'])}")


@links_app.command("remove")
def remove_link(link_id: str, url: UrlOption = None) -> None:
    """Remove a link (its mappings and cross-references go with it)."""
    OperatorClient(url).call("DELETE", f"/links/{link_id}")
    typer.echo(f"removed link {link_id}")


@links_app.command("live")
def live_link(
    link_id: Annotated[str, typer.Argument(help="The preview link's id.")],
    *,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow its first replay to its end.")
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to follow it before giving up.")
    ] = 3600.0,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Switch a preview link live: it is enabled and its log replayed from the beginning,
    making the writes its dry run listed."""
    client = OperatorClient(url)
    replay = client.call("POST", f"/links/{link_id}/live", {"requested_by": "mlc links live"})
    if not as_json:
        typer.echo(f"link {link_id} is live; replaying its log ({replay['id']})", err=True)
    follow_replay(client, replay, wait=wait, timeout_seconds=timeout, as_json=as_json)


@links_app.command("replays")
def list_replays(
    link_id: Annotated[str, typer.Argument(help="The link's id.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The link's replays and dry runs, newest first."""
    listed = OperatorClient(url).call("GET", f"/links/{link_id}/replays")
    if as_json:
        echo_json(listed)
        return
    rows = [
        [
            replay["id"],
            "dry run" if replay["dry_run"] else "replay",
            replay["state"],
            replay["since"],
            replay["until"] or "-",
            replay["entity"] or "-",
            f"{replay['totals'].get('done', 0)}/{replay['totals'].get('records', 0)}",
            replay["requested_by"],
            replay["created_at"],
        ]
        for replay in listed["replays"]
    ]
    print_table(["id", "kind", "state", "since", "until", "entity", "done", "by", "asked at"], rows)
