"""``python -m schemas.export DIR``: one JSON Schema per event type, stable bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from schemas import EVENT_TYPES, Event
from schemas.export import SCHEMA_SUFFIX, main, write_schemas


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_every_event_type_gets_a_schema_file_and_an_index_entry(tmp_path: Path) -> None:
    write_schemas(tmp_path)

    names = set(_files(tmp_path))
    assert names == {f"{t}{SCHEMA_SUFFIX}" for t in EVENT_TYPES} | {"index.json"}
    index = json.loads((tmp_path / "index.json").read_text(encoding="utf-8"))["events"]
    assert set(index) == set(EVENT_TYPES)
    assert index["EmployeeChanged"] == {
        "file": "EmployeeChanged.schema.json",
        "schema_version": 1,
        "topics": ["people.employee"],
        "description": "An employee was created or changed: the full record as it now stands.",
    }


def test_exporting_twice_gives_identical_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"

    write_schemas(first)
    write_schemas(second)
    write_schemas(second)

    assert _files(first) == _files(second)
    text = (first / "BillChanged.schema.json").read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n" == text


def test_a_schema_of_a_removed_type_is_deleted_and_other_files_are_kept(tmp_path: Path) -> None:
    (tmp_path / f"EmployeeHired{SCHEMA_SUFFIX}").write_text("{}", encoding="utf-8")
    (tmp_path / "README.md").write_text("notes", encoding="utf-8")

    write_schemas(tmp_path)

    assert not (tmp_path / f"EmployeeHired{SCHEMA_SUFFIX}").exists()
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "notes"


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_the_exported_schema_accepts_the_event_as_it_travels(
    type_name: str, example: Callable[[str], Event], tmp_path: Path
) -> None:
    write_schemas(tmp_path)
    schema: dict[str, Any] = json.loads(
        (tmp_path / f"{type_name}{SCHEMA_SUFFIX}").read_text(encoding="utf-8")
    )
    wire = json.loads(example(type_name).model_dump_json())

    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(wire, schema, cls=jsonschema.Draft202012Validator)


def test_the_exported_schema_says_money_is_a_decimal_string(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    schema = json.loads((tmp_path / f"BillChanged{SCHEMA_SUFFIX}").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)

    assert schema["properties"]["total"]["type"] == "string"
    assert validator.is_valid({**_minimal_bill(), "total": "282.61"})
    assert not validator.is_valid({**_minimal_bill(), "total": "282,61"})


def _minimal_bill() -> dict[str, Any]:
    return {
        "type": "BillChanged",
        "connection_id": "c",
        "occurred_at": "2026-03-01T00:00:00Z",
        "source_updated_at": "2026-03-01T00:00:00Z",
        "bill_id": "1",
        "bill_number": "INV-1",
        "vendor": {"vendor_id": "5", "name": "Acme"},
        "issue_date": "2026-03-01",
        "currency": "USD",
        "subtotal": "1.00",
        "total": "1.00",
        "status": "open",
        "lines": [{"amount": "1.00", "account": {"account_id": "1"}}],
    }


def test_the_command_line_writes_into_the_given_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "out")]) == 0

    assert (tmp_path / "out" / "index.json").is_file()
    assert "wrote" in capsys.readouterr().out


def test_the_command_line_without_a_directory_prints_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 2

    assert "usage: python -m schemas.export DIR" in capsys.readouterr().err
