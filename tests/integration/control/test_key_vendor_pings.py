"""``mlc connections ping`` for BILL, Acumatica and Expensify against their sandboxes.

Real sockets: the connection is added through the operator API with the sandbox's own
credentials (or a wrong secret), and the CLI's ping call asks the running ingest, which
makes the real read (BILL: login, one vendor, logout; Acumatica: sign-in, one employee,
sign-out; Expensify: the policy list).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from mlc.oauth import ping_connection
from sandboxes.acumatica.app import AcumaticaSandbox
from sandboxes.bill.app import BillSandbox
from sandboxes.expensify.app import ExpensifySandbox
from sandboxes.kit import VendorSandbox
from services.acumatica.connection import CREDENTIALS as ACUMATICA
from services.acumatica.ping import AcumaticaPing
from services.acumatica.settings import AcumaticaSettings
from services.bill.connection import CREDENTIALS as BILL
from services.bill.ping import BillPing
from services.bill.settings import BillSettings
from services.expensify.connection import CREDENTIALS as EXPENSIFY
from services.expensify.ping import ExpensifyPing
from services.expensify.settings import ExpensifySettings
from services.runtime.credential_fields import CredentialSpec
from tests.integration.ingest.registration_live import TOKEN, Knowledge, registration_world


def _bill(base_url: str, _: Mapping[str, Any]) -> Knowledge:
    return Knowledge(
        key_vendor=BillPing(
            BillSettings(
                api_base_url=f"{base_url}/connect", events_base_url=f"{base_url}/connect-events"
            )
        )
    )


def _acumatica(_: str, __: Mapping[str, Any]) -> Knowledge:
    return Knowledge(key_vendor=AcumaticaPing(AcumaticaSettings()))


def _expensify(base_url: str, _: Mapping[str, Any]) -> Knowledge:
    url = f"{base_url}/Integration-Server/ExpensifyIntegrations"
    return Knowledge(key_vendor=ExpensifyPing(ExpensifySettings(integration_url=url)))


CASES: dict[
    str, tuple[Callable[[], VendorSandbox], Callable[..., Knowledge], CredentialSpec, str, str]
] = {
    # vendor: (sandbox, knowledge, credential spec, secret to spoil, words of the ok verdict)
    "bill": (BillSandbox, _bill, BILL, "password", "BILL login ok"),
    "acumatica": (AcumaticaSandbox, _acumatica, ACUMATICA, "password", "Acumatica sign-in ok"),
    "expensify": (
        ExpensifySandbox,
        _expensify,
        EXPENSIFY,
        "partner_user_secret",
        "Expensify policy list answered",
    ),
}


@pytest.mark.parametrize("vendor", sorted(CASES))
async def test_good_credentials_ping_ok_and_a_wrong_secret_says_replace_them(
    vendor: str, tmp_path: Path, kafka_bootstrap: str
) -> None:
    sandbox_app, knowledge, spec, spoiled, ok_words = CASES[vendor]
    async with registration_world(
        tmp_path,
        vendor=vendor,
        sandbox_app=sandbox_app(),
        knowledge=knowledge,
        bootstrap=kafka_bootstrap,
    ) as world:
        creds = (await world.sandbox.post("/_sandbox/credentials")).json()
        fields = {f.name: str(creds[f.name]) for f in spec.fields if creds.get(f.name)}

        async def add(credentials: dict[str, str]) -> str:
            answer = await world.ingest.post(
                "/api/v1/connections",
                json={"vendor": vendor, "display_name": vendor, "credentials": credentials},
            )
            assert answer.status_code == 201, answer.text
            return str(answer.json()["id"])

        good = await add(fields)
        wrong = await add({**fields, spoiled: "not-the-secret"})

        ok, line = await asyncio.to_thread(
            ping_connection, world.ingest_url, good, operator_token=TOKEN
        )
        assert ok, line
        assert line.startswith(f"ok: {ok_words}")

        ok, line = await asyncio.to_thread(
            ping_connection, world.ingest_url, wrong, operator_token=TOKEN
        )
        assert not ok
        assert line.startswith("failed: "), line
        assert "replace the credentials" in line, line


async def test_an_acumatica_version_the_instance_lacks_is_refused_at_ping_with_what_it_serves(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    async with registration_world(
        tmp_path,
        vendor="acumatica",
        sandbox_app=AcumaticaSandbox(),
        knowledge=_acumatica,
        bootstrap=kafka_bootstrap,
    ) as world:
        creds = (await world.sandbox.post("/_sandbox/credentials")).json()
        fields = {f.name: str(creds[f.name]) for f in ACUMATICA.fields if creds.get(f.name)}
        answer = await world.ingest.post(
            "/api/v1/connections",
            json={
                "vendor": "acumatica",
                "display_name": "acumatica",
                "credentials": {**fields, "version": "19.100.001"},
            },
        )
        assert answer.status_code == 201, answer.text

        ok, line = await asyncio.to_thread(
            ping_connection, world.ingest_url, str(answer.json()["id"]), operator_token=TOKEN
        )

        assert not ok
        assert "does not serve endpoint Default/19.100.001" in line, line
        assert "Default/24.200.001" in line, line
