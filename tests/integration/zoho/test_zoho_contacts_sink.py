"""The contacts sink against the Zoho Books sandbox: an EU organisation, real HTTP, SQLite.

Hire, change, leave, rehire; an existing contact matched by email; fields we do not own
left alone; a redelivery writes nothing; every call on the EU hosts, token refresh
included; a spent daily quota waited out with one ``waiting`` outcome; a revoked refresh
token marks the connection broken and names the reconnect command.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sandboxes.zoho.app import ZohoSandbox
from sandboxes.zoho.settings import ZohoSandboxSettings
from schemas.envelope import utcnow
from services.runtime.oauth_tokens import BROKEN_STATUS, OAuthRefusedError
from tests.integration.zoho.zoho_sink_harness import ZohoWorld, employee, zoho_world


def _tag_option(contact: dict[str, Any], tag_name: str) -> str | None:
    for tag in contact.get("tags", []):
        if tag.get("tag_name") == tag_name:
            return str(tag.get("tag_option_name"))
    return None


async def _only_contact(world: ZohoWorld, email: str) -> dict[str, Any]:
    found = await world.contacts_with_email(email)
    assert len(found) == 1, found
    answer = await world.sandbox.get(
        f"/www.zohoapis.eu/books/v3/contacts/{found[0]['contact_id']}",
        params={"organization_id": world.organization_id},
    )
    # The API needs a token; the state is enough for the fields we own.
    return found[0] if answer.status_code != 200 else dict(answer.json()["contact"])


async def test_a_hire_becomes_one_contact_with_its_person_and_tags_in_the_eu(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        sink = world.sink()
        hire = employee(world, "7", job_title="Software Engineer", department="Engineering")

        await sink.employee_changed(hire)

        [outcome] = world.outcomes_for("7")
        assert (outcome.status, outcome.operation) == ("applied", "create_contact")
        [contact] = await world.contacts_with_email("noor.7@consultancy.example")
        assert contact["contact_name"] == "Noor Haddad7"
        assert contact["contact_type"] == "vendor"
        assert contact["status"] == "active"
        [person] = contact["contact_persons"]
        assert (person["first_name"], person["last_name"]) == ("Noor", "Haddad7")
        assert (person["designation"], person["department"]) == ("Software Engineer", "Engineering")
        assert person["is_primary_contact"] is True
        assert len(contact["tags"]) == 2
        assert outcome.target_ids["contact"] == contact["contact_id"]
        assert world.called, "the sink made no call"
        assert all("/www.zohoapis.eu/books/v3/" in url for url in world.called), world.called


async def test_title_and_department_follow_and_what_we_do_not_own_stays(tmp_path: Path) -> None:
    async with zoho_world(tmp_path) as world:
        sink = world.sink()
        await sink.employee_changed(employee(world, "8", job_title="Designer"))
        [contact] = await world.contacts_with_email("noor.8@consultancy.example")
        [ours] = contact["contact_persons"]
        # Finance adds a note and a second person by hand.
        await world.action(
            "edit_contact",
            {
                "contact_id": contact["contact_id"],
                "changes": {
                    "notes": "pays by card",
                    "contact_persons": [
                        {"contact_person_id": ours["contact_person_id"]},
                        {"first_name": "Sam", "last_name": "Assistant", "email": "sam@x.example"},
                    ],
                },
            },
        )

        await sink.employee_changed(
            employee(world, "8", version=2, job_title="Senior Designer", department="Creative")
        )

        [contact] = await world.contacts_with_email("noor.8@consultancy.example")
        assert contact["notes"] == "pays by card"
        persons = {p["first_name"]: p for p in contact["contact_persons"]}
        assert set(persons) == {"Noor", "Sam"}
        assert persons["Noor"]["designation"] == "Senior Designer"
        assert persons["Noor"]["department"] == "Creative"
        assert persons["Sam"]["email"] == "sam@x.example"
        last = world.outcomes_for("8")[-1]
        assert last.status == "applied"
        assert "update_contact_person" in last.operation


async def test_a_leaver_is_marked_inactive_and_a_rehire_active_each_in_its_own_call(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        sink = world.sink()
        await sink.employee_changed(employee(world, "9"))
        await sink.employee_changed(employee(world, "9", version=2, status="terminated"))
        [left] = await world.contacts_with_email("noor.9@consultancy.example")
        await sink.employee_changed(employee(world, "9", version=3, status="active"))
        [back] = await world.contacts_with_email("noor.9@consultancy.example")

        assert left["status"] == "inactive"
        assert back["status"] == "active"
        operations = [o.operation for o in world.outcomes_for("9")]
        assert operations == ["create_contact", "mark_inactive", "mark_active"]
        marks = [
            w["path"] for w in await world.writes() if w["path"].endswith(("/active", "/inactive"))
        ]
        assert [m.rsplit("/", 1)[1] for m in marks] == ["inactive", "active"]


async def test_an_existing_contact_is_matched_by_email_in_any_case_not_created_again(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        made = await world.action(
            "create_contact",
            {
                "contact": {
                    "contact_name": "N. Haddad (old)",
                    "contact_type": "vendor",
                    "contact_persons": [
                        {
                            "first_name": "N",
                            "last_name": "Haddad",
                            "email": "NOOR.10@Consultancy.Example",
                        }
                    ],
                }
            },
        )
        sink = world.sink()

        await sink.employee_changed(employee(world, "10"))

        [contact] = await world.contacts_with_email("noor.10@consultancy.example")
        assert contact["contact_id"] == made["contact"]["contact_id"]
        assert contact["contact_name"] == "Noor Haddad10"
        [outcome] = world.outcomes_for("10")
        assert outcome.status == "applied"
        assert "create_contact" not in outcome.operation
        assert outcome.target_ids["contact"] == made["contact"]["contact_id"]


async def test_a_redelivered_event_writes_nothing(tmp_path: Path) -> None:
    async with zoho_world(tmp_path) as world:
        sink = world.sink()
        hire = employee(world, "11")
        await sink.employee_changed(hire)
        writes = len(await world.writes())

        await sink.employee_changed(hire)
        await world.sink(holder="replica-2").employee_changed(hire)

        assert len(await world.writes()) == writes
        assert [o.status for o in world.outcomes_for("11")] == ["applied", "unchanged", "unchanged"]


async def test_a_leaver_never_synced_is_not_created(tmp_path: Path) -> None:
    async with zoho_world(tmp_path) as world:
        await world.sink().employee_changed(employee(world, "12", status="terminated"))

        assert await world.contacts_with_email("noor.12@consultancy.example") == []
        [outcome] = world.outcomes_for("12")
        assert outcome.status == "unchanged"


async def test_an_expired_token_is_refreshed_at_the_eu_accounts_server(tmp_path: Path) -> None:
    async with zoho_world(tmp_path) as world:
        sink = world.sink()
        await sink.employee_changed(employee(world, "13"))
        await world.sandbox.post("/_sandbox/clock", json={"advance_seconds": 7200})

        await sink.employee_changed(employee(world, "13", version=2, job_title="Accountant"))

        assert world.outcomes_for("13")[-1].status == "applied"
        refreshes = [u for u in world.called if "/oauth/v2/token" in u]
        assert refreshes, "the token was not refreshed"
        assert all("/accounts.zoho.eu/" in u for u in refreshes), refreshes
        assert all("/www.zohoapis.eu/" in u or "/accounts.zoho.eu/" in u for u in world.called)


async def test_a_spent_daily_quota_is_waited_out_with_one_waiting_outcome(
    tmp_path: Path,
) -> None:
    small = ZohoSandboxSettings(
        daily_quota_by_plan=dict.fromkeys(
            ("Free", "Standard", "Professional", "Premium", "Elite", "Ultimate"), 20
        )
    )
    async with zoho_world(tmp_path, sandbox=ZohoSandbox(settings=small)) as world:
        moments = [utcnow()]

        async def sleep(seconds: float) -> None:  # the wait moves both clocks
            moments[0] += timedelta(seconds=seconds)
            await world.sandbox.post("/_sandbox/clock", json={"advance_seconds": seconds})

        sink = world.sink(clock=lambda: moments[0], sleep=sleep)
        for number in range(20, 32):
            await sink.employee_changed(employee(world, str(number)))

        statuses = [o.status for o in world.outcomes]
        assert statuses.count("waiting") == len(world.sleeps) >= 1, statuses  # one per wait
        assert "failed" not in statuses
        waiting = next(o for o in world.outcomes if o.status == "waiting")
        assert "daily quota" in waiting.detail
        created = [o for o in world.outcomes if o.status == "applied"]
        assert len(created) == 12


async def test_two_people_of_one_name_get_two_contacts_the_second_named_with_its_email(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        sink = world.sink()
        await sink.employee_changed(employee(world, "40", last_name="Kim"))
        await sink.employee_changed(employee(world, "41", last_name="Kim"))
        await sink.employee_changed(
            employee(world, "41", version=2, last_name="Kim", job_title="Designer")
        )

        [first] = await world.contacts_with_email("noor.40@consultancy.example")
        [second] = await world.contacts_with_email("noor.41@consultancy.example")
        assert first["contact_name"] == "Noor Kim"
        assert second["contact_name"] == "Noor Kim (noor.41@consultancy.example)"
        # The later change keeps the name it has: no rename back into the clash.
        assert [o.status for o in world.outcomes_for("41")] == ["applied", "applied"]
        assert second["contact_persons"][0]["designation"] == "Designer"


async def test_a_revoked_refresh_token_breaks_the_connection_and_names_the_reconnect_command(
    tmp_path: Path,
) -> None:
    async with zoho_world(tmp_path) as world:
        sink = world.sink()
        await sink.employee_changed(employee(world, "14"))
        tokens = await world.access().keeper.stored(world.zoho_connection_id)
        revoked = await world.sandbox.post(
            "/accounts.zoho.eu/oauth/v2/token/revoke", params={"token": tokens.refresh_token}
        )
        assert revoked.status_code == 200, revoked.text
        await world.sandbox.post("/_sandbox/clock", json={"advance_seconds": 7200})

        action = f"reconnect: mlc connections reconnect {world.zoho_connection_id}"
        with pytest.raises(OAuthRefusedError, match=action):
            await sink.employee_changed(employee(world, "14", version=2, job_title="Accountant"))

        # The attempt is a failed outcome saying what to do; the bus retries the message
        # and, in the end, dead-letters it with this cause: nothing is lost.
        failed = world.outcomes_for("14")[-1]
        assert failed.status == "failed"
        assert action in failed.detail
        async with world.store.transaction() as repos:
            record = await repos.connections.get(world.zoho_connection_id)
            audit = await repos.audit_log.list(subject=world.zoho_connection_id)
        assert record is not None
        assert record.status == BROKEN_STATUS
        [entry] = [a for a in audit if a.action == "oauth.refresh_refused"]
        assert entry.detail["action"] == action
