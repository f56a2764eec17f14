"""Flow 3's Acumatica session and client against the sandbox on a socket (real HTTP, SQLite).

One sign-in serves every call and a burst of callers; closing signs out (the sandbox's
open sessions, counted through its control API, drop to none); an expired session signs in
again once; the session is one per connection, not per process: replicas share it, and a
process killed without signing out leaves it to the next, never a second seat; a version
the instance does not serve is one clear error naming what it does serve; departments on
the extension endpoint; an employee created, found by email, read, updated, and a refused
write naming the field.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from sandboxes.acumatica.app import AcumaticaSandbox
from sandboxes.acumatica.settings import AcumaticaSandboxSettings
from sandboxes.kit import build_app, serve
from services.acumatica.client import (
    AcumaticaClient,
    AcumaticaConflictError,
    AcumaticaRejectedError,
    AcumaticaVersionError,
    Endpoint,
)
from services.acumatica.mapping import department_body, unwrap, wrap
from services.acumatica.session import AcumaticaLoginError, AcumaticaSession
from services.runtime.http import build_client
from services.runtime.retry import RetryPolicy
from services.runtime.store import StateStore
from services.runtime.vault import Vault, generate_key_ring_entry


@dataclass
class World:
    control: httpx.AsyncClient  # the sandbox's control API
    credentials: dict[str, Any]
    store: StateStore
    vault: Vault = field(default_factory=lambda: Vault.from_text(generate_key_ring_entry("k1")))

    @asynccontextmanager
    async def client(
        self, *, version: str | None = None, password: str | None = None, sign_out: bool = True
    ) -> AsyncIterator[AcumaticaClient]:
        """A client of connection ``conn-1``; ``sign_out=False`` plays a process killed."""
        c = self.credentials
        login = {
            "name": c["username"],
            "password": password or c["password"],
            "tenant": c["tenant"],
            "branch": c["branch"],
        }
        retry = RetryPolicy(max_attempts=3, base_backoff=0.05, max_backoff=0.2,
                            retry_statuses=frozenset({429, 502, 503, 504}))  # fmt: skip
        async with (
            build_client(
                vendor="test", base_url="", connection_key=f"acumatica:{uuid4().hex}", retry=retry
            ) as http,
            AsyncExitStack() as stack,
        ):
            session = AcumaticaSession(
                http=http,
                base_url=c["base_url"],
                login=login,
                connection_id="conn-1",
                store=self.store,
                vault=self.vault,
                holder=f"test-{uuid4().hex}",
            )
            if sign_out:
                await stack.enter_async_context(session)
            yield AcumaticaClient(
                session,
                endpoint=Endpoint(c["endpoint"], version or c["version"]),
                department_endpoint=Endpoint(
                    c["department_endpoint"], c["department_endpoint_version"]
                ),
            )

    async def seats_taken(self) -> int:
        """Sessions the sandbox holds open, as its licence monitor shows them."""
        answer = await self.control.post("/_sandbox/actions/license_monitor", json={})
        answer.raise_for_status()
        return int(answer.json()["api_sessions"])

    async def open_sessions(self) -> int:
        """Sessions the sandbox holds open (read by ending them all: each test's last look)."""
        answer = await self.control.post("/_sandbox/actions/end_sessions", json={})
        answer.raise_for_status()
        return int(answer.json()["closed"])


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    sandbox = AcumaticaSandbox(settings=AcumaticaSandboxSettings(throttle_delay_scale=0.0))
    store = await StateStore.open(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    try:
        async with (
            serve(build_app(sandbox)) as server,
            httpx.AsyncClient(base_url=server.base_url) as control,
        ):
            credentials = (await control.post("/_sandbox/credentials")).json()
            credentials["base_url"] = server.base_url + "/AcumaticaERP"
            async with store.transaction() as repos:
                await repos.connections.create(
                    vendor="acumatica",
                    tenant_id="default",
                    display_name="ERP",
                    connection_id="conn-1",
                )
            yield World(control, credentials, store)
    finally:
        await store.close()


async def test_one_sign_in_serves_a_burst_of_calls_and_closing_signs_out(world: World) -> None:
    async with world.client() as client:
        found = await asyncio.gather(
            *(client.employees_with_email("grace.holloway@acmecreative.example") for _ in range(6))
        )
        assert all(len(rows) == 1 for rows in found)
        assert client.session.logins == 1
    assert await world.open_sessions() == 0


async def test_an_expired_session_signs_in_again_once(world: World) -> None:
    async with world.client() as client:
        assert await client.employee("EP00000003") is not None
        await world.control.post("/_sandbox/clock", json={"advance_seconds": 660})

        again = await client.employee("EP00000003")

        assert again is not None
        assert unwrap(again["ContactInfo"]["Email"]) == "grace.holloway@acmecreative.example"
        assert client.session.logins == 2
    assert await world.open_sessions() == 0


async def test_a_version_the_instance_lacks_is_one_error_and_the_served_ones_are_listed(
    world: World,
) -> None:
    async with world.client(version="19.100.001") as client:
        with pytest.raises(AcumaticaVersionError, match=r"Default/19\.100\.001"):
            await client.employee("EP00000003")
        served = await client.served_endpoints()
    assert "Default/24.200.001" in served
    assert await world.open_sessions() == 0


async def test_a_wrong_password_is_a_sign_in_refusal_that_says_so(world: World) -> None:
    async with world.client(password="not-it") as client:
        with pytest.raises(AcumaticaLoginError, match="refused the sign-in") as refused:
            await client.employee("EP00000003")
    assert refused.value.unauthorized is True
    assert await world.open_sessions() == 0


async def test_departments_then_an_employee_created_found_read_and_updated(world: World) -> None:
    async with world.client() as client:
        await client.put_department(department_body("RESEARCH", "Research"))
        codes = {unwrap(d["DepartmentID"]) for d in await client.departments()}
        assert "RESEARCH" in codes

        body = {
            "Status": wrap("Active"),
            "ContactInfo": {
                "FirstName": wrap("Ava"),
                "LastName": wrap("Nguyen"),
                "Email": wrap("ava.nguyen@acme.example"),
            },
            "EmployeeSettings": {"DepartmentID": wrap("RESEARCH")},
        }
        created = await client.put_employee(body, create=True)
        employee_id = str(unwrap(created["EmployeeID"]))
        assert employee_id.startswith("EP")
        [found] = await client.employees_with_email("ava.nguyen@acme.example")
        assert unwrap(found["EmployeeID"]) == employee_id

        moved = await client.put_employee(
            {"EmployeeID": wrap(employee_id), "Status": wrap("Inactive")}, create=False
        )
        assert unwrap(moved["Status"]) == "Inactive"
        read = await client.employee(employee_id)
        assert read is not None
        assert unwrap(read["EmployeeSettings"]["DepartmentID"]) == "RESEARCH"
        assert await client.employee("EP99999999") is None

        with pytest.raises(AcumaticaConflictError):
            await client.put_employee({"EmployeeID": wrap("EP99999998")}, create=False)
        wrong = {**body, "EmployeeSettings": {"DepartmentID": wrap("NOSUCHDEPT")}}
        with pytest.raises(AcumaticaRejectedError, match="DepartmentID") as rejected:
            await client.put_employee(wrong, create=True)
        assert "EmployeeSettings/DepartmentID" in rejected.value.fields
    assert await world.open_sessions() == 0


async def test_a_process_killed_without_signing_out_leaves_its_session_to_the_next(
    world: World,
) -> None:
    async with world.client(sign_out=False) as killed:
        assert await killed.employee("EP00000003") is not None
    assert await world.seats_taken() == 1

    async with world.client() as successor:
        assert await successor.employee("EP00000003") is not None
        session = successor.session
        assert isinstance(session, AcumaticaSession)
        assert (session.logins, session.resumed) == (0, 1)
        assert await world.seats_taken() == 1
    assert await world.seats_taken() == 0


async def test_replicas_share_one_seat_and_take_each_others_new_session(world: World) -> None:
    async with world.client() as first, world.client() as second:
        await asyncio.gather(*(c.employee("EP00000003") for c in (first, second) for _ in range(3)))
        assert first.session.logins + second.session.logins == 1
        assert await world.seats_taken() == 1

        await world.control.post("/_sandbox/actions/end_sessions", json={})
        assert await first.employee("EP00000003") is not None  # signs in again
        assert await second.employee("EP00000003") is not None  # takes that session
        assert first.session.logins + second.session.logins == 2
        assert await world.seats_taken() == 1
    assert await world.seats_taken() == 0
