"""``mlc connections add <vendor> --oauth``, ``mlc connections reconnect`` and ``mlc
connections ping``, over HTTP.

The CLI never sees a token: the control plane holds the vault. ``add`` and ``reconnect``
ask it for a consent URL, print (or open) it and poll the connection's status until the
callback has completed or the deadline passes; ``ping`` asks the service for a verdict.
"""

from __future__ import annotations

import os
import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import httpx
import typer

__all__ = [
    "WAIT_TEN_MINUTES",
    "ConsentWait",
    "add_oauth_connection",
    "ping_connection",
    "reconnect_oauth_connection",
]


def _operator(ingest_url: str, token: str | None, timeout: float) -> httpx.Client:
    """A client of the control plane's ``/api/v1`` with the operator token."""
    token = token or os.environ.get("MLC_OPERATOR_TOKEN", "")
    if not token:
        typer.echo("mlc: MLC_OPERATOR_TOKEN is not set: export the control plane's operator token")
        raise typer.Exit(2)
    return httpx.Client(
        base_url=f"{ingest_url.rstrip('/')}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
    )


def _refused(answer: httpx.Response) -> str | None:
    """What went wrong in words, or None for a 2xx."""
    if answer.is_success:
        return None
    try:
        detail = str(answer.json().get("error", answer.text))
    except ValueError:
        detail = answer.text
    return f"{detail} (HTTP {answer.status_code})"


@dataclass(frozen=True, slots=True)
class ConsentWait:
    """How the CLI waits for a person to consent at the vendor."""

    open_browser: bool = False
    """Open the consent URL in this machine's browser (it is printed either way)."""
    timeout_seconds: float = 600.0
    poll_seconds: float = 1.0
    echo: Callable[[str], None] = typer.echo


WAIT_TEN_MINUTES: Final = ConsentWait()


def add_oauth_connection(
    ingest_url: str,
    vendor: str,
    *,
    operator_token: str | None = None,
    display_name: str,
    options: Mapping[str, str] | None = None,
    wait: ConsentWait = WAIT_TEN_MINUTES,
) -> str:
    """Start consent and wait for it; the connection id, or raises ``typer.Exit(1)``."""
    with _operator(ingest_url, operator_token, 10.0) as http:
        started = http.post(
            f"/oauth/{vendor}/start",
            json={"display_name": display_name, "options": dict(options or {})},
        )
        return _consented(http, started, f"connect {vendor}", wait)


def reconnect_oauth_connection(
    ingest_url: str,
    connection_id: str,
    *,
    operator_token: str | None = None,
    wait: ConsentWait = WAIT_TEN_MINUTES,
) -> str:
    """A new consent for an existing connection (its links kept); waits like ``add``."""
    with _operator(ingest_url, operator_token, 10.0) as http:
        started = http.post(f"/connections/{connection_id}/reconnect")
        return _consented(http, started, f"reconnect {connection_id}", wait)


def _consented(http: httpx.Client, started: httpx.Response, what: str, wait: ConsentWait) -> str:
    """Show the consent URL ``started`` answered and wait until the connection is active."""
    echo = wait.echo
    problem = _refused(started)
    if problem is not None:
        echo(f"mlc: {problem}")
        raise typer.Exit(1)
    connection_id = str(started.json()["connection_id"])
    url = str(started.json()["consent_url"])
    echo(f"Open this URL to {what}:\n{url}")
    if wait.open_browser:
        webbrowser.open(url)
    deadline = time.monotonic() + wait.timeout_seconds
    while time.monotonic() < deadline:
        polled = http.get(f"/oauth/connections/{connection_id}")
        problem = _refused(polled)
        if problem is not None:
            echo(f"mlc: {problem}")
            raise typer.Exit(1)
        if polled.json().get("refused"):
            echo(f"mlc: the consent was refused: {polled.json()['refused']}")
            raise typer.Exit(1)
        if polled.json().get("status") == "active":
            echo(f"connected: {connection_id}")
            return connection_id
        time.sleep(wait.poll_seconds)  # poll
    echo(f"mlc: consent for {connection_id} did not complete in {wait.timeout_seconds:.0f}s")
    raise typer.Exit(1)


def ping_connection(
    ingest_url: str, connection_id: str, *, operator_token: str | None = None
) -> tuple[bool, str]:
    """The service's verdict as ``(ok, one line for the operator)``."""
    with _operator(ingest_url, operator_token, 60.0) as http:
        response = http.post(f"/connections/{connection_id}/ping")
    problem = _refused(response)
    if problem is not None:
        return False, f"failed: {problem}"
    answer = response.json()
    line = f"{'ok' if answer['ok'] else 'failed'}: {answer['detail']}"
    if answer.get("action"):
        line += f" — {answer['action']}"
    return bool(answer["ok"]), line
