"""Which company a request is for, and in which host style (sheet section 1).

Real BambooHR scopes every call by company subdomain, in two forms; the sandbox serves both
on one host and port:

- gateway form, any Host: `/api/gateway.php/{companyDomain}/v1/...` (what API-key clients use);
- subdomain form by Host header: `Host: {companyDomain}.bamboohr.localhost[:port]` (or
  `.bamboohr.com`), then `/api/v1/...`, `/authorize.php`, `/token.php`;
- subdomain form by path prefix, for clients that cannot set a Host header:
  `/{companyDomain}.bamboohr.com/api/v1/...`, so `https://acme.bamboohr.com` becomes
  `http://127.0.0.1:PORT/acme.bamboohr.com`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Resolved", "resolve"]

VERSIONS = ("v1", "v1_1", "v1_2", "v2")
GATEWAY = re.compile(r"^/api/gateway\.php/(?P<company>[^/]+)/(?P<version>[^/]+)(?P<rest>/.*)?$")
PREFIXED = re.compile(r"^/(?P<company>[A-Za-z0-9-]+)\.bamboohr\.com(?P<rest>/.*)?$")
HOST = re.compile(r"^(?P<company>[A-Za-z0-9-]+)\.bamboohr\.(?:localhost|com)(?::\d+)?$")
API = re.compile(r"^/api/(?P<version>[^/]+)(?P<rest>/.*)?$")
COMPANY_PAGES = ("/authorize.php", "/token.php")


@dataclass(frozen=True)
class Resolved:
    """A request mapped onto the sandbox's routes: `path` is `/{version}/...` or a page."""

    company: str
    style: Literal["subdomain", "gateway"]
    path: str
    base: str
    """The URL path prefix that stands for the company's API root (for `Location`)."""


def _api(company: str, prefix: str, rest: str) -> Resolved | None:
    if rest in COMPANY_PAGES:
        return Resolved(company=company, style="subdomain", path=rest, base=prefix)
    match = API.match(rest)
    if match is None or match["version"] not in VERSIONS:
        return None
    inner = (match["rest"] or "/").rstrip("/") or "/"
    return Resolved(
        company=company,
        style="subdomain",
        path=f"/{match['version']}{inner}",
        base=f"{prefix}/api/{match['version']}",
    )


def resolve(path: str, host: str) -> Resolved | None:
    """The company, host style and inner path of a request, or None when it names none."""
    gateway = GATEWAY.match(path)
    if gateway is not None:
        if gateway["version"] not in VERSIONS:
            return None
        company = gateway["company"]
        inner = (gateway["rest"] or "/").rstrip("/") or "/"
        return Resolved(
            company=company,
            style="gateway",
            path=f"/{gateway['version']}{inner}",
            base=f"/api/gateway.php/{company}/{gateway['version']}",
        )
    prefixed = PREFIXED.match(path)
    if prefixed is not None:
        company = prefixed["company"]
        return _api(company, f"/{company}.bamboohr.com", prefixed["rest"] or "/")
    by_host = HOST.match(host)
    if by_host is not None and by_host["company"].lower() != "api":
        return _api(by_host["company"], "", path)
    return None
