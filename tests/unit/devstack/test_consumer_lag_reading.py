"""``devstack.consumer_lag.lag_of`` reads a real ops port: each partition's lag, and
nothing known (None) from a process that does not answer."""

from __future__ import annotations

import httpx

from devstack.consumer_lag import LagSample, lag_of
from services.runtime.health import Health
from services.runtime.metrics import CONSUMER_LAG
from services.runtime.ops_server import ops_server_running


async def test_the_lag_of_each_partition_held_is_read_from_the_ops_port() -> None:
    CONSUMER_LAG.replace(
        {("freshbooks", "people.employee", "0"): 3, ("zoho", "people.employee", "4"): 0}
    )
    try:
        with ops_server_running(
            Health(stall_seconds=5), host="127.0.0.1", port=0, service="probe"
        ) as server:
            async with httpx.AsyncClient(timeout=5.0) as http:
                samples = await lag_of(http, f"http://127.0.0.1:{server.port}")
    finally:
        CONSUMER_LAG.replace({})
    assert samples is not None
    assert sorted(samples, key=lambda s: s.group) == [
        LagSample(group="freshbooks", topic="people.employee", partition="0", messages=3.0),
        LagSample(group="zoho", topic="people.employee", partition="4", messages=0.0),
    ]


async def test_a_process_that_does_not_answer_has_no_known_lag() -> None:
    with ops_server_running(
        Health(stall_seconds=5), host="127.0.0.1", port=0, service="gone"
    ) as server:
        url = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(timeout=5.0) as http:
        assert await lag_of(http, url) is None  # stopped: its port refuses
