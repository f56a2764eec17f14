"""What every sink binding counts in its sandbox, through the sandbox's control API.

A binding (a dataclass with a ``control`` client on its sandbox) inherits these and says
only which successful calls are writes of the sink (:meth:`SandboxCounts.is_write`): the
sign-ins and token calls around them are not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

__all__ = ["SandboxCounts"]

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SandboxCounts:
    control: httpx.AsyncClient
    not_writes: ClassVar[tuple[str, ...]] = ()
    """Path parts of successful write calls that are not the sink's (sign-in, tokens)."""

    def is_write(self, request: Mapping[str, Any]) -> bool:
        path = str(request["path"])
        return (
            request["method"] in _WRITE_METHODS
            and int(request["status"]) < 400
            and not any(part in path for part in self.not_writes)
        )

    async def state(self, collection: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (
            (await self.control.get(f"/_sandbox/state/{collection}")).raise_for_status().json()
        )
        return found

    async def requests(self) -> list[dict[str, Any]]:
        logged: list[dict[str, Any]] = (
            (await self.control.get("/_sandbox/requests")).raise_for_status().json()
        )
        return logged

    async def writes(self) -> int:
        return sum(1 for r in await self.requests() if self.is_write(r))

    async def refused(self) -> int:
        return sum(1 for r in await self.requests() if r["status"] == 429)

    async def faults(self, rules: Sequence[Mapping[str, Any]]) -> None:
        (await self.control.post("/_sandbox/faults", json=list(rules))).raise_for_status()
