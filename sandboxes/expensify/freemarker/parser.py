"""Tokens to the directive tree: `<#if>`, `<#list>` with `<#sep>` and `<#else>`, `<#assign>`,
`<#setting>`, `<#compress>`, `<#break>`, `<#continue>`; `<#ftl>` is accepted and ignored.

FreeMarker's other directives (macros, functions, includes, `<#switch>`, `<#attempt>`,
`<#items>`, ...) are a syntax error that says the sandbox does not support them, so a
template never renders differently here than on the real server without saying so.
"""

from __future__ import annotations

import sandboxes.expensify.freemarker.nodes as n
from sandboxes.expensify.freemarker.expressions import ExpressionParser
from sandboxes.expensify.freemarker.lexer import Token, syntax_error, tokenize

__all__ = ["SETTINGS", "parse"]

UNSUPPORTED = frozenset({
    "macro", "function", "return", "nested", "include", "import", "attempt", "recover",
    "switch", "case", "default", "on", "items", "visit", "recurse", "fallback", "noparse",
    "escape", "noescape", "autoesc", "noautoesc", "outputformat", "stop", "flush", "local",
})  # fmt: skip
SETTINGS = frozenset({"number_format", "boolean_format", "date_format", "datetime_format",
                      "time_format"})  # fmt: skip
# Accepted and ignored: the sandbox prints as the en_US, UTC, UTF-8 server it assumes [I].
IGNORED_SETTINGS = frozenset({"locale", "time_zone", "sql_date_and_time_time_zone",
                              "url_escaping_charset", "output_encoding"})  # fmt: skip
