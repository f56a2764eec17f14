"""Shared constants and sign-in helpers for the Acumatica sandbox contract tests.

Values come from the fact sheet (`../shared/vendors/acumatica.md`) and the default seed.
"""

from __future__ import annotations

import httpx

from sandboxes.acumatica.app import AcumaticaSandbox
from sandboxes.acumatica.seed import API_PASSWORD, API_USER
from sandboxes.acumatica.settings import AcumaticaSandboxSettings

INSTANCE = "/AcumaticaERP"
DEFAULT = f"{INSTANCE}/entity/Default/24.200.001"
EXTENSION = f"{INSTANCE}/entity/MLConnector/24.200.001"
LOGIN = f"{INSTANCE}/entity/auth/login"
LOGOUT = f"{INSTANCE}/entity/auth/logout"
TOKEN = f"{INSTANCE}/identity/connect/token"
CREDENTIALS = {"name": API_USER, "password": API_PASSWORD, "tenant": "AcmeLive", "branch": "HQ"}
GRACE = "EP00000003"  # Grace Holloway, ADMIN, also in BambooHR


def quiet_sandbox(**overrides: object) -> AcumaticaSandbox:
    """A sandbox whose license does not pace requests unless `throttle_delay_scale` is given."""
    settings = AcumaticaSandboxSettings(**{"throttle_delay_scale": 0.0, **overrides})
    return AcumaticaSandbox(settings=settings)


async def sign_in(client: httpx.AsyncClient, **body: str) -> httpx.Response:
    answer = await client.post(LOGIN, json={**CREDENTIALS, **body})
    assert answer.status_code == 204, answer.text
    return answer


def wrapped(**fields: object) -> dict[str, dict[str, object]]:
    return {name: {"value": value} for name, value in fields.items()}
