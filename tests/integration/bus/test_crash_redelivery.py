"""A handler killed mid-message commits nothing: the group's next consumer redoes the message."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sandboxes.kit import wait_until
from services.runtime.bus import create_broker
from services.runtime.settings import RuntimeSettings

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[3]
# Joining a group, plus the killed member's 6 s session expiring, on a busy 2-core machine.
CONSUMER_TIMEOUT_S = 60.0


def _start_consumer(
    bootstrap: str, topic: str, group: str, *, markers: Path, mode: str, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.bus.crash_consumer",
                bootstrap,
                topic,
                group,
                str(markers),
                mode,
            ],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_a_message_whose_handler_was_killed_midway_is_handled_again_by_the_next_consumer(
    kafka_bootstrap: str,
    kafka_topic: Callable[..., Awaitable[str]],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    topic = await kafka_topic("crash")
    group = unique_name("crash-group")
    finished = b'{"employee": "42", "change": "department"}'
    interrupted = b'{"employee": "42", "change": "termination", "hang": true}'
    producer = create_broker(
        RuntimeSettings(service_name="test-producer", kafka_bootstrap_servers=kafka_bootstrap),
        dead_letter_topic=f"{topic}.dlq",
    )
    await producer.start()
    try:
        for body in (finished, interrupted):
            await producer.publish(body, topic, key=b"conn-1:42")
    finally:
        await producer.stop()

    first_markers = tmp_path / "first"
    second_markers = tmp_path / "second"
    first_markers.mkdir()
    second_markers.mkdir()
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"

    first = _start_consumer(
        kafka_bootstrap, topic, group, markers=first_markers, mode="hang", log=first_log
    )
    try:
        first_started = first_markers / f"started-{first.pid}-1"
        await wait_until(
            first_started.exists,
            timeout_seconds=CONSUMER_TIMEOUT_S,
            message="the first consumer to start handling the message",
            details=first_log.read_text,
        )
        first.kill()  # SIGKILL: no shutdown hook, no commit, as in a crash
        first.wait(timeout=15)
    finally:
        _stop(first)
    assert first_started.read_bytes() == interrupted
    assert (first_markers / f"completed-{first.pid}-0").read_bytes() == finished
    assert not (first_markers / f"completed-{first.pid}-1").exists()

    second = _start_consumer(
        kafka_bootstrap, topic, group, markers=second_markers, mode="complete", log=second_log
    )
    try:
        second_completed = second_markers / f"completed-{second.pid}-1"
        await wait_until(
            second_completed.exists,
            timeout_seconds=CONSUMER_TIMEOUT_S,
            message="the second consumer of the group to handle the same message",
            details=second_log.read_text,
        )
    finally:
        _stop(second)
    assert second_completed.read_bytes() == interrupted
    # The message the first consumer finished was committed: nobody does it twice.
    assert not (second_markers / f"started-{second.pid}-0").exists()
