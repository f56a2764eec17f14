"""FreeMarker expressions: a tokenizer and a precedence-climbing parser to `nodes`.

Precedence, loosest first, as in FreeMarker: `||`, `&&`, `== != =`, `< > <= >= lt gt lte
gte`, ranges `.. ..< ..*`, `+ -`, `* / %`, prefix `! - +`, then postfix `.name`, `[key]`,
`?builtin(args)`, `(args)`, `??` and `!default`. The default operator takes a whole
expression on its right (`a!b + c` is `a!(b + c)`), as FreeMarker's grammar does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import sandboxes.expensify.freemarker.nodes as n
from sandboxes.expensify.freemarker.builtins import KNOWN_BUILTINS
from sandboxes.expensify.freemarker.lexer import syntax_error

__all__ = ["ExpressionParser", "unescape"]

_OPERATORS = (
    "..<", "..!", "..*", "??", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=",
    "%=", "++", "--", "..", "?", "!", "=", "<", ">", "&", "|", "+", "-", "*", "/", "%",
    "(", ")", "[", "]", "{", "}", ",", ":", ".", ";",
)  # fmt: skip
_NAME = re.compile(r"(?:[A-Za-z_$@]|\\[-.:])(?:[A-Za-z0-9_$@]|\\[-.:])*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SPACE = re.compile(r"\s+")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b",
            "f": "\f", "l": "<", "g": ">", "a": "&", "{": "{", "=": "="}  # fmt: skip
_RELATIONAL = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "lt": "<", "gt": ">",
               "lte": "<=", "gte": ">="}  # fmt: skip
_RANGES: dict[str, Literal["..", "..<", "..*"]] = {
    "..": "..",
    "..<": "..<",
    "..!": "..<",
    "..*": "..*",
}
_STOP_WORDS = frozenset({"as", "in", "using", "lt", "gt", "lte", "gte"})


@dataclass(frozen=True)
class _Tok:
    kind: str  # "name", "number", "string", "raw", "op", "end"
    value: str
    start: int
    end: int


def unescape(source: str, text: str, offset: int) -> str:
    """A string literal's escapes (`\\n`, `\\"`, `\\xA9`, ...) resolved."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        following = text[i + 1 : i + 2]
        if following in _ESCAPES:
            out.append(_ESCAPES[following])
            i += 2
        elif following == "x":
            digits = re.match(r"[0-9A-Fa-f]{1,4}", text[i + 2 :])
            if digits is None:
                raise syntax_error(source, offset + i, "Malformed \\x escape in a string")
            out.append(chr(int(digits[0], 16)))
            i += 2 + len(digits[0])
        else:
            raise syntax_error(source, offset + i, f"Unknown escape '\\{following}' in a string")
    return "".join(out)


def _tokens(source: str, start: int, end: int) -> list[_Tok]:
    tokens: list[_Tok] = []
    i = start
    while i < end:
        space = _SPACE.match(source, i, end)
        if space:
            i = space.end()
            continue
        char = source[i]
        raw = char == "r" and source[i + 1 : i + 2] in ('"', "'")
        if char in "\"'" or raw:
            quote_at = i + 1 if raw else i
            j = quote_at + 1
            while j < end and source[j] != source[quote_at]:
                j += 1 if raw or source[j] != "\\" else 2
            if j >= end:
                raise syntax_error(source, i, "Unclosed string literal")
            kind = "raw" if raw else "string"
            tokens.append(_Tok(kind, source[quote_at + 1 : j], i, j + 1))
            i = j + 1
            continue
        for kind, pattern in (("number", _NUMBER), ("name", _NAME)):
            match = pattern.match(source, i, end)
            if match:
                tokens.append(_Tok(kind, match[0].replace("\\", ""), i, match.end()))
                i = match.end()
                break
        else:
            op = next((o for o in _OPERATORS if source.startswith(o, i) and i + len(o) <= end),
                      None)  # fmt: skip
            if op is None:
                raise syntax_error(source, i, f"Unexpected character '{char}'")
            tokens.append(_Tok("op", op, i, i + len(op)))
            i += len(op)
    tokens.append(_Tok("end", "", end, end))
    return tokens


