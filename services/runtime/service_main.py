"""Run one consuming service as a process: open its parts, serve until a signal, close.

Every vendor service's ``__main__`` is ``run_service(SettingsClass, wire)``: the
runner loads the settings, configures logging, opens the state store and the vault,
creates the broker (dead letters to ``dlq.<service>``), lets ``wire`` attach the
service's subscribers (and return background parts to run beside them), then waits
for SIGTERM/SIGINT, serving the ops port (/metrics, /livez, /readyz:
:mod:`services.runtime.observability`) all along. Closing the broker finishes the message
in hand and commits it before the process exits, so a clean stop loses and repeats
nothing. A store or vault that cannot be opened (say a store open to other users), or an
ops port that is taken, ends the process with status 2 and the reason on stderr.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass

from faststream.kafka import KafkaBroker

from services.runtime.bus import create_broker
from services.runtime.logging import configure_logging, get_logger
from services.runtime.observability import observed
from services.runtime.ops_server import OpsPortError
from services.runtime.settings import RuntimeSettings, SettingsError, load_settings
from services.runtime.store import StateStore, StoreError
from services.runtime.vault import Vault, VaultError

__all__ = ["ServiceParts", "Wiring", "run_service", "serve_until_stopped"]


@dataclass(frozen=True, slots=True)
class ServiceParts:
    """What a service's wiring receives; the runner owns their lifetimes."""

    settings: RuntimeSettings
    broker: KafkaBroker
    store: StateStore
    vault: Vault


# Attaches subscribers to ``parts.broker``; returns background parts (async context
# managers) entered after the broker started and exited before it stops.
Wiring = Callable[[ServiceParts], Awaitable[Sequence[AbstractAsyncContextManager[object]]]]


async def serve_until_stopped(
    settings: RuntimeSettings, wire: Wiring, *, stop: asyncio.Event | None = None
) -> None:
    """Open the parts from ``settings``, wire them, run until ``stop`` (or a signal) is set."""
    configure_logging(service=settings.service_name, level=settings.log_level)
    log = get_logger(__name__)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    vault = Vault.from_settings(settings)
    store = await StateStore.from_settings(settings)
    try:
        parts = ServiceParts(
            settings=settings, broker=create_broker(settings), store=store, vault=vault
        )
        background = await wire(parts)
        async with observed(settings, parts.broker, consumes=True):
            await parts.broker.start()
            try:
                async with AsyncExitStack() as stack:
                    for part in background:
                        await stack.enter_async_context(part)
                    log.info("service.started", service=settings.service_name)
                    await stop.wait()
            finally:
                await parts.broker.stop()
    finally:
        await store.close()
        log.info("service.stopped", service=settings.service_name)


def run_service(settings_class: type[RuntimeSettings], wire: Wiring) -> int:
    """Entry point for ``python -m services.<vendor>``; returns the exit status."""
    try:
        settings = load_settings(settings_class)
    except SettingsError as error:
        sys.stderr.write(f"{settings_class.__name__}: {error}\n")  # logging is not set up yet
        return 2
    try:
        asyncio.run(serve_until_stopped(settings, wire))
    except (SettingsError, VaultError, StoreError, OpsPortError) as error:
        # What cannot be opened (a store open to other users, a bad key ring) is the
        # operator's to fix; the message says how, a traceback would bury it.
        sys.stderr.write(f"{settings.service_name}: {error}\n")
        return 2
    return 0
