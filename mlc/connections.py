"""``mlc connections``: vendor accounts, through the operator API.

The control plane holds the vault, so the CLI never reads stored secrets; ``add``
prompts for each secret field with hidden input and refuses secrets on the command
line. OAuth vendors go through their consent page (``mlc/oauth.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from mlc.exits import EXIT_FAILED, EXIT_REFUSED, fail
from mlc.oauth import (
    ConsentWait,
    add_oauth_connection,
    ping_connection,
    reconnect_oauth_connection,
)
from mlc.operator_client import OperatorClient, UrlOption, operator_url
from mlc.output import JsonOption, echo_json, print_table
from services.control.connections import CREDENTIAL_SPECS

__all__ = ["connections_app"]

connections_app = typer.Typer(help="Vendor accounts (via the operator API).", no_args_is_help=True)


def _parse_pairs(pairs: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise fail(f"--set wants FIELD=VALUE, got {pair!r}", EXIT_REFUSED)
        values[name] = value
    return values


@connections_app.command("add")
def add_connection(
    vendor: Annotated[str, typer.Argument(help="bamboohr, bill, acumatica or expensify.")],
    *,
    name: Annotated[str, typer.Option("--name", help="Display name (default: the vendor).")] = "",
    values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="FIELD=VALUE for a non-secret field (skips its prompt), or an option: "
            "webhooks=off polls instead of registering a webhook.",
        ),
    ] = None,
    oauth: Annotated[
        bool, typer.Option("--oauth", help="Connect an OAuth vendor through its consent page.")
    ] = False,
    open_browser: Annotated[bool, typer.Option("--open", help="With --oauth: open it.")] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a connection; asks for every missing field, secrets with hidden input."""
    if oauth:
        # --set carries what consent needs first (BambooHR: --set subdomain=acme).
        add_oauth_connection(
            operator_url(url),
            vendor,
            display_name=name or vendor,
            options=_parse_pairs(values or []),
            wait=ConsentWait(open_browser=open_browser),
        )
        return
    spec = CREDENTIAL_SPECS.get(vendor)
    if spec is None:
        known = ", ".join(sorted(CREDENTIAL_SPECS))
        msg = f"{vendor!r} has no key/password credentials (known: {known}); OAuth: add --oauth"
        raise fail(msg, EXIT_REFUSED)
    given = _parse_pairs(values or [])
    # Secrets on the command line end up in shell history and `ps`; only prompts take them.
    passed_secrets = sorted(spec.secret_names & set(given))
    if passed_secrets:
        msg = f"{', '.join(passed_secrets)} is secret: leave it out and type it at the prompt"
        raise fail(msg, EXIT_REFUSED)
    client = OperatorClient(url)
    # --set names that are not credential fields are connection options (webhooks=off).
    field_names = {f.name for f in spec.fields}
    credentials = {k: v for k, v in given.items() if k in field_names}
    options = {k: v for k, v in given.items() if k not in field_names}
    for field in spec.fields:
        if field.name in credentials:
            continue
        label = f"{field.name} ({field.description})" if field.description else field.name
        answer = typer.prompt(
            label,
            hide_input=field.secret,
            default=None if field.required else "",
            show_default=False,
        )
        if answer or field.required:
            credentials[field.name] = str(answer)
    created = client.call(
        "POST",
        "/connections",
        {
            "vendor": vendor,
            "display_name": name or vendor,
            "credentials": credentials,
            "options": options,
        },
    )
    if as_json:
        echo_json(created)
    else:
        typer.echo(f"added {created['vendor']} connection {created['id']}")


@connections_app.command("reconnect")
def reconnect_connection_command(
    connection_id: str,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the consent URL.")] = False,
    url: UrlOption = None,
) -> None:
    """A new consent for an OAuth connection whose token was revoked or refused (status
    broken), or that needs more scopes: the same connection, its links and settings kept.

    Consent to the same account: another one is refused. Then replay what was
    dead-lettered meanwhile (``mlc replay``).
    """
    reconnect_oauth_connection(
        operator_url(url), connection_id, wait=ConsentWait(open_browser=open_browser)
    )


