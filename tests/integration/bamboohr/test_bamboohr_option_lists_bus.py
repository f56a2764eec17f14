"""The bamboohr service as ``app.wire`` builds it, over real Kafka: the list sink's own
subscriber on ``people.department`` writes the other side's new option into BambooHR, and
leaves the lists its own source publishes on that topic alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from sandboxes.bamboohr.app import BambooHRSandbox
from sandboxes.kit import build_app, serve, wait_until
from schemas.envelope import utcnow
from schemas.outcomes import SyncOutcome
from schemas.people import DepartmentChanged
from schemas.raw import ReconcileTick
from services.bamboohr.app import wire
from services.bamboohr.settings import BambooHRServiceSettings
from services.bamboohr.source import SourceTopics
from services.runtime.audit_trail import read_chain
from services.runtime.bus import create_broker
from services.runtime.publishing import publish
from services.runtime.service_main import ServiceParts
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry
from tests.integration.bamboohr.bamboohr_source_rig import (
    TopicMaker,
    add_connection,
    bamboohr_settings,
)

LIST_OPTIONS_IN_SEED = 39  # 8 departments, 2 divisions, 29 job titles


async def test_the_service_writes_the_other_sides_new_option_and_skips_its_own_lists(
    kafka_bootstrap: str,
    kafka_topic: TopicMaker,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    topics = SourceTopics(
        raw=await kafka_topic("raw.bamboohr"),
        employees=await kafka_topic("people.employee"),
        departments=await kafka_topic("people.department"),
    )
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    vault = Vault.from_text(generate_key_ring_entry("k1"))
    try:
        async with (
            serve(build_app(BambooHRSandbox())) as server,
            httpx.AsyncClient(base_url=server.base_url) as control,
        ):
            creds = (await control.post("/_sandbox/credentials")).json()
            settings = bamboohr_settings(server.base_url, creds)
            bamboohr_id = await add_connection(
                store=store,
                vault=vault,
                control=control,
                settings=settings,
                style="api_key",
                token_expires_at=None,
                access_token=None,
            )
            async with store.transaction() as repos:
                books = await repos.connections.create(
                    vendor="zoho", tenant_id="default", display_name="Acme Books EU"
                )
                link = await repos.links.create(
                    source_connection_id=bamboohr_id,
                    target_connection_id=books.id,
                    flow="people-zoho",
                )

            runtime = BambooHRServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
            broker = create_broker(runtime)
            await wire(
                ServiceParts(settings=runtime, broker=broker, store=store, vault=vault),
                vendor_settings=settings,
                topics=topics,
                group_id=unique_name("bamboohr"),
            )
            await broker.start()
            try:
                # BambooHR's own lists land on the topic the sink reads: first in its queue.
                due = utcnow().isoformat()
                tick = await publish(
                    broker,
                    ReconcileTick(
                        connection_id=bamboohr_id,
                        occurred_at=utcnow(),
                        entity_key=f"reconcile:{due}",
                        vendor="bamboohr",
                        schedule="reconcile",
                        due_at=due,
                    ),
                    topic=topics.raw,
                )

                async def own_lists() -> list[dict[str, Any]] | None:
                    chain = await read_chain(
                        kafka_bootstrap, str(tick.event_id), topics=[topics.departments]
                    )
                    return [e.event for e in chain] if len(chain) >= LIST_OPTIONS_IN_SEED else None

                await wait_until(own_lists, timeout_seconds=60, message="BambooHR's own lists")

                asked = await publish(
                    broker,
                    DepartmentChanged(
                        connection_id=books.id,
                        occurred_at=utcnow(),
                        source_updated_at=utcnow(),
                        kind="department",
                        unit_id="tag-option-12",
                        name="Cost Centre 12",
                        active=True,
                    ),
                    topic=topics.departments,
                )

                async def outcome() -> dict[str, Any] | None:
                    chain = await read_chain(
                        kafka_bootstrap, str(asked.event_id), topics=[SyncOutcome.topic_name]
                    )
                    found = [e.event for e in chain if e.event["type"] == "SyncOutcome"]
                    return found[0] if found else None

                written = await wait_until(
                    outcome, timeout_seconds=60, message="the list sink's outcome"
                )
                lists = (await control.get("/_sandbox/state/lists")).json()
                departments = next(f for f in lists if f.get("alias") == "department")
                names = [o["name"] for o in departments["options"]]
                # One partition: BambooHR's own list events were handled before this one.
                own_outcomes = await read_chain(
                    kafka_bootstrap, str(tick.event_id), topics=[SyncOutcome.topic_name]
                )
            finally:
                await broker.stop()
    finally:
        await store.close()

    assert (written["status"], written["operation"]) == ("applied", "add_option")
    assert written["causation_id"] == str(asked.event_id)
    assert written["service"] == "bamboohr"
    assert written["link_id"] == link.id
    assert written["target_connection_id"] == bamboohr_id
    assert names.count("Cost Centre 12") == 1
    assert own_outcomes == []  # its own source's lists are never written back
