"""The parsed template: expression nodes and directive nodes, immutable.

Every node keeps `start` and `end`, offsets into the template text, so an error can quote
the expression it failed on and say where it is, as FreeMarker's messages do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as Kind

__all__ = [
    "Assign",
    "Binary",
    "Break",
    "BuiltIn",
    "Call",
    "Compress",
    "Continue",
    "Default",
    "Dot",
    "Exists",
    "Expr",
    "HashLiteral",
    "If",
    "Index",
    "Interpolation",
    "ListLiteral",
    "Literal",
    "Loop",
    "Negate",
    "Node",
    "Not",
    "Paren",
    "Range",
    "Sep",
    "Setting",
    "Special",
    "StringTemplate",
    "Text",
    "Variable",
]


# --- expressions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    start: int
    end: int


@dataclass(frozen=True)
class Literal(Expr):
    """A string, number (int or Decimal) or boolean written in the template."""

    value: object


@dataclass(frozen=True)
class StringTemplate(Expr):
    """A string literal with `${...}` inside: its parts, text or expressions."""

    parts: tuple[str | Expr, ...]


@dataclass(frozen=True)
class Variable(Expr):
    name: str


@dataclass(frozen=True)
class Special(Expr):
    """A special variable, `.now`."""

    name: str


@dataclass(frozen=True)
class Dot(Expr):
    target: Expr
    name: str


@dataclass(frozen=True)
class Index(Expr):
    """`target[key]`: a hash by string key, a sequence by number, or a slice by a range."""

    target: Expr
    key: Expr


@dataclass(frozen=True)
class Range(Expr):
    """`low..high` (inclusive), `low..<high` (exclusive), `low..*length`, `low..` (open)."""

    low: Expr
    high: Expr | None
    kind: Kind["..", "..<", "..*"]


@dataclass(frozen=True)
class BuiltIn(Expr):
    """`target?name` or `target?name(args)`."""

    target: Expr
    name: str
    args: tuple[Expr, ...] | None


@dataclass(frozen=True)
class Call(Expr):
    """`target(args)`: calling a method; the export data model has none."""

    target: Expr
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Default(Expr):
    """`target!fallback`, or `target!` (an empty value) when `fallback` is None."""

    target: Expr
    fallback: Expr | None


@dataclass(frozen=True)
class Exists(Expr):
    """`target??`."""

    target: Expr


@dataclass(frozen=True)
class Paren(Expr):
    """`(inner)`: kept because `(a.b)!x` also covers a missing `a`, and `a.b!x` does not."""

    inner: Expr


@dataclass(frozen=True)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True)
class Negate(Expr):
    operand: Expr
    sign: Kind["-", "+"]


@dataclass(frozen=True)
class Binary(Expr):
    """Arithmetic (`+ - * / %`), comparison (`== != < > <= >=`) and logic (`&& ||`)."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class ListLiteral(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class HashLiteral(Expr):
    pairs: tuple[tuple[Expr, Expr], ...]


# --- directives ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    start: int


@dataclass(frozen=True)
class Text(Node):
    text: str


@dataclass(frozen=True)
class Interpolation(Node):
    """`${expr}`."""

    expr: Expr


@dataclass(frozen=True)
class If(Node):
    """`<#if>`, its `<#elseif>`s and `<#else>`."""

    branches: tuple[tuple[Expr, tuple[Node, ...]], ...]
    otherwise: tuple[Node, ...]


@dataclass(frozen=True)
class Loop(Node):
    """`<#list source as name>` (or `as key, value` over a hash), with its `<#else>`."""

    source: Expr
    names: tuple[str, ...]
    body: tuple[Node, ...]
    otherwise: tuple[Node, ...]


@dataclass(frozen=True)
class Sep(Node):
    """`<#sep>`: printed unless the innermost list is at its last item."""

    body: tuple[Node, ...]


@dataclass(frozen=True)
class Assign(Node):
    """`<#assign a = x b += y c++>`: each (name, operator, value); `++`/`--` have none."""

    assignments: tuple[tuple[str, str, Expr | None], ...]


@dataclass(frozen=True)
class Setting(Node):
    """`<#setting name=value>`."""

    name: str
    value: Expr


@dataclass(frozen=True)
class Compress(Node):
    body: tuple[Node, ...]


@dataclass(frozen=True)
class Break(Node):
    pass


@dataclass(frozen=True)
class Continue(Node):
    pass
