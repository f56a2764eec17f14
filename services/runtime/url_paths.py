"""URL paths built from a template and values, each value kept inside its own segment.

A value formatted into a path (``f"{callbacks}/{webhook_id}"``) can leave its segment: a
``/`` adds segments, ``?`` and ``#`` start a query or fragment, ``%2F`` is a slash to many
servers, and a ``..`` segment is resolved by httpx itself (RFC 3986 dot-segment removal)
before anything is sent, so ``".."`` climbs to another path of the vendor's API, with the
connection's credentials attached. So every value is percent-encoded whole
(``quote(value, safe="")``): ``/ ? # %`` and everything else outside the unreserved set
become escapes (``%`` too, so an escape in the value arrives as the text it is).

Encoding cannot help with three values, which are refused instead: ``"."`` and ``".."``
(dots are unreserved, so they stay dots and form dot segments), the empty value (``a//b``
names another resource at some servers and drops a level at others), and values holding
control, format or surrogate characters (no vendor id has them; they are what log and
header injection is made of, and a lone surrogate cannot be encoded at all).

The template is ours (a constant in a vendor's folder); only the values come from outside,
so the template is checked for what a path template may hold, never encoded.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Mapping
from typing import Final
from urllib.parse import quote

from services.runtime.oauth_tokens import VendorCallError

__all__ = ["UnsafePathSegmentError", "path_segment", "url_path", "vendor_url_path"]

# Cc control (C0, DEL, C1), Cf format (bidi overrides, zero-width), Cs lone surrogates.
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs"})
_DOT_SEGMENTS: Final = frozenset({".", ".."})


class UnsafePathSegmentError(ValueError):
    """A value that cannot be a URL path segment however it is encoded."""


def path_segment(value: str | int) -> str:
    """``value`` as one percent-encoded path segment; UnsafePathSegmentError if it cannot be."""
    text = str(value)
    if not text:
        msg = "an empty value cannot be a URL path segment"
        raise UnsafePathSegmentError(msg)
    if text in _DOT_SEGMENTS:
        msg = f"{text!r} cannot be a URL path segment (it is a dot segment)"
        raise UnsafePathSegmentError(msg)
    for char in text:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            msg = f"a URL path segment cannot hold the character U+{ord(char):04X}"
            raise UnsafePathSegmentError(msg)
    return quote(text, safe="")


def url_path(template: str, /, **values: str | int) -> str:
    """``template`` with each ``{name}`` replaced by ``path_segment(values[name])``.

    ``url_path("/events/account/{account_id}/events/callbacks/{callback_id}", ...)``. Each
    placeholder must be a whole segment, so a value can never change what the template's
    fixed segments say. A template mistake (a placeholder with no value, a value with no
    placeholder, a query in the template) is a ValueError; an unsafe value is an
    UnsafePathSegmentError.
    """
    _check_template(template, values)
    return template.format_map({name: path_segment(value) for name, value in values.items()})


def _check_template(template: str, values: dict[str, str | int]) -> None:
    if not template.startswith("/") or "?" in template or "#" in template:
        msg = f"a path template starts with '/' and holds no query or fragment: {template!r}"
        raise ValueError(msg)
    named: set[str] = set()
    for segment in template.split("/"):
        for literal, name, spec, conversion in string.Formatter().parse(segment):
            if name is None:
                continue
            whole = literal == "" and segment == "{" + name + "}"
            if not name.isidentifier() or spec or conversion or not whole:
                msg = f"a path template placeholder is a whole segment '{{name}}': {template!r}"
                raise ValueError(msg)
            named.add(name)
    if named != values.keys():
        msg = (
            f"path template {template!r} names {sorted(named)}, "
            f"but values were given for {sorted(values)}"
        )
        raise ValueError(msg)


def vendor_url_path(
    vendor: str,
    template: str,
    values: Mapping[str, str | int],
    *,
    error: type[VendorCallError] = VendorCallError,
) -> str:
    """:func:`url_path` for a vendor client: an unsafe value raises ``error``, nothing sent.

    Callers (sinks, sources, registrations) treat a :class:`VendorCallError` as "this call did
    not happen"; a bare ValueError from a stored setting or a webhook's id would escape them.
    """
    try:
        return url_path(template, **values)
    except UnsafePathSegmentError as refused:
        msg = f"{vendor} path {template}: {refused}; nothing was sent"
        raise error(msg) from refused
