"""`python -m services.control`: the control plane on MLC_CONTROL_HOST:PORT."""

from __future__ import annotations

import asyncio
import sys

import services.lean_start  # noqa: F401  (first: before anything imports structlog)
from services.control.app import serve
from services.control.settings import ControlSettings
from services.runtime.ops_server import OpsPortError
from services.runtime.settings import SettingsError, load_settings
from services.runtime.store import StoreError
from services.runtime.vault import VaultError

# The configuration cannot be used; a supervisor should not restart in a loop.
EXIT_MISCONFIGURED = 2


def main() -> None:
    """Read the settings and serve; a bad setting exits 2 with the variable's name."""
    try:
        settings = load_settings(ControlSettings)
        asyncio.run(serve(settings))
    except (SettingsError, VaultError, StoreError, OpsPortError) as exc:
        print(f"services.control: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_MISCONFIGURED) from None


if __name__ == "__main__":
    main()
