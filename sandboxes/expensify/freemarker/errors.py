"""What a template can fail with: a syntax error (at parse time) or an error while rendering.

Both carry FreeMarker's kind of message with the line and column in the template, so a
client sees where its template went wrong. Nothing else escapes the interpreter: a Python
error from bad input would be a bug here, not an answer.
"""

from __future__ import annotations

__all__ = ["TemplateError", "TemplateRenderError", "TemplateSyntaxError", "position"]


def position(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset` in `source`."""
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


class TemplateError(Exception):
    """The template cannot be rendered; `message` is what FreeMarker would say."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TemplateSyntaxError(TemplateError):
    """The template does not parse."""


class TemplateRenderError(TemplateError):
    """The template parsed but failed on the data (a missing value, a wrong type)."""
