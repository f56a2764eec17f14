"""A service-like consumer process for the crash-redelivery test.

``python -m tests.integration.bus.crash_consumer BOOTSTRAP TOPIC GROUP MARKER_DIR MODE``

Consumes TOPIC in consumer group GROUP through ``services.runtime.bus``, the
way a service does. For each message it writes
``MARKER_DIR/started-<pid>-<offset>`` (the message body), then
``MARKER_DIR/completed-<pid>-<offset>`` and returns, so the offset is committed.
In MODE ``hang`` a message whose body contains ``"hang"`` is never finished,
like a handler cut off mid-write: the test kills the process with SIGKILL
while it waits there. MODE ``complete`` finishes every message.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from faststream.kafka import ConsumerRecord
from faststream.kafka.annotations import KafkaMessage

from services.runtime.bus import create_broker, subscriber
from services.runtime.settings import RuntimeSettings

# The shortest session a stock broker accepts (group.min.session.timeout.ms),
# so the killed process's partitions move to the next one quickly.
SESSION_TIMEOUT_MS = 6_000


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers see the whole body or no file: they poll for its existence."""
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(path)


async def main(bootstrap: str, topic: str, group: str, markers: Path, mode: str) -> None:
    settings = RuntimeSettings(service_name=group, kafka_bootstrap_servers=bootstrap)
    broker = create_broker(settings, dead_letter_topic=f"{topic}.dlq")
    pid = os.getpid()

    @subscriber(
        broker,
        topic,
        group_id=group,
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=SESSION_TIMEOUT_MS // 3,
    )
    async def handle(message: KafkaMessage) -> None:
        body = message.body
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)  # one record: no batch subscriber here
        offset = record.offset
        _write_atomically(markers / f"started-{pid}-{offset}", body)
        if mode == "hang" and b'"hang"' in body:
            await asyncio.Event().wait()
        _write_atomically(markers / f"completed-{pid}-{offset}", body)

    await broker.start()
    try:
        await asyncio.Event().wait()
    finally:
        await broker.stop()


if __name__ == "__main__":
    bootstrap_arg, topic_arg, group_arg, markers_arg, mode_arg = sys.argv[1:6]
    asyncio.run(main(bootstrap_arg, topic_arg, group_arg, Path(markers_arg), mode_arg))
