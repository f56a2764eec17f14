"""The fault suite's short version (``make chaos`` runs the full one): R4 and R5 on flow 1's
running stack.

Hostile requests at every door, then a genuine delivery; then every secret the sandboxes
issued and the store holds, looked for in the run directory and on every topic. The
figures' meaning is in ``docs/reliability.md``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chaos.run import run_chaos
from tests.e2e.flow_people_stack import PeopleFlowStack, running_flow

REQUESTS = 1_500


@pytest.fixture(scope="module")
async def flow(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PeopleFlowStack]:
    run_dir: Path = tmp_path_factory.mktemp("chaos-stack")
    async with running_flow(kafka_bootstrap, run_dir, "people-freshbooks", "freshbooks") as stack:
        yield stack


async def test_hostile_requests_get_clear_4xx_and_no_secret_is_anywhere_in_clear(
    flow: PeopleFlowStack,
) -> None:
    said: list[str] = []
    result = await run_chaos(flow.plan, flow.info, requests=REQUESTS, seed=5, say=said.append)

    hostile = result.hostile
    assert hostile.sent >= REQUESTS
    assert hostile.server_errors == 0, hostile.examples
    assert hostile.unclear_refusals == 0, hostile.examples
    assert set(hostile.by_door) == {"edge", "operator API", "oauth", "console", "parser"}
    assert sum(n for status, n in hostile.by_status.items() if 400 <= status < 500) > REQUESTS / 2
    assert result.edge_up_after
    assert result.genuine_accepted

    scan = result.scan
    # Every kind of secret was looked for: the sandboxes' and the stored, decrypted ones.
    assert scan.secrets >= 6
    assert scan.messages > 0
    assert scan.files > 0
    assert scan.found == [], scan.found[:5]
    assert scan.loose_modes == []
