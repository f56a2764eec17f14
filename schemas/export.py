"""Write the JSON Schema of every event type: ``python -m schemas.export DIR``.

One ``<Type>.schema.json`` per entry of :data:`schemas.EVENT_TYPES` plus an
``index.json`` naming each type's file, topic and schema version. Output is
deterministic (sorted keys, fixed indentation, trailing newline), so running
``make docs`` again changes nothing unless a schema did. Schema files of types
that no longer exist are removed; no other file in DIR is touched.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from schemas import EVENT_TYPES, current_schema_version
from schemas.envelope import Event
from schemas.topics import SHARED_TOPICS, Topic, dead_letter_entry, raw_entry

__all__ = ["SCHEMA_SUFFIX", "event_json_schema", "main", "write_schemas"]

SCHEMA_SUFFIX = ".schema.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def event_json_schema(event_class: type[Event]) -> dict[str, Any]:
    """The JSON Schema of one event type, as :func:`schemas.decode_event` accepts it."""
    schema = event_class.model_json_schema(mode="validation")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


# The per-vendor and per-service topics are families: the index names each family once
# (which vendors a deployment has is the registry's, not the schemas').
_FAMILIES: tuple[tuple[str, Topic], ...] = (
    ("raw.<vendor>", raw_entry("vendor")),
    ("dlq.<service>", dead_letter_entry("service")),
)


def _topics_of(event_type: str) -> list[str]:
    shared = [t.name for t in SHARED_TOPICS if event_type in t.events]
    families = [name for name, entry in _FAMILIES if event_type in entry.events]
    return sorted(shared + families)


def _summary(event_class: type[Event]) -> str:
    first_paragraph = (event_class.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(first_paragraph.split())


def _dump(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_schemas(directory: Path) -> list[Path]:
    """Write every event type's schema and the index into ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    index: dict[str, Any] = {}
    for event_type, event_class in sorted(EVENT_TYPES.items()):
        path = directory / f"{event_type}{SCHEMA_SUFFIX}"
        _write_if_changed(path, _dump(event_json_schema(event_class)))
        written.append(path)
        index[event_type] = {
            "file": path.name,
            "schema_version": current_schema_version(event_class),
            "topics": _topics_of(event_type),
            "description": _summary(event_class),
        }
    index_path = directory / "index.json"
    _write_if_changed(index_path, _dump({"events": index}))
    written.append(index_path)
    for stale in directory.glob(f"*{SCHEMA_SUFFIX}"):
        if stale not in written:
            stale.unlink()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: ``python -m schemas.export DIR``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m schemas.export DIR", file=sys.stderr)
        return 2
    paths = write_schemas(Path(args[0]))
    print(f"wrote {len(paths)} files to {args[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
