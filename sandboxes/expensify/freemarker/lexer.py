"""Template text to a flat list of tokens, with FreeMarker's white-space stripping applied.

Tokens are text, `${...}` interpolations, `<#name ...>` directive starts, `</#name>` ends
and `<#-- -->` comments. White-space stripping is FreeMarker's default: a line holding only
FTL tags and comments (no interpolation, no other text) loses its indentation and its line
break; `<#t>` trims the leading and trailing white-space of its line, `<#lt>` the leading,
`<#rt>` the trailing (line break included), and `<#nt>` keeps the line as written.

Where a tag ends: at the first `>` outside strings and brackets, as in FreeMarker, so
`<#if a > b>` needs `(a > b)` or `a gt b`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from sandboxes.expensify.freemarker.errors import TemplateSyntaxError, position

__all__ = ["TRIM_DIRECTIVES", "Token", "tokenize"]

TRIM_DIRECTIVES = frozenset({"t", "lt", "rt", "nt"})
_OPENERS = re.compile(r"<#--|<#|</#|\$\{|#\{|<@|</@")
_NAME = re.compile(r"[A-Za-z_]+")
_PAIRS = {"(": ")", "[": "]", "{": "}"}
_END_TAG = re.compile(r"\s*>")
_LINE = re.compile(r"[^\n]*\n|[^\n]+")


@dataclass(frozen=True)
class Token:
    """`kind` text: `text` is the text. interpolation: `text` is the expression, starting at
    offset `inner`. open: `name`, and `text` the parameters from offset `inner`. close: `name`."""

    kind: Literal["text", "interpolation", "open", "close", "comment"]
    start: int
    text: str = ""
    name: str = ""
    inner: int = 0


def syntax_error(source: str, offset: int, what: str) -> TemplateSyntaxError:
    line, column = position(source, offset)
    return TemplateSyntaxError(f"Syntax error in template at line {line}, column {column}: {what}")


def _skip_string(source: str, i: int) -> int:
    """The offset after the string literal starting at `source[i]` (a quote)."""
    quote, raw = source[i], i > 0 and source[i - 1] == "r"
    j = i + 1
    while j < len(source):
        if source[j] == "\\" and not raw:
            j += 2
            continue
        if source[j] == quote:
            return j + 1
        j += 1
    raise syntax_error(source, i, "Unclosed string literal")


def _scan_expression(source: str, i: int, closer: str) -> int:
    """The offset of the `closer` ending the expression text that starts at `i`."""
    stack: list[str] = []
    j = i
    while j < len(source):
        char = source[j]
        if char in "\"'":
            j = _skip_string(source, j)
            continue
        if char in _PAIRS:
            stack.append(_PAIRS[char])
        elif stack and char == stack[-1]:
            stack.pop()
        elif not stack and char == closer:
            return j
        j += 1
    what = "${...}" if closer == "}" else "directive tag"
    raise syntax_error(source, i, f"Unclosed {what}: missing '{closer}'")


def _scan(source: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(source):
        found = _OPENERS.search(source, i)
        if found is None:
            tokens.append(Token("text", i, source[i:]))
            break
        if found.start() > i:
            tokens.append(Token("text", i, source[i : found.start()]))
        start, opener = found.start(), found[0]
        if opener == "<#--":
            end = source.find("-->", start + 4)
            if end < 0:
                raise syntax_error(source, start, "Unclosed comment: missing '-->'")
            tokens.append(Token("comment", start))
            i = end + 3
        elif opener == "${":
            end = _scan_expression(source, start + 2, "}")
            tokens.append(Token("interpolation", start, source[start + 2 : end], inner=start + 2))
            i = end + 1
        elif opener == "#{":
            raise syntax_error(source, start, "The deprecated #{...} interpolation is not "
                               "supported by the sandbox's FreeMarker; use ${...}")  # fmt: skip
        elif opener in ("<@", "</@"):
            raise syntax_error(source, start, "User-defined directives (<@...>) are not "
                               "supported by the sandbox's FreeMarker")  # fmt: skip
        else:
            i = _directive(source, start, opener, tokens)
    return tokens


def _directive(source: str, start: int, opener: str, tokens: list[Token]) -> int:
    name = _NAME.match(source, start + len(opener))
    if name is None:  # `<#` not followed by a name is static text, as in FreeMarker
        tokens.append(Token("text", start, opener))
        return start + len(opener)
    after = name.end()
    if opener == "</#":
        closing = _END_TAG.match(source, after)
        if closing is None:
            raise syntax_error(source, start, f"Malformed end tag </#{name[0]}")
        tokens.append(Token("close", start, name=name[0]))
        return closing.end()
    end = _scan_expression(source, after, ">")
    params = source[after:end]
    if params.endswith("/"):
        params = params[:-1]
    tokens.append(Token("open", start, params, name=name[0], inner=after))
    return end + 1


def _split_lines(tokens: list[Token]) -> list[list[Token]]:
    lines: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind != "text":
            lines[-1].append(token)
            continue
        offset = token.start
        for piece in _LINE.findall(token.text):
            lines[-1].append(Token("text", offset, piece))
            offset += len(piece)
            if piece.endswith("\n"):
                lines.append([])
    return lines


def _only_tags(line: list[Token]) -> bool:
    if any(t.kind == "interpolation" for t in line):
        return False
    texts_blank = all(not t.text.strip() for t in line if t.kind == "text")
    return texts_blank and any(t.kind != "text" for t in line)


def _strip_line(line: list[Token]) -> list[Token]:
    trims = {t.name for t in line if t.kind == "open" and t.name in TRIM_DIRECTIVES}
    kept = [t for t in line if not (t.kind == "open" and t.name in TRIM_DIRECTIVES)]
    if trims:
        lead = bool(trims & {"t", "lt"})
        trail = bool(trims & {"t", "rt"})
    else:
        lead = trail = _only_tags(kept)
    if lead and kept and kept[0].kind == "text":
        kept[0] = replace(kept[0], text=kept[0].text.lstrip(" \t"))
    if trail and kept and kept[-1].kind == "text":
        kept[-1] = replace(kept[-1], text=kept[-1].text.rstrip(" \t\r\n"))
    return kept


def tokenize(source: str) -> list[Token]:
    """The template's tokens after white-space stripping; adjacent text merged."""
    merged: list[Token] = []
    for line in _split_lines(_scan(source)):
        for token in _strip_line(line):
            if token.kind == "text" and not token.text:
                continue
            if token.kind == "text" and merged and merged[-1].kind == "text":
                merged[-1] = replace(merged[-1], text=merged[-1].text + token.text)
            else:
                merged.append(token)
    return merged
