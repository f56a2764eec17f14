"""The kept chart of accounts: one read serves the next bills until it is old or forgotten."""

from __future__ import annotations

from typing import Any, cast

from services.bill.chart import ChartOfAccounts
from services.bill.client import BillClient


class CountingClient:
    def __init__(self) -> None:
        self.reads = 0

    async def chart_of_accounts(self) -> list[dict[str, Any]]:
        self.reads += 1
        return [{"id": f"0ca{self.reads}", "name": "Software"}]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_read_is_kept_for_its_time_per_connection_then_read_again() -> None:
    clock, client = FakeClock(), CountingClient()
    chart = ChartOfAccounts(keep_seconds=300, clock=clock)
    as_client = cast("BillClient", client)

    first = await chart.read("c1", as_client)
    clock.now += 299
    kept = await chart.read("c1", as_client)
    other = await chart.read("c2", as_client)
    clock.now += 1
    old = await chart.read("c1", as_client)

    assert (first.kept, kept.kept, other.kept, old.kept) == (False, True, False, False)
    assert kept.rows == first.rows
    assert old.rows[0]["id"] == "0ca3"
    assert client.reads == 3


async def test_fresh_and_forget_read_again_and_zero_keeps_nothing() -> None:
    client = CountingClient()
    as_client = cast("BillClient", client)
    chart = ChartOfAccounts(keep_seconds=300, clock=FakeClock())
    await chart.read("c1", as_client)
    assert (await chart.read("c1", as_client, fresh=True)).kept is False
    chart.forget("c1")
    assert (await chart.read("c1", as_client)).kept is False
    assert client.reads == 3

    never = ChartOfAccounts(keep_seconds=0, clock=FakeClock())
    await never.read("c1", as_client)
    assert (await never.read("c1", as_client)).kept is False
