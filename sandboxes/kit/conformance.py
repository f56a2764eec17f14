"""What every sandbox's conformance replay shares: recorded calls, results, the comparison.

`make conformance` (`sandboxes/conformance.py`) finds each sandbox's replay in
`sandboxes/<vendor>/conformance.py` (its `CONFORMANCE`); those modules build on this one
and nothing imports them back, so the modules form no circle.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

__all__ = [
    "CallResult",
    "Conformance",
    "Recorded",
    "ResponseSpec",
    "compare",
    "content_family",
    "recordings",
    "shape_matches",
]


@dataclass
class Recorded:
    source: str
    method: str
    path: str
    params: dict[str, str]
    data: Any
    status: int
    content_type: str
    response: Any


@dataclass
class CallResult:
    call: str
    in_scope: bool
    status: bool = False
    content_type: bool = False
    shape: bool = False
    spec: bool | None = None
    notes: list[str] = field(default_factory=list)


def recordings(folder: Path) -> Iterator[Recorded]:
    """Every `api.<method>.<path>` entry of Nango's recorded test files."""
    for file in sorted(folder.glob("*.json")):
        document = json.loads(file.read_text(encoding="utf-8"))
        for method, paths in (document.get("api") or {}).items():
            for path, entries in paths.items():
                for entry in entries if isinstance(entries, list) else [entries]:
                    request = entry.get("request") or {}
                    yield Recorded(
                        source=file.name,
                        method=method.upper(),
                        path=path,
                        params={k: str(v) for k, v in (request.get("params") or {}).items()},
                        data=request.get("data"),
                        status=int(entry.get("status") or 0),
                        content_type=str((entry.get("headers") or {}).get("content-type") or ""),
                        response=entry.get("response"),
                    )


def content_family(content_type: str) -> str:
    lowered = content_type.lower()
    for name in ("json", "xml", "html", "csv", "plain"):
        if name in lowered:
            return name
    return "none"


def shape_matches(recorded: object, actual: object) -> tuple[bool, str]:
    """The recorded top-level keys (of the object or of its first element) all present."""
    if isinstance(recorded, dict):
        if not isinstance(actual, dict):
            return False, f"expected an object, got {type(actual).__name__}"
        missing = sorted(set(recorded) - set(actual))
        return (not missing, f"missing keys {missing}" if missing else "")
    if isinstance(recorded, list):
        if not isinstance(actual, list):
            return False, f"expected an array, got {type(actual).__name__}"
        if recorded and actual and isinstance(recorded[0], dict) and isinstance(actual[0], dict):
            missing = sorted(set(recorded[0]) - set(actual[0]))
            return (not missing, f"item missing keys {missing}" if missing else "")
        return True, ""
    return True, ""


class ResponseSpec(Protocol):
    """A vendor's API description that can validate a response body (an OpenAPI document)."""

    def pointer(self, path: str, method: str, status: int) -> str | None:
        """The JSON pointer of the documented response schema, or None when there is none."""
        ...

    def validate(self, pointer: str, body: object) -> list[str]:
        """The first few ways ``body`` breaks the schema at ``pointer``."""
        ...


@dataclass(frozen=True, slots=True)
class Conformance:
    """One sandbox's replay: what it replays (for the table) and the replay itself."""

    replayed: str
    replay: Callable[[Path], Awaitable[list[CallResult]]]


def compare(
    result: CallResult,
    call: Recorded,
    answer: httpx.Response,
    path: str,
    spec: ResponseSpec | None,
) -> None:
    """Fill `result` with how the sandbox's answer compares to the recording and the spec."""
    result.status = answer.status_code == call.status
    if not result.status:
        result.notes.append(f"status {answer.status_code} != recorded {call.status}")
    result.content_type = content_family(answer.headers.get("content-type", "")) == content_family(
        call.content_type
    ) or (not answer.content and not call.response)
    if not result.content_type:
        result.notes.append(
            f"content-type {answer.headers.get('content-type')} != recorded {call.content_type}"
        )
    actual: Any = None
    if "json" in answer.headers.get("content-type", ""):
        actual = answer.json()
    if isinstance(call.response, dict | list):
        result.shape, why = shape_matches(call.response, actual)
        if why:
            result.notes.append(why)
    else:
        result.shape = answer.text.strip() == str(call.response or "").strip() or result.status
    if spec is not None and actual is not None:
        pointer = spec.pointer(path, call.method, answer.status_code)
        if pointer is not None:
            errors = spec.validate(pointer, actual)
            if errors and spec.validate(pointer, call.response):
                # The recorded real answer breaks the same schema: the spec is not the
                # authority here, the recording is (and the shape check covers it).
                result.notes.append("spec n/a: the recording itself violates this schema")
            else:
                result.spec = not errors
                result.notes += [f"spec: {e}" for e in errors]
