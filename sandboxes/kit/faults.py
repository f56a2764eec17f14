"""Fault injection: answer matching requests with an error (or after a delay) for N times.

A rule as JSON (`POST /_sandbox/faults`):
`{"path": "regex", "method": "GET", "status": 429, "count": 3, "retry_after": 2,
  "delay_ms": 0, "body": {...} | "text", "headers": {...}}`.
`path` is searched (`re.search`) in the request path; `method` omitted matches any;
`count` defaults to 1; `status` omitted (or 0) means "only delay, then answer normally".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FaultInjector", "FaultRule", "FaultSpec"]


class FaultSpec(BaseModel):
    """The JSON shape of one fault rule."""

    model_config = ConfigDict(extra="forbid")

    path: str = ".*"
    method: str | None = None
    status: int = 0
    count: int = Field(default=1, ge=1)
    retry_after: float | None = None
    delay_ms: int = Field(default=0, ge=0)
    body: dict[str, Any] | list[Any] | str | None = None
    headers: dict[str, str] = Field(default_factory=dict)


@dataclass
class FaultRule:
    spec: FaultSpec
    pattern: re.Pattern[str]
    remaining: int
    fired: int = 0
    hits: list[str] = field(default_factory=list)

    def matches(self, method: str, path: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.spec.method is not None and self.spec.method.upper() != method.upper():
            return False
        return self.pattern.search(path) is not None

    def as_json(self) -> dict[str, Any]:
        return {**self.spec.model_dump(), "remaining": self.remaining, "fired": self.fired}


class FaultInjector:
    """The active fault rules, first match wins; each firing uses up one of its count."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(self, spec: FaultSpec) -> FaultRule:
        rule = FaultRule(spec=spec, pattern=re.compile(spec.path), remaining=spec.count)
        self.rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultSpec | None:
        """The fault to apply to this request, if any (and count it as used)."""
        for rule in self.rules:
            if rule.matches(method, path):
                rule.remaining -= 1
                rule.fired += 1
                return rule.spec
        return None

    def clear(self) -> None:
        self.rules.clear()
