"""A service's replay worker must run exactly the sinks its plugin declares: the control plane
splits a link's replay by those, so a sink wired but not declared (or the other way) would
leave a part nobody runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from schemas.people import EmployeeChanged
from services.runtime.link_replays import ReplayInput, replay_worker
from services.runtime.outcomes import Outcomes, WriteResult
from services.runtime.service_main import ServiceParts
from services.runtime.settings import RuntimeSettings
from services.runtime.store import LinkRecord, StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from services.runtime.vendor_plugin import FlowSink, VendorPlugin


class NoSink:
    def accepts(self, event: Any, link: LinkRecord) -> bool:
        return True

    async def apply(self, event: Any, link: LinkRecord) -> WriteResult:
        return WriteResult("unchanged", "compare")

    async def preview(self, event: Any, link: LinkRecord) -> WriteResult:
        return WriteResult("unchanged", "compare")


async def _outcome(event: Any, *, cause: Any) -> None:
    return None


async def test_a_sink_wired_but_not_declared_stops_the_service_at_start(tmp_path: Path) -> None:
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    try:
        parts = ServiceParts(
            settings=RuntimeSettings(replay_poll_seconds=0.2, replay_hold_seconds=5),
            broker=KafkaBroker(),
            store=store,
            vault=Vault.from_text(generate_key_ring_entry("k1")),
        )
        plugin = VendorPlugin(name="acme", sinks=(FlowSink("people-acme", "people.employee"),))
        outcomes = Outcomes(_outcome, service="acme")
        employees = ReplayInput("people-acme", "people.employee", (EmployeeChanged,), NoSink())
        worker = replay_worker(parts, outcomes, plugin, holder="h", inputs=[employees])
        assert await worker.run_once() is False  # wired as declared: nothing to run yet

        extra = ReplayInput("people-acme", "people.department", (EmployeeChanged,), NoSink())
        with pytest.raises(ValueError, match=r"declares sinks .* but the service wires"):
            replay_worker(parts, outcomes, plugin, holder="h", inputs=[employees, extra])
        with pytest.raises(ValueError, match="acme"):
            replay_worker(parts, outcomes, plugin, holder="h", inputs=[])
    finally:
        await store.close()
