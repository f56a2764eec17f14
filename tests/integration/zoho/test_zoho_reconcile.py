"""The contacts reconciliation against the Zoho Books sandbox: hand edits found and put back.

The sink writes through the real API; someone edits the contact in Zoho's UI (a sandbox
action); one run of the reconciliation compares and repairs, with one outcome per repair
and a summary per run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from schemas.envelope import utcnow
from schemas.raw import ReconcileTick
from services.runtime.store.records import LinkRecord
from services.zoho.reconcile import ContactsReconciliation, summary_key
from tests.integration.zoho.zoho_sink_harness import ZohoWorld, employee, zoho_world


def _tick(world: ZohoWorld) -> ReconcileTick:
    now = utcnow()
    return ReconcileTick(
        connection_id=world.zoho_connection_id,
        occurred_at=now,
        vendor="zoho",
        schedule="reconcile",
        due_at=now.isoformat(),
        entity_key="tick:reconcile",
    )


async def _link(world: ZohoWorld) -> LinkRecord:
    async with world.store.transaction() as repos:
        link = await repos.links.get(world.link_id)
    assert link is not None
    return link


async def _run(world: ZohoWorld, *, changed_since: datetime | None = None) -> str:
    """One reconciliation run; returns its summary outcome's detail."""
    access = world.access()
    reconciliation = ContactsReconciliation(
        store=world.store, settings=world.settings, outcomes=world.kept_outcomes(), holder="r1"
    )
    client = await access.client(world.zoho_connection_id)
    try:
        await reconciliation.run(
            await _link(world), client, cause=_tick(world), changed_since=changed_since
        )
    finally:
        await access.aclose()
    [*_, summary] = world.outcomes_for(summary_key(world.link_id))
    assert summary.status in ("applied", "failed")
    return summary.detail


async def _hand_edit(world: ZohoWorld, email: str, changes: dict[str, Any]) -> dict[str, Any]:
    [contact] = await world.contacts_with_email(email)
    await world.action("edit_contact", {"contact_id": contact["contact_id"], "changes": changes})
    return contact


async def test_an_email_edited_by_hand_is_put_back_and_a_second_run_writes_nothing(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        await world.sink().employee_changed(employee(world, "21"))
        await world.sink().employee_changed(employee(world, "22"))
        email = "noor.21@consultancy.example"
        [contact] = await world.contacts_with_email(email)
        [person] = contact["contact_persons"]
        await _hand_edit(
            world,
            email,
            {
                "notes": "edited by finance",
                "contact_persons": [
                    {"contact_person_id": person["contact_person_id"], "email": "noor@home.example"}
                ],
            },
        )
        assert await world.contacts_with_email(email) == []

        assert await _run(world) == "2 checked, 1 repaired, 0 failed"

        [repaired] = await world.contacts_with_email(email)
        assert repaired["contact_id"] == contact["contact_id"]
        assert repaired["notes"] == "edited by finance"  # not a field we own
        [repair] = [o for o in world.outcomes_for("21") if "repair_contact" in o.operation]
        assert repair.status == "applied"
        assert "update_contact_person" in repair.operation

        await world.sandbox.delete("/_sandbox/requests")
        assert await _run(world) == "2 checked, 0 repaired, 0 failed"
        assert await world.writes() == []


async def test_a_status_flipped_by_hand_is_flipped_back(tmp_path: Path) -> None:
    async with zoho_world(tmp_path) as world:
        await world.sink().employee_changed(employee(world, "23"))
        [contact] = await world.contacts_with_email("noor.23@consultancy.example")
        await world.action("mark_inactive", {"contact_id": contact["contact_id"]})

        assert await _run(world) == "1 checked, 1 repaired, 0 failed"

        [again] = await world.contacts_with_email("noor.23@consultancy.example")
        assert again["status"] == "active"
        [repair] = [o for o in world.outcomes_for("23") if "repair_contact" in o.operation]
        assert "mark_active" in repair.operation


async def test_an_edit_of_fields_we_do_not_own_is_not_a_repair(tmp_path: Path) -> None:
    async with zoho_world(tmp_path) as world:
        await world.sink().employee_changed(employee(world, "24"))
        await _hand_edit(world, "noor.24@consultancy.example", {"notes": "VIP", "website": "x.io"})
        await world.sandbox.delete("/_sandbox/requests")

        assert await _run(world) == "1 checked, 0 repaired, 0 failed"
        assert await world.writes() == []
        [contact] = await world.contacts_with_email("noor.24@consultancy.example")
        assert contact["notes"] == "VIP"


async def test_a_contact_deleted_by_hand_needs_review_and_the_run_counts_it_failed(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        await world.sink().employee_changed(employee(world, "25"))
        [contact] = await world.contacts_with_email("noor.25@consultancy.example")
        await world.action("delete_contact", {"contact_id": contact["contact_id"]})

        assert await _run(world) == "1 checked, 0 repaired, 1 failed"
        [review] = [o for o in world.outcomes_for("25") if o.status == "needs_review"]
        assert "no longer in Zoho Books" in review.detail


async def test_a_webhooks_check_reads_only_what_changed_since_the_last_check(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        await world.sink().employee_changed(employee(world, "26"))
        await world.sink().employee_changed(employee(world, "27"))
        await world.sandbox.post("/_sandbox/clock", json={"advance_seconds": 7200})
        clock = (await world.sandbox.get("/_sandbox/clock")).json()
        last_check = datetime.fromisoformat(str(clock["now"])) - timedelta(minutes=1)
        await _hand_edit(world, "noor.27@consultancy.example", {"contact_name": "Someone Else"})

        assert await _run(world, changed_since=last_check) == "1 checked, 1 repaired, 0 failed"
        [contact] = await world.contacts_with_email("noor.27@consultancy.example")
        assert contact["contact_name"] == "Noor Haddad27"
        lists = [u for u in world.called if "/books/v3/contacts?" in u and "sort_order=D" in u]
        assert lists, "the check did not read newest first"
        assert all("page=1&" in u for u in lists), lists  # and one page was enough
