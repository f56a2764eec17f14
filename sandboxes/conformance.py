"""`make conformance`: replay the recorded vendor calls in `../shared/reference` against the
sandboxes and validate the answers against the vendor's own OpenAPI where one exists.

Optional and read-only: it needs the shared reference folder next to the repository (it is
never copied into the repo and never read by `make test`). For each recorded call in the
sandbox's scope it compares the status, the content type, the JSON shape (the recorded
keys must all be present) and, with a spec, validates the sandbox's body against the
documented response schema. It prints one table row per vendor (and each call with `-v`).

Each sandbox's replay is its `sandboxes/<vendor>/conformance.py` (`CONFORMANCE`), found
here by looking, not listed; the shared parts are `sandboxes/kit/conformance.py`.

Run: `python -m sandboxes.conformance [--reference DIR] [-v]`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from sandboxes import available_vendors
from sandboxes.kit.conformance import CallResult, Conformance

__all__ = ["VENDORS", "CallResult", "main"]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"


def _replays() -> dict[str, Conformance]:
    found: dict[str, Conformance] = {}
    for vendor in available_vendors():
        name = f"sandboxes.{vendor}.conformance"
        if importlib.util.find_spec(name) is None:
            continue
        conformance = getattr(importlib.import_module(name), "CONFORMANCE", None)
        if isinstance(conformance, Conformance):
            found[vendor] = conformance
    return found


VENDORS: dict[str, Conformance] = _replays()
"""vendor -> its replay, for every sandbox that has a `conformance.py`."""


def _table(rows: list[tuple[str, list[CallResult]]]) -> str:
    header = (
        "| vendor | recorded | in scope | status | content type | shape | spec-valid |\n"
        "|---|---|---|---|---|---|---|"
    )
    lines = [header]
    for vendor, results in rows:
        scoped = [r for r in results if r.in_scope]
        specced = [r for r in scoped if r.spec is not None]

        def count(flag: Callable[[CallResult], bool], of: list[CallResult]) -> str:
            return f"{sum(1 for r in of if flag(r))}/{len(of)}"

        lines.append(
            f"| {vendor} | {len(results)} | {len(scoped)} | {count(lambda r: r.status, scoped)}"
            f" | {count(lambda r: r.content_type, scoped)} | {count(lambda r: r.shape, scoped)}"
            f" | {count(lambda r: bool(r.spec), specced)} |"
        )
    return "\n".join(lines)


async def _run(reference: Path, verbose: bool) -> int:
    rows: list[tuple[str, list[CallResult]]] = []
    for vendor, conformance in VENDORS.items():
        results = await conformance.replay(reference)
        rows.append((vendor, results))
        if verbose:
            for result in results:
                if result.in_scope:
                    ok = result.status and result.content_type and result.shape
                    mark = "ok  " if ok and result.spec is not False else "DIFF"
                    notes = "; ".join(result.notes)
                    print(f"{vendor:10} {mark} {result.call:60} {notes}")
    print(_table(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.conformance")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per call")
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        print(f"no reference folder at {args.reference}: nothing to check (optional target)")
        return 0
    return asyncio.run(_run(args.reference, args.verbose))


if __name__ == "__main__":
    sys.exit(main())