CAPTURING_ASSIGN = "The capturing form <#assign name>...</#assign> is not supported by the sandbox"
_ASSIGN_OPS = ("=", "+=", "-=", "*=", "/=", "%=")


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.at = 0
        self.loops = 0

    def parse(self) -> tuple[n.Node, ...]:
        body, end = self._block(frozenset())
        if end is not None:
            raise self._unexpected(end)
        return body

    @staticmethod
    def _key(token: Token) -> str:
        return token.name if token.kind == "open" else f"/{token.name}"

    def _unexpected(self, token: Token) -> Exception:
        shown = f"<#{token.name}>" if token.kind == "open" else f"</#{token.name}>"
        return syntax_error(self.source, token.start, f"Unexpected {shown}")

    def _expression(self, token: Token) -> n.Expr:
        parser = ExpressionParser(self.source, token.inner, token.inner + len(token.text))
        expr = parser.expression()
        parser.expect_end()
        return expr

    def _block(self, terminators: frozenset[str]) -> tuple[tuple[n.Node, ...], Token | None]:
        """Nodes up to (not including) the first tag in `terminators`, and that tag."""
        body: list[n.Node] = []
        while self.at < len(self.tokens):
            token = self.tokens[self.at]
            if token.kind in ("open", "close") and self._key(token) in terminators:
                return tuple(body), token
            self.at += 1
            if token.kind == "text":
                body.append(n.Text(start=token.start, text=token.text))
            elif token.kind == "interpolation":
                body.append(n.Interpolation(start=token.start, expr=self._expression(token)))
            elif token.kind == "close":
                raise self._unexpected(token)
            elif token.kind == "open":
                node = self._directive(token, terminators)
                if node is not None:
                    body.append(node)
        return tuple(body), None

    def _closed(self, opening: Token, end: Token | None) -> Token:
        if end is None:
            raise syntax_error(self.source, opening.start, f"Unclosed <#{opening.name}>: "
                               f"missing </#{opening.name}>")  # fmt: skip
        self.at += 1
        return end

    def _directive(self, token: Token, terminators: frozenset[str]) -> n.Node | None:  # noqa: PLR0911 - one per directive
        name = token.name
        if name == "if":
            return self._if(token)
        if name == "list":
            return self._list(token)
        if name == "sep":
            return self._sep(token, terminators)
        if name in ("assign", "global"):
            return self._assign(token)
        if name == "setting":
            return self._setting(token)
        if name == "compress":
            body, end = self._block(frozenset({"/compress"}))
            self._closed(token, end)
            return n.Compress(start=token.start, body=body)
        if name in ("break", "continue"):
            if not self.loops:
                raise syntax_error(self.source, token.start, f"<#{name}> must be inside <#list>")
            return n.Break(start=token.start) if name == "break" else n.Continue(start=token.start)
        if name == "ftl":
            return None
        if name in UNSUPPORTED:
            raise syntax_error(self.source, token.start, f"The <#{name}> directive is not "
                               "supported by the sandbox's FreeMarker")  # fmt: skip
        if name in ("else", "elseif"):
            raise self._unexpected(token)
        raise syntax_error(self.source, token.start, f"Unknown directive: #{name}")

    def _if(self, token: Token) -> n.Node:
        branches: list[tuple[n.Expr, tuple[n.Node, ...]]] = []
        condition = self._expression(token)
        while True:
            body, end = self._block(frozenset({"elseif", "else", "/if"}))
            end = self._closed(token, end)
            branches.append((condition, body))
            if end.kind == "open" and end.name == "elseif":
                condition = self._expression(end)
                continue
            otherwise: tuple[n.Node, ...] = ()
            if end.kind == "open":  # <#else>: only </#if> may follow its body
                otherwise, closing = self._block(frozenset({"/if", "elseif", "else"}))
                if self._closed(token, closing).kind != "close":
                    raise self._unexpected(self.tokens[self.at - 1])
            return n.If(start=token.start, branches=tuple(branches), otherwise=otherwise)

    def _list(self, token: Token) -> n.Node:
        parser = ExpressionParser(self.source, token.inner, token.inner + len(token.text))
        source = parser.expression()
        if not parser.is_word("as"):
            raise parser.error("'as' and the loop variable name")
        parser.advance()
        names = [parser.expect_name().value]
        if parser.is_op(","):
            parser.advance()
            names.append(parser.expect_name().value)
        parser.expect_end()
        self.loops += 1
        body, end = self._block(frozenset({"else", "/list"}))
        self.loops -= 1
        otherwise: tuple[n.Node, ...] = ()
        if self._closed(token, end).name == "else":
            otherwise, end = self._block(frozenset({"/list"}))
            self._closed(token, end)
        return n.Loop(start=token.start, source=source, names=tuple(names), body=body,
                      otherwise=otherwise)  # fmt: skip

    def _sep(self, token: Token, terminators: frozenset[str]) -> n.Node:
        """`<#sep>...</#sep>`, or a bare `<#sep>` running to the end of the list body."""
        if not self.loops:
            raise syntax_error(self.source, token.start, "<#sep> must be inside <#list>")
        body, end = self._block(terminators | {"/sep"})
        if end is not None and end.kind == "close" and end.name == "sep":
            self.at += 1
        return n.Sep(start=token.start, body=body)

    def _assign(self, token: Token) -> n.Node:
        parser = ExpressionParser(self.source, token.inner, token.inner + len(token.text))
        assignments: list[tuple[str, str, n.Expr | None]] = []
        while not parser.at_end():
            target = parser.peek()
            if target.kind not in ("name", "string"):
                raise parser.error("a variable name")
            parser.advance()
            if parser.is_op("++", "--"):
                assignments.append((target.value, parser.advance().value, None))
            elif parser.is_op(*_ASSIGN_OPS):
                op = parser.advance().value
                assignments.append((target.value, op, parser.expression()))
            elif parser.at_end() and not assignments:
                raise syntax_error(self.source, token.start, CAPTURING_ASSIGN)
            else:
                raise parser.error("'=' and a value")
            if parser.is_op(","):
                parser.advance()
        if not assignments:
            raise syntax_error(self.source, token.start, f"<#{token.name}> needs an assignment")
        return n.Assign(start=token.start, assignments=tuple(assignments))

    def _setting(self, token: Token) -> n.Node | None:
        parser = ExpressionParser(self.source, token.inner, token.inner + len(token.text))
        name = parser.expect_name()
        parser.expect_op("=")
        value = parser.expression()
        parser.expect_end()
        if name.value in IGNORED_SETTINGS:
            return None
        if name.value not in SETTINGS:
            raise syntax_error(self.source, name.start, f"Unknown or unsupported setting: "
                               f"{name.value}")  # fmt: skip
        return n.Setting(start=token.start, name=name.value, value=value)


def parse(source: str) -> tuple[n.Node, ...]:
    """The template's directive tree; `TemplateSyntaxError` if it does not parse."""
    return _Parser(source).parse()
