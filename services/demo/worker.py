"""`python -m services.demo.worker`: the demo service as its own process."""

from __future__ import annotations

import asyncio
import signal

from services.demo.handlers import DEMO_DLQ_TOPIC, build_router, settings_for_demo
from services.runtime import StateStore, configure_logging, create_broker, get_logger, load_settings


async def run() -> None:
    settings = settings_for_demo(load_settings())
    configure_logging(service=settings.service_name, level=settings.log_level)
    log = get_logger(__name__)
    store = await StateStore.from_settings(settings)
    broker = create_broker(settings, dead_letter_topic=DEMO_DLQ_TOPIC)
    broker.include_router(build_router(broker=broker, store=store))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await broker.start()
    log.info("demo.worker_started", topics=["people.employee"])
    try:
        await stop.wait()
    finally:
        # Closing the broker finishes the message in hand and commits it first.
        await broker.stop()
        await store.close()
        log.info("demo.worker_stopped")


if __name__ == "__main__":
    asyncio.run(run())
