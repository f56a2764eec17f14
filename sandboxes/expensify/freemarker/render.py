"""The evaluator: runs a parsed template over a data model and returns the text it prints.

Lookups go loop variables (innermost first), then `<#assign>`ed names, then the data model.
A missing value (absent key or None) is an error wherever it is used, unless `!`, `??`,
`?has_content`, `?exists`, `?if_exists` or `?default` guards it: as in FreeMarker, `a.b!x`
guards only the last step (`b`), and `(a.b)!x` guards the whole parenthesised expression.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sandboxes.expensify.freemarker.formats as fmt
import sandboxes.expensify.freemarker.nodes as n
from sandboxes.expensify.freemarker.builtins import BUILTINS, LOOP_BUILTINS
from sandboxes.expensify.freemarker.errors import TemplateRenderError, position
from sandboxes.expensify.freemarker.operators import arithmetic, compare, plus
from sandboxes.expensify.freemarker.values import (
    EMPTY,
    Formats,
    WrongValueError,
    as_hash,
    as_number,
    as_sequence,
    as_string,
    from_data,
    has_content,
    type_name,
)

__all__ = ["MissingValueError", "RenderOptions", "evaluate"]


class MissingValueError(TemplateRenderError):
    """An expression evaluated to null or missing where a value is required."""


@dataclass(frozen=True)
class RenderOptions:
    """The server's configuration: FreeMarker settings a template can change with
    `<#setting>`, and the time `.now` reads."""

    number_format: str = "computer"
    boolean_format: str | None = None
    date_format: str = "yyyy-MM-dd"
    datetime_format: str = "yyyy-MM-dd HH:mm:ss"
    now: datetime | None = None


class _Break(Exception):  # noqa: N818 - control flow, not an error
    pass


class _Continue(Exception):  # noqa: N818 - control flow, not an error
    pass


@dataclass
class _Loop:
    names: tuple[str, ...]
    values: tuple[object, ...]
    index: int
    has_next: bool

    def counter(self) -> int:
        return self.index + 1


@dataclass
class _Evaluator:
    source: str
    model: Mapping[str, object]
    options: RenderOptions
    assigned: dict[str, object] = field(default_factory=dict)
    loops: list[_Loop] = field(default_factory=list)
    formats: Formats = field(init=False)

    def __post_init__(self) -> None:
        self.formats = Formats(
            number_format=self.options.number_format,
            boolean_format=self.options.boolean_format,
            date_format=self.options.date_format,
            datetime_format=self.options.datetime_format,
        )
        self.handlers: dict[type[n.Expr], Callable[[Any], object]] = {
            n.Literal: lambda e: e.value,
            n.StringTemplate: self._string_template,
            n.Variable: lambda e: self._variable(e.name),
            n.Special: self._special,
            n.Dot: lambda e: from_data(self._hash(e.target).get(e.name)),
            n.Index: self._index,
            n.Range: self._range_value,
            n.BuiltIn: self._builtin,
            n.Call: self._call,
            n.Default: self._default,
            n.Exists: lambda e: self._lenient(e.target) is not None,
            n.Paren: lambda e: self.value(e.inner),
            n.Not: lambda e: not self._boolean(e.operand),
            n.Negate: self._negate,
            n.Binary: self._binary,
            n.ListLiteral: lambda e: [self.eval(item) for item in e.items],
            n.HashLiteral: lambda e: {as_string(self.eval(k)): self.eval(v) for k, v in e.pairs},
        }

    # --- errors ----------------------------------------------------------------------------

    def _where(self, offset: int) -> str:
        line, column = position(self.source, offset)
        return f"[at line {line}, column {column}]"

    def _problem(self, expr: n.Expr, message: str) -> TemplateRenderError:
        shown = self.source[expr.start : expr.end]
        return TemplateRenderError(f"{message} ==> {shown} {self._where(expr.start)}")

    # --- expressions -----------------------------------------------------------------------

    def value(self, expr: n.Expr) -> object:
        """The expression's value; None when its last step is missing."""
        try:
            return self.handlers[type(expr)](expr)
        except WrongValueError as problem:
            raise self._problem(expr, str(problem)) from None

    def eval(self, expr: n.Expr) -> object:
        """The expression's value; a missing value is an error."""
        result = self.value(expr)
        if result is None:
            shown = self.source[expr.start : expr.end]
            raise MissingValueError(f"The following has evaluated to null or missing: ==> "
                                    f"{shown} {self._where(expr.start)}")  # fmt: skip
        return result

    def _lenient(self, expr: n.Expr) -> object:
        """For `!` and `??`: `(x.y)` may miss anywhere inside, `x.y` only at `y`."""
        if isinstance(expr, n.Paren):
            try:
                return self.value(expr.inner)
            except MissingValueError:
                return None
        return self.value(expr)

    def _variable(self, name: str) -> object:
        for loop in reversed(self.loops):
            if name in loop.names:
                return from_data(loop.values[loop.names.index(name)])
            legacy = {f"{loop.names[0]}_index": loop.index,
                      f"{loop.names[0]}_has_next": loop.has_next}  # fmt: skip
            if name in legacy:
                return legacy[name]
        if name in self.assigned:
            return self.assigned[name]
        return from_data(self.model.get(name))

    def _special(self, expr: n.Special) -> object:
        if expr.name == "now" and self.options.now is not None:
            return self.options.now
        raise self._problem(expr, f"Unknown or unsupported special variable: .{expr.name}")

    def _string_template(self, expr: n.StringTemplate) -> object:
        return "".join(part if isinstance(part, str) else fmt.to_text(self.eval(part), self.formats)
                       for part in expr.parts)  # fmt: skip

    def _hash(self, expr: n.Expr) -> Mapping[str, object]:
        target = self.eval(expr)
        try:
            return as_hash(target)
        except WrongValueError as problem:
            raise self._problem(expr, str(problem)) from None

    def _boolean(self, expr: n.Expr) -> bool:
        result = self.eval(expr)
        if not isinstance(result, bool):
            raise self._problem(expr, f"Expected a boolean, but this has evaluated to a "
                                f"{type_name(result)}")  # fmt: skip
        return result

    def _bounds(self, expr: n.Range, length: int | None) -> tuple[int, int]:
        low = int(as_number(self.eval(expr.low)))
        if expr.high is None:
            if length is None:
                raise WrongValueError("A right-unbounded range can't be listed")
            return low, length
        high = int(as_number(self.eval(expr.high)))
        if expr.kind == "..*":
            return low, low + high if length is None else min(low + high, length)
        return low, high + 1 if expr.kind == ".." else high

    def _range_value(self, expr: n.Range) -> object:
        low, high = self._bounds(expr, None)
        return range(low, high)  # lazy: `1..1000000` costs nothing until listed

    def _index(self, expr: n.Index) -> object:
        target = self.eval(expr.target)
        if isinstance(expr.key, n.Range):
            if not isinstance(target, str):
                target = as_sequence(target)
            low, high = self._bounds(expr.key, len(target))
            if not 0 <= low <= high <= len(target):
                raise WrongValueError(f"Range {low}..{high - 1} is out of bounds for a "
                                      f"{type_name(target)} of length {len(target)}")  # fmt: skip
            return target[low:high]
        key = self.eval(expr.key)
        if isinstance(target, Mapping):
            return from_data(target.get(as_string(key)))
        position_ = int(as_number(key))
        items: str | Sequence[object] = target if isinstance(target, str) else as_sequence(target)
        return from_data(items[position_]) if 0 <= position_ < len(items) else None

    def _call(self, expr: n.Call) -> object:
        target = self.eval(expr.target)
        raise WrongValueError(
            f"Expected a method, but this has evaluated to a "
            f"{type_name(target)} (the export data model has none)"
        )

    def _default(self, expr: n.Default) -> object:
        result = self._lenient(expr.target)
        if result is not None:
            return result
        return EMPTY if expr.fallback is None else self.eval(expr.fallback)

    def _builtin(self, expr: n.BuiltIn) -> object:
        name, args = expr.name, expr.args or ()
        if name in LOOP_BUILTINS:
            return self._loop_builtin(expr)
        if name in ("has_content", "exists", "if_exists", "default"):
            target = self._lenient(expr.target)
            if name == "default":
                return target if target is not None else self.eval(args[0]) if args else EMPTY
            if name == "if_exists":
                return EMPTY if target is None else target
            return has_content(target) if name == "has_content" else target is not None
        if name == "then":
            if len(args) != 2:
                raise WrongValueError(f"?then expects 2 arguments, but has received {len(args)}")
            return self.eval(args[0] if self._boolean(expr.target) else args[1])
        target = self.eval(expr.target)
        return BUILTINS[name](target, [self.eval(arg) for arg in args], self.formats)

    def _loop_builtin(self, expr: n.BuiltIn) -> object:
        loop = next((loop for loop in reversed(self.loops)
                     if isinstance(expr.target, n.Variable) and expr.target.name in loop.names),
                    None)  # fmt: skip
        if loop is None:
            raise WrongValueError(f"?{expr.name} must be applied on a loop variable")
        answers: dict[str, Callable[[], object]] = {
            "index": lambda: loop.index,
            "counter": loop.counter,
            "has_next": lambda: loop.has_next,
            "is_first": lambda: loop.index == 0,
            "is_last": lambda: not loop.has_next,
            "item_parity": lambda: "odd" if loop.counter() % 2 else "even",
            "item_parity_cap": lambda: "Odd" if loop.counter() % 2 else "Even",
            "is_odd_item": lambda: loop.counter() % 2 == 1,
            "is_even_item": lambda: loop.counter() % 2 == 0,
            "item_cycle": lambda: self.eval(cycle[loop.index % len(cycle)]),
        }
        cycle = expr.args or ()
        if expr.name == "item_cycle" and not cycle:
            raise WrongValueError("?item_cycle needs at least one argument")
        return answers[expr.name]()

    def _negate(self, expr: n.Negate) -> object:
        number = as_number(self.eval(expr.operand))
        return -number if expr.sign == "-" else number

    def _binary(self, expr: n.Binary) -> object:
        if expr.op in ("&&", "||"):
            first = self._boolean(expr.left)
            if first == (expr.op == "||"):
                return first
            return self._boolean(expr.right)
        left, right = self.eval(expr.left), self.eval(expr.right)
        if expr.op in ("==", "!=", "<", ">", "<=", ">="):
            return compare(expr.op, left, right)
        if expr.op == "+":
            return plus(left, right, self.formats)
        return arithmetic(expr.op, as_number(left), as_number(right))

    # --- directives ------------------------------------------------------------------------

    def run(self, body: Sequence[n.Node], out: list[str]) -> None:
        for node in body:
            self._node(node, out)

    def _node(self, node: n.Node, out: list[str]) -> None:  # noqa: PLR0912 - one per directive
        if isinstance(node, n.Text):
            out.append(node.text)
        elif isinstance(node, n.Interpolation):
            printed = self.eval(node.expr)
            try:
                out.append(fmt.to_text(printed, self.formats))
            except WrongValueError as problem:
                raise self._problem(node.expr, str(problem)) from None
        elif isinstance(node, n.If):
            chosen = next((body for test, body in node.branches if self._boolean(test)),
                          node.otherwise)  # fmt: skip
            self.run(chosen, out)
        elif isinstance(node, n.Loop):
            self._loop(node, out)
        elif isinstance(node, n.Sep):
            if self.loops and self.loops[-1].has_next:
                self.run(node.body, out)
        elif isinstance(node, n.Assign):
            for name, op, expr in node.assignments:
                self.assigned[name] = self._assigned(name, op, expr, node)
        elif isinstance(node, n.Setting):
            self._setting(node)
        elif isinstance(node, n.Compress):
            inner: list[str] = []
            self.run(node.body, inner)
            lines = ("".join(inner)).splitlines()
            out.append("\n".join(" ".join(line.split()) for line in lines if line.strip()))
        elif isinstance(node, n.Break):
            raise _Break
        elif isinstance(node, n.Continue):
            raise _Continue

    def _loop(self, node: n.Loop, out: list[str]) -> None:
        source = self.eval(node.source)
        try:
            if len(node.names) == 2 and not isinstance(source, Mapping) and source is not EMPTY:
                raise WrongValueError(f"Listing with 'as key, value' needs a hash, but this "
                                      f"has evaluated to a {type_name(source)}")  # fmt: skip
            items: Sequence[object] = (
                list(as_hash(source).items()) if len(node.names) == 2 else as_sequence(source)
            )
        except WrongValueError as problem:
            raise self._problem(node.source, str(problem)) from None
        if not items:
            self.run(node.otherwise, out)
            return
        for index in range(len(items)):
            item = items[index]
            values = item if isinstance(item, tuple) and len(node.names) == 2 else (item,)
            self.loops.append(_Loop(node.names, values, index, index < len(items) - 1))
            try:
                self.run(node.body, out)
            except _Continue:
                continue
            except _Break:
                break
            finally:
                self.loops.pop()

    def _assigned(self, name: str, op: str, expr: n.Expr | None, node: n.Assign) -> object:
        if op == "=" and expr is not None:
            return self.eval(expr)
        current = self._variable(name)
        if current is None:
            where = self._where(node.start)
            raise MissingValueError(f"The variable {name} is missing, so {op} can't change it "
                                    f"{where}")  # fmt: skip
        try:
            if op in ("++", "--"):
                return arithmetic(op[0], as_number(current), 1)
            operand = self.eval(expr) if expr is not None else 0
            if op == "+=":
                return plus(current, operand, self.formats)
            return arithmetic(op[0], as_number(current), as_number(operand))
        except WrongValueError as problem:
            raise TemplateRenderError(f"{problem} {self._where(node.start)}") from None

    def _setting(self, node: n.Setting) -> None:
        text = as_string(self.eval(node.value))
        if node.name == "boolean_format" and text not in ("c", "true,false") and "," not in text:
            raise self._problem(node.value, f"Malformed boolean_format '{text}'")
        setattr(self.formats, node.name, text)


def evaluate(
    source: str, body: Sequence[n.Node], model: Mapping[str, object], options: RenderOptions
) -> str:
    out: list[str] = []
    evaluator = _Evaluator(source, model, options)
    try:
        evaluator.run(body, out)
    except (_Break, _Continue):  # pragma: no cover - the parser allows them only in lists
        raise TemplateRenderError("<#break> or <#continue> outside <#list>") from None
    return "".join(out)
