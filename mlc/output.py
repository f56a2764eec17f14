"""What the operator API's commands print: rich tables for people, ``--json`` for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["JsonOption", "echo_json", "print_table"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

# Wide enough to measure any table's natural width without rich folding a cell.
_UNBOUNDED_WIDTH = 100_000


def echo_json(data: object) -> None:
    """The API's answer as it came, indented: the format scripts rely on."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Upper-case headers over a rule, then one row per line.

    The table keeps its natural width, on a terminal too: fitted to a narrow window rich
    folds ids and timestamps over several lines, which neither a person copying an id into
    the next command nor grep and awk can use. A wider line is the terminal's to wrap, as
    before. Into a pipe or a file rich writes no colour codes.
    """
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header in headers:
        table.add_column(Text(header.upper()), no_wrap=True)
    for row in rows:
        # Text, not str: a display name or options like "[x]" are data, not rich markup.
        table.add_row(*(Text(cell) for cell in row))
    natural = Console(width=_UNBOUNDED_WIDTH).measure(table).maximum
    Console(width=natural).print(table)
