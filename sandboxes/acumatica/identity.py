"""Sign-in and discovery: `GET /entity`, `/entity/auth/login|logout`, `/identity/...`.

Sheet sections 2-3. Cookie sign-in answers 204 with `.ASPXAUTH`, `ASP.NET_SessionId`,
`UserBranch`, `Locale`, `CompanyID` and `LegacyUI` cookies; a wrong password is a 500
`PXException`; a full license is a 429 "API Login Limit". Requests authenticate with those
cookies or with `Authorization: Bearer` from the OAuth server.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sandboxes.acumatica.errors import (
    AcumaticaError,
    error_response,
    invalid_credentials,
    login_limit,
    not_logged_in,
)
from sandboxes.acumatica.oauth import OAuthServer, TokenError
from sandboxes.acumatica.sessions import Session, SessionTable
from sandboxes.acumatica.settings import AcumaticaSandboxSettings
from sandboxes.kit import State

__all__ = ["AUTH_COOKIE", "Identity"]

AUTH_COOKIE = ".ASPXAUTH"
SESSION_COOKIE = "ASP.NET_SessionId"


class Identity:
    def __init__(
        self,
        state: State,
        sessions: SessionTable,
        oauth: OAuthServer,
        settings: AcumaticaSandboxSettings,
    ) -> None:
        self._state = state
        self._sessions = sessions
        self._oauth = oauth
        self._settings = settings

    # --- who is calling --------------------------------------------------------------------

    def session_of(self, request: Request) -> Session | Response:
        """The caller's live session, or the vendor's refusal (401, or 429 for a full license)."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            try:
                session = self._oauth.session_for(header[7:].strip())
            except TokenError:
                return login_limit(text=self._settings.login_limit_body == "text")
            return session if session is not None else not_logged_in()
        cookie = request.cookies.get(AUTH_COOKIE)
        session = self._sessions.by_cookie(cookie) if cookie else None
        return session if session is not None else not_logged_in()

    def has_session(self, request: Request) -> bool:
        return isinstance(self.session_of(request), Session)

    # --- endpoints -------------------------------------------------------------------------

    async def endpoints(self, request: Request) -> JSONResponse:
        settings = self._settings
        base = settings.instance_path
        listed = [("Default", v) for v in settings.versions]
        if self.has_session(request):
            # The tenant's own endpoints are listed only to a signed-in caller.
            listed.append((settings.department_endpoint_name, settings.department_endpoint_version))
        return JSONResponse({
            "version": {"acumaticaBuildVersion": settings.build_version,
                        "databaseVersion": settings.database_version},
            "endpoints": [{"name": n, "version": v, "href": f"{base}/entity/{n}/{v}/"}
                          for n, v in listed],
        })  # fmt: skip

    async def login(self, request: Request) -> Response:
        try:
            body = await _form_or_json(request)
        except ValueError:
            return error_response(AcumaticaError(400, "The request body is not valid."))
        name, password = str(body.get("name") or ""), str(body.get("password") or "")
        tenant = body.get("tenant")
        if tenant is None and self._settings.accept_company_alias:
            tenant = body.get("company")
        user = self._state.get("users", name)
        if user is None or not _same(str(user["password"]), password):
            return error_response(invalid_credentials())
        if tenant is None and len(user["tenants"]) == 1:
            tenant = user["tenants"][0]
        if tenant not in user["tenants"]:
            return error_response(invalid_credentials())
        tenant_record = self._state.get("tenants", tenant) or {}
        branch = str(body.get("branch") or tenant_record.get("default_branch") or "")
        if self._state.get("branches", f"{tenant}:{branch.upper()}") is None:
            return error_response(AcumaticaError(500, f"Branch '{branch}' cannot be found."))
        current = request.cookies.get(AUTH_COOKIE)
        session = self._sessions.by_cookie(current) if current else None
        if session is None or session.user != name or session.tenant != tenant:
            session = self._sessions.open(user=name, tenant=str(tenant), branch=branch,
                                          kind="cookie")  # fmt: skip
        if session is None:
            return login_limit(text=self._settings.login_limit_body == "text")
        session.branch = branch
        response = Response(status_code=204)
        cookies = {
            AUTH_COOKIE: session.auth_cookie,
            SESSION_COOKIE: session.session_id,
            "UserBranch": branch,
            "Locale": "Culture=en-US&TimeZone=GMTM0000A",
            "CompanyID": str(tenant),
            "LegacyUI": "0",
        }
        for key, value in cookies.items():
            response.set_cookie(key, value, path="/", httponly=key != "Locale", samesite="lax")
        return response

    async def logout(self, request: Request) -> Response:
        session = self.session_of(request)
        if isinstance(session, Session):
            self._sessions.close(session.session_id)
        response = Response(status_code=204)
        for key in (AUTH_COOKIE, SESSION_COOKIE, "UserBranch", "CompanyID"):
            response.delete_cookie(key, path="/")
        return response

    # --- OAuth 2.0 / OIDC ------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        user = self._state.records("users")
        try:
            url = self._oauth.authorize(dict(request.query_params), user=str(user[0]["id"]))
        except TokenError as error:
            return JSONResponse({"error": error.error, "error_description": error.description},
                                status_code=400)  # fmt: skip
        return RedirectResponse(url, status_code=302)

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            answer = self._oauth.token(form)
        except TokenError as error:
            if error.login_limit:
                return login_limit(text=self._settings.login_limit_body == "text")
            return JSONResponse({"error": error.error, "error_description": error.description},
                                status_code=400)  # fmt: skip
        return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def discovery(self, request: Request) -> JSONResponse:
        origin = f"{request.url.scheme}://{request.url.netloc}{self._settings.instance_path}"
        identity = f"{origin}/identity"
        return JSONResponse({
            "issuer": identity,
            "authorization_endpoint": f"{identity}/connect/authorize",
            "token_endpoint": f"{identity}/connect/token",
            "end_session_endpoint": f"{identity}/connect/endsession",
            "scopes_supported": ["openid", "profile", "email", "phone", "api",
                                 "offline_access", "api:concurrent_access"],
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "password", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        })  # fmt: skip


def _same(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())


async def _form_or_json(request: Request) -> dict[str, Any]:
    """[V] the login body may be JSON or `application/x-www-form-urlencoded`."""
    raw = await request.body()
    if "form-urlencoded" in request.headers.get("content-type", ""):
        return dict(parse_qsl(raw.decode("utf-8", "replace")))
    try:
        parsed = json.loads(raw or b"{}")
    except json.JSONDecodeError as error:
        raise ValueError("not JSON") from error
    if not isinstance(parsed, dict):
        raise ValueError("not an object")
    return parsed
