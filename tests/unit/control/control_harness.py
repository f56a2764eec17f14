"""The control plane's app as ``python -m services.control`` builds it, over a test store."""

from __future__ import annotations

from starlette.applications import Starlette

from services.control.app import ControlParts, build_app
from services.control.settings import ControlSettings
from services.runtime.bus import create_broker
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry


def control_settings(**overrides: object) -> ControlSettings:
    values: dict[str, object] = {
        "database_url": "sqlite+aiosqlite:///unused.db",
        "kafka_bootstrap_servers": "127.0.0.1:1",
        **overrides,
    }
    return ControlSettings.model_validate(values)


def served_control_app(store: StateStore, *, token: str | None) -> Starlette:
    """The control app with every route it serves; no lifespan runs under ASGITransport, so
    the broker (pointed at a closed port) is never started."""
    settings = control_settings(operator_token=token)
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    parts = ControlParts(
        settings=settings, store=store, vault=vault, broker=create_broker(settings)
    )
    return build_app(parts)


control_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test
