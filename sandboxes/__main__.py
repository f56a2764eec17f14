"""`python -m sandboxes <vendor> --port N [--seed FILE] [--empty]` or `all --base-port N`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from starlette.types import ASGIApp

from sandboxes import (
    VENDORS,
    SandboxUnavailableError,
    available_vendors,
    port_offset,
    sandbox_factory,
)
from sandboxes.kit import Seed, build_app, run_servers


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandboxes", description="Run vendor sandboxes as real HTTP servers."
    )
    parser.add_argument("vendor", choices=[*VENDORS, "all"], help="one vendor, or all of them")
    parser.add_argument("--port", type=int, default=8900, help="port for one vendor")
    parser.add_argument(
        "--base-port", type=int, default=8900, help="with `all`: first of consecutive ports"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=Path, help="JSON file {collection: [records]}")
    parser.add_argument("--empty", action="store_true", help="start with no records")
    return parser


def _load_seed(path: Path | None) -> Seed | None:
    if path is None:
        return None
    seed = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(seed, dict):
        raise SystemExit(f"{path}: a seed is a JSON object {{collection: [records]}}")
    return seed


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    seed = _load_seed(args.seed)
    apps: list[tuple[str, ASGIApp, int]] = []
    if args.vendor == "all":
        # Each sandbox names its own port slot, so a vendor's port never moves when
        # another one arrives.
        for vendor in available_vendors():
            sandbox = sandbox_factory(vendor)(empty=args.empty)
            apps.append((vendor, build_app(sandbox), args.base_port + port_offset(vendor)))
    else:
        try:
            sandbox = sandbox_factory(args.vendor)(seed=seed, empty=args.empty)
        except SandboxUnavailableError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        apps.append((args.vendor, build_app(sandbox), args.port))
    run_servers(apps, host=args.host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
