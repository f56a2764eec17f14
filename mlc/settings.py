"""The runtime's settings, for the commands that use the store, the vault or Kafka directly."""

from __future__ import annotations

from mlc.exits import EXIT_REFUSED, fail
from services.runtime.settings import RuntimeSettings, SettingsError, load_settings

__all__ = ["runtime_settings"]


def runtime_settings() -> RuntimeSettings:
    """``MLC_*`` as the services read them; a bad one exits 2 naming the variable."""
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc), EXIT_REFUSED) from None
