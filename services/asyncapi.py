"""Generate the AsyncAPI document from the services' own routers.

``python -m services.asyncapi docs/asyncapi.yaml`` (run by ``make docs``).

Every deployable service ``services/<name>/`` exposes ``handlers.py`` with a
module-level ``router: faststream.kafka.KafkaRouter`` holding its subscribers
and publishers. This module imports those routers (skipping, with a note,
services whose handlers are not written yet), asks FastStream for each
service's AsyncAPI 3.0 document and merges them into one, with every channel,
operation and message named after its service (``freshbooks:people.employee:...``)
so two services on one topic stay apart. Channels on catalog topics get the
catalog's description and topic settings (``schemas/topics.py``).

The document is generated, never edited by hand, and the output is
deterministic: sorted keys and a fixed server address, so regenerating it
changes nothing unless a router did.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.specification import AsyncAPI

from schemas.topics import Topic, topic
from services.vendors import SERVICES

__all__ = [
    "DOCUMENT_SERVER",
    "AsyncAPIError",
    "build_document",
    "load_routers",
    "main",
    "render_yaml",
    "write_document",
]

# The address the document shows: the broker's name in docker-compose.yml. The
# real one is a setting (MLC_KAFKA_BOOTSTRAP_SERVERS); a fixed value here keeps
# the generated file identical on every machine.
DOCUMENT_SERVER = "kafka:9092"
TITLE = "ml-connector"
DESCRIPTION = (
    "The Kafka topics of ml-connector and the services that read and write them. "
    "Generated from the services' FastStream routers by `make docs`; do not edit."
)
# Prefixes of JSON pointers to the parts of a document that belong to one service.
_PER_SERVICE_PARTS = ("channels", "operations", "components/messages")


class AsyncAPIError(Exception):
    """A service's handlers module does not expose the router the convention asks for."""


def load_routers(
    services: Iterable[str] = SERVICES,
    *,
    note: Callable[[str], None] = print,
) -> dict[str, KafkaRouter]:
    """Import ``services.<name>.handlers`` for each service and return its ``router``.

    A service without a handlers module yet is skipped and ``note`` is told.
    A handlers module that fails to import, or has no KafkaRouter named
    ``router``, is an error: the document must not silently lose a service.
    """
    routers: dict[str, KafkaRouter] = {}
    for service in services:
        module_name = f"services.{service}.handlers"
        if importlib.util.find_spec(f"services.{service}") is None or (
            importlib.util.find_spec(module_name) is None
        ):
            note(f"{module_name} does not exist yet: {service} is left out of the document")
            continue
        module = importlib.import_module(module_name)
        router = getattr(module, "router", None)
        if not isinstance(router, KafkaRouter):
            msg = f"{module_name} must define `router: KafkaRouter` (found {type(router).__name__})"
            raise AsyncAPIError(msg)
        routers[service] = router
    return routers


def build_document(
    routers: Mapping[str, KafkaRouter], *, version: str | None = None
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the given services' routers, as plain data."""
    document: dict[str, Any] = {
        "asyncapi": "3.0.0",
        "info": {
            "title": TITLE,
            "version": version or importlib.metadata.version("ml-connector"),
            "description": DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": {},
        "channels": {},
        "operations": {},
        "components": {"messages": {}, "schemas": {}},
    }
    for service in sorted(routers):
        part = _service_document(service, routers[service])
        document["servers"].update(part.get("servers", {}))
        for section in ("channels", "operations"):
            for name, value in part.get(section, {}).items():
                document[section][f"{service}:{name}"] = value
        for name, value in part.get("components", {}).get("messages", {}).items():
            value["title"] = f"{service}:{value.get('title', name)}"
            document["components"]["messages"][f"{service}:{name}"] = value
        _merge_schemas(document["components"]["schemas"], part, service)
        for operation in part.get("operations", {}).values():
            operation["tags"] = [{"name": service}]
    _describe_catalog_topics(document["channels"])
    return document


def _service_document(service: str, router: KafkaRouter) -> dict[str, Any]:
    broker = KafkaBroker(DOCUMENT_SERVER)
    broker.include_router(router)
    specification = AsyncAPI(broker, title=TITLE, schema_version="3.0.0").to_specification()
    part = _prefix_refs(specification.to_jsonable(), service)
    if not isinstance(part, dict):
        msg = f"FastStream produced no AsyncAPI object for {service}"
        raise AsyncAPIError(msg)
    return part


def _prefix_refs(node: object, service: str) -> object:
    if isinstance(node, dict):
        return {
            key: _prefixed_ref(value, service)
            if key == "$ref" and isinstance(value, str)
            else _prefix_refs(value, service)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_prefix_refs(item, service) for item in node]
    return node


def _prefixed_ref(ref: str, service: str) -> str:
    for part in _PER_SERVICE_PARTS:
        head = f"#/{part}/"
        if ref.startswith(head):
            return f"{head}{service}:{ref.removeprefix(head)}"
    return ref


def _merge_schemas(schemas: dict[str, Any], part: Mapping[str, Any], service: str) -> None:
    for name, schema in part.get("components", {}).get("schemas", {}).items():
        if name in schemas and schemas[name] != schema:
            msg = (
                f"two different payload schemas are both named {name!r} "
                f"(the second in {service}); give one model another name"
            )
            raise AsyncAPIError(msg)
        schemas[name] = schema


def _describe_catalog_topics(channels: Mapping[str, dict[str, Any]]) -> None:
    for channel in channels.values():
        catalog = _catalog_topic(channel.get("address"))
        if catalog is None:
            continue
        own = channel.get("description")
        channel["description"] = f"{catalog.description}\n\n{own}" if own else catalog.description
        kafka = channel.setdefault("bindings", {}).setdefault("kafka", {})
        kafka["partitions"] = catalog.partitions
        kafka["topicConfiguration"] = {
            "cleanup.policy": catalog.cleanup_policy.split(","),
            "retention.ms": catalog.retention_ms,
        }


def _catalog_topic(address: object) -> Topic | None:
    if not isinstance(address, str):
        return None
    try:
        return topic(address)
    except KeyError:
        return None


class _DocumentDumper(yaml.SafeDumper):
    """Safe YAML that writes multi-line text (descriptions) as literal blocks."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_DocumentDumper.add_representer(str, _represent_text)


def render_yaml(document: Mapping[str, Any]) -> str:
    """The document as YAML with sorted keys: the same input gives the same bytes."""
    return yaml.dump(
        dict(document),
        Dumper=_DocumentDumper,
        sort_keys=True,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


def write_document(
    path: Path,
    routers: Mapping[str, KafkaRouter] | None = None,
    *,
    note: Callable[[str], None] = print,
) -> Path:
    """Generate the document (from every service's router unless given) and write it."""
    found = load_routers(note=note) if routers is None else routers
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_yaml(build_document(found)), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: ``python -m services.asyncapi OUT.yaml``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m services.asyncapi OUT.yaml", file=sys.stderr)
        return 2
    path = write_document(Path(args[0]), note=lambda text: print(text, file=sys.stderr))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
