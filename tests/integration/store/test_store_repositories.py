"""The state store contract: every repository behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError, StatementError

from services.runtime.store import (
    RecordNotFoundError,
    StaleRevisionError,
    StateStore,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _connection_pair(store: StateStore) -> tuple[str, str]:
    async with store.transaction() as tx:
        source = await tx.connections.create(
            vendor="source-vendor", tenant_id="acme", display_name="HR", now=T0
        )
        target = await tx.connections.create(
            vendor="target-vendor", tenant_id="acme", display_name="Books", now=T0
        )
    return source.id, target.id


async def _link(store: StateStore) -> str:
    source, target = await _connection_pair(store)
    async with store.transaction() as tx:
        link = await tx.links.create(
            source_connection_id=source, target_connection_id=target, flow="people", now=T0
        )
    return link.id


async def test_a_connection_is_created_read_listed_updated_and_deleted(store: StateStore) -> None:
    async with store.transaction() as tx:
        created = await tx.connections.create(
            vendor="v1",
            tenant_id="acme",
            display_name="Main account",
            settings={"region": "eu", "page_size": 50},
            connection_id="conn-1",
            now=T0,
        )
    async with store.transaction() as tx:
        assert await tx.connections.get("conn-1") == created
        assert [c.id for c in await tx.connections.list(vendor="v1")] == ["conn-1"]
        assert await tx.connections.list(vendor="other") == []
        updated = await tx.connections.update(
            "conn-1", status="needs_reauth", settings={"region": "us"}, now=T0 + timedelta(hours=1)
        )
    assert updated.status == "needs_reauth"
    assert updated.settings == {"region": "us"}
    assert updated.display_name == "Main account"
    assert updated.created_at == T0
    assert updated.updated_at == T0 + timedelta(hours=1)
    async with store.transaction() as tx:
        assert await tx.connections.delete("conn-1") is True
        assert await tx.connections.get("conn-1") is None
        assert await tx.connections.delete("conn-1") is False


async def test_updating_a_missing_connection_says_it_is_missing(store: StateStore) -> None:
    with pytest.raises(RecordNotFoundError, match="no connection 'absent'"):
        async with store.transaction() as tx:
            await tx.connections.update("absent", status="disabled")


async def test_times_come_back_timezone_aware_in_utc(store: StateStore) -> None:
    local = datetime(2026, 3, 1, 14, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    async with store.transaction() as tx:
        await tx.connections.create(
            vendor="v", tenant_id="t", display_name="d", connection_id="tz", now=local
        )
    async with store.transaction() as tx:
        record = await tx.connections.get("tz")
    assert record is not None
    assert record.created_at == local
    assert record.created_at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(store: StateStore) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with store.transaction() as tx:
            await tx.connections.create(
                vendor="v", tenant_id="t", display_name="d", now=datetime(2026, 1, 1)
            )


async def test_credentials_hold_vault_tokens_per_field(store: StateStore) -> None:
    source, _ = await _connection_pair(store)
    async with store.transaction() as tx:
        await tx.credentials.put(source, "refresh_token", token="v1:k1:aaa", key_id="k1", now=T0)
        await tx.credentials.put(source, "access_token", token="v1:k1:bbb", key_id="k1", now=T0)
        await tx.credentials.put(source, "refresh_token", token="v1:k2:ccc", key_id="k2", now=T0)
    async with store.transaction() as tx:
        refresh = await tx.credentials.get(source, "refresh_token")
        listed = await tx.credentials.list()
        assert await tx.credentials.get(source, "missing") is None
    assert refresh is not None
    assert (refresh.token, refresh.key_id) == ("v1:k2:ccc", "k2")
    assert [(c.field, c.token) for c in listed] == [
        ("access_token", "v1:k1:bbb"),
        ("refresh_token", "v1:k2:ccc"),
    ]


async def test_replacing_a_credential_refuses_when_it_changed_meanwhile(store: StateStore) -> None:
    source, _ = await _connection_pair(store)
    async with store.transaction() as tx:
        await tx.credentials.put(source, "api_key", token="v1:k1:old", key_id="k1")
    async with store.transaction() as tx:
        assert await tx.credentials.replace(
            source, "api_key", expected_token="v1:k1:old", token="v1:k2:new", key_id="k2"
        )
        assert not await tx.credentials.replace(
            source, "api_key", expected_token="v1:k1:old", token="v1:k2:newer", key_id="k2"
        )
    async with store.transaction() as tx:
        stored = await tx.credentials.get(source, "api_key")
    assert stored is not None
    assert stored.token == "v1:k2:new"


async def test_deleting_a_connection_deletes_its_credentials(store: StateStore) -> None:
    source, _ = await _connection_pair(store)
    async with store.transaction() as tx:
        await tx.credentials.put(source, "api_key", token="v1:k1:x", key_id="k1")
    async with store.transaction() as tx:
        await tx.connections.delete(source)
    async with store.transaction() as tx:
        assert await tx.credentials.list(connection_id=source) == []


async def test_a_link_between_missing_connections_is_refused(store: StateStore) -> None:
    with pytest.raises(IntegrityError):
        async with store.transaction() as tx:
            await tx.links.create(
                source_connection_id="nope", target_connection_id="nada", flow="people"
            )


async def test_links_are_listed_per_connection_and_can_be_disabled(store: StateStore) -> None:
    source, target = await _connection_pair(store)
    async with store.transaction() as tx:
        link = await tx.links.create(
            source_connection_id=source,
            target_connection_id=target,
            flow="people",
            options={"soft_delete": True},
            now=T0,
        )
    async with store.transaction() as tx:
        assert await tx.links.get(link.id) == link
        assert [x.id for x in await tx.links.list(connection_id=target)] == [link.id]
        disabled = await tx.links.update(link.id, enabled=False)
        assert await tx.links.list(connection_id=source, enabled_only=True) == []
    assert disabled.enabled is False
    assert disabled.options == {"soft_delete": True}


async def test_mappings_translate_values_per_link_and_kind(store: StateStore) -> None:
    link = await _link(store)
    async with store.transaction() as tx:
        await tx.mappings.put(link, "category", "Travel", "6100")
        await tx.mappings.put(link, "category", "Meals", "6200")
        await tx.mappings.put(link, "category", "Travel", "6110")
        await tx.mappings.put(link, "department", "Sales", "SLS")
    async with store.transaction() as tx:
        assert await tx.mappings.get(link, "category", "Travel") == "6110"
        assert await tx.mappings.get(link, "category", "Unknown") is None
        categories = await tx.mappings.list(link, kind="category")
        assert await tx.mappings.delete(link, "department", "Sales") is True
        assert [m.kind for m in await tx.mappings.list(link)] == ["category", "category"]
    assert [(m.source_value, m.target_value) for m in categories] == [
        ("Meals", "6200"),
        ("Travel", "6110"),
    ]


async def test_a_cross_reference_is_written_by_compare_and_set(store: StateStore) -> None:
    link = await _link(store)
    async with store.transaction() as tx:
        first = await tx.cross_references.put(
            link,
            "emp-7",
            "staff",
            target_id="501",
            expected_revision=None,
            fingerprint="f1",
            source_version="3",
            source_updated_at=T0,
        )
    async with store.transaction() as tx:
        second = await tx.cross_references.put(
            link, "emp-7", "staff", target_id="501", expected_revision=1, fingerprint="f2"
        )
        found = await tx.cross_references.find_by_target(link, "staff", "501")
    assert (first.revision, second.revision) == (1, 2)
    assert first.source_updated_at == T0
    assert second.fingerprint == "f2"
    assert found == second


async def test_a_cross_reference_write_with_a_stale_revision_is_refused(
    store: StateStore,
) -> None:
    link = await _link(store)
    async with store.transaction() as tx:
        await tx.cross_references.put(link, "emp-1", "staff", target_id="9", expected_revision=None)
        await tx.cross_references.put(link, "emp-1", "staff", target_id="9", expected_revision=1)
    with pytest.raises(StaleRevisionError, match="not at revision 1"):
        async with store.transaction() as tx:
            await tx.cross_references.put(
                link, "emp-1", "staff", target_id="10", expected_revision=1
            )
    with pytest.raises(StaleRevisionError, match="not at revision None"):
        async with store.transaction() as tx:
            await tx.cross_references.put(
                link, "emp-1", "staff", target_id="11", expected_revision=None
            )
    async with store.transaction() as tx:
        current = await tx.cross_references.get(link, "emp-1", "staff")
    assert current is not None
    assert (current.target_id, current.revision) == ("9", 2)


async def test_watermarks_are_kept_per_service_connection_and_name(store: StateStore) -> None:
    source, _ = await _connection_pair(store)
    async with store.transaction() as tx:
        assert await tx.watermarks.get("poller", source, "employees") is None
        await tx.watermarks.set("poller", source, "employees", "2026-03-01T00:00:00Z")
        await tx.watermarks.set("poller", source, "employees", "2026-03-02T00:00:00Z")
        await tx.watermarks.set("other", source, "employees", "7")
    async with store.transaction() as tx:
        assert await tx.watermarks.get("poller", source, "employees") == "2026-03-02T00:00:00Z"
        assert await tx.watermarks.get("other", source, "employees") == "7"


async def test_a_ledger_key_is_claimed_once_and_keeps_its_outcome(store: StateStore) -> None:
    async with store.transaction() as tx:
        assert await tx.ledger.claim("sink-a", "msg-1", now=T0) is True
        assert await tx.ledger.claim("sink-a", "msg-1") is False
        assert await tx.ledger.claim("sink-b", "msg-1") is True
        await tx.ledger.record_outcome("sink-a", "msg-1", "applied")
    async with store.transaction() as tx:
        entry = await tx.ledger.get("sink-a", "msg-1")
        with pytest.raises(RecordNotFoundError):
            await tx.ledger.record_outcome("sink-a", "never-claimed", "applied")
    assert entry is not None
    assert (entry.outcome, entry.created_at) == ("applied", T0)


async def test_a_claim_in_a_rolled_back_transaction_can_be_made_again(store: StateStore) -> None:
    class HandlerFailedError(Exception):
        pass

    async def handle_and_fail() -> None:
        async with store.transaction() as tx:
            assert await tx.ledger.claim("sink", "msg-9") is True
            raise HandlerFailedError

    with pytest.raises(HandlerFailedError):
        await handle_and_fail()
    async with store.transaction() as tx:
        assert await tx.ledger.claim("sink", "msg-9") is True


async def test_old_ledger_claims_are_pruned(store: StateStore) -> None:
    async with store.transaction() as tx:
        await tx.ledger.claim("sink", "old", now=T0)
        await tx.ledger.claim("sink", "new", now=T0 + timedelta(days=30))
        assert await tx.ledger.prune("sink", older_than=T0 + timedelta(days=7)) == 1
        assert await tx.ledger.get("sink", "old") is None
        assert await tx.ledger.get("sink", "new") is not None


async def test_a_held_lease_is_refused_to_others_until_it_expires(store: StateStore) -> None:
    ttl = timedelta(seconds=30)
    async with store.transaction() as tx:
        assert await tx.leases.try_acquire("tick:poll", "replica-a", ttl=ttl, now=T0)
        assert not await tx.leases.try_acquire("tick:poll", "replica-b", ttl=ttl, now=T0)
        assert await tx.leases.try_acquire(
            "tick:poll", "replica-a", ttl=ttl, now=T0 + timedelta(seconds=5)
        )
        assert not await tx.leases.try_acquire(
            "tick:poll", "replica-b", ttl=ttl, now=T0 + timedelta(seconds=34)
        )
        assert await tx.leases.try_acquire(
            "tick:poll", "replica-b", ttl=ttl, now=T0 + timedelta(seconds=35)
        )
        lease = await tx.leases.get("tick:poll")
    assert lease is not None
    assert (lease.holder, lease.expires_at) == ("replica-b", T0 + timedelta(seconds=65))


async def test_a_lease_is_renewed_only_by_its_live_holder_and_released_by_it(
    store: StateStore,
) -> None:
    ttl = timedelta(seconds=30)
    async with store.transaction() as tx:
        await tx.leases.try_acquire("tick", "a", ttl=ttl, now=T0)
        assert await tx.leases.renew("tick", "a", ttl=ttl, now=T0 + timedelta(seconds=20))
        assert not await tx.leases.renew("tick", "b", ttl=ttl, now=T0 + timedelta(seconds=20))
        assert not await tx.leases.renew("tick", "a", ttl=ttl, now=T0 + timedelta(seconds=51))
        assert not await tx.leases.release("tick", "b")
        assert await tx.leases.release("tick", "a")
        assert await tx.leases.get("tick") is None
        assert await tx.leases.try_acquire("tick", "b", ttl=ttl, now=T0 + timedelta(seconds=21))


async def test_review_items_are_queued_listed_and_resolved_once(store: StateStore) -> None:
    link = await _link(store)
    async with store.transaction() as tx:
        first = await tx.review_queue.add(
            service="expenses",
            link_id=link,
            reason="no mapping for category 'Gifts'",
            payload={"category": "Gifts", "report": "R1"},
            now=T0,
        )
        second = await tx.review_queue.add(service="expenses", reason="other", payload={})
    async with store.transaction() as tx:
        assert [i.id for i in await tx.review_queue.list()] == [first.id, second.id]
        assert [i.id for i in await tx.review_queue.list(link_id=link)] == [first.id]
        assert await tx.review_queue.resolve(first.id, resolution="mapped to 6300")
        assert not await tx.review_queue.resolve(first.id, status="dismissed")
        assert await tx.review_queue.count_open() == 1
        resolved = await tx.review_queue.get(first.id)
    assert resolved is not None
    assert (resolved.status, resolved.resolution) == ("resolved", "mapped to 6300")
    assert resolved.payload == {"category": "Gifts", "report": "R1"}
    assert resolved.resolved_at is not None


async def test_the_audit_log_lists_newest_first_in_pages(store: StateStore) -> None:
    async with store.transaction() as tx:
        for n in range(5):
            await tx.audit_log.append(
                actor="operator",
                action="connection.updated",
                subject="conn-1" if n % 2 == 0 else "conn-2",
                detail={"n": n},
                now=T0 + timedelta(minutes=n),
            )
    async with store.transaction() as tx:
        page_one = await tx.audit_log.list(limit=2)
        page_two = await tx.audit_log.list(limit=2, before_id=page_one[-1].id)
        for_conn_1 = await tx.audit_log.list(subject="conn-1")
    assert [e.detail["n"] for e in page_one] == [4, 3]
    assert [e.detail["n"] for e in page_two] == [2, 1]
    assert [e.detail["n"] for e in for_conn_1] == [4, 2, 0]
    assert page_one[0].at == T0 + timedelta(minutes=4)
