"""The stack's ports lie outside the kernel's ephemeral range: a restarted broker finds its port."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devstack import ports
from devstack.ports import free_port, free_port_run


def _ephemeral() -> tuple[int, int]:
    fields = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    low, high = (int(field) for field in fields)
    return low, high


def test_a_free_port_is_never_one_the_kernel_lends_to_outgoing_connections() -> None:
    low, high = _ephemeral()
    for _ in range(200):
        port = free_port()
        assert not low <= port <= high, port
        assert port >= 10_000


def test_a_taken_port_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port()))
        holder.listen()
        taken = holder.getsockname()[1]
        # Draw the taken port first, then a free one: the taken one must be passed over.
        draws = iter([taken, taken + 1 if taken + 1 < 32_768 else taken - 1])
        monkeypatch.setattr(ports._chooser, "randrange", lambda *_: next(draws))
        chosen = free_port()
    assert chosen != taken
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", chosen))


def test_a_run_of_ports_is_consecutive_and_all_free() -> None:
    base = free_port_run(6)
    probes = [socket.socket() for _ in range(6)]
    try:
        for offset, probe in enumerate(probes):
            probe.bind(("127.0.0.1", base + offset))
    finally:
        for probe in probes:
            probe.close()


def test_a_system_without_room_outside_the_range_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "_ephemeral_range", lambda: (10_001, 65_535))
    with pytest.raises(RuntimeError, match="outside the ephemeral range"):
        free_port_run(2)
