"""`python -m benchmarks` (what `make bench` runs): measure, print, write docs/benchmarks.md.

Exit status 0 when every target was met, 1 when one was missed or a benchmark
failed (a skip, such as no PostgreSQL, is neither).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from benchmarks.report import render_markdown
from benchmarks.runner import FULL, GROUPS, QUICK, run_benchmarks

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where the markdown report goes (default: docs/benchmarks.md for a full run; "
        "a run with --quick or --only writes none unless given one)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes to check the benchmarks run; no report is written unless --output",
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="skip the PostgreSQL ledger benchmark"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=GROUPS,
        help="run only this group of benchmarks (repeatable): " + ", ".join(GROUPS),
    )
    options = parser.parse_args(argv)
    arguments = " ".join(sys.argv[1:] if argv is None else argv)
    report = asyncio.run(
        run_benchmarks(
            QUICK if options.quick else FULL,
            command=f"make bench  (python -m benchmarks{' ' + arguments if arguments else ''})",
            with_postgres=not options.no_postgres,
            groups=options.only or GROUPS,
        )
    )
    output: Path | None = options.output
    if output is None and not options.quick and not options.only:
        output = DEFAULT_OUTPUT
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(render_markdown(report), encoding="utf-8")
        print(f"==> wrote {output}")
    return 0 if report.all_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
