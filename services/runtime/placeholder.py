"""What a service that has no flow yet does when started: say so and stop.

A service folder exists before its flow is built (the layout is fixed up
front). Starting it must not pretend to work: it prints which issue builds it
and exits with status 3, so a supervisor does not mistake it for a running
service.
"""

from __future__ import annotations

import sys

__all__ = ["NOT_BUILT_EXIT_CODE", "exit_not_built"]

NOT_BUILT_EXIT_CODE = 3


def exit_not_built(service: str) -> None:
    """Print why this service has nothing to run yet, then exit."""
    module = sys.modules.get(f"services.{service}")
    what = (module.__doc__ or "").strip() if module else ""
    print(
        f"services.{service}: no handlers are built for this service yet.\n"
        f"  {what}\n"
        "  Nothing is consumed or written; exiting.",
        file=sys.stderr,
    )
    raise SystemExit(NOT_BUILT_EXIT_CODE)
