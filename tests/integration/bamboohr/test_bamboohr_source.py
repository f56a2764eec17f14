"""The BambooHR source end to end: raw.bamboohr in, people.* out, the sandbox as BambooHR."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from sandboxes.kit import wait_until
from schemas.envelope import utcnow
from schemas.outcomes import SyncOutcome
from schemas.people import EmployeeChanged
from schemas.topics import dlq_topic
from services.bamboohr.mapping import EMPLOYEE_FIELDS
from services.bamboohr.settings import BambooHRSettings
from services.bamboohr.source import CHANGED_SINCE_WATERMARK, RECONCILED_WATERMARK
from services.runtime.oauth_tokens import TOKENS_FIELD, load_tokens
from tests.integration.bamboohr.bamboohr_source_rig import Rig, TopicMaker, source_rig
from tests.sandboxes.sandbox_harness import running_webhook_receiver

SEED_SIZE = 40
LIAM = "108"  # Liam Walsh, Creative, active
RYAN = "140"  # Ryan Mitchell, terminated 2025-03-28
READS = {"GET", "POST /reports/custom"}


def _webhook(employee_id: str, changed: list[str], kind: str = "employee.updated") -> str:
    data: dict[str, object] = {"companyId": "12345", "employeeId": employee_id}
    if kind == "employee.updated":
        data["changedFields"] = changed
    body = {"type": kind, "timestamp": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data}
    return orjson.dumps(body).decode()


async def _delete_in_bamboohr(rig: Rig, employee_id: str) -> None:
    """BambooHR's admin deletes the person (the test acts as BambooHR's user, not the source)."""
    key = (await rig.control.post("/_sandbox/credentials")).json()["api_key"]
    removed = await rig.control.delete(
        f"/acme.bamboohr.com/api/v1/employees/{employee_id}", auth=(key, "x")
    )
    assert removed.status_code == 204
    await rig.clear_requests()


def _only_reads(requests: list[dict[str, object]]) -> bool:
    """Nothing is ever written back: GETs, and the report POST that only reads."""
    return all(r["method"] == "GET" or str(r["path"]).endswith("/reports/custom") for r in requests)


async def test_a_webhook_delivery_is_re_read_and_published_as_a_full_snapshot(rig: Rig) -> None:
    await rig.act("change_department", {"employeeId": LIAM, "department": "Strategy"})
    await rig.clear_requests()
    stored = await rig.employee_record(LIAM)

    delivery = await rig.deliver(_webhook(LIAM, ["department", "payRate"]))
    [employee] = await rig.employees(delivery, 1)

    assert employee["type"] == "EmployeeChanged"
    assert employee["connection_id"] == rig.connection_id
    assert employee["employee_id"] == LIAM
    assert (employee["first_name"], employee["last_name"]) == ("Liam", "Walsh")
    assert employee["department"] == "Strategy"
    assert employee["division"] == stored["division"]
    assert employee["job_title"] == stored["jobTitle"]
    assert employee["work_email"] == stored["workEmail"]
    assert employee["hire_date"] == stored["hireDate"]
    assert employee["status"] == "active"
    assert employee["changed_fields"] == ["department"]
    assert datetime.fromisoformat(employee["source_updated_at"]) >= datetime.fromisoformat(
        stored["lastChanged"]
    )
    assert employee["causation_id"] == str(delivery.event_id)
    # No list read told this source the department names yet: the delivery reads them too.
    call, lists = await rig.vendor_requests()
    assert (call["method"], call["path"].rsplit("/", 1)[-1]) == ("GET", LIAM)
    assert set(call["query"].split("fields=", 1)[1].split(",")) == set(EMPLOYEE_FIELDS)
    assert (lists["method"], lists["path"].split("/v1/", 1)[1]) == ("GET", "meta/lists")


async def test_a_reconcile_reads_the_whole_seed_in_two_calls_and_a_second_publishes_nothing(
    rig: Rig,
) -> None:
    first = await rig.tick("reconcile")
    people = await rig.employees(first, SEED_SIZE)
    units = await rig.wait_outputs(first, rig.topics.departments, 1)

    requests = await rig.vendor_requests()
    assert len(requests) <= 3, requests  # a handful, not one per employee
    assert sorted(r["path"].split("/v1/", 1)[1] for r in requests) == [
        "meta/lists",
        "reports/custom",
    ]
    assert len({p["employee_id"] for p in people}) == SEED_SIZE
    assert sum(p["status"] == "terminated" for p in people) == 4
    ryan = next(p for p in people if p["employee_id"] == RYAN)
    assert (ryan["status"], ryan["termination_date"]) == ("terminated", "2025-03-28")
    assert {u.get("kind", u["type"]) for u in units} == {
        "department",
        "division",
        "JobTitleChanged",
    }
    assert any(not u["active"] for u in units)  # the archived department is kept, inactive

    await rig.clear_requests()
    second = await rig.tick("reconcile")
    await rig.wait_for_call("/reports/custom")  # what the second tick publishes is now fixed
    # A webhook that never arrived: the next reconcile makes it good, once.
    await rig.act("change_job_title", {"employeeId": LIAM, "jobTitle": "Art Director"})
    third = await rig.tick("reconcile")
    [changed] = await rig.employees(third, 1)

    # The raw topic has one partition: the third tick was handled after the second.
    assert await rig.outputs(second, rig.topics.employees) == []
    assert await rig.outputs(second, rig.topics.departments) == []
    assert (changed["employee_id"], changed["job_title"]) == (LIAM, "Art Director")
    assert changed["changed_fields"] == ["job_title"]
    assert await rig.outputs(third, rig.topics.departments) == []
    assert _only_reads(await rig.vendor_requests())


async def test_a_full_reconcile_resends_every_record_even_unchanged_ones(rig: Rig) -> None:
    first = await rig.tick("reconcile")
    before = {p["employee_id"]: p for p in await rig.employees(first, SEED_SIZE)}
    await rig.clear_requests()

    # A link added after the backfill asks for everything again (ingest sends a full tick).
    full = await rig.tick("full")
    again = await rig.employees(full, SEED_SIZE)
    units = await rig.wait_outputs(full, rig.topics.departments, 1)

    assert {p["employee_id"] for p in again} == set(before)
    for person in again:
        assert person["source_updated_at"] == before[person["employee_id"]]["source_updated_at"]
        assert person["changed_fields"] == []
    assert {u.get("kind", u["type"]) for u in units} == {
        "department",
        "division",
        "JobTitleChanged",
    }
    assert len(await rig.vendor_requests()) <= 3  # still a handful of reads


async def test_polls_start_with_everyone_then_read_changes_since_the_watermark(rig: Rig) -> None:
    first = await rig.tick("poll")
    await rig.employees(first, SEED_SIZE)

    async def stored_mark(unlike: str | None = None) -> str | None:
        async with rig.store.transaction() as repos:
            stored = await repos.watermarks.get(
                "bamboohr", rig.connection_id, CHANGED_SINCE_WATERMARK
            )
        return stored if stored != unlike else None

    # The source stores the watermark after the events it covers are published (a crash in
    # between then reads them again instead of skipping whoever was not yet published), so
    # seeing the events is no sign the watermark is there yet: wait for it.
    mark = await wait_until(stored_mark, timeout_seconds=30, message="the first watermark")

    hired = await rig.act(
        "hire",
        {"firstName": "Noor", "lastName": "Haddad", "workEmail": "noor.haddad@acmecreative.example",
         "jobTitle": "Designer", "department": "Creative", "division": "Europe"},
    )  # fmt: skip
    await rig.clear_requests()
    second = await rig.tick("poll")
    [noor] = await rig.employees(second, 1)

    assert noor["employee_id"] == str(hired["id"])
    assert (noor["first_name"], noor["work_email"]) == ("Noor", "noor.haddad@acmecreative.example")
    requests = await rig.vendor_requests()
    changed = [r for r in requests if r["path"].endswith("/employees/changed")]
    assert len(changed) == 1
    since = datetime.fromisoformat(changed[0]["query"].split("since=", 1)[1].replace("Z", "+00:00"))
    assert since == datetime.fromisoformat(mark) - timedelta(seconds=5)
    assert len(requests) <= 2, requests
    moved = await wait_until(
        lambda: stored_mark(unlike=mark), timeout_seconds=30, message="the watermark to move"
    )
    assert datetime.fromisoformat(moved) == datetime.fromisoformat(
        (await rig.employee_record(str(hired["id"])))["lastChanged"]
    )


# 503 is BambooHR's throttle today; 429 from 2026-09-16 (fact sheet section 12).
@pytest.mark.parametrize("status", [503, 429])
async def test_a_throttle_with_retry_after_is_waited_out_and_the_call_lands_after(
    rig: Rig, status: int
) -> None:
    fault = {"path": "reports/custom", "status": status, "retry_after": 1, "count": 1}
    (await rig.control.post("/_sandbox/faults", json=fault)).raise_for_status()

    tick = await rig.tick("reconcile")
    await rig.employees(tick, SEED_SIZE)

    reports = [r for r in await rig.vendor_requests() if r["path"].endswith("/reports/custom")]
    assert [r["status"] for r in reports] == [status, 200]
    refused, answered = (datetime.fromisoformat(r["time"]) for r in reports)
    assert answered - refused >= timedelta(seconds=1)


async def test_a_malformed_delivery_is_dead_lettered_with_its_cause_and_the_next_one_is_handled(
    rig: Rig,
) -> None:
    bad = await rig.deliver("this is not json")
    good = await rig.deliver(_webhook(LIAM, ["firstName"]))
    [employee] = await rig.employees(good, 1)
    [letter] = await rig.wait_outputs(bad, dlq_topic("bamboohr"), 1)

    assert employee["employee_id"] == LIAM
    assert await rig.outputs(bad, rig.topics.employees) == []
    assert letter["attempts"] == 1  # no retry can decode it
    assert letter["error_type"].endswith("UndecodableMessageError")
    assert "cannot be decoded" in letter["error"]
    assert letter["original_topic"] == rig.topics.raw
    async with rig.store.transaction() as repos:
        entries = await repos.audit_log.list(subject=rig.connection_id)
    assert not any(e.action == "bamboohr.event_skipped" for e in entries)


async def test_an_event_that_is_no_raw_event_is_dead_lettered_and_the_batch_goes_on(
    rig: Rig,
) -> None:
    """Records that cannot be raw events, in one batch with a good delivery."""
    misplaced = await rig.send(
        EmployeeChanged(
            connection_id=rig.connection_id,
            occurred_at=utcnow(),
            source_updated_at=utcnow(),
            employee_id=LIAM,
            first_name="Liam",
            last_name="Walsh",
            status="active",
        )
    )
    good = await rig.deliver(_webhook(LIAM, ["firstName"]))

    [employee] = await rig.employees(good, 1)
    [letter] = await rig.wait_outputs(misplaced, dlq_topic("bamboohr"), 1)

    assert employee["employee_id"] == LIAM
    assert letter["attempts"] == 1
    assert letter["error_type"].endswith("UndecodableMessageError")
    assert "EmployeeChanged does not belong on a raw topic" in letter["error"]


async def test_a_deleted_employee_is_published_once_more_as_terminated(rig: Rig) -> None:
    first = await rig.deliver(_webhook(LIAM, ["firstName"]))
    await rig.employees(first, 1)
    await _delete_in_bamboohr(rig, LIAM)

    deleted = await rig.deliver(_webhook(LIAM, [], kind="employee.deleted"))
    [gone] = await rig.employees(deleted, 1)

    assert (gone["employee_id"], gone["status"]) == (LIAM, "terminated")
    assert (gone["first_name"], gone["last_name"]) == ("Liam", "Walsh")
    assert gone["changed_fields"] == ["status"]


async def test_an_oauth_token_near_expiry_is_refreshed_before_it_is_used(
    kafka_bootstrap: str,
    kafka_topic: TopicMaker,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    async with source_rig(
        bootstrap=kafka_bootstrap,
        kafka_topic=kafka_topic,
        unique_name=unique_name,
        tmp_path=tmp_path,
        style="oauth",
        token_expires_at=utcnow() + timedelta(seconds=60),  # inside the 300 s refresh margin
    ) as rig:
        async with rig.store.transaction() as repos:
            before = await repos.credentials.get(rig.connection_id, TOKENS_FIELD)
        assert before is not None
        old = load_tokens(
            rig.vault.decrypt(before.token, connection_id=rig.connection_id, field=TOKENS_FIELD)
        )

        delivery = await rig.deliver(_webhook(LIAM, ["department"]))
        [employee] = await rig.employees(delivery, 1)

        assert employee["employee_id"] == LIAM
        answer = await rig.control.get("/_sandbox/requests")
        paths = [r["path"] for r in answer.json()]
        token_call = next(i for i, p in enumerate(paths) if p.endswith("/token.php"))
        api_call = next(i for i, p in enumerate(paths) if f"/employees/{LIAM}" in p)
        assert token_call < api_call
        assert [r["status"] for r in answer.json()] == [200] * len(paths)  # no 401 first
        async with rig.store.transaction() as repos:
            after = await repos.credentials.get(rig.connection_id, TOKENS_FIELD)
        assert after is not None
        new = load_tokens(
            rig.vault.decrypt(after.token, connection_id=rig.connection_id, field=TOKENS_FIELD)
        )
        assert new.access_token != old.access_token
        assert new.expires_at > utcnow() + timedelta(minutes=50)


async def test_a_deletion_whose_webhook_was_lost_is_caught_by_the_next_reconcile(
    rig: Rig,
) -> None:
    first = await rig.tick("reconcile")
    await rig.employees(first, SEED_SIZE)
    await rig.wait_for_call("/reports/custom")
    await _delete_in_bamboohr(rig, LIAM)
    await rig.clear_requests()

    second = await rig.tick("reconcile")
    [gone] = await rig.employees(second, 1)

    assert (gone["employee_id"], gone["status"]) == (LIAM, "terminated")
    deleted = await rig.wait_for_call("/employees/changed")
    assert "type=deleted" in deleted["query"]
    assert len(await rig.vendor_requests()) == 3  # lists, report, deletions


async def test_an_access_token_refused_early_is_refreshed_once_and_the_call_repeated(
    kafka_bootstrap: str,
    kafka_topic: TopicMaker,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    async with source_rig(
        bootstrap=kafka_bootstrap,
        kafka_topic=kafka_topic,
        unique_name=unique_name,
        tmp_path=tmp_path,
        style="oauth",
        access_token="revoked-by-bamboohr",  # valid for an hour by our books, refused by theirs
    ) as rig:
        delivery = await rig.deliver(_webhook(LIAM, ["firstName"]))
        [employee] = await rig.employees(delivery, 1)

        assert employee["employee_id"] == LIAM
        answer = await rig.control.get("/_sandbox/requests")
        calls = [(r["path"].rsplit("/", 1)[-1], r["status"]) for r in answer.json()]
        assert calls == [(LIAM, 401), ("token.php", 200), (LIAM, 200)]


async def test_a_delivery_the_lost_consent_stops_is_a_failed_outcome_on_each_employee_to_read(
    kafka_bootstrap: str,
    kafka_topic: TopicMaker,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    async with source_rig(
        bootstrap=kafka_bootstrap,
        kafka_topic=kafka_topic,
        unique_name=unique_name,
        tmp_path=tmp_path,
        style="oauth",
    ) as rig:
        async with rig.store.transaction() as repos:
            # The consent is gone: what a revoked token and a refused refresh leave behind.
            assert await repos.credentials.delete(rig.connection_id, TOKENS_FIELD)

        # Liam is to be read; Ryan only deleted, which needs no read and names no outcome.
        delivery = await rig.deliver(_field_based([(LIAM, "Updated"), (RYAN, "Deleted")]))
        [letter] = await rig.wait_outputs(delivery, dlq_topic("bamboohr"), 1)
        outcomes = await rig.outputs(delivery, SyncOutcome.topic_name)

        assert letter["error_type"].endswith("OAuthRefusedError")
        assert letter["attempts"] > 1  # retried first, as any failed read: a reconnect mends it
        assert len(outcomes) == letter["attempts"]  # one per attempt, each on the record
        for outcome in outcomes:
            assert (outcome["entity_key"], outcome["status"], outcome["operation"]) == (
                LIAM,
                "failed",
                "read",
            )
            assert outcome["connection_id"] == rig.connection_id
            assert outcome["service"] == "bamboohr"
            assert outcome["detail"].startswith("BambooHR did not let us read it: ")
            assert "no OAuth tokens" in outcome["detail"]
        assert await rig.outputs(delivery, rig.topics.employees) == []
        assert _employee_reads(await rig.vendor_requests()) == []


@pytest.mark.parametrize("delivery_format", ["json", "form-encoded"])
async def test_what_bamboohr_itself_delivers_is_understood_in_both_formats(
    rig: Rig, delivery_format: str
) -> None:
    key = (await rig.control.post("/_sandbox/credentials")).json()["api_key"]
    hook = {
        "name": "ml-connector people",
        "url": "https://hooks.example.com/webhooks/bamboohr/acme",
        "format": delivery_format,
        "events": ["employee.created", "employee.updated", "employee.deleted"],
        "monitorFields": ["firstName", "lastName", "workEmail", "jobTitle", "department"],
    }
    created = await rig.control.post(
        "/acme.bamboohr.com/api/v1/webhooks", json=hook, auth=(key, "x")
    )
    assert created.status_code == 201
    async with running_webhook_receiver() as receiver:
        await rig.control.post("/_sandbox/webhooks", json={"url": receiver.url})
        await rig.act("change_job_title", {"employeeId": LIAM, "jobTitle": "Art Director"})
        received = await wait_until(lambda: receiver.received, message="the sandbox's delivery")
    await rig.clear_requests()

    content_type = received[0].headers["content-type"].split(";")[0]
    delivery = await rig.deliver(received[0].body.decode(), content_type)
    [employee] = await rig.employees(delivery, 1)

    assert (employee["employee_id"], employee["job_title"]) == (LIAM, "Art Director")
    assert employee["changed_fields"] == ["job_title"]
    assert _only_reads(await rig.vendor_requests())


async def test_a_late_webhook_for_an_older_change_does_not_roll_the_employee_back(
    rig: Rig,
) -> None:
    await rig.act("change_department", {"employeeId": LIAM, "department": "Strategy"})
    older = _webhook(LIAM, ["department"])
    await rig.act("change_department", {"employeeId": LIAM, "department": "Leadership"})
    newer = _webhook(LIAM, ["department"])

    newest = await rig.deliver(newer)
    [published] = await rig.employees(newest, 1)
    late = await rig.deliver(older)
    marker = await rig.deliver(_webhook(RYAN, ["firstName"]))
    await rig.employees(marker, 1)  # one partition: the late delivery was handled before

    assert published["department"] == "Leadership"
    # Re-read, the late event finds Leadership again: the same record, so nothing is published.
    assert await rig.outputs(late, rig.topics.employees) == []
    stored = await rig.employee_record(LIAM)
    assert datetime.fromisoformat(published["source_updated_at"]) >= datetime.fromisoformat(
        stored["lastChanged"]
    )


def _field_based(entries: list[tuple[str, str]]) -> str:
    """A field-based (legacy) delivery: several employees in one body, as (id, action)."""
    stamp = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    employees = [{"id": i, "action": action, "timestamp": stamp} for i, action in entries]
    return orjson.dumps({"employees": employees}).decode()


def _employee_reads(requests: list[dict[str, object]]) -> list[str]:
    """The ids of ``GET /employees/{id}`` calls, in the order they were made."""
    return [
        str(r["path"]).rsplit("/", 1)[1]
        for r in requests
        if r["method"] == "GET" and str(r["path"]).rsplit("/", 1)[1].isdigit()
    ]


async def test_an_employee_named_many_times_in_one_delivery_is_read_once(rig: Rig) -> None:
    repeated = [(LIAM, "Updated"), (RYAN, "Updated")] + [(LIAM, "Updated")] * 300
    delivery = await rig.deliver(_field_based([*repeated, (RYAN, "Updated")]))
    people = await rig.employees(delivery, 2)
    marker = await rig.deliver(_webhook("120", ["firstName"]))
    await rig.employees(marker, 1)  # one partition: the delivery was handled before

    assert sorted(p["employee_id"] for p in people) == sorted([LIAM, RYAN])
    assert _employee_reads(await rig.vendor_requests()) == [LIAM, RYAN, "120"]


async def test_a_delivery_naming_more_employees_than_the_cap_is_one_reconcile_instead(
    rig: Rig,
) -> None:
    cap = BambooHRSettings.model_fields["delivery_max_employees"].default
    first = await rig.deliver(_webhook(LIAM, ["firstName"]))
    await rig.employees(first, 1)
    await _delete_in_bamboohr(rig, LIAM)  # and clears the request log
    seed = [str(i) for i in range(101, 101 + SEED_SIZE) if str(i) != LIAM]
    unknown = [str(9_000 + i) for i in range(cap + 1 - SEED_SIZE)]
    named = [(LIAM, "Deleted"), *((i, "Updated") for i in seed + unknown)]
    assert len(named) == cap + 1

    delivery = await rig.deliver(_field_based(named))
    people = await rig.employees(delivery, SEED_SIZE)

    # What a reconcile tick reads (the lists and one report), and no single read at all.
    requests = await rig.vendor_requests()
    assert _employee_reads(requests) == []
    assert sorted(r["path"].split("/v1/", 1)[1] for r in requests) == [
        "meta/lists",
        "reports/custom",
    ]
    assert {p["employee_id"] for p in people} == {LIAM, *seed}
    liam = next(p for p in people if p["employee_id"] == LIAM)
    assert (liam["status"], liam["changed_fields"]) == ("terminated", ["status"])

    async def reconciled() -> str | None:
        async with rig.store.transaction() as repos:
            return await repos.watermarks.get("bamboohr", rig.connection_id, RECONCILED_WATERMARK)

    # Stored after the last event, as a reconcile tick stores it.
    await wait_until(reconciled, timeout_seconds=30, message="the reconcile watermark")
    async with rig.store.transaction() as repos:
        entries = await repos.audit_log.list(subject=rig.connection_id)
    over = [e.detail for e in entries if e.action == "bamboohr.delivery_over_cap"]
    assert [(d["event_id"], d["employees"], d["cap"]) for d in over] == [
        (str(delivery.event_id), cap + 1, cap)
    ]
    assert not any(e.action == "bamboohr.event_skipped" for e in entries)


async def test_a_reconcile_publishes_the_job_title_list_with_archived_titles_inactive(
    rig: Rig,
) -> None:
    key = (await rig.control.post("/_sandbox/credentials")).json()["api_key"]
    archived = await rig.control.put(  # HR archives a title (the test acts as BambooHR's user)
        "/acme.bamboohr.com/api/v1/meta/lists/17",
        json={"options": [{"id": 1707, "archived": "yes"}]},
        auth=(key, "x"),
    )
    assert archived.status_code == 200

    tick = await rig.tick("reconcile")
    units = await rig.wait_outputs(tick, rig.topics.departments, 39)

    titles = {u["job_title_id"]: u for u in units if u["type"] == "JobTitleChanged"}
    assert len(titles) == 29  # every option of the seed's jobTitle list
    assert (titles["1707"]["name"], titles["1707"]["active"]) == ("Copywriter", False)
    assert (titles["1710"]["name"], titles["1710"]["active"]) == ("Designer", True)
    assert titles["1710"]["entity_key"] == "job_title:1710"
    assert all(t["causation_id"] == str(tick.event_id) for t in titles.values())

    await rig.clear_requests()
    renamed = await rig.control.put(
        "/acme.bamboohr.com/api/v1/meta/lists/17",
        json={"options": [{"id": 1710, "value": "Visual Designer"}]},
        auth=(key, "x"),
    )
    assert renamed.status_code == 200
    again = await rig.tick("reconcile")
    [title] = await rig.wait_outputs(again, rig.topics.departments, 1)
    assert (title["type"], title["name"]) == ("JobTitleChanged", "Visual Designer")
    assert title["previous_name"] == "Designer"


async def test_a_webhook_naming_an_option_new_to_us_publishes_the_lists_at_once(rig: Rig) -> None:
    first = await rig.tick("reconcile")  # the source now knows every option's name
    await rig.employees(first, SEED_SIZE)
    await rig.wait_for_call("/reports/custom")
    key = (await rig.control.post("/_sandbox/credentials")).json()["api_key"]
    # HR adds a department while moving Liam into it.
    added = await rig.control.put(
        "/acme.bamboohr.com/api/v1/meta/lists/4",
        json={"options": [{"value": "Research"}]},
        auth=(key, "x"),
    )
    assert added.status_code == 200
    await rig.act("change_department", {"employeeId": LIAM, "department": "Research"})
    await rig.clear_requests()

    delivery = await rig.deliver(_webhook(LIAM, ["department"]))
    [employee] = await rig.employees(delivery, 1)
    [unit] = await rig.wait_outputs(delivery, rig.topics.departments, 1)

    assert employee["department"] == "Research"
    assert (unit["type"], unit["kind"], unit["name"], unit["active"]) == (
        "DepartmentChanged",
        "department",
        "Research",
        True,
    )
    assert sorted(r["path"].split("/v1/", 1)[1] for r in await rig.vendor_requests()) == [
        f"employees/{LIAM}",
        "meta/lists",
    ]

    # A title every list read already had: no list read at all.
    await rig.act("change_job_title", {"employeeId": LIAM, "jobTitle": "Art Director"})
    await rig.clear_requests()
    known = await rig.deliver(_webhook(LIAM, ["jobTitle"]))
    [retitled] = await rig.employees(known, 1)

    assert retitled["job_title"] == "Art Director"
    assert [r["path"].split("/v1/", 1)[1] for r in await rig.vendor_requests()] == [
        f"employees/{LIAM}"
    ]
    assert await rig.outputs(known, rig.topics.departments) == []
