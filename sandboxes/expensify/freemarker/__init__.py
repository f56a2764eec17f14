"""A small FreeMarker interpreter: the subset Expensify's export templates use.

Expensify's Integration Server renders the export job's `template` form field with Apache
FreeMarker (sheet 5); the sandbox renders it with this package, so our adapter's template
and the manual's samples run unchanged. `render(template, model)` returns the text, or
raises `TemplateSyntaxError` / `TemplateRenderError` with FreeMarker's kind of message.

Supported (docs/vendors/expensify-sandbox.md has the full list):
- `${expr}`; comments; FreeMarker's white-space stripping and `<#t>`, `<#lt>`, `<#rt>`, `<#nt>`;
- `<#if>`/`<#elseif>`/`<#else>`, `<#list x as i>` (and `as k, v` over a hash) with `<#sep>`
  (closed or bare), `<#else>`, `<#break>`, `<#continue>`; `<#assign>`/`<#global>` (`=`, `+=`,
  `++`, ...); `<#setting>` for the number, boolean and date formats; `<#compress>`; `<#ftl>`;
- expressions: literals (strings with escapes and `${}`, raw strings, numbers, booleans,
  sequences, hashes), `.name`, `[key]`, ranges and slices, `!`, `??`, `! && ||`,
  comparisons (`== != < > <= >=`, `lt gt lte gte`), `+ - * / %`, `.now`;
- the built-ins in `builtins.BUILTINS` plus `?has_content`, `?then`, the loop variable ones.

Refused with a syntax error naming it: macros and functions, `<#include>`/`<#import>`,
`<#switch>`, `<#attempt>`, `<#items>`, user-defined directives (`<@...>`), `#{...}`,
unknown built-ins.
"""

from __future__ import annotations

from collections.abc import Mapping

from sandboxes.expensify.freemarker.errors import (
    TemplateError,
    TemplateRenderError,
    TemplateSyntaxError,
)
from sandboxes.expensify.freemarker.parser import parse
from sandboxes.expensify.freemarker.render import MissingValueError, RenderOptions, evaluate

__all__ = [
    "MissingValueError",
    "RenderOptions",
    "TemplateError",
    "TemplateRenderError",
    "TemplateSyntaxError",
    "render",
]


def render(template: str, model: Mapping[str, object], options: RenderOptions | None = None) -> str:
    """What FreeMarker prints for `template` over the data model `model`."""
    try:
        return evaluate(template, parse(template), model, options or RenderOptions())
    except RecursionError:
        raise TemplateError("The template nests too deeply for the sandbox") from None
