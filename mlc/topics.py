"""``mlc topics ensure``: the catalog's topics on the cluster (``MLC_KAFKA_BOOTSTRAP_SERVERS``)."""

from __future__ import annotations

import asyncio

import typer
from aiokafka.errors import KafkaError

from mlc.exits import kafka_unavailable
from mlc.settings import runtime_settings
from services.runtime.topics_admin import TopicBootstrapError, ensure_topics
from services.vendors import TOPICS

__all__ = ["topics_app"]

topics_app = typer.Typer(help="Kafka topics (MLC_KAFKA_BOOTSTRAP_SERVERS).", no_args_is_help=True)


@topics_app.command("ensure")
def ensure_catalog_topics() -> None:
    """Create the catalog's topics that the cluster lacks (existing ones are left alone)."""
    settings = runtime_settings()
    try:
        result = asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, TOPICS))
    except (TopicBootstrapError, KafkaError, OSError) as exc:
        raise kafka_unavailable(settings.kafka_bootstrap_servers, exc) from None
    typer.echo(f"{len(result.created)} topics created, {len(result.existing)} already there")
    for mismatch in result.mismatches:
        typer.echo(
            f"warning: {mismatch.topic} has {mismatch.cluster_partitions} partitions, "
            f"the catalog says {mismatch.catalog_partitions}"
        )
