"""``mlc mappings``: a link's mapping tables (source value -> target value, per kind).

The flows look them up on every write, so a value mapped now is used by the next record and
by ``mlc review redrive``. Kinds are lower-case words with ``-``: the flows read
``category``, ``gl-account``, ``bill-vendor`` and ``tag``. Like ``mlc review``, the
commands work on the store directly (``MLC_DATABASE_URL``); the operator API's
``/api/v1/links/{id}/mappings`` routes do the same (:mod:`services.control.mappings`), and
``--json`` prints what they answer. Every change is audited with ``--by`` (default the OS
user).
"""

from __future__ import annotations

from typing import Annotated

import typer

from mlc.output import JsonOption, echo_json, print_table
from mlc.review import actor, run_on_store
from services.control.connections import ConnectionInputError
from services.control.mappings import (
    KNOWN_KINDS,
    MappingNotFoundError,
    list_mappings,
    mapping_out,
    remove_mapping,
    set_mapping,
)
from services.control.operator_contract import MappingList, MappingSet

__all__ = ["mappings_app"]

mappings_app = typer.Typer(
    help="A link's mapping tables: source value -> target value, per kind.",
    no_args_is_help=True,
)
_VIA = "mlc"
_REFUSED = (ConnectionInputError, MappingNotFoundError)

LinkOption = Annotated[str, typer.Option("--link", help="The link's id (mlc links list).")]
KindOption = Annotated[
    str, typer.Option("--kind", help=f"The mapping kind, e.g. {', '.join(KNOWN_KINDS)}.")
]
SourceArgument = Annotated[
    str, typer.Argument(help="The source value, as the source names it (e.g. 'Meals').")
]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who changes it, for the audit log (default: the OS user)."),
]


@mappings_app.command("list")
def list_command(
    link: LinkOption,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help=f"Only this kind, e.g. {', '.join(KNOWN_KINDS)}."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The link's mappings, by kind and source value."""
    rows = run_on_store(lambda store: list_mappings(store, link, kind=kind), refused=_REFUSED)
    listed = MappingList(mappings=[mapping_out(row) for row in rows])
    if as_json:
        echo_json(listed.model_dump(mode="json"))
        return
    if not listed.mappings:
        typer.echo(f"link {link} has no {kind + ' ' if kind else ''}mappings")
        return
    print_table(
        ["kind", "source", "target"], [[m.kind, m.source, m.target] for m in listed.mappings]
    )


@mappings_app.command("set")
def set_command(
    source: SourceArgument,
    target: Annotated[str, typer.Argument(help="The target's value it becomes.")],
    *,
    link: LinkOption,
    kind: KindOption,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Map a source value to a target value (added, or replacing the old target)."""
    who = actor(by)
    change = run_on_store(
        lambda store: set_mapping(store, link, kind, source, target, by=who, via=_VIA),
        refused=_REFUSED,
    )
    answer = MappingSet(
        **mapping_out(change.mapping).model_dump(),
        previous=change.previous,
        waiting_items=change.waiting_items,
    )
    if as_json:
        echo_json(answer.model_dump(mode="json"))
        return
    was = f" (was {answer.previous!r})" if answer.previous is not None else ""
    typer.echo(f"{kind} {source!r} -> {target!r} on link {link}{was}")
    if answer.waiting_items:
        ids = " ".join(str(i) for i in answer.waiting_items)
        typer.echo(f"review items waiting for it: {ids} (mlc review redrive <id>)")


@mappings_app.command("remove")
def remove_command(
    source: SourceArgument,
    *,
    link: LinkOption,
    kind: KindOption,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop mapping a source value (its records then wait for review)."""
    who = actor(by)
    removed = run_on_store(
        lambda store: remove_mapping(store, link, kind, source, by=who, via=_VIA),
        refused=_REFUSED,
    )
    if as_json:
        echo_json(mapping_out(removed).model_dump(mode="json"))
        return
    typer.echo(f"removed {kind} {source!r} (was {removed.target_value!r}) from link {link}")
