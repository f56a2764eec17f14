"""services/asyncapi.py: the AsyncAPI document comes from the services' real routers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from faststream.kafka import KafkaRouter

import services
from schemas import BillChanged, EmployeeChanged, SyncOutcome
from schemas.topics import topic
from services.asyncapi import (
    AsyncAPIError,
    build_document,
    load_routers,
    render_yaml,
    write_document,
)


def _sink_router() -> KafkaRouter:
    """A tiny service: reads employees and bills, answers with outcomes."""
    router = KafkaRouter()
    outcomes = router.publisher("sync.outcome")

    @router.subscriber("people.employee", group_id="tiny")
    @outcomes
    async def write_staff(event: EmployeeChanged) -> SyncOutcome:
        """Creates or updates the staff record of an employee."""
        raise AssertionError(event)

    @router.subscriber("ap.bill", group_id="tiny")
    async def write_bill(event: BillChanged) -> None:
        raise AssertionError(event)

    return router


def _channel(document: dict[str, Any], address: str, service: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [
        channel
        for name, channel in document["channels"].items()
        if channel["address"] == address and name.startswith(f"{service}:")
    ]
    assert len(matches) == 1, sorted(document["channels"])
    return matches[0]


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_a_subscribers_channel_and_message_schema_are_in_the_document() -> None:
    document = build_document({"tiny": _sink_router()}, version="9.9.9")

    channel = _channel(document, "people.employee", "tiny")
    message = _resolve(document, channel["messages"]["SubscribeMessage"]["$ref"])
    payload = _resolve(document, message["payload"]["$ref"])
    assert payload["title"] == "EmployeeChanged"
    assert "work_email" in payload["properties"]
    assert document["info"]["version"] == "9.9.9"
    assert document["asyncapi"] == "3.0.0"


def test_nested_payload_models_are_resolvable_components() -> None:
    document = build_document({"tiny": _sink_router()})

    bill = document["components"]["schemas"]["BillChanged"]
    line_ref = bill["properties"]["lines"]["items"]["$ref"]
    assert _resolve(document, line_ref)["title"] == "BillLine"


def test_a_publisher_shows_as_a_send_operation_with_its_payload() -> None:
    document = build_document({"tiny": _sink_router()})

    channel = _channel(document, "sync.outcome", "tiny")
    sends = [op for op in document["operations"].values() if op["action"] == "send"]
    assert len(sends) == 1
    assert _resolve(document, sends[0]["channel"]["$ref"]) is channel
    message = _resolve(document, channel["messages"]["Message"]["$ref"])
    assert message["payload"]["$ref"] == "#/components/schemas/SyncOutcome"
    assert sends[0]["tags"] == [{"name": "tiny"}]


def test_catalog_topics_carry_the_catalogs_description_and_settings() -> None:
    document = build_document({"tiny": _sink_router()})

    channel = _channel(document, "people.employee", "tiny")
    catalog = topic("people.employee")
    assert channel["description"].startswith(catalog.description)
    assert "Creates or updates the staff record" in channel["description"]
    kafka = channel["bindings"]["kafka"]
    assert kafka["partitions"] == catalog.partitions
    assert kafka["topicConfiguration"] == {"cleanup.policy": ["delete"], "retention.ms": -1}
    assert _channel(document, "ap.bill", "tiny")["description"] == topic("ap.bill").description


def test_two_services_on_one_topic_keep_separate_channels() -> None:
    document = build_document({"alpha": _sink_router(), "beta": _sink_router()})

    alpha = _channel(document, "people.employee", "alpha")
    beta = _channel(document, "people.employee", "beta")
    assert (
        alpha["messages"]["SubscribeMessage"]["$ref"]
        != beta["messages"]["SubscribeMessage"]["$ref"]
    )
    receives = [op for op in document["operations"].values() if op["action"] == "receive"]
    assert len(receives) == 4


def test_every_reference_in_the_document_resolves() -> None:
    document = build_document({"alpha": _sink_router(), "beta": _sink_router()})

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    found = list(refs(document))
    assert found
    for ref in found:
        assert _resolve(document, ref) is not None, ref


def test_the_yaml_is_the_same_every_time_and_parses_back() -> None:
    first = render_yaml(build_document({"tiny": _sink_router()}, version="1.0.0"))
    second = render_yaml(build_document({"tiny": _sink_router()}, version="1.0.0"))

    assert first == second
    parsed = yaml.safe_load(first)
    assert parsed == build_document({"tiny": _sink_router()}, version="1.0.0")
    assert parsed["servers"]["development"]["host"] == "kafka:9092"


def test_services_without_a_handlers_module_are_skipped_with_a_note() -> None:
    notes: list[str] = []

    routers = load_routers(["no_such_service"], note=notes.append)

    assert routers == {}
    assert notes == [
        "services.no_such_service.handlers does not exist yet: "
        "no_such_service is left out of the document"
    ]


@pytest.fixture
def extra_service_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder that Python treats as part of the ``services`` package, for made-up services."""
    monkeypatch.setattr(services, "__path__", [*services.__path__, str(tmp_path)])
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith(("services.phantom", "services.real"))]:
        del sys.modules[name]


def test_a_handlers_module_without_a_router_is_an_error(extra_service_folder: Path) -> None:
    package = extra_service_folder / "phantom"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "handlers.py").write_text("router = 'not a router'\n", encoding="utf-8")

    with pytest.raises(
        AsyncAPIError, match=r"services.phantom.handlers must define `router: KafkaRouter`"
    ):
        load_routers(["phantom"], note=lambda _: None)


def test_the_document_is_built_from_the_handlers_modules_it_finds(
    extra_service_folder: Path, tmp_path: Path
) -> None:
    package = extra_service_folder / "real"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "handlers.py").write_text(
        "from faststream.kafka import KafkaRouter\n"
        "from schemas import VendorChanged\n"
        "router = KafkaRouter()\n"
        "@router.subscriber('ap.vendor', group_id='real')\n"
        "async def write_vendor(event: VendorChanged) -> None:\n"
        "    return None\n",
        encoding="utf-8",
    )
    out = tmp_path / "docs" / "asyncapi.yaml"

    routers = load_routers(["real", "no_such_service"], note=lambda _: None)
    write_document(out, routers)

    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert list(routers) == ["real"]
    assert _channel(document, "ap.vendor", "real")["description"] == topic("ap.vendor").description
    assert "VendorChanged" in document["components"]["schemas"]
