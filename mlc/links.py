"""``mlc links``: flows between connections, through the operator API."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from mlc.exits import EXIT_REFUSED, fail
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
        },
    )
    if as_json:
        echo_json(created)
        return
    typer.echo(f"added {created['flow']} link {created['id']}")
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
