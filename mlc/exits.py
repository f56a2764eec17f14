"""``mlc``'s exit codes, and how a command fails: one ``mlc: ...`` line on stderr."""

from __future__ import annotations

import typer

__all__ = ["EXIT_FAILED", "EXIT_REFUSED", "fail", "kafka_unavailable"]

# The service refused, something (control plane, store, Kafka) cannot be reached, or
# nothing was found.
EXIT_FAILED = 1
# The input, the configuration, the token or the key ring cannot do what was asked;
# nothing was changed.
EXIT_REFUSED = 2


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print ``mlc: <message>`` on stderr; the caller raises what this returns."""
    typer.echo(f"mlc: {message}", err=True)
    return typer.Exit(code)


def kafka_unavailable(bootstrap_servers: str, exc: Exception) -> typer.Exit:
    """The failure of a command that reads or writes the log directly."""
    return fail(
        f"cannot use Kafka at {bootstrap_servers} (MLC_KAFKA_BOOTSTRAP_SERVERS): {exc}",
        EXIT_FAILED,
    )
