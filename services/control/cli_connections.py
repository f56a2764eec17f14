"""``mlc connections``, ``mlc links`` and ``mlc status``: the operator API from the shell.

The commands talk to a running control plane over HTTP (``MLC_OPERATOR_URL``, by
default ``MLC_PUBLIC_URL``) with ``MLC_OPERATOR_TOKEN``; the service holds the vault,
so the CLI never reads stored secrets. ``connections add`` prompts for each secret
field with hidden input. Tables are for people; ``--json`` prints the API's JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Annotated, Any

import httpx
import typer

from services.control.cli_oauth import add_oauth_connection, ping_connection
from services.control.connections import CREDENTIAL_SPECS, FLOWS

__all__ = [
    "DEFAULT_OPERATOR_URL",
    "OperatorClient",
    "connections_app",
    "links_app",
    "operator_url",
    "status_command",
]

DEFAULT_OPERATOR_URL = "http://127.0.0.1:8080"
EXIT_FAILED = 1
EXIT_REFUSED = 2

connections_app = typer.Typer(help="Vendor accounts (via the operator API).", no_args_is_help=True)
links_app = typer.Typer(help="Flows between connections.", no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="MLC_OPERATOR_URL",
        help="Ingest service base URL (default: MLC_PUBLIC_URL, then http://127.0.0.1:8080).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def operator_url(given: str | None) -> str:
    """``--url``/``MLC_OPERATOR_URL``, else ``MLC_PUBLIC_URL``, else the local default."""
    return (given or os.environ.get("MLC_PUBLIC_URL") or DEFAULT_OPERATOR_URL).rstrip("/")


def _fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    typer.echo(f"mlc: {message}", err=True)
    return typer.Exit(code)


class OperatorClient:
    """A small client of ``/api/v1`` that turns failures into messages saying what to do."""

    def __init__(self, url: str | None) -> None:
        self.url = operator_url(url)
        token = os.environ.get("MLC_OPERATOR_TOKEN", "")
        if not token:
            msg = "MLC_OPERATOR_TOKEN is not set: export the control plane's operator token"
            raise _fail(msg, EXIT_REFUSED)
        self._headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:  # noqa: ANN401 - JSON
        try:
            response = httpx.request(
                method,
                f"{self.url}/api/v1{path}",
                json=body,
                headers=self._headers,
                timeout=30.0,
            )
        except httpx.TransportError:
            msg = (
                f"cannot reach the control plane at {self.url}: "
                "start it with `python -m services.control` or set MLC_OPERATOR_URL"
            )
            raise _fail(msg) from None
        if response.status_code == 401:
            msg = f"{self.url} refused the operator token: set MLC_OPERATOR_TOKEN to its token"
            raise _fail(msg, EXIT_REFUSED)
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("error", response.text))
            except ValueError:
                detail = response.text
            raise _fail(f"{detail} (HTTP {response.status_code})")
        return None if response.status_code == 204 else response.json()


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _echo_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _parse_pairs(pairs: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise _fail(f"--set wants FIELD=VALUE, got {pair!r}", EXIT_REFUSED)
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
            open_browser=open_browser,
        )
        return
    spec = CREDENTIAL_SPECS.get(vendor)
    if spec is None:
        known = ", ".join(sorted(CREDENTIAL_SPECS))
        msg = f"{vendor!r} has no key/password credentials (known: {known}); OAuth: add --oauth"
        raise _fail(msg, EXIT_REFUSED)
    given = _parse_pairs(values or [])
    # Secrets on the command line end up in shell history and `ps`; only prompts take them.
    passed_secrets = sorted(spec.secret_names & set(given))
    if passed_secrets:
        msg = f"{', '.join(passed_secrets)} is secret: leave it out and type it at the prompt"
        raise _fail(msg, EXIT_REFUSED)
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
        _echo_json(created)
    else:
        typer.echo(f"added {created['vendor']} connection {created['id']}")


@connections_app.command("ping")
def ping_connection_command(connection_id: str, url: UrlOption = None) -> None:
    """One real read call against the vendor: ok, or why not and what to do."""
    ok, line = ping_connection(operator_url(url), connection_id)
    if not ok:
        raise _fail(line)
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
        _echo_json(sent)
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
        _echo_json(shown)
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
        _echo_json(listed)
        return
    rows = [
        [c["id"], c["vendor"], c["display_name"], c["status"], c["created_at"]]
        for c in listed["connections"]
    ]
    typer.echo(_table(["id", "vendor", "name", "status", "created"], rows))


@connections_app.command("show")
def show_connection(connection_id: str, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Show one connection; secret fields are masked."""
    shown = OperatorClient(url).call("GET", f"/connections/{connection_id}")
    if as_json:
        _echo_json(shown)
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
    try:
        parsed = json.loads(options)
    except json.JSONDecodeError as exc:
        raise _fail(f"--options is not JSON: {exc}", EXIT_REFUSED) from None
    if not isinstance(parsed, dict):
        raise _fail("--options must be a JSON object, e.g. '{\"dry_run\": true}'", EXIT_REFUSED)
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
        _echo_json(created)
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
        _echo_json(listed)
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
    typer.echo(_table(["id", "flow", "source", "target", "enabled", "options"], rows))


@links_app.command("remove")
def remove_link(link_id: str, url: UrlOption = None) -> None:
    """Remove a link (its mappings and cross-references go with it)."""
    OperatorClient(url).call("DELETE", f"/links/{link_id}")
    typer.echo(f"removed link {link_id}")


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def status_command(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Per link: last event, lag since its last sync outcome, failures and dead letters."""
    listed = OperatorClient(url).call("GET", "/status")
    if as_json:
        _echo_json(listed)
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
        ]
        for s in listed["links"]
    ]
    headers = ["link", "flow", "last event", "last action", "lag", "refused", "failed", "dlq"]
    typer.echo(_table(headers, rows))
    for problem in sorted({s["log_error"] for s in listed["links"] if s.get("log_error")}):
        typer.echo(f"note: {problem}; lag, failed and dlq are unknown")