@connections_app.command("ping")
def ping_connection_command(connection_id: str, url: UrlOption = None) -> None:
    """One real read call against the vendor: ok, or why not and what to do."""
    ok, line = ping_connection(operator_url(url), connection_id)
    if not ok:
        raise fail(line, EXIT_FAILED)
    typer.echo(line)


@connections_app.command("sync")
def sync_connection_command(
    connection_id: str,
    url: UrlOption = None,
    as_json: JsonOption = False,
    full: Annotated[
        bool, typer.Option("--full", help="Resend every record, unchanged ones too.")
    ] = False,
) -> None:
    """Reconcile a connection now: a ReconcileTick on raw.<vendor> (starts a backfill)."""
    path = f"/connections/{connection_id}/sync" + ("?full=true" if full else "")
    sent = OperatorClient(url).call("POST", path)
    if as_json:
        echo_json(sent)
        return
    kind = "full resend" if sent["full"] else "sync"
    typer.echo(f"{kind} requested: tick {sent['event_id']} on {sent['topic']}")


@connections_app.command("webhooks")
def register_webhooks_command(
    connection_id: str, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """Register the connection's webhook anew at MLC_PUBLIC_URL (after a failure or a move).

    The old registration is deleted at the vendor first; once the new one is in place the
    poll schedule a failed registration added is dropped. Exits 1 if the vendor refused.
    """
    shown = OperatorClient(url).call("POST", f"/connections/{connection_id}/webhooks")
    if as_json:
        echo_json(shown)
    webhook = shown.get("webhook") or {}
    state = webhook.get("state", "unknown")
    if not as_json:
        ids = ", ".join(webhook.get("ids") or []) or "-"
        reason = f" ({webhook['reason']})" if webhook.get("reason") else ""
        typer.echo(f"webhook: {state}{reason}; ids: {ids}; url: {webhook.get('url', '-')}")
        polls = [s.get("name") for s in shown.get("schedules") or [] if s.get("kind") == "poll"]
        typer.echo(f"polls: {', '.join(polls) if polls else 'none'}")
    if state == "failed":
        raise typer.Exit(EXIT_FAILED)


@connections_app.command("list")
def list_connections(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """List connections."""
    listed = OperatorClient(url).call("GET", "/connections")
    if as_json:
        echo_json(listed)
        return
    rows = [
        [c["id"], c["vendor"], c["display_name"], c["status"], c["created_at"]]
        for c in listed["connections"]
    ]
    print_table(["id", "vendor", "name", "status", "created"], rows)


@connections_app.command("show")
def show_connection(connection_id: str, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Show one connection; secret fields are masked."""
    shown = OperatorClient(url).call("GET", f"/connections/{connection_id}")
    if as_json:
        echo_json(shown)
        return
    for key in ("id", "vendor", "display_name", "tenant_id", "status", "created_at"):
        typer.echo(f"{key}: {shown[key]}")
    for field, value in shown["credentials"].items():
        typer.echo(f"  {field}: {value}")
    webhook = shown.get("webhook") or {}
    if webhook:
        ids = ", ".join(webhook.get("ids") or []) or "-"
        reason = f" ({webhook['reason']})" if webhook.get("reason") else ""
        typer.echo(f"webhook: {webhook.get('state')}{reason}; ids: {ids}")
    for schedule in shown.get("schedules") or []:
        typer.echo(f"schedule: {schedule.get('name')} every {schedule.get('every_seconds')}s")


@connections_app.command("remove")
def remove_connection(
    connection_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    url: UrlOption = None,
) -> None:
    """Remove a connection and its credentials (refused while links use it)."""
    client = OperatorClient(url)
    if not yes:
        typer.confirm(f"Remove connection {connection_id} and its credentials?", abort=True)
    client.call("DELETE", f"/connections/{connection_id}")
    typer.echo(f"removed connection {connection_id}")
