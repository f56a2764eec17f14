"""Free TCP ports for the processes the stack, the tests and the benchmarks start.

A port is chosen *below the kernel's ephemeral range* (``ip_local_port_range``),
never from it. A process that is stopped and started again on its port (a broker
stopped for an outage, a PostgreSQL restarted, a killed service) must find the
port still free. A port from the ephemeral range is not: while the broker is down,
its clients keep reconnecting to it, and the kernel may give one of those
connections that very port as its local end (a TCP self-connect), or lend it to
any other outgoing connection. The restarted broker then fails to bind
("Address already in use"). Below the range, only a process that binds it on
purpose can hold it.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_port", "free_port_run"]

_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# The lowest port handed out: above the well-known and most registered servers' ports.
_LOWEST = 10_000
# Linux's default range, for a system that does not say.
_DEFAULT_EPHEMERAL = (32_768, 60_999)
_ATTEMPTS = 500

# Not the module ``random``: a test seeding it would make parallel workers pick alike.
_chooser = random.SystemRandom()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(field) for field in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return _DEFAULT_EPHEMERAL
    return low, high


def _candidate_ranges() -> list[range]:
    """The port ranges outside the ephemeral one, largest first."""
    low, high = _ephemeral_range()
    ranges = [range(_LOWEST, low), range(high + 1, 65_536)]
    return sorted((r for r in ranges if len(r) >= 1), key=len, reverse=True)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_run(length: int) -> int:
    """The first of ``length`` consecutive ports all free on 127.0.0.1 now.

    Another process may still take one before it is bound; the ports are drawn at
    random from outside the ephemeral range so that is rare and never the kernel's doing.
    """
    ranges = _candidate_ranges()
    if not ranges or len(ranges[0]) < length:
        raise RuntimeError(
            f"no run of {length} ports outside the ephemeral range {_ephemeral_range()}"
        )
    span = ranges[0]
    for _ in range(_ATTEMPTS):
        base = _chooser.randrange(span.start, span.stop - length + 1)
        if all(_bindable(port) for port in range(base, base + length)):
            return base
    raise RuntimeError(
        f"no {length} free consecutive ports found in {span} after {_ATTEMPTS} tries"
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, outside the ephemeral range (see the module)."""
    return free_port_run(1)
