"""The ``mlc`` command: its command groups put together, and the console entry point."""

from __future__ import annotations

import typer

from mlc.audit import audit_command
from mlc.connections import connections_app
from mlc.links import links_app
from mlc.mappings import mappings_app
from mlc.replay import replay_command
from mlc.review import review_app
from mlc.status import status_command
from mlc.store import store_app
from mlc.topics import topics_app
from mlc.vault import vault_app

__all__ = ["app", "main"]

app = typer.Typer(name="mlc", help="ml-connector operator commands.", no_args_is_help=True)
app.add_typer(vault_app, name="vault")
app.add_typer(store_app, name="store")
app.add_typer(topics_app, name="topics")
app.add_typer(connections_app, name="connections")
app.add_typer(links_app, name="links")
app.add_typer(review_app, name="review")
app.add_typer(mappings_app, name="mappings")
app.command("status")(status_command)
app.command("audit")(audit_command)
app.command("replay")(replay_command)


def main() -> None:
    """Console entry point (``mlc``, ``python -m mlc``)."""
    app()
