"""The operator API when the store says no: down is 503 with Retry-After (come back), a
value PostgreSQL cannot hold is the caller's 400, anything else stays a server error."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from services.control.operator_api import install_error_answers


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


def _app(sqlstate: str) -> FastAPI:
    app = FastAPI()
    install_error_answers(app)

    @app.get("/links/{link_id}")
    async def show(link_id: str) -> dict[str, str]:
        raise DBAPIError("SELECT", {"id": link_id}, _DriverError(sqlstate))

    return app


async def _get(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://control") as client:
        return await client.get("/links/l-1")


@pytest.mark.parametrize("sqlstate", ["57P01", "57P03", "08006"])
async def test_the_store_down_is_503_with_retry_after(sqlstate: str) -> None:
    answer = await _get(_app(sqlstate))

    assert answer.status_code == 503
    assert answer.headers["Retry-After"].isdigit()
    assert answer.json() == {"error": "the state store is unavailable"}


@pytest.mark.parametrize("sqlstate", ["22021", "22P05", "22003"])
async def test_a_value_the_store_cannot_hold_is_the_callers_400(sqlstate: str) -> None:
    answer = await _get(_app(sqlstate))

    assert answer.status_code == 400
    assert answer.json() == {"error": "a value in the request cannot be stored"}


async def test_any_other_store_error_stays_a_server_error() -> None:
    answer = await _get(_app("42P01"))  # undefined table: ours to fix, not the caller's

    assert answer.status_code == 500
