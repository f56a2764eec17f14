"""The ``rig`` fixture: the BambooHR source over real Kafka, store and sandbox socket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.integration.bamboohr.bamboohr_source_rig import Rig, TopicMaker, source_rig


@pytest.fixture
async def rig(
    kafka_bootstrap: str,
    kafka_topic: TopicMaker,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> AsyncIterator[Rig]:
    async with source_rig(
        bootstrap=kafka_bootstrap,
        kafka_topic=kafka_topic,
        unique_name=unique_name,
        tmp_path=tmp_path,
    ) as ready:
        yield ready
