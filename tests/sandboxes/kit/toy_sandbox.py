"""A minimal vendor sandbox used to test the kit: widgets, OAuth, webhooks, one action."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandboxes.kit import (
    Action,
    ActionError,
    LimitPolicy,
    LimitRefusal,
    OAuthClient,
    OAuthError,
    OAuthPolicy,
    OAuthProvider,
    Seed,
    VendorSandbox,
)

REDIRECT_URI = "https://app.example/callback"


class ToySandbox(VendorSandbox):
    name = "toy"
    collections = ("widgets", "hooks")

    def setup(self) -> None:
        self.oauth = OAuthProvider(
            self.clock,
            OAuthPolicy(access_ttl_seconds=600, rotate_refresh_token=True),
        )
        self.oauth.register_client(OAuthClient("toy-client", "toy-secret", (REDIRECT_URI,)))

    def on_reset(self) -> None:
        self.oauth.reset()

    def default_seed(self) -> Seed:
        return {"widgets": [{"id": 1, "name": "Sprocket", "org": "o1"}]}

    def credentials(self) -> dict[str, Any]:
        return {"client_id": "toy-client", "client_secret": "toy-secret"}

    def default_limits(self) -> LimitPolicy:
        return LimitPolicy(requests=1000, window_seconds=60)

    def limit_key(self, request: Request) -> str | None:
        return request.headers.get("x-org", "o1")

    def limited_response(self, request: Request, refusal: LimitRefusal) -> Response:
        return JSONResponse(
            {"error": refusal.reason, "limit": refusal.limit},
            status_code=429,
            headers={"Retry-After": str(refusal.retry_after)},
        )

    def actions(self) -> Mapping[str, Action]:
        return {"rename": self._rename}

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route("/widgets", self._list, methods=["GET"]),
            Route("/widgets", self._create, methods=["POST"]),
            Route("/hooks", self._register_hook, methods=["POST"]),
            Route("/oauth/authorize", self._authorize, methods=["GET"]),
            Route("/oauth/token", self._token, methods=["POST"]),
            Route("/me", self._me, methods=["GET"]),
        ]

    def _fire(self, event: str, widget: dict[str, Any]) -> None:
        for hook in self.state.records("hooks"):
            body = json.dumps({"event": event, "id": widget["id"]}).encode()
            self.webhooks.send(
                url=hook["url"],
                body=body,
                headers={"content-type": "application/json"},
                retry_delays=(60, 120),
                tag=str(hook["id"]),
            )

    async def _rename(self, payload: dict[str, Any]) -> dict[str, Any]:
        widget = self.state.get("widgets", payload.get("id"))
        if widget is None:
            raise ActionError("no such widget", status=404)
        widget["name"] = payload["name"]
        self._fire("widget.updated", widget)
        return widget

    async def _list(self, _: Request) -> JSONResponse:
        return JSONResponse({"widgets": self.state.records("widgets")})

    async def _create(self, request: Request) -> JSONResponse:
        widget = self.state.insert("widgets", dict(await request.json()))
        self._fire("widget.created", widget)
        return JSONResponse(widget, status_code=201)

    async def _register_hook(self, request: Request) -> JSONResponse:
        return JSONResponse(self.state.insert("hooks", dict(await request.json())), 201)

    async def _authorize(self, request: Request) -> Response:
        query = request.query_params
        try:
            location = self.oauth.authorize(
                client_id=query.get("client_id", ""),
                redirect_uri=query.get("redirect_uri", ""),
                state=query.get("state"),
                scope=tuple(query.get("scope", "").split()),
                subject="user-1",
            )
        except OAuthError as exc:
            return JSONResponse({"error": exc.error}, status_code=exc.status)
        return RedirectResponse(location, status_code=302)

    async def _token(self, request: Request) -> JSONResponse:
        form = await request.form()
        values = {key: str(value) for key, value in form.items()}
        try:
            if values.get("grant_type") == "refresh_token":
                tokens = self.oauth.refresh(
                    client_id=values.get("client_id", ""),
                    client_secret=values.get("client_secret", ""),
                    refresh_token=values.get("refresh_token", ""),
                )
            else:
                tokens = self.oauth.exchange_code(
                    client_id=values.get("client_id", ""),
                    client_secret=values.get("client_secret", ""),
                    code=values.get("code", ""),
                    redirect_uri=values.get("redirect_uri"),
                )
        except OAuthError as exc:
            return JSONResponse({"error": exc.error}, status_code=exc.status)
        return JSONResponse(
            {
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "expires_in": tokens.expires_in,
            }
        )

    async def _me(self, request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        grant = self.oauth.authenticate(token)
        if grant is None:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return JSONResponse({"subject": grant.subject})


def build_sandbox(**options: Any) -> ToySandbox:
    return ToySandbox(**options)
