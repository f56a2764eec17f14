"""EVENT_TYPES is complete: no event class can be added to schemas/ and forgotten."""

from __future__ import annotations

import importlib
import pkgutil
import typing

import pytest

import schemas
from schemas import EVENT_TYPES, Event, Snapshot, current_schema_version
from schemas.topics import topic
from services.vendors import TOPICS


def _event_classes_defined_in_schemas() -> set[type[Event]]:
    for module in pkgutil.iter_modules(schemas.__path__):
        importlib.import_module(f"schemas.{module.name}")
    found: set[type[Event]] = set()
    pending: list[type[Event]] = [Event]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("schemas."):
                found.add(sub)
    return found


def _is_concrete(cls: type[Event]) -> bool:
    """A class is an event type when its ``type`` is fixed by a Literal; others are bases."""
    return typing.get_origin(cls.model_fields["type"].annotation) is typing.Literal


def test_every_event_class_in_schemas_is_registered_under_its_type_name() -> None:
    concrete = {cls for cls in _event_classes_defined_in_schemas() if _is_concrete(cls)}

    assert concrete == set(EVENT_TYPES.values())
    for name, cls in EVENT_TYPES.items():
        assert cls.model_fields["type"].default == name
        assert typing.get_args(cls.model_fields["type"].annotation) == (name,)
        assert cls.__name__ == name


def test_the_walk_finds_the_abstract_bases_and_leaves_them_out() -> None:
    classes = _event_classes_defined_in_schemas()

    assert Snapshot in classes
    assert not _is_concrete(Snapshot)


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_event_type_is_frozen_strict_and_versioned(type_name: str) -> None:
    cls = EVENT_TYPES[type_name]

    assert cls.model_config.get("frozen") is True
    assert cls.model_config.get("extra") == "forbid"
    assert current_schema_version(cls) >= 1


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_event_type_travels_on_a_catalog_topic(type_name: str) -> None:
    carriers = [t.name for t in TOPICS if type_name in t.events]

    assert carriers, f"{type_name} is on no topic of schemas/topics.py"
    cls = EVENT_TYPES[type_name]
    if cls.topic_name:
        assert type_name in topic(cls.topic_name).events


def test_every_event_the_catalog_names_is_registered() -> None:
    named = {event for t in TOPICS for event in t.events}

    assert named <= set(EVENT_TYPES)


@pytest.mark.parametrize(
    "type_name", sorted(n for n, c in EVENT_TYPES.items() if issubclass(c, Snapshot))
)
def test_every_snapshot_derives_its_entity_key_from_its_own_fields(type_name: str) -> None:
    cls = EVENT_TYPES[type_name]

    assert cls.topic_name, f"{type_name} must name its topic"
    assert cls.entity_key_fields, f"{type_name} must name the fields of its entity key"
    assert set(cls.entity_key_fields) <= set(cls.model_fields)
