"""Benchmark 3: the wire format, ``encode_event`` and ``schemas.decode_event``.

Measured on EmployeeChanged, the largest event that flows in volume.
"""

from __future__ import annotations

from benchmarks.events import sample_employee
from benchmarks.results import Measurement, Target, rate_of
from schemas import decode_event
from services.runtime import encode_event

__all__ = ["TARGETS", "measure_codec"]

TARGETS = {
    "encode": Target(
        50_000,
        "at_least",
        "pydantic-core + orjson; it must stay far above the bus rates so it never shows in "
        "them (this machine: about 260,000/s)",
    ),
    "decode": Target(
        20_000,
        "at_least",
        "validation of every field plus the registry lookup and upcasting check, once per "
        "consumed message (this machine: about 65,000/s)",
    ),
}


def measure_codec(*, count: int, warm_up: int = 1_000) -> list[Measurement]:
    """Encodes and decodes per second of one EmployeeChanged (about 760 bytes of JSON)."""
    event = sample_employee(1)
    wire = encode_event(event)
    if decode_event(wire) != event:
        msg = "decode_event(encode_event(event)) does not give the event back"
        raise AssertionError(msg)
    encode_rate = rate_of(lambda: encode_event(event), count=count, warm_up=warm_up)
    decode_rate = rate_of(lambda: decode_event(wire), count=count, warm_up=warm_up)
    return [
        Measurement("encode_event(EmployeeChanged)", encode_rate, "events/s", TARGETS["encode"]),
        Measurement("decode_event(EmployeeChanged)", decode_rate, "events/s", TARGETS["decode"]),
    ]
