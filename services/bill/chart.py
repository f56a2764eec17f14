"""BILL's chart of accounts per connection, read once and kept for a while.

Every bill needs it to place its lines, and it changes rarely (a bookkeeper adds an
account now and then), so reading it for each bill would be a third of a backfill's calls.
A chart older than ``MLC_BILL_CHART_SECONDS`` is read again; so is one that cannot place a
bill's line (the account may have been added in BILL since), and one BILL refused a bill
against (an account archived since), so the cache can delay a bill by one read, never
send it to review for an account BILL has.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.bill.client import BillClient

__all__ = ["ChartOfAccounts", "ReadChart"]

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class ReadChart:
    """The chart's rows, and whether they came from an earlier read."""

    rows: Sequence[Mapping[str, Any]]
    kept: bool


class ChartOfAccounts:
    """The last chart read per connection, for ``keep_seconds``."""

    def __init__(self, *, keep_seconds: float, clock: Clock = time.monotonic) -> None:
        self._keep = keep_seconds
        self._clock = clock
        self._charts: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    async def read(
        self, connection_id: str, client: BillClient, *, fresh: bool = False
    ) -> ReadChart:
        kept = self._charts.get(connection_id)
        if kept is not None and not fresh and self._clock() - kept[0] < self._keep:
            return ReadChart(kept[1], kept=True)
        rows = await client.chart_of_accounts()
        self._charts[connection_id] = (self._clock(), rows)
        return ReadChart(rows, kept=False)

    def forget(self, connection_id: str) -> None:
        self._charts.pop(connection_id, None)
