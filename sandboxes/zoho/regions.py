"""Zoho's eight data centres and how a request names one (sheet section 1).

Real Zoho answers each DC on its own hosts: the Books API on `www.zohoapis.<tld>/books/v3`
(legacy `books.zoho.<tld>/api/v3`) and OAuth on `accounts.zoho.<tld>` (Canada:
`accounts.zohocloud.ca`). One sandbox serves them all, on one port, three ways:

- by Host header: `Host: www.zohoapis.eu[:port]` then `/books/v3/...`; `Host: accounts.zoho.eu`
  then `/oauth/v2/...` (for clients that map the real hosts to the sandbox);
- by path prefix: the real URL with `https://` replaced by the sandbox origin, e.g.
  `http://127.0.0.1:PORT/www.zohoapis.eu/books/v3/contacts` and
  `http://127.0.0.1:PORT/accounts.zoho.eu/oauth/v2/token`;
- neither: `/books/v3/...` and `/oauth/...` on any other host are the default account's DC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["REGIONS", "Region", "Resolved", "region_by_code", "resolve"]


@dataclass(frozen=True)
class Region:
    code: str
    """The `location` value Zoho puts on the OAuth redirect."""
    name: str
    api_host: str
    accounts_host: str
    legacy_host: str


REGIONS: tuple[Region, ...] = (
    Region("us", "United States", "www.zohoapis.com", "accounts.zoho.com", "books.zoho.com"),
    Region("eu", "Europe", "www.zohoapis.eu", "accounts.zoho.eu", "books.zoho.eu"),
    Region("in", "India", "www.zohoapis.in", "accounts.zoho.in", "books.zoho.in"),
    Region("au", "Australia", "www.zohoapis.com.au", "accounts.zoho.com.au", "books.zoho.com.au"),
    Region("jp", "Japan", "www.zohoapis.jp", "accounts.zoho.jp", "books.zoho.jp"),
    Region("ca", "Canada", "www.zohoapis.ca", "accounts.zohocloud.ca", "books.zohocloud.ca"),
    Region("cn", "China", "www.zohoapis.com.cn", "accounts.zoho.com.cn", "books.zoho.com.cn"),
    Region("sa", "Saudi Arabia", "www.zohoapis.sa", "accounts.zoho.sa", "books.zoho.sa"),
)
_BY_CODE = {region.code: region for region in REGIONS}


def region_by_code(code: str) -> Region:
    """The region for a location code (KeyError names the unknown code)."""
    return _BY_CODE[code]


@dataclass(frozen=True)
class Resolved:
    """A request mapped onto the sandbox: which server of which DC, and the inner path."""

    kind: Literal["api", "accounts"]
    region: Region
    path: str
    """`/contacts/...` for the API (after `/books/v3`), `/oauth/...` for accounts."""
    style: Literal["host", "prefix", "default"]


def _split(path: str) -> tuple[str, str]:
    first, _, rest = path.lstrip("/").partition("/")
    return first.lower(), "/" + rest


def _inner(kind: Literal["api", "accounts"], rest: str, *, legacy: bool) -> str | None:
    if kind == "accounts":
        return rest if rest.startswith("/oauth/") else None
    prefix = "/api/v3" if legacy else "/books/v3"
    if rest == prefix or rest.startswith(prefix + "/"):
        return rest[len(prefix) :].rstrip("/") or "/"
    return None


def _by_name(name: str) -> tuple[Literal["api", "accounts"], Region, bool] | None:
    for region in REGIONS:
        if name == region.api_host:
            return "api", region, False
        if name == region.legacy_host:
            return "api", region, True
        if name == region.accounts_host:
            return "accounts", region, False
    return None


def resolve(path: str, host: str, default: Region) -> Resolved | None:
    """Which DC server a request is for, or None when the path is not a Zoho one."""
    first, rest = _split(path)
    named = _by_name(first)
    if named is not None:
        kind, region, legacy = named
        inner = _inner(kind, rest, legacy=legacy)
        return None if inner is None else Resolved(kind, region, inner, "prefix")
    named = _by_name(host.split(":", 1)[0].lower())
    if named is not None:
        kind, region, legacy = named
        inner = _inner(kind, path, legacy=legacy)
        return None if inner is None else Resolved(kind, region, inner, "host")
    if path.startswith("/oauth/"):
        return Resolved("accounts", default, path, "default")
    inner = _inner("api", path, legacy=False)
    return None if inner is None else Resolved("api", default, inner, "default")


def origin_for(
    *, scheme: str, netloc: str, style: Literal["host", "prefix", "default"], host_name: str
) -> str:
    """The sandbox URL that stands for `https://{host_name}`, reached the way this request was.

    Host style keeps the real host name (with the sandbox's port); the other styles put the
    real host name in the path on the sandbox's own origin.
    """
    if style == "host":
        _, _, port = netloc.rpartition(":") if ":" in netloc else ("", "", "")
        return f"{scheme}://{host_name}{':' + port if port else ''}"
    return f"{scheme}://{netloc}/{host_name}"