class ExpressionParser:
    """Parses expressions from `source[start:end]`; node offsets are into `source`."""

    def __init__(self, source: str, start: int, end: int) -> None:
        self.source = source
        self.tokens = _tokens(source, start, end)
        self.at = 0

    # --- token helpers ---------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Tok:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Tok:
        token = self.peek()
        self.at += 1
        return token

    def is_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.value in ops

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "name" and token.value in words

    def error(self, expecting: str) -> Exception:
        token = self.peek()
        found = "the end of the expression" if token.kind == "end" else repr(token.value)
        return syntax_error(self.source, token.start, f"Encountered {found}, but was "
                            f"expecting {expecting}")  # fmt: skip

    def expect_op(self, op: str) -> _Tok:
        if not self.is_op(op):
            raise self.error(f"'{op}'")
        return self.advance()

    def expect_name(self) -> _Tok:
        if self.peek().kind != "name":
            raise self.error("a name")
        return self.advance()

    def expect_end(self) -> None:
        if self.peek().kind != "end":
            raise self.error("the end of the tag")

    def at_end(self) -> bool:
        return self.peek().kind == "end"

    def can_start_expression(self) -> bool:
        token = self.peek()
        if token.kind in ("number", "string", "raw"):
            return True
        if token.kind == "name":
            return token.value not in _STOP_WORDS
        return token.kind == "op" and token.value in ("(", "[", "{", "!", "-", "+", ".")

    # --- grammar ---------------------------------------------------------------------------

    def expression(self) -> n.Expr:
        return self._or()

    def _binary_level(self, operand: Callable[[], n.Expr], ops: dict[str, str]) -> n.Expr:
        """A left-associative level; `ops` maps each spelling to its canonical operator."""
        left = operand()
        while self.is_op(*ops):
            op = ops[self.advance().value]
            right = operand()
            left = n.Binary(start=left.start, end=right.end, op=op, left=left, right=right)
        return left

    def _or(self) -> n.Expr:
        return self._binary_level(self._and, {"||": "||", "|": "||"})

    def _and(self) -> n.Expr:
        return self._binary_level(self._equality, {"&&": "&&", "&": "&&"})

    def _equality(self) -> n.Expr:
        return self._binary_level(self._relational, {"==": "==", "=": "==", "!=": "!="})

    def _relational(self) -> n.Expr:
        left = self._range()
        token = self.peek()
        if (token.kind == "op" and token.value in ("<", ">", "<=", ">=")) or (
            token.kind == "name" and token.value in ("lt", "gt", "lte", "gte")
        ):
            self.advance()
            right = self._range()
            return n.Binary(start=left.start, end=right.end, op=_RELATIONAL[token.value],
                            left=left, right=right)  # fmt: skip
        return left

    def _range(self) -> n.Expr:
        low = self._additive()
        if not self.is_op(*_RANGES):
            return low
        kind = _RANGES[self.advance().value]
        if kind == ".." and not self.can_start_expression():
            return n.Range(start=low.start, end=self.peek().start, low=low, high=None, kind="..")
        high = self._additive()
        return n.Range(start=low.start, end=high.end, low=low, high=high, kind=kind)

    def _additive(self) -> n.Expr:
        return self._binary_level(self._multiplicative, {"+": "+", "-": "-"})

    def _multiplicative(self) -> n.Expr:
        return self._binary_level(self._unary, {"*": "*", "/": "/", "%": "%"})

    def _unary(self) -> n.Expr:
        if self.is_op("!"):
            start = self.advance().start
            operand = self._unary()
            return n.Not(start=start, end=operand.end, operand=operand)
        if self.is_op("-", "+"):
            token = self.advance()
            operand = self._unary()
            return n.Negate(start=token.start, end=operand.end, operand=operand,
                            sign="-" if token.value == "-" else "+")  # fmt: skip
        return self._postfix(self._primary())

    def _arguments(self, closer: str) -> tuple[n.Expr, ...]:
        args: list[n.Expr] = []
        while not self.is_op(closer):
            args.append(self.expression())
            if not self.is_op(closer):
                self.expect_op(",")
        return tuple(args)

    def _postfix(self, node: n.Expr) -> n.Expr:
        while True:
            if self.is_op("."):
                self.advance()
                name = self.expect_name()
                node = n.Dot(start=node.start, end=name.end, target=node, name=name.value)
            elif self.is_op("["):
                self.advance()
                key = self.expression()
                end = self.expect_op("]").end
                node = n.Index(start=node.start, end=end, target=node, key=key)
            elif self.is_op("?"):
                self.advance()
                name = self.expect_name()
                if name.value not in KNOWN_BUILTINS:
                    raise syntax_error(self.source, name.start, f"Unknown or unsupported "
                                       f"built-in: ?{name.value}")  # fmt: skip
                args: tuple[n.Expr, ...] | None = None
                end = name.end
                if self.is_op("("):
                    self.advance()
                    args = self._arguments(")")
                    end = self.expect_op(")").end
                node = n.BuiltIn(start=node.start, end=end, target=node, name=name.value,
                                 args=args)  # fmt: skip
            elif self.is_op("??"):
                end = self.advance().end
                node = n.Exists(start=node.start, end=end, target=node)
            elif self.is_op("!"):
                end = self.advance().end
                fallback = self.expression() if self.can_start_expression() else None
                end = fallback.end if fallback is not None else end
                node = n.Default(start=node.start, end=end, target=node, fallback=fallback)
            elif self.is_op("("):
                self.advance()
                call_args = self._arguments(")")
                end = self.expect_op(")").end
                node = n.Call(start=node.start, end=end, target=node, args=call_args)
            else:
                return node

    def _primary(self) -> n.Expr:  # noqa: PLR0911 - one return per kind of literal
        token = self.peek()
        if token.kind == "number":
            self.advance()
            number = Decimal(token.value) if "." in token.value else int(token.value)
            return n.Literal(start=token.start, end=token.end, value=number)
        if token.kind in ("string", "raw"):
            self.advance()
            return self._string(token)
        if token.kind == "name" and token.value not in _STOP_WORDS:
            self.advance()
            if token.value in ("true", "false"):
                return n.Literal(start=token.start, end=token.end, value=token.value == "true")
            return n.Variable(start=token.start, end=token.end, name=token.value)
        if self.is_op("("):
            self.advance()
            inner = self.expression()
            end = self.expect_op(")").end
            return n.Paren(start=token.start, end=end, inner=inner)
        if self.is_op("["):
            self.advance()
            items = self._arguments("]")
            end = self.expect_op("]").end
            return n.ListLiteral(start=token.start, end=end, items=items)
        if self.is_op("{"):
            return self._hash()
        if self.is_op("."):
            self.advance()
            name = self.expect_name()
            return n.Special(start=token.start, end=name.end, name=name.value)
        raise self.error("an expression")

    def _hash(self) -> n.Expr:
        start = self.advance().start
        pairs: list[tuple[n.Expr, n.Expr]] = []
        while not self.is_op("}"):
            key = self.expression()
            self.expect_op(":")
            pairs.append((key, self.expression()))
            if not self.is_op("}"):
                self.expect_op(",")
        end = self.expect_op("}").end
        return n.HashLiteral(start=start, end=end, pairs=tuple(pairs))

    def _string(self, token: _Tok) -> n.Expr:
        content_at = token.end - 1 - len(token.value)
        if token.kind == "raw" or "${" not in token.value:
            value = (
                token.value
                if token.kind == "raw"
                else unescape(self.source, token.value, content_at)
            )
            return n.Literal(start=token.start, end=token.end, value=value)
        parts: list[str | n.Expr] = []
        text, i = token.value, 0
        while i < len(text):
            opening = text.find("${", i)
            if opening < 0:
                parts.append(unescape(self.source, text[i:], content_at + i))
                break
            if opening > i:
                parts.append(unescape(self.source, text[i:opening], content_at + i))
            closing = text.find("}", opening)
            if closing < 0:
                raise syntax_error(self.source, content_at + opening, "Unclosed ${ in a string")
            inner = ExpressionParser(self.source, content_at + opening + 2, content_at + closing)
            parts.append(inner.expression())
            inner.expect_end()
            i = closing + 1
        return n.StringTemplate(start=token.start, end=token.end, parts=tuple(parts))
