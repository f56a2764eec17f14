"""Schema-version migrations: old events on the log, read as the current version.

The log keeps events forever, so a consumer meets every version ever written.
When an event type's payload changes, its class gets the next
``schema_version`` and one small pure function here turns the previous
version's JSON object into the next one's. :func:`schemas.decode_event`
applies the steps in order (1 -> 2 -> 3 ...) before validating, so handlers
only ever see the current version. Events on the log are never rewritten.

A step is registered with the decorator and must not do I/O::

    @UPCASTERS.step("EmployeeChanged", from_version=1)
    def _split_full_name(data: dict[str, Any]) -> dict[str, Any]:
        first, _, last = data.pop("full_name").partition(" ")
        return {**data, "first_name": first, "last_name": last}

The registry sets ``schema_version`` to ``from_version + 1`` itself after the
step, so a step only moves payload fields. The first: BillPaid 1 -> 2 (``schemas/ap.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["UPCASTERS", "Upcaster", "UpcasterRegistry", "UpcastingError"]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""One migration step: the JSON object of version N in, the object of version N + 1 out."""


class UpcastingError(Exception):
    """A step is registered twice, or a step failed on an old event."""


class UpcasterRegistry:
    """Migration steps by (event type, version they start from)."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """Add the step that moves ``event_type`` from ``from_version`` to the next version."""
        if from_version < 0:
            msg = f"schema versions are not negative; got from_version={from_version}"
            raise UpcastingError(msg)
        key = (event_type, from_version)
        if key in self._steps:
            msg = f"an upcaster for {event_type} v{from_version} is already registered"
            raise UpcastingError(msg)
        self._steps[key] = upcaster

    def step(self, event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator form of :meth:`register`."""

        def decorate(upcaster: Upcaster) -> Upcaster:
            self.register(event_type, from_version, upcaster)
            return upcaster

        return decorate

    def upcast(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Apply every registered step from the event's version on; return a new dict.

        An event with no step for its version is returned as it is: whether
        that version is the current one is the decoder's question.
        """
        current = dict(data)
        event_type = current.get("type")
        version = current.get("schema_version", 1)
        if not isinstance(event_type, str) or not isinstance(version, int):
            return current
        while (upcaster := self._steps.get((event_type, version))) is not None:
            try:
                current = upcaster(dict(current))
            except (KeyError, TypeError, ValueError) as exc:
                msg = f"upcasting {event_type} from v{version} failed: {type(exc).__name__}: {exc}"
                raise UpcastingError(msg) from exc
            version += 1
            current["schema_version"] = version
        return current

    def __contains__(self, key: object) -> bool:
        return key in self._steps


UPCASTERS = UpcasterRegistry()
"""The production registry that :func:`schemas.decode_event` uses by default."""
