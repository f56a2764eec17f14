"""A people sink's delivery and batch screen, for :class:`AppliedScreenContract`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from schemas.people import EmployeeChanged
from schemas.snapshot import Snapshot
from tests.contract.sink_contract import Deliver, Screen

__all__ = ["employee_screener"]


class ScreeningPeopleSink(Protocol):
    async def employee_changed(self, event: EmployeeChanged) -> None: ...

    async def employees_applied(self, events: Sequence[EmployeeChanged]) -> set[int]: ...


@asynccontextmanager
async def employee_screener(
    replica: AbstractAsyncContextManager[ScreeningPeopleSink],
) -> AsyncIterator[tuple[Deliver, Screen]]:
    """``replica``'s one-by-one delivery and its screen of a batch of employees."""
    async with replica as sink:

        async def deliver(snapshot: Snapshot) -> None:
            assert isinstance(snapshot, EmployeeChanged)
            await sink.employee_changed(snapshot)

        async def screen(snapshots: Sequence[Snapshot]) -> set[int]:
            events = [s for s in snapshots if isinstance(s, EmployeeChanged)]
            assert len(events) == len(snapshots)
            return await sink.employees_applied(events)

        yield deliver, screen
