"""OAuth 2.0 authorization code (sheet section 2), bearer checks and the identity (section 3).

- `GET /oauth/authorize` (auth host; also `/service/auth/oauth/authorize`): auto-consents for
  the default identity and redirects to the exact registered URI with `code` and `state`;
  codes live 5 minutes. Unknown or un-enabled scopes fail the whole consent (redirect with
  `error=invalid_scope`); no scope = the app's enabled set; `user:profile:read` always.
- `POST /auth/oauth/token`: form, multipart or JSON; `client_secret` and a registered
  `redirect_uri` on both grants; `{access_token, token_type, expires_in, refresh_token,
  scope, created_at}`. Every refresh rotates the refresh token; the spent one answers 400
  `invalid_grant`. Expiry is `created_at + expires_in` on the sandbox clock.
- `POST /auth/oauth/revoke` (access or refresh token) -> `200 {}` [inferred].
- `GET /auth/api/v1/users/me`: the identity with `business_memberships[].business`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sandboxes.freshbooks.errors import AuthError, accounting_error
from sandboxes.freshbooks.settings import FreshBooksSandboxSettings
from sandboxes.freshbooks.timefmt import iso_z
from sandboxes.kit import (
    Grant,
    OAuthClient,
    OAuthError,
    OAuthPolicy,
    OAuthProvider,
    Record,
    SandboxClock,
    State,
)

__all__ = ["Authenticator", "Principal"]

UNAUTHENTICATED = AuthError(
    401, "unauthenticated", "This action requires authentication to continue."
)


@dataclass(frozen=True)
class Principal:
    """Who a valid bearer token speaks for."""

    grant: Grant
    identity: Record

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.grant.scope

    def require(self, scope: str, *, write: bool) -> None:
        """`user:<scope>:read|write`; a write scope also allows reading [inferred]."""
        wanted = f"user:{scope}:{'write' if write else 'read'}"
        if wanted in self.scopes or (not write and f"user:{scope}:write" in self.scopes):
            return
        raise accounting_error(403, 1003, f"Access denied: the token lacks scope {wanted}.")


def _oauth_error(exc: OAuthError) -> JSONResponse:
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description}, status_code=exc.status
    )


class Authenticator:
    """Codes, tokens and identities; the kit's `OAuthProvider` holds the grant rules."""

    def __init__(
        self, state: State, clock: SandboxClock, settings: FreshBooksSandboxSettings
    ) -> None:
        self.state = state
        self.clock = clock
        self.settings = settings
        self.provider = OAuthProvider(
            clock,
            OAuthPolicy(
                code_ttl_seconds=settings.code_ttl_seconds,
                access_ttl_seconds=settings.access_token_ttl_seconds,
                refresh_ttl_seconds=None,
                rotate_refresh_token=True,
                reject_rotated_refresh_token=True,
            ),
        )
        self._created_at: dict[str, int] = {}  # refresh token -> created_at of its grant
        self._access_of: dict[str, str] = {}  # refresh token -> the access token issued with it
        self._revoked: set[str] = set()

    def reset(self) -> None:
        self.provider.reset()
        self._created_at.clear()
        self._access_of.clear()
        self._revoked.clear()

    def _sync_clients(self) -> None:
        # Clients come from the seed (collection `oauth_clients`), which loads after reset.
        for client in self.state.records("oauth_clients"):
            self.provider.register_client(
                OAuthClient(
                    client_id=str(client["id"]),
                    client_secret=str(client["client_secret"]),
                    redirect_uris=tuple(client["redirect_uris"]),
                )
            )

    def default_identity(self) -> Record | None:
        identities = self.state.records("identities")
        return identities[0] if identities else None

    # --- authorize ----------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:  # noqa: PLR0911 - one per RFC error
        self._sync_clients()
        params = request.query_params
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        state = params.get("state")
        client = self.provider.clients.get(client_id)
        if client is None:
            return _oauth_error(OAuthError("invalid_client", "Unknown client_id.", status=400))
        if redirect_uri not in client.redirect_uris or urlsplit(redirect_uri).query:
            return _oauth_error(
                OAuthError("invalid_request", "The redirect_uri does not match a registered one.")
            )
        if self.settings.https_redirect_only and not redirect_uri.startswith("https://"):
            return _oauth_error(OAuthError("invalid_request", "The redirect_uri must use https."))

        def refuse(error: str, description: str) -> Response:
            query = {"error": error, "error_description": description}
            if state is not None:
                query["state"] = state
            return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)

        if params.get("response_type") != "code":
            return refuse("unsupported_response_type", "Only response_type=code is supported.")
        asked = tuple(s for s in re.split(r"[ +]+", params.get("scope", "")) if s)
        unknown = [s for s in asked if s not in self.settings.enabled_scopes]
        if unknown:
            return refuse("invalid_scope", f"Scopes not enabled for this app: {' '.join(unknown)}")
        scopes = asked or self.settings.enabled_scopes
        if "user:profile:read" not in scopes:
            scopes = ("user:profile:read", *scopes)
        identity = self.default_identity()
        if identity is None:
            return _oauth_error(OAuthError("access_denied", "No user to consent.", status=400))
        location = self.provider.authorize(
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=state,
            scope=scopes,
            subject=str(identity["id"]),
        )
        return RedirectResponse(location, status_code=302)

    # --- token --------------------------------------------------------------------------------

    @staticmethod
    async def _fields(request: Request) -> dict[str, str]:
        if "json" in request.headers.get("content-type", ""):
            try:
                body = await request.json()
            except ValueError:
                return {}
            return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    async def token(self, request: Request) -> Response:
        self._sync_clients()
        fields = await self._fields(request)
        try:
            return self._token(fields)
        except OAuthError as exc:
            return _oauth_error(exc)

    def _token(self, fields: dict[str, str]) -> Response:
        grant_type = fields.get("grant_type", "")
        client_id = fields.get("client_id", "")
        secret = fields.get("client_secret")
        redirect_uri = fields.get("redirect_uri")
        if not secret:
            raise OAuthError("invalid_request", "client_secret is required.")
        if not redirect_uri:
            # The Python SDK refuses to refresh without it: FreshBooks requires it on both grants.
            raise OAuthError("invalid_request", "redirect_uri is required.")
        now = int(self.clock.timestamp())
        if grant_type == "authorization_code":
            issued = self.provider.exchange_code(
                client_id=client_id,
                client_secret=secret,
                code=fields.get("code", ""),
                redirect_uri=redirect_uri,
            )
            created_at = now
        elif grant_type == "refresh_token":
            old = fields.get("refresh_token", "")
            client = self.provider.clients.get(client_id)
            if client is not None and redirect_uri not in client.redirect_uris:
                raise OAuthError("invalid_grant", "The redirect_uri does not match.")
            if old in self._revoked:
                raise OAuthError("invalid_grant", "The refresh token is invalid or was revoked.")
            issued = self.provider.refresh(
                client_id=client_id, client_secret=secret, refresh_token=old
            )
            original = self._created_at.pop(old, now)
            created_at = original if self.settings.refresh_echoes_original_created_at else now
            spent_access = self._access_of.pop(old, None)
            if spent_access is not None and self.settings.refresh_revokes_old_access_token:
                self._revoked.add(spent_access)
        else:
            raise OAuthError("unsupported_grant_type", f"Unsupported grant_type {grant_type!r}.")
        if issued.refresh_token is not None:
            self._created_at[issued.refresh_token] = created_at
            self._access_of[issued.refresh_token] = issued.access_token
        body: dict[str, Any] = {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token,
            "scope": " ".join(issued.grant.scope),
            "created_at": created_at,
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def revoke(self, request: Request) -> Response:
        fields = await self._fields(request)
        token = fields.get("token", "")
        if token:
            self._revoked.add(token)
            linked = self._access_of.get(token)
            if linked is not None:
                self._revoked.add(linked)
        return JSONResponse({})

    # --- bearer -------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token or token in self._revoked:
            raise UNAUTHENTICATED
        grant = self.provider.authenticate(token.strip())
        if grant is None:
            raise UNAUTHENTICATED
        identity = self.state.get("identities", grant.subject)
        if identity is None:
            raise UNAUTHENTICATED
        return Principal(grant=grant, identity=identity)

    # --- identity -----------------------------------------------------------------------------

    def businesses_of(self, identity: Record) -> list[tuple[Record, Record]]:
        """(membership, business) pairs of an identity, in membership order."""
        pairs = []
        for membership in identity.get("_memberships", []):
            business = self.state.get("businesses", membership["business_id"])
            if business is not None:
                pairs.append((membership, business))
        return pairs

    def me(self, principal: Principal) -> dict[str, Any]:
        identity = principal.identity
        identity_id = identity["id"]
        pairs = self.businesses_of(identity)
        memberships = [
            {
                "id": membership["id"],
                "role": membership["role"],
                "unacknowledged_change": False,
                "business": {k: v for k, v in business.items() if not k.startswith("_")},
            }
            for membership, business in pairs
        ]
        accounts = [b["account_id"] for _, b in pairs if b.get("account_id")]
        return {
            "id": identity_id,
            "identity_id": identity_id,
            "identity_uuid": identity["identity_uuid"],
            "first_name": identity["first_name"],
            "last_name": identity["last_name"],
            "email": identity["email"],
            "language": identity.get("language", "en"),
            "confirmed_at": identity.get("confirmed_at"),
            "created_at": identity.get("created_at"),
            "unconfirmed_email": None,
            "setup_complete": True,
            "phone_numbers": [{"title": "", "phone_number": None}],
            "addresses": [None],
            "profession": None,
            "links": {
                "me": f"/service/auth/api/v1/users?id={identity_id}",
                "roles": f"/service/auth/api/v1/users/role/{identity_id}",
            },
            "profile": {
                "setup_complete": True,
                "first_name": identity["first_name"],
                "last_name": identity["last_name"],
                "phone_number": None,
                "address": None,
                "profession": None,
                "professions": [],
                "has_password": True,
            },
            "permissions": {account: {"staff.limit": -1} for account in accounts},
            "groups": [
                {
                    "id": membership["id"],
                    "group_id": 28000000 + int(membership["id"]),
                    "role": membership["role"],
                    "identity_id": identity_id,
                    "identity_uuid": identity["identity_uuid"],
                    "business_id": business["id"],
                    "active": True,
                }
                for membership, business in pairs
            ],
            "subscription_statuses": dict.fromkeys(accounts, "active"),
            "business_statuses": dict.fromkeys(accounts, "active"),
            "integrations": {},
            "business_memberships": memberships,
            "identity_origin": None,
            "timezone": identity.get("timezone", "America/New_York"),
            "otp_required_for_login": False,
            "otp_delivery_method": None,
            "roles": [
                {
                    "id": role["id"],
                    "role": role["role"],
                    "systemid": role.get("systemid"),
                    "userid": role["userid"],
                    "created_at": role.get("created_at", iso_z(self.clock.now())),
                    "links": {"destroy": f"/service/auth/api/v1/users/role/{role['id']}"},
                    "accountid": role["accountid"],
                }
                for role in identity.get("_roles", [])
            ],
        }
