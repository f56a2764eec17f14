"""The environment of each process the local stack starts: the caller's settings, passed on.

Every ``MLC_*`` variable of the environment ``make up`` or ``make demo`` ran in reaches
every process it starts (``MLC_FRESHBOOKS_REQUESTS_PER_SECOND=50 make up`` is the
freshbooks service's budget), except where the stack must decide, because the parts
only work together on its values. Those the stack sets, and they win:

- where the parts meet: ``MLC_KAFKA_BOOTSTRAP_SERVERS`` (the stack's broker, or the one
  the caller named with it or ``KAFKA_BOOTSTRAP_SERVERS``), ``MLC_DATABASE_URL`` (the
  run dir's store), ``MLC_MASTER_KEYS_FILE`` (the run dir's key ring; a caller's
  ``MLC_MASTER_KEYS`` is dropped, as it would win over the file),
  ``MLC_PUBLIC_URL``, ``MLC_INGEST_HOST``, ``MLC_INGEST_PORT`` (and ``MLC_CONTROL_HOST``,
  ``MLC_CONTROL_PORT`` when the control plane runs in a process of its own);
- per process: ``MLC_SERVICE_NAME``; the server's (the edge's and the control plane's)
  ``MLC_OPERATOR_TOKEN`` (the run dir's; no other process gets a caller's) and the
  edge's ``MLC_SCHEDULER_ENABLED`` (the demo backfills when it says so);
- what each vendor's plugin points at its sandbox (``sandbox_settings``: hosts, the test
  app's client id, secret and redirect URI), for every vendor with a sandbox running.

Everything else of the OS environment (``PATH``, ``HOME``, ...) passes unchanged;
``KAFKA_BOOTSTRAP_SERVERS`` is not passed, since the services read it as
``MLC_KAFKA_BOOTSTRAP_SERVERS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["DROPPED", "PREFIX", "caller_settings", "process_environment"]

PREFIX: Final = "MLC_"
# Caller's variables no process gets: each would override what the stack sets.
DROPPED: Final[frozenset[str]] = frozenset(
    {"MLC_MASTER_KEYS", "MLC_OPERATOR_TOKEN", "KAFKA_BOOTSTRAP_SERVERS"}
)


def caller_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's ``MLC_*`` settings the stack's processes inherit."""
    return {
        name: value
        for name, value in environ.items()
        if name.startswith(PREFIX) and name not in DROPPED
    }


def process_environment(
    os_environ: Mapping[str, str],
    settings: Mapping[str, str],
    stack: Mapping[str, str],
) -> dict[str, str]:
    """``os_environ`` without ml-connector settings, then the caller's ``settings``, then
    the ``stack``'s own values, each layer winning over the one before."""
    plain = {
        name: value
        for name, value in os_environ.items()
        if not name.startswith(PREFIX) and name not in DROPPED
    }
    return {**plain, **caller_settings(settings), **stack}
