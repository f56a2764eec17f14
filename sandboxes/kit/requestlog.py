"""The request log behind `GET /_sandbox/requests` (the control API's own calls are not logged)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["LoggedRequest", "RequestLog"]


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    time: str
    host: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    def __init__(self) -> None:
        self.entries: list[LoggedRequest] = []

    def add(self, entry: LoggedRequest) -> None:
        self.entries.append(entry)

    def clear(self) -> None:
        self.entries.clear()
